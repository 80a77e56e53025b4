"""gannet installed from its wheel, away from the repository: the bundled configs train by
name and the playground serves its page.

The wheel is built from a copy of the project's files (pyproject.toml, README.md, src/) so
that nothing is written into the checkout, installed with ``--no-deps`` into a fresh virtual
environment that sees this environment's packages (torch is not installed again), and run
from a temporary folder outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(the venv's bin folder, a working folder outside the repo, the environment)."""
    root = tmp_path_factory.mktemp("package")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    project = root / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, project / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(REPO / "src", project / "src", ignore=ignore)
    wheels = root / "wheels"
    run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", wheels, project, cwd=root, env=env,
    )  # fmt: skip
    (wheel,) = wheels.glob("gannet-*.whl")
    venv = root / "venv"
    run(
        sys.executable,
        "-m",
        "venv",
        "--system-site-packages",
        "--without-pip",
        venv,
        cwd=root,
        env=env,
    )
    # The new venv sees this environment's packages (torch, numpy, ...) after its own, as
    # plain paths: this environment's .pth files (an editable gannet) are not processed.
    py = venv / "bin" / "python"
    site = run(
        py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root, env=env
    )
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site.stdout.strip(), "outer-environment.pth").write_text("\n".join(sorted(outer)) + "\n")
    run(
        sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q",
        wheel, cwd=root, env=env,
    )  # fmt: skip
    work = root / "elsewhere"
    work.mkdir()
    return venv / "bin", work, env


def test_the_installed_package_is_the_wheel_with_its_configs(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    bin_dir, work, env = installed
    where = run(
        bin_dir / "python", "-c", "import gannet; print(gannet.__file__)", cwd=work, env=env
    )
    assert Path(where.stdout.strip()).is_relative_to(bin_dir.parent), where.stdout
    listing = run(bin_dir / "gannet", "configs", cwd=work, env=env).stdout
    bundled = sorted(p.stem for p in (REPO / "src" / "gannet" / "configs").glob("*.toml"))
    assert len(bundled) >= 9
    for name in bundled:
        assert f"\n{name} " in f"\n{listing}", listing
    assert "The 25-Gaussian grid" in listing  # grid-r1's first comment line
    shown = run(bin_dir / "gannet", "configs", "grid-r1", cwd=work, env=env).stdout
    assert shown == (REPO / "configs" / "grid-r1.toml").read_text()


def test_trains_a_bundled_config_by_name_outside_the_repo(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    bin_dir, work, env = installed
    out = run(
        bin_dir / "gannet", "train", "grid-r1", "--set", "train.max_steps=5",
        "--set", "train.progress='none'", "--out", "run", cwd=work, env=env,
    )  # fmt: skip
    assert "run directory: run" in out.stdout
    assert (work / "run" / "checkpoint.pt").is_file()
    assert "[data]" in (work / "run" / "config.toml").read_text()


def test_serves_the_playground_page(installed: tuple[Path, Path, dict[str, str]]) -> None:
    bin_dir, work, env = installed
    proc = subprocess.Popen(
        [str(bin_dir / "gannet"), "playground", "--port", "0"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "gannet playground: http://127.0.0.1:PORT/"
        assert line.startswith("gannet playground: http://"), line + proc.stderr.read()
        url = line.split(": ", 1)[1].strip()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    status, page = response.status, response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert status == 200
        assert "<html" in page.lower() and "gannet" in page.lower()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_the_wheel_ships_the_classifier_weights(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    bin_dir, work, env = installed
    check = (
        "from gannet.metrics.classifier import SHIPPED, load_shipped, shipped_path\n"
        "for e in SHIPPED:\n"
        "    model, info = load_shipped(e)\n"
        "    print(e.name, shipped_path(e), info.test_accuracy)\n"
    )
    out = run(bin_dir / "python", "-c", check, cwd=work, env=env).stdout
    from gannet.metrics.classifier import SHIPPED

    for entry in SHIPPED:
        assert f"{entry.name} " in out, out
    assert str(bin_dir.parent) in out  # loaded from the installed package, not the checkout
