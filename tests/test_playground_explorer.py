"""The latent explorer's API (issue 27): the run picker, opening a run, frames that are G at
exactly the asked noise vectors (a plane spanned by two samples, Figure 3's paths, one z for the
sliders), classes and truncation, every malformed or oversized request a JSON 4xx, and no file
of a run ever written."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gannet import load_run
from gannet.cli import main as cli_main
from gannet.figures.interpolation import interpolate
from gannet.files.pictures import image_grid
from gannet.models import sample_noise
from gannet.playground import PlaygroundServer, serve
from gannet.playground.explorer import ANCHORS, MAX_IMAGES
from tests.explorer_support import decode, explorer_server, make_runs, tree_digest
from tests.playground_support import post, request, running_server


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runs(tmp_path_factory.mktemp("explorer"))


@pytest.fixture(scope="module")
def server(runs: Path) -> Iterator[PlaygroundServer]:
    yield from explorer_server(runs)


plain_server = pytest.fixture(scope="module")(running_server)


def ok(srv: PlaygroundServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, payload = post(srv, path, body)
    assert status == 200, payload
    return payload


def anchors(runs: Path, run: str, seed: int) -> torch.Tensor:
    mc = load_run(runs / run).config.model
    gen = torch.Generator().manual_seed(seed)
    return sample_noise(ANCHORS, mc.z_dim, mc.noise, "cpu", gen)


def expected_grid(
    runs: Path, run: str, z: torch.Tensor, cols: int, labels: torch.Tensor | None = None
) -> np.ndarray:
    g = load_run(runs / run).generator
    with torch.no_grad():
        images = g(z) if labels is None else g(z, labels)
    return image_grid(images, nrow=cols, pad=2)


def cells(grid: np.ndarray, rows: int, cols: int, h: int, w: int) -> list[np.ndarray]:
    return [
        grid[2 + r * (h + 2) : 2 + r * (h + 2) + h, 2 + c * (w + 2) : 2 + c * (w + 2) + w]
        for r in range(rows)
        for c in range(cols)
    ]


# --------------------------------------------------------------------------- the picker


def test_the_run_picker_lists_runs_with_their_latest_metrics(
    server: PlaygroundServer, runs: Path
) -> None:
    status, body, _ = request(server, "GET", "/api/explorer/runs")
    assert status == 200 and body["enabled"] and body["root"] == str(runs.resolve())
    by_id = {r["id"]: r for r in body["runs"]}
    assert sorted(by_id) == ["cond", "group/style", "mnist", "toy"]  # not-a-run is not one
    mnist = by_id["mnist"]
    assert mnist["generator"] == "paper-mlp" and mnist["has_checkpoint"]
    assert mnist["step"] == 5 and mnist["status"] == "finished"
    last = [line for line in (runs / "mnist" / "metrics.jsonl").read_text().splitlines()][-1]
    assert f'"d_loss": {mnist["metrics"]["d_loss"]}' in last
    assert mnist["eval"] == {"parzen": {"mean": 123.5, "sem": 2.25}}  # broken.json skipped
    assert by_id["cond"]["conditional"] and not mnist["conditional"]


def test_without_a_runs_folder_the_explorer_is_off(plain_server: PlaygroundServer) -> None:
    status, body, _ = request(plain_server, "GET", "/api/explorer/runs")
    assert status == 200 and body == {"enabled": False, "root": None, "runs": []}
    status, body = post(plain_server, "/api/explorer/open", {"run": "mnist"})
    assert status == 404 and "--runs" in body["error"]


def test_open_describes_each_generator(server: PlaygroundServer) -> None:
    mnist = ok(server, "/api/explorer/open", {"run": "mnist"})
    assert mnist["z_dim"] == 100 and mnist["noise"] == "uniform"
    assert mnist["sample_shape"] == [1, 28, 28] and mnist["num_classes"] == 0
    assert not mnist["truncation"] and mnist["z_range"] == pytest.approx(math.sqrt(3))
    cond = ok(server, "/api/explorer/open", {"run": "cond"})
    assert cond["num_classes"] == 4 and cond["z_dim"] == 8
    style = ok(server, "/api/explorer/open", {"run": "group/style"})
    assert style["truncation"] and style["noise"] == "normal" and style["sample_shape"] == [3, 8, 8]


# --------------------------------------------------------------------------- frames are G


def test_a_plane_frame_is_g_on_the_plane_spanned_by_two_samples(
    server: PlaygroundServer, runs: Path
) -> None:
    body = {"run": "mnist", "seed": 3, "a": 5, "b": 9, "u": 0.25, "v": -0.5, "span": 1.5, "size": 3}
    r = ok(server, "/api/explorer/plane", body)
    assert (r["rows"], r["cols"], r["count"], r["cell"]) == (3, 3, 9, [28, 28])
    assert r["plane"]["u"] == pytest.approx([-0.5, 0.25, 1.0])
    assert r["plane"]["v"] == pytest.approx([0.25, -0.5, -1.25])  # rows go down v
    assert r["ms"]["generate"] > 0 and r["ms"]["server"] >= r["ms"]["generate"]
    z = anchors(runs, "mnist", 3).double()
    points = [(u, v) for v in r["plane"]["v"] for u in r["plane"]["u"]]
    plane = torch.stack([u * z[5] + v * z[9] for u, v in points]).float()
    plane = plane.clamp(-math.sqrt(3), math.sqrt(3))  # the uniform prior's cube
    np.testing.assert_array_equal(decode(r["image"]), expected_grid(runs, "mnist", plane, 3))
    # (1, 0) is sample a, (0, 1) sample b: the picker's cells.
    picker = ok(server, "/api/explorer/samples", {"run": "mnist", "seed": 3, "count": 16})
    shown = cells(decode(picker["image"]), 2, 8, 28, 28)
    for (u, v), index in [((1, 0), 5), ((0, 1), 9)]:
        one = ok(server, "/api/explorer/plane", {**body, "u": u, "v": v, "size": 1})
        np.testing.assert_array_equal(cells(decode(one["image"]), 1, 1, 28, 28)[0], shown[index])


def test_paths_are_figure_3_rows_linear_or_slerp(server: PlaygroundServer, runs: Path) -> None:
    body = {"run": "group/style", "seed": 0, "pairs": [[0, 1], [2, 3]], "steps": 5}
    linear = ok(server, "/api/explorer/path", body)
    assert (linear["rows"], linear["cols"]) == (2, 5) and not linear["path"]["spherical"]
    z = anchors(runs, "group/style", 0)
    path = interpolate(z[[0, 2]], z[[1, 3]], 5).reshape(-1, 8)
    np.testing.assert_array_equal(
        decode(linear["image"]), expected_grid(runs, "group/style", path, 5)
    )
    slerp = ok(server, "/api/explorer/path", {**body, "spherical": True})
    a, b = decode(linear["image"]), decode(slerp["image"])
    la, lb = cells(a, 2, 5, 8, 8), cells(b, 2, 5, 8, 8)
    assert all(np.array_equal(la[i], lb[i]) for i in (0, 4, 5, 9))  # the same endpoints
    assert not np.array_equal(a, b)  # other points between


def test_the_sliders_point_round_trips_its_z(server: PlaygroundServer, runs: Path) -> None:
    first = ok(server, "/api/explorer/point", {"run": "mnist", "seed": 2, "index": 7})
    z = anchors(runs, "mnist", 2)[7]
    assert first["z"] == pytest.approx(z.tolist(), abs=1e-6) and first["count"] == 1
    again = ok(server, "/api/explorer/point", {"run": "mnist", "z": first["z"]})
    np.testing.assert_array_equal(decode(again["image"]), decode(first["image"]))
    moved = list(first["z"])
    moved[0] = -moved[0] if abs(moved[0]) > 0.5 else 1.7
    other = ok(server, "/api/explorer/point", {"run": "mnist", "z": moved})
    assert not np.array_equal(decode(other["image"]), decode(first["image"]))
    far = ok(server, "/api/explorer/point", {"run": "mnist", "z": [9.0] * 100})
    assert far["z"] == pytest.approx([math.sqrt(3)] * 100)  # clamped into the uniform cube


def test_a_conditional_run_takes_a_class(server: PlaygroundServer, runs: Path) -> None:
    body = {"run": "cond", "seed": 0, "a": 0, "b": 1, "size": 2}
    frames = [
        decode(ok(server, "/api/explorer/plane", {**body, "class": c})["image"]) for c in (0, 3)
    ]
    assert not np.array_equal(frames[0], frames[1])
    z = anchors(runs, "cond", 0).double()
    us, vs = [-0.5, 1.5], [1.5, -0.5]
    plane = torch.stack([u * z[0] + v * z[1] for v in vs for u in us]).float()
    plane = plane.clamp(-math.sqrt(3), math.sqrt(3))
    labels = torch.full((4,), 3, dtype=torch.long)
    np.testing.assert_array_equal(frames[1], expected_grid(runs, "cond", plane, 2, labels))
    status, err = post(server, "/api/explorer/plane", body)  # no class
    assert status == 400 and "conditional" in err["error"] and "[0, 3]" in err["error"]
    assert post(server, "/api/explorer/plane", {**body, "class": 4})[0] == 400
    status, err = post(server, "/api/explorer/samples", {"run": "mnist", "class": 1})
    assert status == 400 and "not conditional" in err["error"]


def test_truncation_for_stylegan_only(server: PlaygroundServer) -> None:
    body = {"run": "group/style", "seed": 0, "count": 8}
    full = decode(ok(server, "/api/explorer/samples", body)["image"])
    same = decode(ok(server, "/api/explorer/samples", {**body, "truncation": 1.0})["image"])
    half = decode(ok(server, "/api/explorer/samples", {**body, "truncation": 0.5})["image"])
    assert np.array_equal(full, same) and not np.array_equal(full, half)
    status, err = post(server, "/api/explorer/samples", {"run": "mnist", "truncation": 0.5})
    assert status == 400 and "truncation" in err["error"]


# --------------------------------------------------------------------------- refusals


BAD: list[tuple[str, dict[str, Any], int, str]] = [
    ("/api/explorer/open", {"run": "nope"}, 404, "no run 'nope'"),
    ("/api/explorer/open", {"run": "../explorer0/runs/mnist"}, 404, "no run"),
    ("/api/explorer/open", {"run": "not-a-run"}, 404, "no run"),
    ("/api/explorer/open", {}, 400, "missing field 'run'"),
    ("/api/explorer/open", {"run": 3}, 400, "must be a string"),
    ("/api/explorer/open", {"run": "toy"}, 400, "not 1- or 3-channel images"),
    ("/api/explorer/plane", {"run": "mnist", "size": 11}, 400, "'size' must be in [1, 10]"),
    ("/api/explorer/plane", {"run": "mnist", "span": 1e9}, 400, "'span'"),
    ("/api/explorer/plane", {"run": "mnist", "u": "1"}, 400, "'u' must be a number"),
    ("/api/explorer/plane", {"run": "mnist", "a": 64}, 400, "'a' must be in [0, 63]"),
    ("/api/explorer/plane", {"run": "mnist", "zoom": 2}, 400, "unknown field 'zoom'"),
    ("/api/explorer/samples", {"run": "mnist", "count": 65}, 400, "'count'"),
    ("/api/explorer/samples", {"run": "mnist", "seed": -1}, 400, "'seed'"),
    ("/api/explorer/samples", {"run": "mnist", "truncation": 0}, 400, "'truncation'"),
    ("/api/explorer/path", {"run": "mnist", "pairs": [[0, 1]] * 10, "steps": 12}, 400, "at most"),
    ("/api/explorer/path", {"run": "mnist", "pairs": []}, 400, "'pairs'"),
    ("/api/explorer/path", {"run": "mnist", "pairs": [[0, 99]]}, 400, "pairs:"),
    ("/api/explorer/path", {"run": "mnist", "pairs": [[0]]}, 400, "[a, b]"),
    ("/api/explorer/path", {"run": "mnist", "pairs": "0-1"}, 400, "'pairs'"),
    ("/api/explorer/path", {"run": "mnist", "pairs": [[0, 1]], "spherical": 1}, 400, "true"),
    ("/api/explorer/path", {"run": "mnist", "pairs": [[0, 1]], "steps": 1}, 400, "'steps'"),
    ("/api/explorer/point", {"run": "mnist", "z": [0.0] * 99}, 400, "100 numbers"),
    ("/api/explorer/point", {"run": "mnist", "z": [0.0] * 99 + [1e9]}, 400, "z:"),
    ("/api/explorer/point", {"run": "mnist", "z": [0.0] * 99 + [None]}, 400, "z:"),
    ("/api/explorer/point", {"run": "mnist", "z": "zeros"}, 400, "'z'"),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), BAD)
def test_malformed_requests_get_a_json_4xx(
    server: PlaygroundServer, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    got, payload = post(server, path, body)
    assert got == status and message in payload["error"], payload
    assert len(payload["error"]) < 400


def test_wrong_methods_and_bodies(server: PlaygroundServer) -> None:
    assert request(server, "GET", "/api/explorer/plane")[0] == 405
    assert request(server, "POST", "/api/explorer/runs", {})[0] == 405
    assert request(server, "GET", "/api/explorer/runs?x=1")[0] == 400
    status, body, _ = request(server, "POST", "/api/explorer/plane", raw=b"{nope")
    assert status == 400 and "not valid JSON" in body["error"]
    status, body, _ = request(server, "GET", "/explorer.js")
    assert status == 200 and "gannetState.explorer" in body["text"]


def test_a_frame_is_bounded(server: PlaygroundServer) -> None:
    """The largest frames are served; more than MAX_IMAGES images is a 400."""
    big = ok(server, "/api/explorer/plane", {"run": "mnist", "size": 10})
    assert big["count"] == MAX_IMAGES
    path = {"run": "mnist", "pairs": [[0, 1]] * 10, "steps": 10}
    assert ok(server, "/api/explorer/path", path)["count"] == MAX_IMAGES
    status, body = post(server, "/api/explorer/path", {**path, "steps": 11})
    assert status == 400 and f"at most {MAX_IMAGES}" in body["error"]


def test_a_session_writes_no_file_of_any_run(server: PlaygroundServer, runs: Path) -> None:
    before = tree_digest(runs)
    request(server, "GET", "/api/explorer/runs")
    for run in ("mnist", "cond", "group/style", "toy"):
        post(server, "/api/explorer/open", {"run": run})
    klass = {"class": 1}
    for path, body in [
        ("/api/explorer/samples", {"run": "mnist"}),
        ("/api/explorer/plane", {"run": "cond", **klass}),
        ("/api/explorer/path", {"run": "group/style", "pairs": [[0, 1]], "truncation": 0.7}),
        ("/api/explorer/point", {"run": "mnist", "index": 3}),
        ("/api/explorer/point", {"run": "mnist", "z": [1]}),
    ]:
        post(server, path, body)
    assert tree_digest(runs) == before


def test_the_cache_reopens_a_run_whose_checkpoint_changed(
    server: PlaygroundServer, runs: Path
) -> None:
    path = runs / "cond"
    first = server.explorer.source(path)
    assert server.explorer.source(path) is first
    ckpt = path / "checkpoint.pt"
    st = ckpt.stat()
    import os

    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert server.explorer.source(path) is not first


def test_cli_refuses_a_missing_runs_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["playground", "--port", "0", "--runs", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--runs" in err and "is not a folder" in err and len(err.splitlines()) == 1


# --------------------------------------------------------------------------- exported G


@pytest.mark.parametrize("backend", ["pt2", "onnx"])
def test_an_exported_g_draws_the_same_frames(
    backend: str, server: PlaygroundServer, runs: Path
) -> None:
    """--backend pt2|onnx: each run is exported (to a temporary folder, never into the run)
    when opened, and its frames match the eager G's to one grey level of the PNG."""
    if backend == "onnx":
        pytest.importorskip("onnxruntime")
    before = tree_digest(runs)
    exported = serve("127.0.0.1", 0, runs=runs, backend=backend)
    exported.start()
    try:
        assert ok(exported, "/api/explorer/open", {"run": "cond"})["generator"] == (
            f"{backend} fp32"
        )
        body = {"run": "cond", "seed": 2, "a": 1, "b": 7, "size": 3, "class": 2}
        mine = ok(exported, "/api/explorer/plane", body)
        eager = ok(server, "/api/explorer/plane", body)
        assert mine["drawn_by"] == f"{backend} fp32" and eager["drawn_by"] == "eager"
        diff = decode(mine["image"]).astype(int) - decode(eager["image"]).astype(int)
        assert np.abs(diff).max() <= 1
        # the truncation slider's psi is per frame: those frames are the eager G's
        style = {"run": "group/style", "seed": 0, "count": 4, "truncation": 0.5}
        half = ok(exported, "/api/explorer/samples", style)
        assert half["drawn_by"] == "eager"
        full = ok(exported, "/api/explorer/samples", {**style, "truncation": 1.0})
        assert full["drawn_by"] == f"{backend} fp32"
    finally:
        exported.close()
    assert tree_digest(runs) == before


def test_an_unknown_backend_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["playground", "--port", "0", "--runs", str(tmp_path), "--backend", "tf"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "unknown explorer backend 'tf'" in err and len(err.splitlines()) == 1
