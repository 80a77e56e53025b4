"""benchmarks/common.py: the machine line and the results JSON every benchmark writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import benchmark_module

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def common():
    with benchmark_module("common") as module:
        yield module


def test_cpu_features_from_proc_cpuinfo(common, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n"
        "processor\t: 1\nmodel name\t: Other\nflags\t\t: fpu\n"
    )
    model, flags = common._cpuinfo(info)
    assert model == "Some CPU"
    assert common.cpu_features(flags) == {"avx512": True, "avx512_bf16": True, "amx": True}
    assert common.cpu_features({"avx2"}) == {"avx512": False, "avx512_bf16": False, "amx": False}
    assert common.cpu_features(None) == {"avx512": None, "avx512_bf16": None, "amx": None}
    assert common._cpuinfo(tmp_path / "missing") == (None, None)


def test_machine_line(common, capsys):
    info = common.print_machine()
    line = capsys.readouterr().out.strip()
    assert line == common.describe_machine(info)
    assert line.startswith(f"machine: {info['cpu']}, ") and "AVX-512-BF16" in line
    assert f"{info['torch_threads']} thread" in line


def test_write_results(common, tmp_path):
    script = HERE.parent / "benchmarks" / "some_bench.py"
    out = common.write_results(
        tmp_path / "r" / "x.json", {"runs": [1, 2]}, script=script, argv=["--quick", "a b"]
    )
    data = json.loads(out.read_text())
    assert list(data) == ["benchmark", "created", "command", "machine", "runs"]
    assert data["benchmark"] == "some_bench" and data["runs"] == [1, 2]
    assert data["command"] == "python benchmarks/some_bench.py --quick 'a b'"
    assert {"cpu", "avx512", "avx512_bf16", "amx", "torch_threads"} <= set(data["machine"])
    assert [p.name for p in out.parent.iterdir()] == ["x.json"]  # no temporary file left
    with pytest.raises(ValueError, match="machine"):
        common.write_results(tmp_path / "y.json", {"machine": 1}, script=script, argv=[])
