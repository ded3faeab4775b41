"""FIFO sizing recorded in the IR (size_fifos, overrides) and the FIFO cost table of
report.json / report.md (depth, width, memory kind, BRAM36/LUTRAM, totals)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from halfwave.compiler import ir
from halfwave.compiler.codegen_rtl import node_in_format, top_verilog
from halfwave.compiler.errors import CompileError
from halfwave.compiler.fifos import fifo_depth, fifo_depths, size_fifos
from halfwave.compiler.report import fifo_report
from halfwave.compiler.resources import estimate_design, map_memory
from halfwave.flow import api

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from builders import ConvBuilder  # noqa: E402


def _conv_net(tmp_path: Path) -> Path:
    b = ConvBuilder((3, 10, 10), seed=2).quant_input(bits=8)
    b.conv(8, 3, weights="int8").batchnorm().hwgq()
    b.conv(12, 3).maxpool(2, 2).batchnorm().hwgq()
    b.flatten().linear(16).batchnorm().hwgq().linear(5)
    return b.save(tmp_path / "net.onnx")


def test_sizing_is_recorded_and_overridable(tmp_path):
    onnx_path = _conv_net(tmp_path)
    df = api.compile(onnx_path, tmp_path / "b")
    # the IR records the analysis's depth of every FIFO; load(save) keeps it
    assert df.fifo_depth == {n.name: fifo_depth(n) for n in df.nodes}
    assert ir.load(tmp_path / "b").fifo_depth == df.fifo_depth
    assert fifo_depths(df) == [fifo_depth(n) for n in df.nodes]
    # a Dataflow without recorded depths (older builds) falls back to the analysis
    assert fifo_depths(replace(df, fifo_depth={})) == fifo_depths(df)

    mvu = next(n for n in df.nodes if n.kind == "MVU" and fifo_depth(n) > 3)
    swg = next(n for n in df.nodes if n.kind == "SlidingWindow")
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps({swg.name: {"fifo_depth": 3}}))
    df2 = api.compile(onnx_path, tmp_path / "b2", folding=fold, fifo_depths={mvu.name: 2})
    assert df2.fifo_depth[mvu.name] == 2 and df2.fifo_depth[swg.name] == 3
    top = (tmp_path / "b2" / "rtl" / "top.v").read_text()
    k = [n.name for n in df2.nodes].index(mvu.name)
    assert f".DEPTH(2)) fifo{k} (" in top
    desc = json.loads((tmp_path / "b2" / "rtl" / "top.json").read_text())
    assert [f["depth"] for f in desc["fifos"]] == fifo_depths(df2)
    assert [f["width"] for f in desc["fifos"]] == [node_in_format(n).bits for n in df2.nodes]

    with pytest.raises(CompileError, match="unknown nodes: nope"):
        size_fifos(df, {"nope": 4})
    with pytest.raises(CompileError, match="outside 2.."):
        size_fifos(df, {mvu.name: 1})


def test_fifo_stats_are_simulation_only(tmp_path):
    """The FIFO statistics sit under `ifdef HALFWAVE_FIFO_STATS: without the define,
    top.v is what it was (same instances, no extra logic for synthesis)."""
    df = api.compile(_conv_net(tmp_path), tmp_path / "b")
    top = top_verilog(df)
    kept, skip = [], False
    for line in top.splitlines():
        if line.startswith("`ifdef"):
            skip = True
        elif line.startswith("`endif"):
            skip = False
        elif not skip:
            kept.append(line)
    plain = "\n".join(kept)
    assert "full_cycles" not in plain and "final" not in plain and "$f" not in plain
    assert top.count("`ifdef HALFWAVE_FIFO_STATS") == len(df.nodes) + 1


def test_report_lists_fifo_costs(tmp_path):
    onnx_path = _conv_net(tmp_path)
    df0 = api.compile(onnx_path, tmp_path / "b0")
    last = df0.nodes[-1].name
    df = api.compile(onnx_path, tmp_path / "b", fifo_depths={last: 1024})  # a deep one
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    rows, total = report["fifos"]["fifos"], report["fifos"]["total"]
    assert [r["node"] for r in rows] == [n.name for n in df.nodes]
    assert [r["depth"] for r in rows] == fifo_depths(df)
    assert [r["width"] for r in rows] == [node_in_format(n).bits for n in df.nodes]
    # the memory kind is Yosys's mapping of a depth x width RAM (resources.map_memory)
    kinds = {"block": "BRAM", "distributed": "LUTRAM", "logic": "FF"}
    for r in rows:
        m = map_memory(r["depth"], r["width"], write=True, read_sync=True, transparent=True)
        assert r["memory"] == kinds[m.kind], r
        assert r["bram36"] == m.bram36 and r["lutram"] == m.lutram, r
        assert r["bits"] == r["depth"] * r["width"]
    deep = rows[-1]
    assert deep["sized_by"].startswith("override") and deep["depth"] == 1024
    assert deep["memory"] == "BRAM" and deep["bram36"] > 0
    assert all(r["sized_by"] == "analysis" for r in rows[:-1])
    # totals add up, and agree with the design estimate's hw_fifo blocks
    assert total["count"] == len(df.nodes)
    assert total["bits"] == sum(r["bits"] for r in rows)
    assert total["bram36"] == sum(r["bram36"] for r in rows)
    assert total["lutram"] == sum(r["lutram"] for r in rows)
    est = estimate_design(df)
    fifo_blocks = [r for name, r in est.blocks.items() if est.modules[name] == "hw_fifo"]
    assert total["bram36"] == sum(r.bram36 for r in fifo_blocks)
    assert abs(total["lutram"] - sum(r.lutram for r in fifo_blocks)) <= len(rows)
    assert sum(total["by_memory"].values()) == len(rows)
    assert fifo_report(df) == report["fifos"]
    md = (tmp_path / "b" / "report.md").read_text()
    assert "## FIFOs (estimate)" in md
    assert f"| fifo{len(rows) - 1} | {last} | 1024 |" in md
