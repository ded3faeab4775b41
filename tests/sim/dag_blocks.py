"""Test-only fork and join blocks and a residual DAG built from real layer blocks, for
the DAG tests of the netlist, FIFO sizing and RTL simulation (independent of the Add,
Concat and Fork blocks of compiler/blocks: the netlist's generic code is what is tested).

`residual_df`: input -> fork -> [SWG 3x3 pad 1 -> MVU -> SWG 3x3 pad 1 -> MVU] and the
shortcut -> TbAdd (lane-wise sum of the two UINT2 streams, UINT3 out)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from halfwave.compiler import ir, netlist
from halfwave.compiler.blocks import MVU, Block, Instance, SlidingWindow
from halfwave.compiler.blocks.base import stream_ports
from halfwave.compiler.codegen_hls import write_hls
from halfwave.compiler.codegen_rtl import write_rtl
from halfwave.compiler.datatypes import DataType
from halfwave.compiler.fifos import size_fifos
from halfwave.compiler.folding import fold
from halfwave.compiler.streams import StreamFormat, format_of

TB = Path(__file__).resolve().parent / "tb"


@dataclass(frozen=True)
class TbFork(Block):
    name: str
    width: int
    n_out: int
    beats: int = 0
    kind: str = "Fork"
    rtl_module = "tb_dag_fork"

    def rtl(self) -> Instance:
        params = (("WIDTH", str(self.width)), ("N_OUT", str(self.n_out)))
        return Instance(self.rtl_module, self.name, params, rows=(2,), inline=True)

    def fork_ports(self, i: str, outs: list[str]) -> list[str]:
        rev = list(reversed(outs))
        return [
            ".clk(clk), .rst(rst)",
            f".in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready)",
            f".out_data({{{', '.join(f'{o}_data' for o in rev)}}})",
            f".out_valid({{{', '.join(f'{o}_valid' for o in rev)}}})",
            f".out_ready({{{', '.join(f'{o}_ready' for o in rev)}}})",
        ]

    def hls_fork(self, i: str, outs: list[str]) -> str:
        return f"    tb_fork<{self.width}, {self.beats}>({i}, {', '.join(outs)});\n"


@dataclass
class TbAdd(Block):
    """z = a + b lane-wise on unsigned codes; C elements a vector, `vectors` a frame."""

    name: str
    C: int
    vectors: int
    a_dtype: DataType
    b_dtype: DataType
    PE: int = 1
    kind: str = "TbAdd"
    rtl_module = "tb_dag_add"
    lanes_from_producer = True  # the optimiser and the default folding give it input 0's

    @property
    def in_lanes(self) -> int:
        return self.PE

    out_lanes = in_lanes

    def with_lanes(self, lanes: int) -> TbAdd:
        return replace(self, PE=lanes) if self.C % lanes == 0 else self

    def fold_after(self, lanes_before: int, target: int, spec: dict) -> TbAdd:
        return self.with_lanes(lanes_before)

    @property
    def out_type(self) -> DataType:
        return DataType.parse(f"UINT{max(self.a_dtype.bits, self.b_dtype.bits) + 1}")

    @property
    def in_dtype(self) -> DataType:
        return self.a_dtype

    @property
    def n_out(self) -> int:
        return self.C

    def input_count(self) -> int:
        return 2

    def in_formats(self) -> list[StreamFormat]:
        return [format_of(d, self.PE, self.C) for d in (self.a_dtype, self.b_dtype)]

    def in_format(self) -> StreamFormat:
        return self.in_formats()[0]

    def out_format(self) -> StreamFormat:
        return format_of(self.out_type, self.PE, self.C)

    def vectors_in(self) -> int:
        return self.vectors

    def vectors_out(self) -> int:
        return self.vectors

    def cycles_per_frame(self) -> int:
        return self.vectors * -(-self.C // self.PE)

    def run_inputs(self, xs: list[np.ndarray]) -> np.ndarray:
        return xs[0] + xs[1]

    def rtl(self) -> Instance:
        w = (self.a_dtype.bits, self.b_dtype.bits, self.out_type.bits)
        params = (("PE", str(self.PE)), ("WA", str(w[0])), ("WB", str(w[1])), ("WO", str(w[2])))
        return Instance(self.rtl_module, self.name, params, rows=(4,), inline=True)

    def rtl_join_ports(self, ins: list[str], o: str) -> list[str]:
        a, b = ins
        clk, _, out = stream_ports(a, o)
        return [
            clk,
            f".a_data({a}_data), .a_valid({a}_valid), .a_ready({a}_ready)",
            f".b_data({b}_data), .b_valid({b}_valid), .b_ready({b}_ready)",
            out,
        ]

    def hls_join(self, ins: list[str], o: str) -> str:
        beats = self.vectors * -(-self.C // self.PE)
        w = f"{self.a_dtype.bits}, {self.b_dtype.bits}, {self.out_type.bits}"
        return f"    tb_add<{self.PE}, {beats}, {w}>({', '.join(ins)}, {o});\n"

    def hls_includes(self) -> list[str]:
        return ["tb_dag.h"]


def use_tb_fork(monkeypatch) -> None:
    """The netlist places TbFork where a producer has several consumers."""
    monkeypatch.setattr(netlist, "fork_block", TbFork)


def _mvu(name: str, c: int, oc: int, vectors: int, rng) -> MVU:
    """A binary-weight layer on 3x3 windows of UINT2 codes, UINT2 out."""
    mw = 9 * c
    lo, hi = -3 * mw, 3 * mw
    thr = np.sort(rng.integers(lo // 3, hi // 3 + 1, (oc, 3)), axis=1)
    w = rng.choice([-1, 1], (oc, mw)).astype(np.int8)
    return MVU(name, mw, oc, "signsel", "UINT2", "BIPOLAR", lo, hi, "UINT2", weights=w,
               thresholds=thr, vectors=vectors)  # fmt: skip


def residual_df(c: int = 4, hw: int = 8, pe: int = 2, simd: int = 4, add_pe: int = 2,
                seed: int = 3) -> ir.Dataflow:  # fmt: skip
    """The residual block of the module docstring, folded (MVUs PE x SIMD) and sized."""
    rng = np.random.default_rng(seed)
    u2 = DataType.parse("UINT2")
    nodes = [
        SlidingWindow("swg0", c, hw, hw, 3, 3, 1, 1, [1, 1, 1, 1], u2),
        _mvu("mvu0", c, c, hw * hw, rng),
        SlidingWindow("swg1", c, hw, hw, 3, 3, 1, 1, [1, 1, 1, 1], u2),
        _mvu("mvu1", c, c, hw * hw, rng),
        TbAdd("add", c, hw * hw, u2, u2, add_pe),
    ]
    inq = ir.InputQuant([c, hw, hw], u2, "quant", channels_last=True)
    df = ir.Dataflow("residual", inq, nodes, inputs={"add": ["mvu1", ir.INPUT]})
    df.check_graph()
    spec = {"PE": pe, "SIMD": simd}
    return size_fifos(fold(df, folding={"mvu0": spec, "mvu1": spec}))


def write_build(df: ir.Dataflow, build: Path) -> Path:
    """rtl/ of df with the test-only Verilog blocks added to its sources."""
    rtl = build / "rtl"
    write_rtl(df, rtl)
    desc = json.loads((rtl / "top.json").read_text())
    for v in sorted(TB.glob("tb_dag_*.v")):
        shutil.copyfile(v, rtl / v.name)
        desc["sources"].insert(0, v.name)
    (rtl / "top.json").write_text(json.dumps(desc, indent=1) + "\n")
    return build


def write_hls_build(df: ir.Dataflow, build: Path) -> Path:
    """rtl/ (the memory files the C simulation reads) and hls/ with tb_dag.h."""
    write_build(df, build)
    write_hls(df, build / "hls")
    shutil.copyfile(TB / "tb_dag.h", build / "hls" / "tb_dag.h")
    return build
