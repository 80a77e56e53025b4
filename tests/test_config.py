from pathlib import Path

import pytest

from gannet.config import Config
from gannet.errors import GannetError

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_paper_setup():
    c = Config()
    assert (c.model.z_dim, c.model.g_hidden, c.model.d_hidden, c.model.d_pieces) == (
        100,
        [1200, 1200],
        [240, 240],
        5,
    )
    assert (c.model.g_init_range, c.model.d_init_range) == (0.05, 0.005)
    assert (c.model.d_input_keep, c.model.d_hidden_keep) == (0.8, 0.5)
    assert (c.optim.lr, c.optim.lr_decay, c.optim.lr_min) == (0.1, 1.000004, 1e-6)
    assert (c.optim.momentum_init, c.optim.momentum_final, c.optim.momentum_saturate) == (
        0.5,
        0.7,
        250,
    )
    assert (c.train.k, c.train.batch_size, c.train.schedule) == (1, 100, "alternating")


def test_paper_config_file_matches_defaults_where_it_sets_them():
    c = Config.load(REPO / "configs" / "mnist-paper.toml")
    d = Config()
    for section in ("data", "model", "loss", "optim"):
        assert getattr(c, section) == getattr(d, section), section


def test_every_shipped_config_loads():
    for path in sorted((REPO / "configs").glob("*.toml")):
        Config.load(path)


def test_overrides_parse_toml_values():
    c = Config().with_overrides(
        ["train.epochs=7", "optim.lr=0.5", "model.g_hidden=[10, 20]", "loss.name=minimax"]
    )
    assert c.train.epochs == 7
    assert c.optim.lr == 0.5
    assert c.model.g_hidden == [10, 20]
    assert c.loss.name == "minimax"  # a bare word falls back to a string


def test_int_is_accepted_for_float():
    c = Config().with_overrides(["optim.lr=1"])
    assert c.optim.lr == 1.0 and isinstance(c.optim.lr, float)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("train.epoch=3", "unknown config key 'train.epoch'"),
        ("trian.epochs=3", "unknown config section 'trian'"),
        ("train.epochs=3.5", "'train.epochs' must be an integer"),
        ("train.epochs=true", "'train.epochs' must be an integer"),
        ("model.noise=gaussian", "'model.noise' must be one of 'uniform', 'normal'"),
        ("model.g_hidden=[1, 'a']", "'model.g_hidden' must be an integer"),
        ("data.download=1", "'data.download' must be true or false"),
        ("epochs=3", "must look like section.key"),
        ("train.epochs", "must look like section.key=value"),
    ],
)
def test_bad_overrides_name_the_key(override, fragment):
    with pytest.raises(GannetError, match=None) as info:
        Config().with_overrides([override])
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_files(tmp_path):
    with pytest.raises(GannetError, match="not found"):
        Config.load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nepochs = 3")
    with pytest.raises(GannetError, match="not valid TOML"):
        Config.load(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[train]\nbatchsize = 3\n")
    with pytest.raises(GannetError, match=r"unknown config key 'train\.batchsize'"):
        Config.load(wrong)


def test_round_trip_through_toml(tmp_path):
    c = Config().with_overrides(["train.seed=9", "model.d_hidden=[7]", "optim.betas=[0.1, 0.2]"])
    c.save(tmp_path / "c.toml")
    assert Config.load(tmp_path / "c.toml") == c
