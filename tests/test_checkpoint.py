import pickle

import pytest
import torch

from gannet.errors import GannetError
from gannet.files.checkpoint import save_weights_file
from gannet.training.state import FORMAT, VERSION, Checkpoint, read_checkpoint

load_checkpoint = read_checkpoint


def save_checkpoint(path, state):
    """A raw dict written as a checkpoint file (format marker and version added)."""
    save_weights_file(path, {"format": FORMAT, "version": VERSION, **state})


def _state():
    return {
        "config": {"a": 1},
        "sample_shape": [3],
        "generator": {"w": torch.ones(3)},
        "discriminator": {},
    }


def test_round_trip(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, _state())
    state = load_checkpoint(path)
    assert torch.equal(state.generator["w"], torch.ones(3))
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_truncated_checkpoint_is_one_clear_error(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, _state())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GannetError, match="truncated, corrupt"):
        load_checkpoint(path)


def test_foreign_files(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(1)}, other)
    with pytest.raises(GannetError, match="not a gannet checkpoint"):
        load_checkpoint(other)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(GannetError):
        load_checkpoint(text)
    with pytest.raises(GannetError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_a_checkpoint_cannot_run_code(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "gannet-checkpoint", "evil": _Evil()}, path, pickle_module=pickle)
    with pytest.raises(GannetError):
        load_checkpoint(path)
    assert "pwned" not in capsys.readouterr().out


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, _state())
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(GannetError, match=r"cannot write .*c\.pt.*No space left on device"):
        save_checkpoint(path, {**_state(), "generator": {"w": torch.zeros(3)}})
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*tmp"))


def test_version_and_foreign_gannet_files(tmp_path):
    path = tmp_path / "c.pt"
    for version, fragment in ((2, "newer than this gannet"), ("1", "invalid format version")):
        save_checkpoint(path, {**_state(), "version": version})
        with pytest.raises(GannetError, match=fragment) as err:
            load_checkpoint(path)
        assert "\n" not in str(err.value)
    torch.save({"format": "gannet-classifier", "version": 1}, path)
    with pytest.raises(GannetError, match="is a 'gannet-classifier' file"):
        load_checkpoint(path)
    torch.save({"format": "gannet-checkpoint", "version": 1, "config": {}}, path)
    with pytest.raises(GannetError, match="lacks sample_shape, generator, discriminator: it is"):
        load_checkpoint(path)
    with pytest.raises(GannetError, match="is not a file"):
        load_checkpoint(tmp_path)


# The checkpoint keys of format version 1, as the trainer wrote them before gannet.training:
# files written then must keep loading.
V1_FULL_KEYS = {
    "format",
    "version",
    "config",
    "gannet_version",
    "sample_shape",
    "generator",
    "discriminator",
    "opt_g",
    "opt_d",
    "step",
    "epoch",
    "epochs_completed",
    "iteration_in_epoch",
    "elapsed",
    "rng",
    "num_classes",
}
V1_SNAPSHOT_KEYS = {
    "format",
    "version",
    "config",
    "sample_shape",
    "generator",
    "discriminator",
    "num_classes",
    "step",
    "epochs_completed",
}


def _v1_full() -> dict:
    rng = {"torch": torch.get_rng_state(), "python": [3, [1, 2], None], "numpy": {}}
    return {
        "format": "gannet-checkpoint",
        "version": 1,
        "config": {"a": 1},
        "gannet_version": "0.1.0",
        "sample_shape": [1, 28, 28],
        "generator": {"w": torch.ones(2)},
        "discriminator": {"v": torch.zeros(2)},
        "opt_g": {"state": {}, "param_groups": []},
        "opt_d": {"state": {}, "param_groups": []},
        "step": 700,
        "epoch": 3,
        "epochs_completed": 2,
        "iteration_in_epoch": 100,
        "elapsed": 12.5,
        "rng": rng,
        "num_classes": 0,
    }


def test_version_1_files_written_before_the_schema_load_and_round_trip(tmp_path):
    full = _v1_full()
    torch.save(full, tmp_path / "full.pt")
    ckpt = read_checkpoint(tmp_path / "full.pt")
    assert ckpt.resumable and ckpt.step == 700 and ckpt.epoch == 3
    assert ckpt.iteration_in_epoch == 100 and ckpt.elapsed == 12.5
    assert set(ckpt.to_dict()) == V1_FULL_KEYS  # the schema writes the same keys
    snapshot = {k: full[k] for k in V1_SNAPSHOT_KEYS}
    torch.save(snapshot, tmp_path / "snap.pt")
    snap = read_checkpoint(tmp_path / "snap.pt")
    assert not snap.resumable and snap.epochs_completed == 2
    assert set(snap.to_dict()) == V1_SNAPSHOT_KEYS | {"gannet_version"}
    assert set(ckpt.weights_only().to_dict()) == V1_SNAPSHOT_KEYS | {"gannet_version"}


def test_unknown_keys_survive_a_round_trip_and_ema_is_chosen(tmp_path):
    raw = {**_v1_full(), "generator_ema": {"w": torch.full((2,), 3.0)}, "note": "kept"}
    ckpt = Checkpoint.from_dict(raw)
    assert ckpt.extra == {"note": "kept"} and ckpt.to_dict()["note"] == "kept"
    weights, used_ema = ckpt.generator_weights()
    assert used_ema and torch.equal(weights["w"], torch.full((2,), 3.0))
    weights, used_ema = ckpt.generator_weights(ema=False)
    assert not used_ema and torch.equal(weights["w"], torch.ones(2))


def test_a_malformed_field_is_one_line(tmp_path):
    torch.save({**_v1_full(), "step": "many"}, tmp_path / "bad.pt")
    with pytest.raises(GannetError, match="malformed") as err:
        read_checkpoint(tmp_path / "bad.pt")
    assert "\n" not in str(err.value)
