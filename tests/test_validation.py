"""Validation at the door (issue 13): every config value is checked for its range before
anything is written, naming the key and the allowed range; the commands' own arguments
(sample --seed and --n, info on damaged files, datasets --data-dir, playground --host,
argparse errors) get one clear line and exit code 2."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

import gannet
from gannet.config import Config, OptimConfig, TrainConfig
from gannet.errors import GannetError
from gannet.training.validate import validate_config
from tests.door_support import assert_one_error_line, run_main, tiny_config, tree_digest


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config file, a finished 2-step run of it), trained once for the module."""
    folder = tmp_path_factory.mktemp("door")
    config = tiny_config(folder)
    run = folder / "run"
    gannet.train(Config.load(config), out=run)
    return config, run


# Every value the issue lists, with what the error line must say: the key and its range.
ISSUE_VALUES = [
    ("optim.lr_decay=0", "optim.lr_decay must be a finite number >= 1"),
    ("train.n_fixed_samples=0", "train.n_fixed_samples must be an integer from 1 to 10000"),
    ("model.d_pieces=0", "model.d_pieces must be an integer from 1 to 64"),
    ("model.g_hidden=[-5]", "every item of model.g_hidden must be an integer from 1 to 16384"),
    ("model.g_init_range=-0.05", "model.g_init_range must be a finite number >= 0"),
    ("model.d_init_range=-1", "model.d_init_range must be a finite number >= 0"),
    ("optim.betas=[0.5, 1.0]", "every item of optim.betas must be a finite number in [0, 1)"),
    ("optim.betas=[-0.1, 0.9]", "every item of optim.betas must be a finite number in [0, 1)"),
    ("optim.betas=[0.5]", "optim.betas must be a list of exactly 2 numbers"),
    ("optim.lr=inf", "optim.lr must be a finite number > 0, got inf"),
    ("optim.lr=nan", "optim.lr must be a finite number > 0, got nan"),
    ("optim.momentum_init=nan", "optim.momentum_init must be a finite number in [0, 1)"),
    ("loss.d_cost_scale=nan", "loss.d_cost_scale must be a finite number > 0"),
    ("optim.g_lr_scale=-1", "optim.g_lr_scale must be a finite number > 0"),
    ("train.snapshot_every=-1", "train.snapshot_every must be an integer from 0 to 2**63 - 1"),
    ("train.threads=-3", "train.threads must be an integer from 0 to 1024"),
    ("model.z_dim=100000000", "model.z_dim must be an integer from 1 to 10000"),
    ("train.seed=-1", "train.seed must be an integer from 0 to 2**63 - 1"),
    ("train.seed=9223372036854775808", "train.seed must be an integer from 0 to 2**63 - 1"),
    ("train.max_steps=-1", "train.max_steps must be an integer from 0 to 2**63 - 1"),
    ("train.ema=1", "train.ema must be a finite number in [0, 1)"),
    ("data.std=0", "data.std must be a finite number > 0"),
    ('data.data_dir="a\\u0000b"', "config key 'data.data_dir' must not contain a NUL"),
]


@pytest.mark.parametrize(("override", "message"), ISSUE_VALUES)
def test_bad_value_is_refused_before_anything_is_written(
    tiny_run: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    override: str,
    message: str,
) -> None:
    config, _ = tiny_run
    out = tmp_path / "new"
    code, _, err = run_main(["train", str(config), "--set", override, "--out", str(out)], capsys)
    assert_one_error_line(code, err, message)
    assert not out.exists()


def test_resume_with_a_bad_value_leaves_the_run_byte_identical(
    tiny_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    before = tree_digest(copy)
    for override in ("train.snapshot_every=-1", "train.epochs=0", "train.log_every=nan"):
        code, _, err = run_main(["train", "--resume", str(copy), "--set", override], capsys)
        assert_one_error_line(code, err, override.split("=")[0])
        assert tree_digest(copy) == before


def test_configs_built_in_python_are_checked_the_same_way(tmp_path: Path) -> None:
    bad = dataclasses.replace(Config(), optim=OptimConfig(lr_decay=0.0))
    with pytest.raises(GannetError, match=r"optim\.lr_decay must be a finite number >= 1"):
        validate_config(bad)
    bad = dataclasses.replace(Config(), train=TrainConfig(seed=2**63))
    with pytest.raises(GannetError, match=r"train\.seed must be an integer from 0"):
        gannet.train(bad, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    validate_config(Config())  # the defaults (the paper's setup) pass


def test_every_field_declares_a_range_or_is_not_a_number() -> None:
    """A new numeric key without a declared range would escape the check."""
    for section in dataclasses.fields(Config):
        for f in dataclasses.fields(section.default_factory()):  # type: ignore[misc]
            numeric = f.type in ("int", "float", "list[int]", "list[float]")
            numeric = numeric or str(f.type).startswith("float | ")  # train.augment_p
            assert numeric == ("range" in f.metadata), f"{section.name}.{f.name}"


def test_sample_seed_range(tiny_run: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    _, run = tiny_run
    for seed in ("-1", str(2**63)):
        out = tmp_path / "s.npz"
        code, _, err = run_main(["sample", str(run), "--seed", seed, "--out", str(out)], capsys)
        assert_one_error_line(code, err, "--seed must be an integer from 0 to 2**63 - 1")
        assert not out.exists()
    out = tmp_path / "top.npz"
    code, _, err = run_main(
        ["sample", str(run), "--n", "3", "--seed", str(2**63 - 1), "--out", str(out)], capsys
    )
    assert code == 0, err
    assert out.is_file()


def test_sample_n_is_bounded_by_available_memory(
    tiny_run: tuple[Path, Path], tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gannet.trained.memory

    _, run = tiny_run
    out = tmp_path / "s.png"
    code, _, err = run_main(["sample", str(run), "--n", str(10**13), "--out", str(out)], capsys)
    assert_one_error_line(code, err, f"--n {10**13} needs about", "GiB", "use --n")
    assert not out.exists()
    # 100 2-D samples take 100 * 2 * 4 bytes * COPIES: refused with 1 KiB free.
    monkeypatch.setattr(gannet.trained.memory, "available_memory", lambda: 1024)
    code, _, err = run_main(["sample", str(run), "--n", "100", "--out", str(out)], capsys)
    line = assert_one_error_line(code, err, "--n 100 needs about")
    assert "use --n 32 or fewer" in line  # 1024 // (2 * 4 * 4)
    assert not out.exists()
    code, _, err = run_main(["sample", str(run), "--n", "32", "--out", str(out)], capsys)
    assert code == 0, err
    # gannet eval's --samples too (it used to sample 10**13 points for hours).
    for metric in ("modes", "parzen"):
        result = tmp_path / f"{metric}.json"
        argv = ["eval", metric, str(run), "--samples", str(10**13), "--out", str(result)]
        code, _, err = run_main(argv, capsys)
        assert_one_error_line(code, err, f"--samples {10**13} needs about")
        assert not result.exists()


def test_info_reports_damaged_lines_and_carries_on(
    tiny_run: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    _, run = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    with open(copy / "metrics.jsonl", "a") as f:
        f.write('{"step": 3, "d_loss": \n[1, 2]\n\xff\xfe not json\n')
    (copy / "eval").mkdir()
    (copy / "eval" / "parzen.json").write_text('{"test_ll": 12')
    (copy / "eval" / "modes.json").write_text('{"modes_covered": 7}')
    code, out, err = run_main(["info", str(copy)], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    good = len((run / "metrics.jsonl").read_text().splitlines())
    for n, what in ((good + 1, "is not valid JSON"), (good + 2, "holds a JSON list")):
        assert f"metrics.jsonl' line {n} {what}" in err, err
    assert f"line {good + 3} is not valid JSON" in err
    assert "parzen.json' is not valid JSON" in err
    assert "mixture-2d (200 examples" in out  # the rest of the run is described
    assert "last metrics D " in out and "eval modes        modes_covered=7" in out
    code, out, _ = run_main(["info", "--json", str(copy)], capsys)
    assert code == 0 and '"modes_covered": 7' in out and "test_ll" not in out


def test_datasets_data_dir_must_be_a_folder(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(["datasets", "--data-dir", str(tmp_path / "nope")], capsys)
    assert_one_error_line(code, err, "does not exist")
    (tmp_path / "f").write_text("x")
    code, _, err = run_main(["datasets", "--data-dir", str(tmp_path / "f")], capsys)
    assert_one_error_line(code, err, "is not a folder")
    code, out, _ = run_main(["datasets", "--data-dir", str(tmp_path)], capsys)
    assert code == 0 and "mixture-2d" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["sample"], "the following arguments are required: run, --out (see 'gannet sample"),
        (["sample", "r", "--n", "x", "--out", "a.png"], "argument --n: invalid int value: 'x'"),
        (["eval", "parzen", "--samples", "1.5"], "(see 'gannet eval parzen --help')"),
        (["nosuch"], "invalid choice: 'nosuch'"),
        (["info", "r", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_argument_errors_are_one_line(argv: list[str], fragment: str, capsys) -> None:
    code, _, err = run_main(argv, capsys)
    assert_one_error_line(code, err, fragment)
    assert "usage:" not in err


def test_help_still_shows_the_usage(capsys) -> None:
    code, out, _ = run_main(["sample", "--help"], capsys)
    assert code == 0 and out.startswith("usage: gannet sample")


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("256.1.1.1", "--host '256.1.1.1' is not a valid IP address or host name"),
        ("a..b", "is not a valid IP address or host name"),
        ("192.0.2.1", "--host '192.0.2.1' is not an address of this machine"),  # TEST-NET-1
    ],
)
def test_playground_host_is_checked_before_the_port(host: str, fragment: str, capsys) -> None:
    code, _, err = run_main(["playground", "--host", host, "--port", "0"], capsys)
    line = assert_one_error_line(code, err, fragment)
    assert "in use" not in line and "port" not in line.split("(")[0]
