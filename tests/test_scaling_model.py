"""benchmarks/scaling_model.py: the step-time model of data-parallel training (ring all-reduce
time, gannet's all-reduces per iteration, compute / N + overhead + communication)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.conftest import benchmark_module

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def model():
    with benchmark_module("scaling_model") as module:
        yield module


@pytest.fixture
def nvlink(model):
    return model.Link("NVLink", 150e9, 10e-6)


def test_one_device_communicates_nothing(model, nvlink) -> None:
    assert model.ring_allreduce_seconds(15e6, 1, nvlink) == 0.0
    messages = model.gannet_messages(1_231_441, 2_503_984)
    assert model.allreduce_seconds(messages, 1, nvlink) == 0.0
    assert model.step_seconds(2e-3, 5e-4, messages, 1, nvlink) == pytest.approx(2.5e-3)


def test_ring_allreduce_formula(model) -> None:
    link = model.Link("l", 10e9, 5e-6)
    # 2 (N-1) hops of latency + 2 (N-1)/N of the message through the link
    assert model.ring_allreduce_seconds(1e9, 2, link) == pytest.approx(2 * 5e-6 + 1e9 / 10e9)
    assert model.ring_allreduce_seconds(1e9, 4, link) == pytest.approx(6 * 5e-6 + 1.5 * 0.1)
    # the bandwidth term tends to twice the message time; latency grows without bound
    big = model.ring_allreduce_seconds(1e9, 10_000, model.Link("l", 10e9, 0.0))
    assert big == pytest.approx(0.2, rel=1e-3) and big < 0.2


@pytest.mark.parametrize("latency", [0.0, 1e-5])
def test_allreduce_time_grows_with_n(model, latency) -> None:
    link = model.Link("l", 12e9, latency)
    times = [model.ring_allreduce_seconds(4e6, n, link) for n in (1, 2, 4, 8, 16, 32, 64)]
    assert all(a < b for a, b in itertools.pairwise(times))


def test_faster_link_less_time(model) -> None:
    slow, fast = model.Link("pcie", 12e9, 1e-5), model.Link("nvlink", 150e9, 1e-5)
    for n in (2, 8, 64):
        assert model.ring_allreduce_seconds(1e7, n, fast) < model.ring_allreduce_seconds(
            1e7, n, slow
        )


def test_gannet_messages_count_k_d_updates_and_one_g_update(model) -> None:
    d, g = 1_231_441, 2_503_984  # the paper's MNIST D and G
    one = model.bytes_per_iteration(model.gannet_messages(d, g, k=1, log_every=100))
    assert one == pytest.approx(4 * (d + g) + 8 + 72 / 100)
    three = model.bytes_per_iteration(model.gannet_messages(d, g, k=3, log_every=100))
    assert three - one == pytest.approx(2 * 4 * d)
    with pytest.raises(ValueError):
        model.gannet_messages(d, g, k=0)


def test_cluster_uses_the_slower_link_beyond_one_host(model) -> None:
    intra, inter = model.Link("NVLink", 150e9, 5e-6), model.Link("IB", 12.5e9, 1e-5)
    cluster = model.Cluster("c", intra, inter, gpus_per_host=8)
    assert cluster.link(8) == intra
    beyond = cluster.link(9)
    assert beyond.bandwidth == 12.5e9 and beyond.latency == 1e-5


def test_scaling_rows(model) -> None:
    messages = model.gannet_messages(1_000_000, 2_000_000)
    cluster = model.Cluster(
        "c", model.Link("NVLink", 150e9, 1e-5), model.Link("IB", 12.5e9, 1e-5), 8
    )
    rows = model.scaling_rows(8e-3, 0.0, messages, cluster, [1, 2, 4, 8, 16, 64], 100)
    assert rows[0]["speedup"] == 1.0 and rows[0]["allreduce_ms"] == 0.0
    assert [r["compute_ms"] for r in rows] == pytest.approx([8 / n for n in (1, 2, 4, 8, 16, 64)])
    for r in rows:
        assert r["step_ms"] == pytest.approx(r["compute_ms"] + r["allreduce_ms"])
        assert r["images_per_s"] == pytest.approx(100 / (r["step_ms"] / 1e3))
        assert r["efficiency"] == pytest.approx(r["speedup"] / r["n"])
        assert r["efficiency"] <= 1.0
        # the global batch grown n times: same compute per device, n times the images
        assert r["weak_step_ms"] == pytest.approx(8 + r["allreduce_ms"])
        assert r["weak_images_per_s"] == pytest.approx(r["n"] * 100 / (r["weak_step_ms"] / 1e3))
        assert r["weak_efficiency"] == pytest.approx(8 / r["weak_step_ms"])
        assert r["weak_efficiency"] >= r["efficiency"]
    # crossing to InfiniBand at 16 makes communication jump
    assert rows[4]["allreduce_ms"] > 4 * rows[3]["allreduce_ms"]


def test_bad_inputs_refused(model, nvlink) -> None:
    with pytest.raises(ValueError):
        model.Link("x", 0.0, 0.0)
    with pytest.raises(ValueError):
        model.Link("x", 1e9, -1.0)
    with pytest.raises(ValueError):
        model.ring_allreduce_seconds(1.0, 0, nvlink)
    with pytest.raises(ValueError):
        model.ring_allreduce_seconds(-1.0, 2, nvlink)
    with pytest.raises(ValueError):
        model.step_seconds(-1.0, 0.0, [], 2, nvlink)
