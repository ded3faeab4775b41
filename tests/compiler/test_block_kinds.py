"""The block interface, the netlist and the typed IR (compiler/blocks, netlist.py, ir.py).

The netlist's instances are checked against top.v parsed with a regular expression (a
different path from the one that renders it); loading a dataflow.json with a bad node
fails with one sentence naming that node."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from halfwave.compiler import ir, netlist
from halfwave.compiler.blocks import LAYER_KINDS, MVU, MaxPool, Mode, SlidingWindow
from halfwave.compiler.blocks.base import verilog_value
from halfwave.compiler.blocks.packing import lane_bits, pack_bytes, pack_lanes, pack_words
from halfwave.compiler.codegen_rtl import top_verilog
from halfwave.compiler.datatypes import DataType
from halfwave.compiler.errors import CompileError
from halfwave.compiler.fifos import size_fifos
from halfwave.compiler.folding import fold
from halfwave.compiler.resources import estimate_design


def _layer(name, mw, mh, in_dtype, vectors, rng, last=False):
    """A binary-weight signsel layer, 2-bit outputs (raw accumulators when last)."""
    xmax = DataType.parse(in_dtype).max
    lo, hi = -xmax * mw, xmax * mw
    thr = None if last else np.sort(rng.integers(lo // 2, hi // 2 + 1, (mh, 3)), axis=1)
    w = rng.choice([-1, 1], (mh, mw)).astype(np.int8)
    out = None if last else "UINT2"
    return MVU(name, mw, mh, "signsel", in_dtype, "BIPOLAR", lo, hi, out, weights=w,
               thresholds=thr, vectors=vectors)  # fmt: skip


def fc_ir(sizes):
    rng = np.random.default_rng(1)
    nodes = [
        _layer(f"mvu{i}", a, b, "UINT2", 1, rng, last=i == len(sizes) - 2)
        for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False))
    ]
    return ir.Dataflow("fc", ir.InputQuant([sizes[0]], "UINT2", "quant"), nodes)


def conv_ir(c, hw, oc, fc):
    """3x3 padded convolution, 2x2 max-pool, then an FC layer of `fc` outputs."""
    rng = np.random.default_rng(2)
    swg = SlidingWindow("swg0", c, hw, hw, 3, 3, 1, 1, [1, 1, 1, 1], "UINT8")
    conv = _layer("mvu0", 9 * c, oc, "UINT8", swg.OH * swg.OW, rng)
    pool = MaxPool("pool0", oc, swg.OH, swg.OW, 2, 2, 2, 2, "UINT2")
    dense = _layer("mvu1", pool.OH * pool.OW * oc, fc, "UINT2", 1, rng, last=True)
    inq = ir.InputQuant([c, hw, hw], "UINT8", "quant", channels_last=True)
    return ir.Dataflow("conv", inq, [swg, conv, pool, dense])


_INST = re.compile(r"^\s*(hw_\w+)\s*#\((.*?)\)\s*(\w+)\s*\(", re.S | re.M)
_PARAM = re.compile(r"\.(\w+)\(\s*([^()]*?)\s*\)")


def _designs():
    yield size_fifos(fold(fc_ir([64, 48, 30, 10]), 40))
    yield size_fifos(fold(conv_ir(3, 12, 8, 10)))


@pytest.mark.parametrize("df", list(_designs()), ids=["fc", "conv"])
def test_netlist_blocks_are_the_instances_of_top_v(df):
    """netlist.blocks (what `halfwave synth` synthesises) = the instances in top.v."""
    parsed = [
        (m.group(1), m.group(3), tuple(_PARAM.findall(m.group(2))))
        for m in _INST.finditer(top_verilog(df))
    ]
    got = [(i.module, i.name, i.params) for i in netlist.blocks(df)]
    assert got == parsed
    est = estimate_design(df)
    assert list(est.blocks) == [name for _, name, _ in parsed]


def test_netlist_is_a_connected_dag_from_in_to_out():
    df = next(_designs())
    net = netlist.build(df)
    succ: dict[str, list[str]] = {}
    for e in net.edges:
        succ.setdefault(e.src, []).append(e.dst)
    seen, todo = set(), ["in"]
    while todo:
        v = todo.pop()
        if v not in seen:
            seen.add(v)
            todo += succ.get(v, [])
    assert seen == {"in", "out", *(p.block.name for p in net.placed)}
    order = {p.block.name: k for k, p in enumerate(net.placed)}
    assert all(order[e.src] < order[e.dst] for e in net.edges if e.src in order and e.dst in order)


def _saved(tmp_path, edit):
    df = size_fifos(fold(fc_ir([16, 12, 4]), 40))
    ir.save(df, tmp_path)
    doc = json.loads((tmp_path / "dataflow.json").read_text())
    edit(doc["nodes"][1])
    (tmp_path / "dataflow.json").write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda d: d.update(mode="xnorr"), "mode 'xnorr' is not one of"),
        (lambda d: d.update(in_dtype="UINT"), "in_dtype 'UINT' is not a datatype"),
        (lambda d: d.update(PE=99), "folding PE=99"),
        (lambda d: d.update(kind="Conv"), "unknown node kind 'Conv'"),
        (lambda d: d.update(colour=1), "unknown MVU fields colour"),
    ],
)
def test_load_names_the_bad_node(tmp_path, edit, words):
    _saved(tmp_path, edit)
    with pytest.raises(CompileError) as exc:
        ir.load(tmp_path)
    assert str(exc.value).startswith("node 'mvu1': ") and words in str(exc.value)


def test_typed_ir_round_trip(tmp_path):
    df = size_fifos(fold(conv_ir(3, 8, 4, 5), 400))
    ir.save(df, tmp_path)
    again = ir.load(tmp_path)
    mvu = again.mvus()[0]
    assert isinstance(mvu.in_dtype, DataType) and mvu.mode is Mode(df.mvus()[0].mode)
    assert top_verilog(again) == top_verilog(df)
    doc = json.loads((tmp_path / "dataflow.json").read_text())
    assert doc["nodes"][1]["in_dtype"] == "UINT8" and doc["nodes"][1]["mode"] in {
        m.value for m in Mode
    }
    assert set(LAYER_KINDS) == {"MVU", "TopK", "SlidingWindow", "MaxPool", "AvgPool", "Add",
                                "Concat"}  # fmt: skip


def test_datatype_equals_its_name():
    assert DataType.parse("INT4N") == "INT4N" and DataType.parse("UINT2") != "INT2"
    assert {DataType.parse("BIPOLAR"): 1}["BIPOLAR"] == 1
    assert DataType.parse(DataType.uint(3)) == DataType.uint(3)


def test_lane_packing_agrees_across_forms():
    """Hex words, byte words and beats are one packing: lane l at bits [l*W +: W]."""
    rng = np.random.default_rng(0)
    for width, lanes in ((1, 13), (3, 7), (8, 4), (12, 5)):
        codes = rng.integers(0, 1 << width, (9, lanes)).astype(np.uint64)
        ints = [int(h, 16) for h in pack_words(codes, width).split()]
        want = [sum(int(c) << (width * k) for k, c in enumerate(row)) for row in codes]
        assert ints == want
        as_bytes = [int.from_bytes(r.tobytes(), "little") for r in pack_bytes(codes, width)]
        assert as_bytes == want
        assert np.array_equal(pack_lanes(codes.astype(np.int64), width), pack_bytes(codes, width))
        assert lane_bits(codes, width).shape == (9, lanes * width)


def test_verilog_value_reads_the_literals_top_v_uses():
    assert verilog_value('"block"') == "block" and verilog_value("12") == 12
    assert verilog_value("8'h1f") == 31 and verilog_value("-2") == -2


def _compiler_imports() -> dict[str, set[str]]:
    """compiler module -> the compiler modules it imports (function-level imports
    included, `if TYPE_CHECKING:` blocks not), read from the source."""
    import ast
    from pathlib import Path

    import halfwave.compiler

    root = Path(halfwave.compiler.__file__).parent
    mods = {}
    for f in root.rglob("*.py"):
        parts = list(f.with_suffix("").relative_to(root).parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph = {}
    for m, f in mods.items():
        pkg = m.split(".") if f.name == "__init__.py" and m else m.split(".")[:-1]
        tree = ast.parse(f.read_text())
        hidden = {id(s) for n in tree.body if isinstance(n, ast.If)
                  and getattr(n.test, "id", "") == "TYPE_CHECKING" for s in n.body}  # fmt: skip
        deps = set()
        for n in ast.walk(tree):
            if not isinstance(n, ast.ImportFrom) or id(n) in hidden:
                continue
            if n.level:
                parts = pkg[: len(pkg) - n.level + 1] + (n.module or "").split(".")
            elif (n.module or "").startswith("halfwave.compiler"):
                parts = n.module.split(".")[2:]
            else:
                continue
            parts = [p for p in parts if p]
            for cand in [parts] + [[*parts, a.name] for a in n.names]:
                if ".".join(cand) in mods:
                    deps.add(".".join(cand))
        graph[m] = deps - {m}
    return graph


def test_compiler_has_no_import_circle():
    graph = _compiler_imports()
    assert "resources" in graph["optimize"] and "blocks.swg" in graph["blocks"]
    state: dict[str, int] = {}

    def visit(v: str, path: list[str]) -> None:
        state[v] = 1
        for w in sorted(graph[v]):
            assert state.get(w) != 1, "import circle: " + " -> ".join([*path, v, w])
            if w not in state:
                visit(w, [*path, v])
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v, [])
