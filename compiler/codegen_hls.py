"""HLS back end: BUILD/hls/, Vitis HLS C++ computing exactly what the RTL top computes.

From the same netlist as codegen_rtl (compiler/netlist.py), with the same streams: the
generated top
(`halfwave_top`, #pragma HLS DATAFLOW, AXI-stream ports) chains the input adapter (bus
lanes -> first node's lanes), per node a lane repacker where the lanes differ, the node,
and the output adapter (last node -> bus lanes, TLAST on the last beat of a frame); on a
DAG a fork (`Fork.hls_fork`) after a producer with several consumers and a join's call
with all its input streams (`Block.hls_join`); every stream between processes is an
hls::stream with the RTL FIFO depth. Stream formats, bus
widths, accumulator widths and the parameter packing (compiler/blocks: weight lanes,
threshold lanes, padding) are imported, never rewritten, so both back ends read one
source of truth. Weights and thresholds become C++ arrays in <node>_params.h.

Written files (deterministic bytes): top.h, top.cpp, <node>_params.h, the library
headers (hw/hls), csim_main.cpp (self-checking testbench), top.json (stream formats and
layer-boundary taps for halfwave.sim.hls), run_hls.tcl (Vitis HLS: csim, csynth, cosim,
export IP), top_hls.v and vivado_ip.tcl (the exported IP as a drop-in for rtl/top.v).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import halfwave.hw

from . import netlist as nl
from .blocks.maxpool import maxpool_params_header
from .blocks.mvu import (
    MVU,
    mvu_params_header,
    mvu_swap_flags,
    mvu_threshold_values,
    mvu_values_header,
    mvu_weight_lanes,
)
from .errors import CompileError
from .ir import Dataflow, Node
from .streams import StreamFormat, input_bus, output_bus

__all__ = [  # the parameter helpers moved to compiler/blocks, re-exported
    "TOP", "build_top", "maxpool_params_header", "mvu_params_header", "mvu_swap_flags",
    "mvu_threshold_values", "mvu_values_header", "mvu_weight_lanes", "ternary_scales",
    "write_hls",
]  # fmt: skip

HLS_LIB = Path(halfwave.hw.__file__).resolve().parent / "hls"
LIBRARY = (
    "hw_stream.h",
    "hw_lane_repack.h",
    "hw_mvu.h",
    "hw_topk.h",
    "hw_swg.h",
    "hw_maxpool.h",
    "hw_avgpool.h",
    "hw_csim_io.h",
    "csim_main.cpp",
)
TOP = "halfwave_top"
DEFAULT_PART = "xc7z020clg400-1"  # pynq-z1 / pynq-z2
DEFAULT_CLOCK_NS = 10.0
IP_VLNV = ("halfwave.org", "hls", TOP, "1.0")
AP_INT_DEFAULT_MAX = 1024  # ap_int.h's default AP_INT_MAX_W
LINK_DEPTH = 2  # streams that are plain wires in rtl/top.v (repacker and node outputs)


def out_dtype_name(n: Node) -> str:
    return n.out_dtype_name()


def ternary_scales(n: MVU) -> tuple[int, int]:
    return n.ternary_scales()


def _beat_type(fmt: StreamFormat) -> str:
    return f"ap_uint<{fmt.bits}>"


class _Top:
    """Collects the stream declarations and process calls of halfwave_top."""

    def __init__(self) -> None:
        self.streams: dict[str, tuple[StreamFormat, int]] = {}
        self.body: list[str] = []
        self.max_bits = 8

    def stream(self, name: str, fmt: StreamFormat, depth: int = LINK_DEPTH) -> str:
        self.max_bits = max(self.max_bits, fmt.bits)
        self.streams[name] = (fmt, depth)
        return name

    def set_depth(self, name: str, depth: int) -> None:
        self.streams[name] = (self.streams[name][0], depth)

    def decls(self) -> str:
        return "".join(
            f'    hls::stream<{_beat_type(fmt)} > {name}("{name}");\n'
            f"#pragma HLS STREAM variable={name} depth={depth}\n"
            for name, (fmt, depth) in self.streams.items()
        )


def extra_headers(net: nl.Netlist) -> list[str]:
    """Library headers of the design's blocks beyond LIBRARY (forks, joins)."""
    hs = [p.block.hls_header for p in net.placed]
    return [h for h in dict.fromkeys(hs) if h and h not in LIBRARY]


def build_top(df: Dataflow) -> tuple[str, str, dict]:
    """(top.h, top.cpp, top.json description) of a folded dataflow: the netlist with
    every FIFO realised as the depth of the stream in front of its layer."""
    if not df.nodes:
        raise CompileError("HLS back end: the dataflow has no nodes")
    net = nl.build(df)
    ibus, obus = net.in_bus, net.out_bus
    first, last = df.nodes[0], df.nodes[-1]
    in_beats = ibus.beats * first.vectors_in()
    out_beats = obus.beats * last.vectors_out()
    top = _Top()
    top.max_bits = max(ibus.bits, obus.bits)
    taps: list[dict] = []
    pragmas: list[str] = []

    def tap(stream: str, fmt: StreamFormat, vectors: int, dtype: str) -> None:
        b = len(taps)
        beats = fmt.beats * vectors
        taps.append({**asdict(fmt), "boundary": b, "vectors": vectors, "dtype": dtype})
        top.body.append(f"    HALFWAVE_TAP({b}, {stream}, {beats});\n")

    stream = {"s_in": top.stream("s_in", ibus)}  # netlist wire -> HLS stream
    top.body.append(f"    axis_to_stream<{ibus.bits}, {in_beats}>(in_stream, s_in);\n")
    for p in net.placed:
        b, i = p.block, stream[p.i]
        if p.role == "fifo":  # the FIFO in front of a layer: the depth of its stream
            top.set_depth(i, b.depth)
            stream[p.o] = i
            if p.index == 0 and p.port == 0:
                tap(i, p.fmt, first.vectors_in(), first.in_dtype.name)
            continue
        if p.role == "fork":
            outs = [top.stream(w, p.fmt) for w in p.outs]
            stream.update(zip(outs, outs, strict=True))
            top.body.append(b.hls_fork(i, outs))  # type: ignore[attr-defined]
            continue
        o = top.stream(p.o, p.fmt)
        stream[p.o] = o
        top.max_bits = max(top.max_bits, b.hls_max_bits())
        if p.role == "layer":
            call = b.hls_join([stream[w] for w in p.ins], o) if p.ins else b.hls(i, o)
            top.body.append(f"    // {b.kind} '{b.name}'\n" + call)
            tap(o, p.fmt, b.vectors_out(), b.out_dtype_name())
            pragmas += b.hls_pragmas()
        else:
            top.body.append(b.hls(i, o))
    top.body.append(f"    stream_to_axis<{obus.bits}, {out_beats}>(m_out, out_stream);\n")

    max_w = ""
    if top.max_bits > AP_INT_DEFAULT_MAX:
        if top.max_bits > 32768:
            raise CompileError(
                f"HLS back end: a {top.max_bits}-bit word exceeds ap_int's 32768-bit limit; "
                "fold with fewer lanes"
            )
        max_w = f"#define AP_INT_MAX_W {top.max_bits}  // widest ap_uint in this design\n"
    header = f"""// top.h — generated by halfwave for model '{df.model}'; do not edit.
//
// {TOP}: one frame per call, AXI-stream in and out (#pragma HLS DATAFLOW inside).
// Input stream: {ibus.lanes} lanes x {ibus.width} bits per beat, {in_beats} beats per frame
// ({ibus.count} values per vector, element i in beat i/{ibus.lanes}, lane l at bits
// [l*{ibus.width} +: {ibus.width}]). Output stream: {obus.lanes} lanes x {obus.width} bits per \
beat,
// {out_beats} beats per frame, TLAST on the last beat of every frame.
#ifndef HALFWAVE_TOP_H
#define HALFWAVE_TOP_H

{max_w}#include "hw_stream.h"

#define HALFWAVE_IN_BITS {ibus.bits}
#define HALFWAVE_IN_BEATS {in_beats}
#define HALFWAVE_OUT_BITS {obus.bits}
#define HALFWAVE_OUT_BEATS {out_beats}

typedef ap_axiu<HALFWAVE_IN_BITS, 0, 0, 0> halfwave_in_t;
typedef ap_axiu<HALFWAVE_OUT_BITS, 0, 0, 0> halfwave_out_t;

void {TOP}(hls::stream<halfwave_in_t>& in_stream, hls::stream<halfwave_out_t>& out_stream);

#endif  // HALFWAVE_TOP_H
"""
    used = {n.hls_header for n in df.nodes}
    includes = ['#include "top.h"', '#include "hw_lane_repack.h"']
    includes += [f'#include "{lib}"' for lib in LIBRARY if lib in used]
    includes += [f'#include "{h}"' for h in extra_headers(net)]
    includes += [f'#include "{h}"' for n in df.nodes for h in n.hls_includes()]
    source = f"""// top.cpp — generated by halfwave for model '{df.model}'; do not edit.
//
// Dataflow of {len(df.nodes)} nodes (see ../report.md). The stream in front of each node
// has the depth of the FIFO there in rtl/top.v (compiler/fifos.py), the others
// {LINK_DEPTH}. HALFWAVE_TAP records layer boundaries in halfwave's g++ C simulation only.
{chr(10).join(includes)}

#if defined(HALFWAVE_TAPS) && !defined(__SYNTHESIS__)
#include "hw_csim_io.h"
#else
#define HALFWAVE_TAP(k, s, beats)
#endif

using namespace halfwave;

void {TOP}(hls::stream<halfwave_in_t>& in_stream, hls::stream<halfwave_out_t>& out_stream) {{
#pragma HLS INTERFACE axis port=in_stream
#pragma HLS INTERFACE axis port=out_stream
#pragma HLS INTERFACE ap_ctrl_none port=return
#pragma HLS DATAFLOW
{"".join(pragmas)}
{top.decls()}
{"".join(top.body)}}}
"""
    desc = {
        "top": TOP,
        "in": {**asdict(ibus), "dtype": first.in_dtype.name, "vectors": first.vectors_in()},
        "out": {**asdict(obus), "dtype": last.out_dtype_name(), "vectors": last.vectors_out()},
        "taps": taps,
    }
    return header, source, desc


# ---------------------------------------------------------------- scripts


def run_hls_tcl(
    df: Dataflow,
    sources: list[str],
    tb_files: list[str],
    part: str = DEFAULT_PART,
    clock_ns: float = DEFAULT_CLOCK_NS,
) -> str:
    vendor, library, name, version = IP_VLNV
    tb_code = [f for f in tb_files if f.endswith(".cpp")]
    tb_data = [f for f in tb_files if f.endswith(".bin")]
    return f"""# run_hls.tcl — generated by halfwave for model '{df.model}'.
#
# Run from this folder with Vitis HLS (2022.1 or later):
#     vitis_hls -f run_hls.tcl
# Steps: C simulation (csim_main.cpp checks tb_input.bin against tb_expected.bin, written by
# `halfwave compile`), C synthesis, C/RTL co-simulation, and export of an IP-catalog IP
# {vendor}:{library}:{name}:{version} into halfwave_hls/solution1/impl/ip (see
# vivado_ip.tcl). Part, clock and steps come from the variables below; the environment
# overrides them, e.g.
#     HALFWAVE_PART=xczu7ev-ffvc1156-2-e HALFWAVE_CLOCK_NS=5 HALFWAVE_STEPS="csim csynth" \\
#         vitis_hls -f run_hls.tcl
set part     {part}
set clock_ns {clock_ns:g}
set steps    {{csim csynth cosim export}}
if {{[info exists ::env(HALFWAVE_PART)]}}     {{ set part $::env(HALFWAVE_PART) }}
if {{[info exists ::env(HALFWAVE_CLOCK_NS)]}} {{ set clock_ns $::env(HALFWAVE_CLOCK_NS) }}
if {{[info exists ::env(HALFWAVE_STEPS)]}}    {{ set steps $::env(HALFWAVE_STEPS) }}

open_project -reset halfwave_hls
set_top {TOP}
foreach f {{{" ".join(sources)}}} {{ add_files $f -cflags "-I." }}
foreach f {{{" ".join(tb_code)}}} {{ add_files -tb $f -cflags "-I." }}
foreach f {{{" ".join(tb_data)}}} {{ add_files -tb $f }}
open_solution -reset solution1 -flow_target vivado
set_part $part
create_clock -period $clock_ns -name default

if {{"csim" in $steps}}   {{ csim_design }}
if {{"csynth" in $steps}} {{ csynth_design }}
if {{"cosim" in $steps}}  {{ cosim_design }}
if {{"export" in $steps}} {{
    export_design -format ip_catalog -vendor {vendor} -library {library} -version {version} \\
        -description "halfwave accelerator for {df.model}"
}}
exit
"""


def wrapper_verilog(df: Dataflow) -> str:
    """top_hls.v: module `top` with the ports of rtl/top.v around the exported HLS IP."""
    ibus, obus = input_bus(df), output_bus(df)
    return f"""// top_hls.v — generated by halfwave for model '{df.model}'; do not edit.
//
// Module `top` with exactly the ports of rtl/top.v, built from the Vitis HLS IP that
// run_hls.tcl exports ({TOP}, ports as Vitis HLS names them for AXI-stream arguments):
// a Vivado flow that reads rtl/top.v can read this file and the IP instead (vivado_ip.tcl).
// Input: {ibus.lanes} lanes x {ibus.width} bits per beat; output: {obus.lanes} lanes x \
{obus.width} bits, out_last on
// the last beat of every frame. rst is synchronous, active high (ap_rst_n = !rst).
`default_nettype none
/* verilator lint_off DECLFILENAME */
module top (
    input  wire clk,
    input  wire rst,
    // input stream (AXI4-Stream style)
    input  wire [{ibus.bits - 1}:0] in_data,
    input  wire in_valid,
    output wire in_ready,
    // output stream
    output wire [{obus.bits - 1}:0] out_data,
    output wire out_valid,
    input  wire out_ready,
    output wire out_last
);
    wire rst_n = !rst;
    /* verilator lint_off PINCONNECTEMPTY */
    {TOP} hls (
        .ap_clk(clk),
        .ap_rst_n(rst_n),
        .in_stream_TDATA(in_data),
        .in_stream_TVALID(in_valid),
        .in_stream_TREADY(in_ready),
        .in_stream_TKEEP({{{ibus.bits // 8}{{1'b1}}}}),
        .in_stream_TSTRB({{{ibus.bits // 8}{{1'b1}}}}),
        .in_stream_TLAST(1'b0),
        .out_stream_TDATA(out_data),
        .out_stream_TVALID(out_valid),
        .out_stream_TREADY(out_ready),
        .out_stream_TKEEP(),
        .out_stream_TSTRB(),
        .out_stream_TLAST(out_last)
    );
    /* verilator lint_on PINCONNECTEMPTY */
endmodule
`default_nettype wire
"""


def vivado_ip_tcl(df: Dataflow) -> str:
    vendor, library, name, version = IP_VLNV
    return f"""# vivado_ip.tcl — generated by halfwave for model '{df.model}'.
#
# Use the Vitis HLS IP instead of the RTL top in a Vivado project: after
# `vitis_hls -f run_hls.tcl` (export step) in this folder, in the Vivado project that
# would read ../rtl/*.v, run
#     source <BUILD>/hls/vivado_ip.tcl
# It adds the exported IP repository, creates the IP as module {TOP} and adds top_hls.v,
# a module `top` with the same ports as rtl/top.v (clk, rst, in_*, out_*, out_last).
set here [file dirname [file normalize [info script]]]
set repo [file join $here halfwave_hls solution1 impl ip]
if {{![file exists [file join $repo component.xml]]}} {{
    error "no exported IP in $repo: run vitis_hls -f run_hls.tcl there first"
}}
set_property ip_repo_paths [concat [get_property ip_repo_paths [current_project]] $repo] \\
    [current_project]
update_ip_catalog
create_ip -vlnv {vendor}:{library}:{name}:{version} -module_name {TOP}
generate_target all [get_ips {TOP}]
add_files -norecurse [file join $here top_hls.v]
"""


# ---------------------------------------------------------------- writer


def write_hls(df: Dataflow, hls_dir: Path, board: str | None = None) -> list[Path]:
    """Write BUILD/hls (see the module docstring); returns the synthesis sources.
    run_hls.tcl targets the board's part and clock (hw/boards), else xc7z020 at 100 MHz."""
    part, clock_ns = DEFAULT_PART, DEFAULT_CLOCK_NS
    if board:
        from .boards import load_board

        b = load_board(board)
        part, clock_ns = b.part, round(1000.0 / b.clock_mhz, 3)
    hls_dir = Path(hls_dir)
    hls_dir.mkdir(parents=True, exist_ok=True)
    extra = extra_headers(nl.build(df))
    for name in (*LIBRARY, *extra):
        shutil.copyfile(HLS_LIB / name, hls_dir / name)
    params = []
    shutil.rmtree(hls_dir / "params", ignore_errors=True)
    (hls_dir / "params").mkdir()
    for n in df.nodes:
        for rel, text in n.hls_headers().items():
            (hls_dir / rel).write_text(text)
            params.append(rel)
    header, source, desc = build_top(df)
    (hls_dir / "top.h").write_text(header)
    (hls_dir / "top.cpp").write_text(source)
    libs = [f for f in LIBRARY if f.endswith(".h") and f != "hw_csim_io.h"] + extra
    desc["sources"] = ["top.cpp", "top.h", *libs, *params]
    desc["testbench"] = ["csim_main.cpp", "hw_csim_io.h", "tb_input.bin", "tb_expected.bin"]
    (hls_dir / "top.json").write_text(json.dumps(desc, indent=1) + "\n")
    (hls_dir / "run_hls.tcl").write_text(
        run_hls_tcl(df, ["top.cpp"], desc["testbench"], part, clock_ns)
    )
    (hls_dir / "top_hls.v").write_text(wrapper_verilog(df))
    (hls_dir / "vivado_ip.tcl").write_text(vivado_ip_tcl(df))
    return [hls_dir / s for s in desc["sources"]]
