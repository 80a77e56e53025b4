"""The command line: every command works, and every kind of bad input gets one clear line,
exit code 2 and no traceback, leaving what was written before untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import gannet
from gannet.cli import main
from gannet.config import Config


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gannet", *args], capture_output=True, text=True)


def one_clear_line(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gannet: error: ") and fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory, request):
    """A tiny real run on 500 MNIST images, trained once for the module."""
    from tests.conftest import mnist_dir

    path = mnist_dir()
    if path is None:
        pytest.skip("MNIST files not found")
    out = tmp_path_factory.mktemp("cli") / "run"
    gannet.train(tiny_mnist_config(path), out=out)
    return out, path


def tiny_mnist_config(path, *extra: str) -> Config:
    """One epoch of a narrow paper model on 500 MNIST images from ``path``."""
    return Config().with_overrides(
        [
            f"data.data_dir={json.dumps(str(path))}",
            "data.subset=500",
            "model.g_hidden=[64]",
            "model.d_hidden=[32]",
            "train.epochs=1",
            "train.progress='none'",
            *extra,
        ]
    )


def test_help_for_every_command():
    for args in (
        ["--help"],
        ["train", "--help"],
        ["sample", "--help"],
        ["info", "--help"],
        ["datasets", "--help"],
        ["eval", "parzen", "--help"],
    ):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 0


def test_train_sample_info_eval(mnist_run, tmp_path, capsys):
    run, data_dir = mnist_run
    assert main(["info", str(run)]) == 0
    assert "mnist (500 examples" in capsys.readouterr().out
    assert main(["sample", str(run), "--n", "10", "--out", str(tmp_path / "s.npz")]) == 0
    samples = np.load(tmp_path / "s.npz")["samples"]
    assert samples.shape == (10, 1, 28, 28) and samples.min() >= 0 and samples.max() <= 1
    assert main(["sample", str(run), "--n", "9", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 500
    assert (
        main(
            [
                "eval",
                "parzen",
                str(run),
                "--samples",
                "300",
                "--validation",
                "100",
                "--sigmas",
                "0.2",
                "0.3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Parzen log-likelihood" in out
    result = json.loads((run / "eval" / "parzen.json").read_text())
    assert result["n_samples"] == 300 and result["n_validation"] == 100
    assert result["n_test"] == 10000 and result["sigma"] in (0.2, 0.3)
    # The same protocol on an array of samples.
    assert (
        main(
            [
                "eval",
                "parzen",
                "--samples-file",
                str(tmp_path / "s.npz"),
                "--data",
                "mnist",
                "--data-dir",
                str(data_dir),
                "--validation",
                "50",
                "--out",
                str(tmp_path / "p.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "p.json").read_text())["n_samples"] == 10


def test_datasets_lists_where_data_is(mnist_run, capsys):
    _, data_dir = mnist_run
    assert main(["datasets", "--data-dir", str(data_dir)]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()}
    assert str(data_dir) in lines["mnist"]
    assert "synthetic" in lines["mixture-2d"]


def test_bad_config_key_and_type(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\nepoch = 3\n")
    one_clear_line(
        run_cli("train", str(cfg), "--out", str(tmp_path / "r")), "unknown config key 'train.epoch'"
    )
    cfg.write_text("[train]\nepochs = 'three'\n")
    one_clear_line(run_cli("train", str(cfg)), "'train.epochs' must be an integer")
    one_clear_line(
        run_cli("train", "configs/mnist-paper.toml", "--set", "optim.lr=fast"),
        "'optim.lr' must be a number",
    )
    assert not (tmp_path / "r").exists()


def test_missing_dataset(tmp_path):
    one_clear_line(
        run_cli(
            "train",
            "configs/mnist-paper.toml",
            "--data-dir",
            str(tmp_path),
            "--out",
            str(tmp_path / "r"),
        ),
        "missing",
    )


def test_corrupt_dataset(tmp_path, mnist_path):
    for f in mnist_path.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    target = tmp_path / "train-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    one_clear_line(
        run_cli("train", "configs/mnist-paper.toml", "--data-dir", str(tmp_path)),
        "train-labels-idx1-ubyte.gz",
    )


def test_truncated_checkpoint_and_foreign_folder(mnist_run, tmp_path):
    run, _ = mnist_run
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("config.toml", "run.json", "metrics.jsonl"):
        (copy / name).write_bytes((run / name).read_bytes())
    whole = (run / "checkpoint.pt").read_bytes()
    (copy / "checkpoint.pt").write_bytes(whole[: len(whole) // 3])
    one_clear_line(run_cli("sample", str(copy), "--out", str(tmp_path / "x.png")), "truncated")
    one_clear_line(run_cli("train", "--resume", str(copy)), "truncated")
    assert (copy / "checkpoint.pt").read_bytes() == whole[: len(whole) // 3]  # nothing lost
    one_clear_line(run_cli("info", str(tmp_path)), "is not a gannet run directory")
    one_clear_line(run_cli("eval", "parzen", str(tmp_path / "nope")), "does not exist")
    foreign = tmp_path / "foreign.pt"
    foreign.write_bytes(b"not a checkpoint at all")
    one_clear_line(
        run_cli("sample", str(run), "--checkpoint", str(foreign), "--out", str(tmp_path / "y.png")),
        "corrupt",
    )


def test_existing_run_is_not_overwritten(mnist_run):
    run, _ = mnist_run
    before = (run / "checkpoint.pt").read_bytes()
    one_clear_line(
        run_cli("train", "configs/mnist-paper.toml", "--out", str(run)), "already exists"
    )
    assert (run / "checkpoint.pt").read_bytes() == before


def test_resume_refuses_changes_that_break_exactness(mnist_run):
    run, _ = mnist_run
    one_clear_line(
        run_cli("train", "--resume", str(run), "--set", "optim.lr=0.5"),
        "cannot change 'optim.lr' when resuming",
    )


def test_bad_sample_arguments(mnist_run, tmp_path):
    run, _ = mnist_run
    one_clear_line(run_cli("sample", str(run), "--out", str(tmp_path / "x.jpg")), ".png")
    one_clear_line(
        run_cli("sample", str(run), "--n", "0", "--out", str(tmp_path / "x.png")),
        "--n must be at least 1",
    )


def test_impossible_shape(mnist_run, tmp_path):
    _, data_dir = mnist_run
    bad = tmp_path / "bad.npz"
    np.savez(bad, samples=np.zeros((5, 10), dtype=np.float32))
    one_clear_line(
        run_cli(
            "eval",
            "parzen",
            "--samples-file",
            str(bad),
            "--data",
            "mnist",
            "--data-dir",
            str(data_dir),
        ),
        "784",
    )


def test_resume_accepts_a_new_data_dir(mnist_run, tmp_path):
    """A run stopped by train.max_steps, resumed from another folder holding the same files
    with a larger max_steps (both resumable overrides), continues from its checkpoint and
    ends exactly as an uninterrupted run."""
    _, data_dir = mnist_run
    config = tmp_path / "c.toml"
    tiny_mnist_config(data_dir, "train.epochs=2", "train.log_every=1").save(config)
    reference, run = tmp_path / "reference", tmp_path / "run"
    # 500 images in batches of 100: 5 steps per epoch; stop at 3, resume to 7 (epoch 2).
    assert main(["train", str(config), "--out", str(reference), "--set", "train.max_steps=7"]) == 0
    assert main(["train", str(config), "--out", str(run), "--set", "train.max_steps=3"]) == 0
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 3
    moved = tmp_path / "moved"
    moved.mkdir()
    for f in data_dir.iterdir():
        (moved / f.name).symlink_to(f)
    args = ["train", "--resume", str(run), "--data-dir", str(moved), "--set", "train.max_steps=7"]
    assert main(args) == 0

    assert Config.load(run / "config.toml").data.data_dir == str(moved)
    assert json.loads((run / "run.json").read_text())["data_source"] == str(moved)
    steps = [r["step"] for r in gannet.load_run(run).metrics]
    assert steps == [r["step"] for r in gannet.load_run(reference).metrics] == list(range(1, 8))
    a = torch.load(reference / "checkpoint.pt", weights_only=True)
    b = torch.load(run / "checkpoint.pt", weights_only=True)
    assert a["step"] == b["step"] == 7
    for part in ("generator", "discriminator"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
    for part in ("opt_g", "opt_d"):
        for i, state in a[part]["state"].items():
            for key, value in state.items():
                assert torch.equal(value, b[part]["state"][i][key]), (part, i, key)
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])


@pytest.mark.parametrize(("args", "codes"), [(["datasets"], {141}), (["--help"], {0, 141})])
def test_closed_stdout_ends_quietly(args, codes):
    """`gannet ... | head -1`: when stdout's reader has gone, gannet stops without a
    BrokenPipeError traceback and exits with 141 (128 + SIGPIPE), as the shell would.
    (argparse's --help ignores the failed write itself and exits 0.)"""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before gannet writes a byte: every write fails
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gannet", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.stderr == ""
    assert proc.returncode in codes


def test_eval_parzen_raw_scores_the_raw_weights_of_an_ema_run(tmp_path, capsys):
    from tests.conftest import mnist_dir

    path = mnist_dir()
    if path is None:
        pytest.skip("MNIST files not found")
    run = tmp_path / "run"
    gannet.train(tiny_mnist_config(path, "train.ema=0.9"), out=run)
    common = ["--samples", "200", "--validation", "100", "--sigmas", "0.2", "0.3"]
    assert main(["eval", "parzen", str(run), *common]) == 0
    assert "EMA weights" in capsys.readouterr().out
    assert main(["eval", "parzen", str(run), "--raw", *common]) == 0
    assert "raw weights" in capsys.readouterr().out
    ema = json.loads((run / "eval" / "parzen.json").read_text())
    raw = json.loads((run / "eval" / "parzen-raw.json").read_text())
    assert ema["test_ll"] != raw["test_ll"]
    # gannet sample --raw draws from the raw weights too (the same noise, other images)
    for name, extra in (("ema", []), ("raw", ["--raw"])):
        out = str(tmp_path / f"{name}.npz")
        assert main(["sample", str(run), "--n", "4", "--seed", "1", "--out", out, *extra]) == 0
    import numpy as np

    a, b = (np.load(tmp_path / f"{n}.npz")["samples"] for n in ("ema", "raw"))
    assert a.shape == b.shape and not np.array_equal(a, b)
