"""HLS back end: BUILD/hls/, Vitis HLS C++ computing exactly what the RTL top computes.

From the same folded IR as codegen_rtl, with the same streams: the generated top
(`halfwave_top`, #pragma HLS DATAFLOW, AXI-stream ports) chains the input adapter (bus
lanes -> first node's lanes), per node a lane repacker where the lanes differ, the node,
and the output adapter (last node -> bus lanes, TLAST on the last beat of a frame); every
stream between processes is an hls::stream with the RTL FIFO depth. Stream formats, bus
widths, accumulator widths and the parameter packing (hw/memfiles.py: weight lanes,
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

import numpy as np

import halfwave.hw
from halfwave.hw.memfiles import (
    mvu_swap_codes,
    mvu_threshold_codes,
    mvu_weight_codes,
    pack_words,
)

from .codegen_rtl import (
    StreamFormat,
    input_bus,
    lane_width,
    link_stages,
    mvu_memory_values,
    node_in_format,
    node_out_format,
    output_bus,
    rom_style,
    vectors_in,
    vectors_out,
)
from .datatypes import DataType
from .errors import CompileError
from .fifos import fifo_depths
from .ir import MVU, Dataflow, MaxPool, Node, SlidingWindow, TopK

HLS_LIB = Path(halfwave.hw.__file__).resolve().parent / "hls"
LIBRARY = (
    "hw_stream.h",
    "hw_lane_repack.h",
    "hw_mvu.h",
    "hw_topk.h",
    "hw_swg.h",
    "hw_maxpool.h",
    "hw_csim_io.h",
    "csim_main.cpp",
)
TOP = "halfwave_top"
MODES = {"xnor": 0, "signsel": 1, "mac": 2, "ternary": 3}
DEFAULT_PART = "xc7z020clg400-1"  # pynq-z1 / pynq-z2
DEFAULT_CLOCK_NS = 10.0
IP_VLNV = ("halfwave.org", "hls", TOP, "1.0")
AP_INT_DEFAULT_MAX = 1024  # ap_int.h's default AP_INT_MAX_W
LINK_DEPTH = 2  # streams that are plain wires in rtl/top.v (repacker and node outputs)


# ---------------------------------------------------------------- stream formats


def _signed(dt: DataType) -> bool:
    return dt.signed and dt.kind != "BIPOLAR"


def out_dtype_name(n: Node) -> str:
    if isinstance(n, TopK):
        return "INDEX"
    return n.out_type.name


def _beat_type(fmt: StreamFormat) -> str:
    return f"ap_uint<{fmt.bits}>"


# ---------------------------------------------------------------- parameters


def mvu_weight_lanes(n: MVU) -> np.ndarray:
    """(PE, NF*SF, SIMD) weight lane codes: the memfiles layout (of what the RTL weight
    memory holds: codes for a ternary layer) with the PE lanes of each word split out
    (weights[p][addr] holds lanes p*SIMD .. p*SIMD+SIMD-1)."""
    w_w = lane_width(DataType.parse(n.weight_dtype))
    codes = mvu_weight_codes(mvu_memory_values(n), n.PE, n.SIMD, w_w)
    return codes.reshape(n.NF * n.SF, n.PE, n.SIMD).transpose(1, 0, 2)


def mvu_threshold_values(n: MVU) -> np.ndarray:
    """(PE, NF, N_T) signed thresholds in the memfiles lane order (row nf*PE+p; padding
    rows hold 0)."""
    codes = mvu_threshold_codes(n.thresholds, n.PE, n.acc_bits).astype(np.int64)
    codes = codes.reshape(n.NF, n.PE, n.n_thresholds).transpose(1, 0, 2)
    half = 1 << (n.acc_bits - 1)
    return np.where(codes >= half, codes - (1 << n.acc_bits), codes)


def mvu_swap_flags(n: MVU) -> np.ndarray:
    """(PE, NF) ternary swap flags (negated rows; all 0 in the other modes), memfiles'
    order."""
    swap = np.isin(np.arange(n.MH), n.negated_rows) if n.mode == "ternary" else np.zeros(n.MH)
    return mvu_swap_codes(swap, n.PE).T


def _word_literals(codes: np.ndarray, width: int) -> list[str]:
    """C++ initialisers of packed words: codes (..., lanes) -> one literal per word."""
    lanes = codes.shape[-1]
    bits = lanes * width
    hexes = pack_words(codes.reshape(-1, lanes), width).split()
    if bits <= 32:
        return [f"0x{h}" for h in hexes]
    if bits <= 64:
        return [f"0x{h}ULL" for h in hexes]
    return [f'ap_uint<{bits}>("0x{h}", 16)' for h in hexes]


def _c_list(items: list[str], indent: str, per_line: int) -> str:
    rows = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return (",\n" + indent).join(rows)


def _nt1(n: MVU) -> int:
    return max(1, n.n_thresholds)


def mvu_params_header(n: MVU) -> str:
    """<node>_params.h: the parameter arrays of an MVU. Vitis HLS (and halfwave's check of
    the literals) includes params/<node>.h, the values as constants; halfwave's g++ C
    simulation (HALFWAVE_PARAMS_FROM_MEM) reads the same words from the RTL memory files
    at start instead, so a large layer compiles in seconds and a retrained network of
    the same shapes reuses the simulator binary."""
    w_w = lane_width(DataType.parse(n.weight_dtype))
    guard = f"HALFWAVE_{n.name.upper()}_PARAMS_H"
    w_decl = f"ap_uint<{n.SIMD * w_w}> {n.name}_weights[{n.PE}][{n.NF * n.SF}]"
    t_decl = f"ap_int<{n.acc_bits}> {n.name}_thresholds[{n.PE}][{n.NF}][{_nt1(n)}]"
    t_file = f'"{n.name}_thresholds.mem"' if n.n_thresholds else "0"
    s_file = f'"{n.name}_swap.mem"' if n.mode == "ternary" else "0"
    s_decl = f"bool {n.name}_swap[{n.PE}][{n.NF}]"
    bits = {1: " (bit 1 = +1, 0 = -1)"}.get(w_w, " (two's complement)")
    if n.mode == "ternary":
        wp, wn = ternary_scales(n)
        bits = f" (code +1, 0, -1; weight +{wp}, 0, -{wn}: WP={wp}, WN={wn})"
    return f"""// {n.name}_params.h — generated by halfwave; do not edit.
// Node '{n.name}' ({n.source or "MVU"}): {n.MH} x {n.MW}, mode {n.mode}, PE={n.PE}, \
SIMD={n.SIMD}, {n.vectors} vector(s) per frame.
// {n.name}_weights[p][nf*SF + sf] (NF={n.NF}, SF={n.SF}): {n.SIMD} lanes of {w_w} bit(s),
// lane s = weight of row nf*{n.PE}+p, column sf*{n.SIMD}+s{bits}.
// {n.name}_thresholds[p][nf][t]: threshold t (ascending) of row nf*{n.PE}+p, signed
// accumulator domain{"" if n.n_thresholds else " (raw accumulators leave the node: unused)"}.
// {n.name}_swap[p][nf]: ternary layers: row nf*{n.PE}+p takes (WN, WP) for codes (+1, -1).
#ifndef {guard}
#define {guard}

#include "hw_stream.h"

#ifdef HALFWAVE_PARAMS_FROM_MEM
#include "hw_csim_io.h"
static {w_decl};
static {t_decl};
static {s_decl};
static const bool {n.name}_loaded = halfwave::load_mvu_mem("{n.name}_weights.mem", {t_file},
    {s_file}, {n.name}_weights, {n.name}_thresholds, {n.name}_swap);
#else
#include "params/{n.name}.h"
#endif

#endif  // {guard}
"""


def mvu_values_header(n: MVU) -> str:
    """params/<node>.h: the weights and thresholds of an MVU as C++ constants."""
    w_w = lane_width(DataType.parse(n.weight_dtype))
    lanes = mvu_weight_lanes(n)
    per_line = max(1, 96 // (len(_word_literals(lanes[:1, :1], w_w)[0]) + 2))
    rows = []
    for p in range(n.PE):
        lits = _word_literals(lanes[p], w_w)
        rows.append(f"    {{  // p = {p}: rows {p}, {p + n.PE}, ...\n        "
                    + _c_list(lits, "        ", per_line) + "\n    }")  # fmt: skip
    text = [
        f"// params/{n.name}.h — generated by halfwave; do not edit. Layout: ../{n.name}_params.h",
        f"static const ap_uint<{n.SIMD * w_w}> {n.name}_weights[{n.PE}][{n.NF * n.SF}] = {{",
        ",\n".join(rows),
        "};",
    ]
    if n.n_thresholds:
        thr = mvu_threshold_values(n)
        trows = []
        for p in range(n.PE):
            body = ",\n        ".join(
                "{" + ", ".join(str(int(v)) for v in thr[p, nf]) + "}" for nf in range(n.NF)
            )
            trows.append(f"    {{  // p = {p}\n        {body}\n    }}")
        text += [
            f"static const ap_int<{n.acc_bits}> {n.name}_thresholds[{n.PE}][{n.NF}]"
            f"[{n.n_thresholds}] = {{",
            ",\n".join(trows),
            "};",
        ]
    else:
        text.append(
            f"static const ap_int<{n.acc_bits}> {n.name}_thresholds[{n.PE}][{n.NF}][1] = {{}};"
        )
    flags = mvu_swap_flags(n)
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in flags[p]) + "}" for p in range(n.PE))
    text += [f"static const bool {n.name}_swap[{n.PE}][{n.NF}] = {{", rows, "};"]
    return "\n".join(text) + "\n"


def maxpool_params_header(n: MaxPool) -> str:
    guard = f"HALFWAVE_{n.name.upper()}_PARAMS_H"
    mins = set(n.min_channels)
    flags = [("1" if c in mins else "0") for c in range(n.C)]
    return "\n".join(
        [
            f"// {n.name}_params.h — generated by halfwave; do not edit.",
            f"// Node '{n.name}': {n.KH}x{n.KW} max-pool, stride {n.SH}x{n.SW}, {n.C} channels; "
            "1 = the channel pools with min.",
            f"#ifndef {guard}",
            f"#define {guard}",
            "",
            f"static const bool {n.name}_min_channels[{n.C}] = {{",
            "    " + _c_list(flags, "    ", 32),
            "};",
            "",
            f"#endif  // {guard}",
            "",
        ]
    )


# ---------------------------------------------------------------- the top


def _mvu_call(n: MVU, i: str, o: str) -> str:
    if n.mode not in MODES:
        raise CompileError(f"HLS back end: unknown MVU mode '{n.mode}'", n.name)
    in_dt = DataType.parse(n.in_dtype)
    w_dt = DataType.parse(n.weight_dtype)
    out_w = lane_width(DataType.parse(n.out_dtype)) if n.out_dtype else 1
    bias = 0 if n.out_dtype in (None, "BIPOLAR") else n.out_base
    extra = ""
    if n.mode == "ternary":
        wp, wn = ternary_scales(n)
        extra = f", {wp}, {wn}"
    return (
        f"    hw_mvu<{n.MW}, {n.MH}, {n.PE}, {n.SIMD}, {MODES[n.mode]}, {lane_width(in_dt)}, "
        f"{int(_signed(in_dt))}, {lane_width(w_dt)}, {n.acc_bits}, {n.n_thresholds}, {out_w}, "
        f"{bias}, {n.vectors}{extra}>(\n"
        f"        {i}, {o}, {n.name}_weights, {n.name}_thresholds, {n.name}_swap);\n"
    )


def ternary_scales(n: MVU) -> tuple[int, int]:
    """Integer scales (p, n) of a ternary MVU: acc = p*sum(x | w=+1) - n*sum(x | w=-1)."""
    if not n.ternary:
        raise CompileError("HLS back end: ternary MVU without integer scales", n.name)
    return int(n.ternary[0]), int(n.ternary[1])


def _node_call(n: Node, fin: StreamFormat, i: str, o: str) -> str:
    if isinstance(n, MVU):
        return _mvu_call(n, i, o)
    if isinstance(n, TopK):
        return f"    hw_topk<{n.N}, {n.PE}, {fin.width}, {n.K}, {n.out_type.bits}>({i}, {o});\n"
    if isinstance(n, SlidingWindow):
        dt = DataType.parse(n.dtype)
        lw = lane_width(dt)
        if dt.kind == "BIPOLAR":
            pad = 1 if n.pad_value > 0 else 0
        else:
            pad = n.pad_value & ((1 << lw) - 1)
        pads = ", ".join(str(p) for p in n.pads)  # top, left, bottom, right
        return (
            f"    hw_swg<{n.C}, {n.IH}, {n.IW}, {n.KH}, {n.KW}, {n.SH}, {n.SW}, {pads}, "
            f"{n.SIMD}, {lw}, {pad}>({i}, {o});\n"
        )
    if isinstance(n, MaxPool):
        dt = DataType.parse(n.dtype)
        return (
            f"    hw_maxpool<{n.C}, {n.IH}, {n.IW}, {n.KH}, {n.KW}, {n.SH}, {n.SW}, {n.PE}, "
            f"{lane_width(dt)}, {int(_signed(dt))}>({i}, {o}, {n.name}_min_channels);\n"
        )
    raise CompileError(f"HLS back end: unsupported node kind {type(n).__name__}", n.name)


def _repack_call(
    src: StreamFormat, dst: StreamFormat, count: int, vectors: int, i: str, o: str
) -> str:
    """A width converter for `vectors` vectors of `count` elements per frame (the COUNT of
    the matching hw_lane_repack in rtl/top.v)."""
    return (
        f"    hw_lane_repack<{src.lanes}, {src.width}, {dst.lanes}, {dst.width}, {count}, "
        f"{int(src.signed)}, {vectors}>({i}, {o});\n"
    )


def _repack_bits(src: StreamFormat, dst: StreamFormat) -> int:
    if src.lanes == dst.lanes:
        return 0
    return (src.lanes + dst.lanes - 1) * min(src.width, dst.width)


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


def build_top(df: Dataflow) -> tuple[str, str, dict]:
    """(top.h, top.cpp, top.json description) of a folded dataflow."""
    if not df.nodes:
        raise CompileError("HLS back end: the dataflow has no nodes")
    ibus, obus = input_bus(df), output_bus(df)
    first, last = df.nodes[0], df.nodes[-1]
    in_beats = ibus.beats * vectors_in(first)
    out_beats = obus.beats * vectors_out(last)
    top = _Top()
    top.max_bits = max(ibus.bits, obus.bits)
    taps: list[dict] = []
    pragmas: list[str] = []

    def tap(stream: str, fmt: StreamFormat, vectors: int, dtype: str) -> None:
        b = len(taps)
        beats = fmt.beats * vectors
        taps.append({**asdict(fmt), "boundary": b, "vectors": vectors, "dtype": dtype})
        top.body.append(f"    HALFWAVE_TAP({b}, {stream}, {beats});\n")

    # the stream feeding the next process, its format and its elements per frame
    prev, prev_fmt = top.stream("s_in", ibus), ibus
    elems = ibus.count * vectors_in(first)
    top.body.append(f"    axis_to_stream<{ibus.bits}, {in_beats}>(in_stream, s_in);\n")
    depths = fifo_depths(df)
    for k, n in enumerate(df.nodes):
        fin = node_in_format(n)
        for j, (src, dst, count) in enumerate(link_stages(prev_fmt, fin)):  # as in top.v
            rp = top.stream(f"rp{k}_{j}", dst)
            top.max_bits = max(top.max_bits, _repack_bits(src, dst))
            top.body.append(_repack_call(src, dst, count, elems // count, prev, rp))
            prev = rp
        top.set_depth(prev, depths[k])  # the FIFO in front of node k in rtl/top.v
        if k == 0:
            tap(prev, fin, vectors_in(n), n.in_dtype)
        fout = node_out_format(n)
        o = top.stream(f"n{k}", fout)
        top.body.append(f"    // {n.kind} '{n.name}'\n" + _node_call(n, fin, prev, o))
        tap(o, fout, vectors_out(n), out_dtype_name(n))
        prev, prev_fmt, elems = o, fout, fout.count * vectors_out(n)
        if isinstance(n, MVU):
            top.max_bits = max(top.max_bits, n.SIMD * lane_width(DataType.parse(n.weight_dtype)))
            style = "lutram" if rom_style(n) == "distributed" else "bram"
            pragmas += [
                f"#pragma HLS ARRAY_PARTITION variable={n.name}_weights complete dim=1\n",
                f"#pragma HLS BIND_STORAGE variable={n.name}_weights type=rom_1p impl={style}\n",
                f"#pragma HLS ARRAY_PARTITION variable={n.name}_thresholds complete dim=1\n",
                f"#pragma HLS ARRAY_PARTITION variable={n.name}_thresholds complete dim=3\n",
                f"#pragma HLS ARRAY_PARTITION variable={n.name}_swap complete dim=1\n",
            ]
        elif isinstance(n, MaxPool):
            pragmas.append(
                f"#pragma HLS ARRAY_PARTITION variable={n.name}_min_channels cyclic "
                f"factor={n.PE} dim=1\n"
            )
    m_out = top.stream("m_out", obus)
    top.max_bits = max(top.max_bits, _repack_bits(prev_fmt, obus))
    top.body.append(
        _repack_call(prev_fmt, obus, prev_fmt.count, elems // prev_fmt.count, prev, m_out)
    )
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
    kinds = {type(n) for n in df.nodes}
    includes = ['#include "top.h"', '#include "hw_lane_repack.h"']
    for kind, lib in ((MVU, "hw_mvu.h"), (TopK, "hw_topk.h"), (SlidingWindow, "hw_swg.h"),
                      (MaxPool, "hw_maxpool.h")):  # fmt: skip
        if kind in kinds:
            includes.append(f'#include "{lib}"')
    includes += [f'#include "{n.name}_params.h"' for n in df.nodes if isinstance(n, (MVU, MaxPool))]
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
        "in": {**asdict(ibus), "dtype": first.in_dtype, "vectors": vectors_in(first)},
        "out": {**asdict(obus), "dtype": out_dtype_name(last), "vectors": vectors_out(last)},
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
    for name in LIBRARY:
        shutil.copyfile(HLS_LIB / name, hls_dir / name)
    params = []
    shutil.rmtree(hls_dir / "params", ignore_errors=True)
    (hls_dir / "params").mkdir()
    for n in df.nodes:
        if isinstance(n, MVU):
            (hls_dir / f"{n.name}_params.h").write_text(mvu_params_header(n))
            (hls_dir / "params" / f"{n.name}.h").write_text(mvu_values_header(n))
            params += [f"{n.name}_params.h", f"params/{n.name}.h"]
        elif isinstance(n, MaxPool):
            (hls_dir / f"{n.name}_params.h").write_text(maxpool_params_header(n))
            params.append(f"{n.name}_params.h")
    header, source, desc = build_top(df)
    (hls_dir / "top.h").write_text(header)
    (hls_dir / "top.cpp").write_text(source)
    libs = [f for f in LIBRARY if f.endswith(".h") and f != "hw_csim_io.h"]
    desc["sources"] = ["top.cpp", "top.h", *libs, *params]
    desc["testbench"] = ["csim_main.cpp", "hw_csim_io.h", "tb_input.bin", "tb_expected.bin"]
    (hls_dir / "top.json").write_text(json.dumps(desc, indent=1) + "\n")
    (hls_dir / "run_hls.tcl").write_text(
        run_hls_tcl(df, ["top.cpp"], desc["testbench"], part, clock_ns)
    )
    (hls_dir / "top_hls.v").write_text(wrapper_verilog(df))
    (hls_dir / "vivado_ip.tcl").write_text(vivado_ip_tcl(df))
    return [hls_dir / s for s in desc["sources"]]
