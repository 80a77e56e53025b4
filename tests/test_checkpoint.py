import pickle

import pytest
import torch

from gannet.checkpoint import load_checkpoint, save_checkpoint
from gannet.errors import GannetError


def _state():
    return {"config": {"a": 1}, "generator": {"w": torch.ones(3)}, "discriminator": {}}


def test_round_trip(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, _state())
    state = load_checkpoint(path)
    assert torch.equal(state["generator"]["w"], torch.ones(3))
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
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
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
    with pytest.raises(GannetError, match="lacks generator, discriminator: it is incomplete"):
        load_checkpoint(path)
    with pytest.raises(GannetError, match="is not a file"):
        load_checkpoint(tmp_path)
