"""RTL back end: a generated top level per BUILD plus the memory files of every layer.

The top chains: input adapter (bus lanes -> first layer's SIMD lanes), then per node a
FIFO, the node, and a lane repacker where one node's PE lanes differ from the next
node's SIMD lanes, then the output adapter (last node's lanes -> byte-aligned bus lanes,
with out_last on the last beat of every frame). Library blocks are copied from hw/rtl.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import halfwave.hw
from halfwave.hw.cycles import weight_stream_cycles_per_frame
from halfwave.hw.memfiles import write_mvu_mem_files, write_mvu_weight_stream, write_swap_file

from .datatypes import DataType
from .fifos import fifo_depths
from .ir import MVU, Dataflow, MaxPool, Node, SlidingWindow, TopK

RTL_LIB = Path(halfwave.hw.__file__).resolve().parent / "rtl"
LIBRARY = (
    "hw_mvu.v",
    "hw_topk.v",
    "hw_fifo.v",
    "hw_lane_repack.v",
    "hw_swg.v",
    "hw_maxpool.v",
    "hw_outbuf.v",
    "hw_ram.v",
)
# shared hw/rtl modules that a library block instantiates (copied and read with it)
RTL_DEPENDS = {
    "hw_mvu.v": ("hw_outbuf.v", "hw_ram.v"),
    "hw_swg.v": ("hw_outbuf.v", "hw_ram.v"),
    "hw_maxpool.v": ("hw_outbuf.v", "hw_ram.v"),
    "hw_fifo.v": ("hw_ram.v",),
}
BUS_BITS = 64  # host stream width target (AXI-stream tdata)
FIFO_DEPTH = 4
MODES = {"xnor": 0, "signsel": 1, "mac": 2, "ternary": 3}


@dataclass(frozen=True)
class StreamFormat:
    """A stream: `lanes` lanes of `width` bits per beat, `count` elements per frame."""

    lanes: int
    width: int
    count: int
    signed: bool

    @property
    def bits(self) -> int:
        return self.lanes * self.width

    @property
    def beats(self) -> int:
        return -(-self.count // self.lanes)


def lane_width(dt: DataType) -> int:
    return 1 if dt.kind == "BIPOLAR" else dt.bits


def bus_format(lw: int, count: int, signed: bool) -> StreamFormat:
    """Byte-aligned lanes, as many as fit in BUS_BITS (at least one, at most count)."""
    width = 8 * -(-lw // 8)
    return StreamFormat(max(1, min(count, BUS_BITS // width)), width, count, signed)


def _signed(dt: DataType) -> bool:
    return dt.signed and dt.kind != "BIPOLAR"


def node_in_format(n: Node) -> StreamFormat:
    dt = DataType.parse(n.in_dtype)
    return StreamFormat(n.in_lanes, lane_width(dt), n.n_in, _signed(dt))


def node_out_format(n: Node) -> StreamFormat:
    if isinstance(n, TopK):
        return StreamFormat(1, n.out_type.bits, n.K, False)
    if isinstance(n, SlidingWindow | MaxPool):
        dt = n.out_type
        return StreamFormat(n.out_lanes, lane_width(dt), n.n_out, _signed(dt))
    if n.out_dtype is None:
        return StreamFormat(n.PE, n.acc_bits, n.MH, True)
    dt = DataType.parse(n.out_dtype)
    return StreamFormat(n.PE, lane_width(dt), n.MH, dt.signed and dt.kind != "BIPOLAR")


def input_bus(df: Dataflow) -> StreamFormat:
    f = node_in_format(df.nodes[0])
    return bus_format(f.width, f.count, f.signed)


def output_bus(df: Dataflow) -> StreamFormat:
    f = node_out_format(df.nodes[-1])
    return bus_format(f.width, f.count, f.signed)


def _repack(
    name: str, src: StreamFormat, dst: StreamFormat, i: str, o: str, count: int | None = None
) -> str:
    return f"""    hw_lane_repack #(
        .IN_LANES({src.lanes}), .IN_LW({src.width}), .OUT_LANES({dst.lanes}),
        .OUT_LW({dst.width}), .COUNT({count or src.count}), .SIGNED({int(src.signed)})
    ) {name} (
        .clk(clk), .rst(rst),
        .in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready),
        .out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready),
        .out_last({o}_last)
    );
"""


def _fifo(name: str, fmt: StreamFormat, i: str, o: str, depth: int) -> str:
    return f"""    hw_fifo #(.WIDTH({fmt.bits}), .DEPTH({depth})) {name} (
        .clk(clk), .rst(rst),
        .in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready),
        .out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready),
        .level(), .max_level()
    );
"""


def _mvu(n: MVU, i: str, o: str) -> str:
    in_dt = DataType.parse(n.in_dtype)
    w_dt = DataType.parse(n.weight_dtype)
    out_w = lane_width(DataType.parse(n.out_dtype)) if n.out_dtype else 1
    bias = 0 if n.out_dtype in (None, "BIPOLAR") else n.out_base
    if n.external:
        wfile, source = "", ',\n        .WEIGHT_SOURCE("stream")'
        w = weight_port(n)
        wports = f".w_data({w}data), .w_valid({w}valid), .w_ready({w}ready)"
    else:
        wfile, source = f"{n.name}_weights.mem", ""
        wports = f".w_data({n.weight_word_bits}'d0), .w_valid(1'b0), .w_ready()"
    return f"""    hw_mvu #(
        .MW({n.MW}), .MH({n.MH}), .PE({n.PE}), .SIMD({n.SIMD}), .MODE({MODES[n.mode]}),
        .IN_W({lane_width(in_dt)}), .IN_SIGNED({int(in_dt.signed and in_dt.kind != "BIPOLAR")}),
        .W_W({lane_width(w_dt)}), .ACC_W({n.acc_bits}), .N_T({n.n_thresholds}),
        .OUT_W({out_w}), .OUT_BIAS({bias}),
        .WEIGHT_FILE("{wfile}"), .THRESH_FILE("{n.name}_thresholds.mem"),
        .ROM_STYLE("{rom_style(n)}"){_ternary_params(n)}{source}
    ) {n.name} (
        .clk(clk), .rst(rst),
        .in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready),
        .out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready),
        {wports}
    );
"""


def weight_port(n: MVU) -> str:
    """Prefix of an external MVU's weight stream ports on the top: w_<node>_tdata, ..."""
    return f"w_{n.name}_t"


def dma_word_bytes(bits: int) -> int:
    """Bytes a DMA reads from DDR for one `bits`-bit weight word: AXI DMA streams are
    8 * 2^k bits wide, up to 1024; wider words take several 1024-bit beats."""
    if bits > 1024:
        return 128 * -(-bits // 1024)
    nb = 1
    while nb * 8 < bits:
        nb *= 2
    return nb


def weight_streams(df: Dataflow) -> list[dict]:
    """rtl/top.json's "weight_streams": per external MVU, in stream order, what a DMA
    must feed its port from DDR. One pass is the file `<node>_wstream.bin` (the words of
    the weight memory, address nf*SF + sf, each `word_bytes` little-endian bytes, lane
    p*SIMD+s at bits [(p*SIMD+s)*W_W +: W_W], top bits zero); the MVU reads
    `passes_per_frame` passes per frame (one per input vector). A DMA reads each word
    padded to `ddr_word_bytes` (dma_word_bytes): the DDR traffic is counted in those."""
    out = []
    for n in df.mvus():
        if not n.external:
            continue
        words, wbytes = n.NF * n.SF, -(-n.weight_word_bits // 8)
        out.append(
            {
                "node": n.name,
                "port": weight_port(n),
                "file": f"{n.name}_wstream.bin",
                "width": n.weight_word_bits,
                "word_bytes": wbytes,
                "ddr_word_bytes": dma_word_bytes(n.weight_word_bits),
                "words_per_pass": words,
                "passes_per_frame": n.vectors,
                "bytes_per_frame": n.vectors * words * dma_word_bytes(n.weight_word_bits),
                "layout": "word nf*SF+sf of the weight memory, little-endian, lane "
                "p*SIMD+s at bits [(p*SIMD+s)*W_W +: W_W]",
            }
        )
    return out


def ddr_cycles_per_frame(
    df: Dataflow, bytes_per_cycle: float = 0.0, latency: int = 0, fifo: int = 4
) -> float:
    """Cycles per frame the external weight streams allow (0.0 without any), under the
    harness's DDR model (hw/cycles.py `weight_stream_cycles_per_frame`)."""
    return weight_stream_cycles_per_frame(weight_streams(df), bytes_per_cycle, latency, fifo)


def _ternary_params(n: MVU) -> str:
    if n.mode != "ternary":
        return ""
    p, q = n.ternary
    return f',\n        .WP({p}), .WN({q}), .SWAP_FILE("{n.name}_swap.mem")'


def mvu_memory_values(n: MVU) -> np.ndarray:
    """What the weight memory holds: the weights, or the codes of a ternary layer (whose
    negated rows then swap p and n, see hw_mvu MODE 3)."""
    return np.sign(n.weights) if n.mode == "ternary" else n.weights


def rom_style(n: MVU) -> str:
    """Small weight memories go to LUTs, the rest to block RAM."""
    return (
        "distributed"
        if n.MH * n.MW * lane_width(DataType.parse(n.weight_dtype)) <= 4096
        else "block"
    )


def _topk(n: TopK, fmt_in: StreamFormat, i: str, o: str) -> str:
    return f"""    hw_topk #(.N({n.N}), .PE({n.PE}), .ACC_W({fmt_in.width}), .K({n.K}),
        .IDX_W({n.out_type.bits})) {n.name} (
        .clk(clk), .rst(rst),
        .in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready),
        .out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready)
    );
"""


def _swg(n: SlidingWindow, i: str, o: str) -> str:
    g = n.geometry()
    params = ", ".join(f".{k}({v})" for k, v in g.items())
    w = lane_width(n.out_type)
    return f"""    hw_swg #(
        {params},
        .W({w}), .PAD_VALUE({n.pad_value & ((1 << w) - 1)})
    ) {n.name} (
        .clk(clk), .rst(rst),
        .in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready),
        .out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready)
    );
"""


def _maxpool(n: MaxPool, i: str, o: str) -> str:
    dt = n.out_type
    mask = sum(1 << c for c in n.min_channels)
    return f"""    hw_maxpool #(
        .C({n.C}), .IH({n.IH}), .IW({n.IW}), .KH({n.KH}), .KW({n.KW}), .SH({n.SH}),
        .SW({n.SW}), .PE({n.PE}), .W({lane_width(dt)}), .SIGNED({int(_signed(dt))}),
        .MIN_MASK({n.C}'h{mask:x})
    ) {n.name} (
        .clk(clk), .rst(rst),
        .in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready),
        .out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready)
    );
"""


def _node(n: Node, fin: StreamFormat, i: str, o: str) -> str:
    if isinstance(n, MVU):
        return _mvu(n, i, o)
    if isinstance(n, TopK):
        return _topk(n, fin, i, o)
    if isinstance(n, SlidingWindow):
        return _swg(n, i, o)
    return _maxpool(n, i, o)


def _tap(k: int, n: Node) -> str:
    """Simulation only (+define+HALFWAVE_TAPS): log every output beat of node k."""
    return f"""`ifdef HALFWAVE_TAPS
    integer tap{k};
    initial tap{k} = $fopen("tap_{n.name}.hex", "w");
    always @(posedge clk)
        if (!rst && n{k}_valid && n{k}_ready) $fwrite(tap{k}, "%h\\n", n{k}_data);
    final $fclose(tap{k});
`endif
"""


FIFO_LEVELS_FILE = "fifo_levels.txt"


def _fifo_stall_counter(k: int, i: str) -> str:
    """Simulation only (+define+HALFWAVE_FIFO_STATS): cycles the producer of FIFO k
    offered a beat that the full FIFO refused."""
    return f"""`ifdef HALFWAVE_FIFO_STATS
    reg [63:0] fifo{k}_full_cycles;
    always @(posedge clk)
        if (rst) fifo{k}_full_cycles <= 64'd0;
        else if ({i}_valid && !{i}_ready) fifo{k}_full_cycles <= fifo{k}_full_cycles + 1'b1;
`endif
"""


def _fifo_stats(n_fifos: int) -> str:
    """Simulation only: at the end of the run write every FIFO's high-water mark (its
    max_level) and full-cycle count to fifo_levels.txt, one line `fifoK MAX FULL`."""
    lines = "".join(
        f'        $fwrite(fd, "fifo{k} %0d %0d\\n", fifo{k}.max_level, fifo{k}_full_cycles);\n'
        for k in range(n_fifos)
    )
    return f"""`ifdef HALFWAVE_FIFO_STATS
    integer fd;
    final begin
        fd = $fopen("{FIFO_LEVELS_FILE}", "w");
{lines}        $fclose(fd);
    end
`endif
"""


def _wire(name: str, fmt: StreamFormat) -> str:
    return (
        f"    wire [{fmt.bits - 1}:0] {name}_data;\n"
        f"    wire {name}_valid, {name}_ready, {name}_last;\n"
    )


def has_tail(f: StreamFormat) -> bool:
    return f.count % f.lanes != 0


def link_stages(src: StreamFormat, dst: StreamFormat) -> list[tuple]:
    """Lane repackers between a producer and a consumer stream: (src, dst, COUNT) each.

    Vectors may change size at a link (a conv's pixels of C values feed an FC layer's
    vector of H*W*C after a flatten). A dense producer stream (no tail lanes) is re-cut
    into the consumer's vectors by one repacker; a producer with tail padding in every
    vector is first serialised to one lane (dropping the padding), then packed."""
    same_cut = src.count == dst.count or not (has_tail(src) or has_tail(dst))
    if src.lanes == dst.lanes and src.width == dst.width and same_cut:
        return []
    if src.count == dst.count or not has_tail(src):
        return [(src, dst, dst.count)]
    serial = StreamFormat(1, src.width, src.count, src.signed)
    return [(src, serial, src.count), (serial, dst, dst.count)]


def top_verilog(df: Dataflow) -> str:
    ibus, obus = input_bus(df), output_bus(df)
    depths = fifo_depths(df)
    wires, body = [], []
    prev, prev_fmt = "s_in", ibus
    for k, n in enumerate(df.nodes):
        fin = node_in_format(n)
        for j, (src, dst, count) in enumerate(link_stages(prev_fmt, fin)):
            wires.append(_wire(f"rp{k}_{j}", dst))
            body.append(_repack(f"repack{k}_{j}", src, dst, prev, f"rp{k}_{j}", count))
            prev = f"rp{k}_{j}"
        wires.append(_wire(f"f{k}", fin))
        body.append(_fifo(f"fifo{k}", fin, prev, f"f{k}", depths[k]))
        body.append(_fifo_stall_counter(k, prev))
        fout = node_out_format(n)
        wires.append(_wire(f"n{k}", fout))
        body.append(_node(n, fin, f"f{k}", f"n{k}"))
        body.append(_tap(k, n))
        prev, prev_fmt = f"n{k}", fout
    body.append(_repack("out_adapter", prev_fmt, obus, prev, "m_out"))
    body.append(_fifo_stats(len(df.nodes)))
    wports = "".join(
        f"    // weight stream of {w['node']} (weights in DDR): {w['words_per_pass']} words a "
        f"pass, {w['passes_per_frame']} pass(es) a frame\n"
        f"    input  wire [{w['width'] - 1}:0] {w['port']}data,\n"
        f"    input  wire {w['port']}valid,\n"
        f"    output wire {w['port']}ready,\n"
        for w in weight_streams(df)
    )
    return f"""// top.v — generated by halfwave for model '{df.model}'; do not edit.
//
// Input stream: {ibus.lanes} lanes x {ibus.width} bits per beat, {ibus.beats} beats per frame
// ({ibus.count} values of the input quantiser, element i in beat i/{ibus.lanes}).
// Output stream: {obus.lanes} lanes x {obus.width} bits per beat, {obus.beats} beats per frame,
// out_last on the last beat of every frame. Per-node cycles: see report.md.
// Weight streams (external MVUs, one w_<node>_t* port each): see top.json "weight_streams".
`default_nettype none
module top (
    input  wire clk,
    input  wire rst,
{wports}    // input stream (AXI4-Stream style)
    input  wire [{ibus.bits - 1}:0] in_data,
    input  wire in_valid,
    output wire in_ready,
    // output stream
    output wire [{obus.bits - 1}:0] out_data,
    output wire out_valid,
    input  wire out_ready,
    output wire out_last
);
    wire [{ibus.bits - 1}:0] s_in_data = in_data;
    wire s_in_valid = in_valid;
    wire s_in_ready;
    assign in_ready = s_in_ready;
{"".join(wires)}    wire [{obus.bits - 1}:0] m_out_data;
    wire m_out_valid, m_out_last;
    wire m_out_ready = out_ready;
    assign out_data = m_out_data;
    assign out_valid = m_out_valid;
    assign out_last = m_out_last;

{"".join(body)}endmodule
`default_nettype wire
"""


def library_blocks(df: Dataflow) -> list[str]:
    """The hw/rtl files this design instantiates (in LIBRARY order)."""
    used = {"hw_fifo.v", "hw_lane_repack.v"}
    files = {MVU: "hw_mvu.v", TopK: "hw_topk.v", SlidingWindow: "hw_swg.v", MaxPool: "hw_maxpool.v"}
    used |= {files[type(n)] for n in df.nodes}
    used |= {dep for name in used for dep in RTL_DEPENDS.get(name, ())}
    return [name for name in LIBRARY if name in used]


def block_sources(module: str) -> list[str]:
    """The hw/rtl files a library block `module` needs: its own, then the shared ones."""
    return [f"{module}.v", *RTL_DEPENDS.get(f"{module}.v", ())]


def write_rtl(df: Dataflow, rtl_dir: Path) -> list[Path]:
    """Write top.v, copy the library blocks, write every layer's memory files."""
    rtl_dir.mkdir(parents=True, exist_ok=True)
    sources = []
    for name in library_blocks(df):
        shutil.copyfile(RTL_LIB / name, rtl_dir / name)
        sources.append(rtl_dir / name)
    for n in df.mvus():
        w_w = lane_width(DataType.parse(n.weight_dtype))
        # the .mem file is written for external MVUs too (the HLS C simulation reads it)
        write_mvu_mem_files(
            mvu_memory_values(n), n.thresholds, n.PE, n.SIMD, w_w, n.acc_bits, rtl_dir / n.name
        )
        if n.external:  # one pass of its weight stream, what a DMA reads from DDR
            write_mvu_weight_stream(mvu_memory_values(n), n.PE, n.SIMD, w_w, rtl_dir / n.name)
        if n.mode == "ternary":
            swap = np.isin(np.arange(n.MH), n.negated_rows)
            write_swap_file(swap, n.PE, rtl_dir / n.name)
    (rtl_dir / "top.v").write_text(top_verilog(df))
    sources.append(rtl_dir / "top.v")
    (rtl_dir / "top.json").write_text(json.dumps(io_description(df, sources), indent=1) + "\n")
    return sources


def io_description(df: Dataflow, sources: list[Path]) -> dict:
    """What a simulator needs to drive top.v: stream formats and the source list."""
    first, last = df.nodes[0], df.nodes[-1]
    out_dtype = "INDEX" if isinstance(last, TopK) else last.out_type.name
    taps = []
    for n in df.nodes:
        f = node_out_format(n)
        dtype = "INDEX" if isinstance(n, TopK) else n.out_type.name
        taps.append(
            {
                "node": n.name,
                "file": f"tap_{n.name}.hex",
                **asdict(f),
                "dtype": dtype,
                "vectors": vectors_out(n),
            }
        )
    return {
        "top": "top",
        "sources": [p.name for p in sources],
        "in": {**asdict(input_bus(df)), "dtype": first.in_dtype, "vectors": vectors_in(first)},
        "out": {**asdict(output_bus(df)), "dtype": out_dtype, "vectors": vectors_out(last)},
        "taps": taps,
        "fifos": [
            {"name": f"fifo{k}", "node": n.name, "depth": d, "width": node_in_format(n).bits}
            for k, (n, d) in enumerate(zip(df.nodes, fifo_depths(df), strict=True))
        ],
        "fifo_levels_file": FIFO_LEVELS_FILE,
        # the slowest node or adapter; external weights may need more (ddr_cycles_per_frame)
        "predicted_cycles_per_frame": predicted_cycles_per_frame(df),
        "weight_streams": weight_streams(df),
    }


def vectors_in(n: Node) -> int:
    """Stream vectors (pixels, windows) a node takes per frame."""
    if isinstance(n, SlidingWindow | MaxPool):
        return n.IH * n.IW
    return n.vectors if isinstance(n, MVU) else 1


def vectors_out(n: Node) -> int:
    if isinstance(n, SlidingWindow | MaxPool):
        return n.OH * n.OW
    return n.vectors if isinstance(n, MVU) else 1


def predicted_cycles_per_frame(df: Dataflow) -> int:
    """Steady-state initiation interval: the slowest stage (every repacker is at most as
    slow as its neighbours; the bus adapters move one beat per cycle)."""
    stages = [n.cycles_per_frame() for n in df.nodes]
    for a, b in zip(df.nodes, df.nodes[1:], strict=False):
        if len(link_stages(node_out_format(a), node_in_format(b))) == 2:  # one value a cycle
            stages.append(a.n_out * vectors_out(a))
    bus_in = input_bus(df).beats * vectors_in(df.nodes[0])
    bus_out = output_bus(df).beats * vectors_out(df.nodes[-1])
    return max([*stages, bus_in, bus_out])
