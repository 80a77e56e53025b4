"""``gannet reproduce table1``: scores along the way, the table, and continuing a stopped run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gannet.cli import main
from gannet.config import Config
from gannet.paper.reproduce import read_scores, render_table, schedule_overrides, summarize

from .conftest import mnist_dir

needs_mnist = pytest.mark.skipif(mnist_dir() is None, reason="MNIST files not available")

TINY = [
    "--set",
    "data.subset=600",
    "--set",
    "model.g_hidden=[32]",
    "--set",
    "model.d_hidden=[16]",
    "--set",
    'train.progress="none"',
    "--set",
    "train.batch_size=50",
]


def _row(run: str, epoch: int | None, ll: float, minutes: float | None = None) -> dict:
    return {
        "run": run,
        "dataset": "mnist",
        "schedule": None if epoch is None else "alternating",
        "epoch": epoch,
        "step": None if epoch is None else epoch * 500,
        "train_seconds": None if minutes is None else minutes * 60,
        "test_ll": ll,
        "test_se": 2.0,
        "sigma": 0.2,
    }


def test_summary_finds_best_score_and_first_epoch_at_target():
    rows = [
        _row("real-mnist", None, 241.0),
        _row("paper-mnist-alternating", 10, 150.0, 4.0),
        _row("paper-mnist-alternating", 20, 226.0, 8.0),
        _row("paper-mnist-alternating", 30, 231.0, 12.0),
        _row("paper-mnist-alternating", 40, 229.0, 16.0),
    ]
    (real, run) = summarize(rows, 225.0)
    assert real["best"]["test_ll"] == 241.0
    assert run["best"]["epoch"] == 30 and run["first_at_target"]["epoch"] == 20
    table = render_table(rows, 225.0)
    for paper_row in ("DBN (paper) | 138 ± 2.0", "Adversarial nets (paper) | 225 ± 2.0"):
        assert paper_row in table
    assert "| gannet paper-mnist-alternating | 231 ± 2.0 | n/a | n/a | epoch 30, 12.0 min" in table
    rows[3]["fid_mnist-classifier"] = 3.25  # the classifier-FID column beside Parzen
    table = render_table(rows, 225.0)
    assert "| 231 ± 2.0 | n/a | 3.25 (fid_mnist-classifier) | epoch 30" in table
    assert "first reached 225 at epoch 20 after 8.0 min" in table
    assert "TFD is not publicly distributed" in table


@needs_mnist
def test_reproduce_table1_scores_tabulates_and_continues(tmp_path: Path, capsys):
    out = tmp_path / "t1"
    args = ["reproduce", "table1", "--out", str(out), *TINY, "--samples", "200"]
    args += ["--schedules", "alternating", "--eval-every", "1"]
    assert main([*args, "--epochs", "2"]) == 0
    rows = read_scores(out)
    assert [(r["run"], r["epoch"]) for r in rows] == [
        ("real-mnist", None),
        ("paper-mnist-alternating", 1),
        ("paper-mnist-alternating", 2),
    ]
    assert rows[2]["step"] == 2 * 12 and rows[2]["train_seconds"] > 0
    assert all(r["test_ll"] == r["test_ll"] for r in rows)  # not NaN
    table = (out / "table1.md").read_text()
    assert "gannet paper-mnist-alternating" in table and "Deep GSN (paper)" in table
    assert json.loads((out / "table1.json").read_text())["runs"][1]["evaluations"] == 2
    assert (out / "table1.png").stat().st_size > 0
    assert "wrote" in capsys.readouterr().out

    # The same command again does nothing new; a larger --epochs continues the run.
    assert main([*args, "--epochs", "2"]) == 0
    assert len(read_scores(out)) == 3
    assert main([*args, "--epochs", "3"]) == 0
    rows = read_scores(out)
    assert [r["epoch"] for r in rows] == [None, 1, 2, 3]
    status = json.loads((out / "paper-mnist-alternating" / "run.json").read_text())
    assert status["epoch"] == 3 and status["step"] == 3 * 12

    # A setting that may change on resume is passed on to the run (it used to be dropped) ...
    run_dir = out / "paper-mnist-alternating"
    assert not (run_dir / "snapshots").exists()
    assert main([*args, "--epochs", "4", "--set", "train.snapshot_every=1"]) == 0
    assert [p.name for p in (run_dir / "snapshots").iterdir()] == ["epoch-0004.pt"]
    # ... and one that cannot is refused in one line instead of being silently ignored.
    capsys.readouterr()
    assert main([*args, "--epochs", "5", "--set", "optim.lr=0.05"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "optim.lr = 0.1, not 0.05" in err and "--name" in err
    assert [r["epoch"] for r in read_scores(out)] == [None, 1, 2, 3, 4]


def test_reproduce_bad_input_is_one_line(tmp_path: Path, capsys):
    code = main(["reproduce", "table1", "--out", str(tmp_path), "--set", "train.nope=1"])
    err = capsys.readouterr().err
    assert code == 2 and "nope" in err and len(err.strip().splitlines()) == 1


def test_simultaneous_run_halves_d_cost_as_the_authors_code_unless_set():
    base = Config()
    assert schedule_overrides(base, "alternating") == []
    halved = base.with_overrides(schedule_overrides(base, "simultaneous"))
    assert halved.loss.d_cost_scale == 0.5
    mine = base.with_overrides(["loss.d_cost_scale=0.25"])
    assert schedule_overrides(mine, "simultaneous") == []


def test_summary_chooses_the_checkpoint_on_validation_not_test():
    rows = [
        {**_row("ema-mnist-alternating", 10, 180.0, 4.0), "validation_ll": 170.0},
        {**_row("ema-mnist-alternating", 20, 178.0, 8.0), "validation_ll": 175.0},
    ]
    (run,) = summarize(rows, 225.0)
    assert run["best"]["epoch"] == 20 and run["best"]["test_ll"] == 178.0
    legacy = [{k: v for k, v in r.items() if k != "validation_ll"} for r in rows]
    assert summarize(legacy, 225.0)[0]["best"]["epoch"] == 10
    # A run resumed across the change: its early rows have no validation_ll and must not
    # win on their test score; the choice is made among the rows that have one.
    mixed = [_row("ema-mnist-alternating", 5, 190.0, 2.0), *rows]
    assert summarize(mixed, 225.0)[0]["best"]["epoch"] == 20


@pytest.mark.slow  # three epochs scored twice, about 75 s
@needs_mnist
def test_reproduce_table1_scores_the_average_of_the_last_epochs(tmp_path: Path):
    out = tmp_path / "t1"
    args = ["reproduce", "table1", "--out", str(out), *TINY, "--samples", "200"]
    args += ["--schedules", "alternating", "--eval-every", "1", "--epochs", "3"]
    assert main([*args, "--average", "2"]) == 0
    rows = read_scores(out)
    plain = [r for r in rows if r["run"] == "paper-mnist-alternating"]
    averaged = [r for r in rows if r["run"] == "paper-mnist-alternating-avg2"]
    assert [r["epoch"] for r in plain] == [r["epoch"] for r in averaged] == [1, 2, 3]
    assert [r["averaged"] for r in averaged] == [
        {"first": 1, "last": 1, "snapshots": 1},
        {"first": 1, "last": 2, "snapshots": 2},
        {"first": 2, "last": 3, "snapshots": 2},
    ]
    # A one-snapshot window is the run itself; a real window is another generator.
    assert averaged[0]["test_ll"] == pytest.approx(plain[0]["test_ll"], abs=1e-9)
    assert averaged[2]["test_ll"] != pytest.approx(plain[2]["test_ll"], abs=1e-6)
    snaps = sorted(p.name for p in (out / "paper-mnist-alternating" / "snapshots").iterdir())
    assert snaps == ["epoch-0001.pt", "epoch-0002.pt", "epoch-0003.pt"]
    assert "(G averaged over epochs" in (out / "table1.md").read_text()


def test_reproduce_average_window_must_be_two_epochs(tmp_path: Path, capsys):
    assert main(["reproduce", "table1", "--out", str(tmp_path), "--average", "1"]) == 2
    err = capsys.readouterr().err
    assert "--average" in err and len(err.strip().splitlines()) == 1
