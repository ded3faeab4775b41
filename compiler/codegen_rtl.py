"""RTL back end: renders the netlist (compiler/netlist.py) as top.v, copies the library
blocks from hw/rtl and writes every block's memory files.

The top wires the netlist's DAG: input adapter (bus lanes -> first layer's SIMD lanes),
per node and input a lane repacker where the producer's lanes differ, a FIFO and the
node, a fork after a producer with several consumers, then the output adapter (last
node's lanes -> byte-aligned bus lanes, with out_last on the last beat of every frame).
Each instance's module, parameters and ports come from its block (`Block.rtl`,
`Block.rtl_ports`, a join's `rtl_join_ports`, a fork's `fork_ports`). Under
+define+HALFWAVE_FIFO_STATS every FIFO's high-water mark is written by its name.

The stream-layout names (StreamFormat, link_stages, bus formats, weight streams,
predicted cycles) live in compiler/streams.py and blocks/weight_port.py; they are
re-exported here for the modules that import them from codegen_rtl.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import halfwave.hw

from . import netlist as nl
from .blocks.mvu import MVU, Mode
from .blocks.weight_port import (
    ddr_cycles_per_frame,
    dma_word_bytes,
    frame_batch,
    weight_streams,
)
from .datatypes import DataType
from .ir import Dataflow, Node
from .streams import (
    BUS_BITS,
    StreamFormat,
    bus_format,
    has_tail,
    input_bus,
    lane_width,
    link_stages,
    node_in_format,
    node_out_format,
    output_bus,
    predicted_cycles_per_frame,
    vectors_in,
    vectors_out,
)

__all__ = [  # re-exported stream-layout names (see the module docstring)
    "BUS_BITS", "DataType", "MODES", "StreamFormat", "bus_format", "ddr_cycles_per_frame",
    "dma_word_bytes", "has_tail", "input_bus", "io_description", "lane_width",
    "library_blocks", "link_stages", "mvu_memory_values", "node_in_format",
    "node_out_format", "output_bus", "predicted_cycles_per_frame", "rom_style",
    "top_verilog", "vectors_in", "vectors_out", "weight_port", "weight_streams", "write_rtl",
]  # fmt: skip

RTL_LIB = Path(halfwave.hw.__file__).resolve().parent / "rtl"
LIBRARY = (
    "hw_mvu.v",
    "hw_topk.v",
    "hw_fifo.v",
    "hw_lane_repack.v",
    "hw_swg.v",
    "hw_maxpool.v",
    "hw_avgpool.v",
    "hw_outbuf.v",
    "hw_ram.v",
    "hw_lutrom.v",
    "hw_lanetree.v",
    "hw_tadd.v",
    "hw_lut62.v",
    "hw_carry.v",
    "hw_dsp_pair.v",
    "hw_fork.v",
    "hw_add.v",
    "hw_concat.v",
)
MODES = {m.value: m.code for m in Mode}
FIFO_LEVELS_FILE = "fifo_levels.txt"
# shared hw/rtl modules that a library block instantiates directly (copied and read with
# it, and what those instantiate: rtl_depends)
RTL_DEPENDS = {
    "hw_mvu.v": ("hw_outbuf.v", "hw_ram.v", "hw_lanetree.v", "hw_dsp_pair.v"),
    "hw_lanetree.v": ("hw_tadd.v", "hw_lut62.v", "hw_carry.v"),
    "hw_tadd.v": ("hw_lut62.v", "hw_carry.v"),
    "hw_swg.v": ("hw_outbuf.v", "hw_ram.v"),
    "hw_maxpool.v": ("hw_outbuf.v", "hw_ram.v"),
    "hw_avgpool.v": ("hw_outbuf.v", "hw_ram.v"),
    "hw_fifo.v": ("hw_ram.v", "hw_outbuf.v"),
    "hw_ram.v": ("hw_lutrom.v",),
    "hw_add.v": ("hw_outbuf.v", "hw_ram.v"),
    "hw_concat.v": ("hw_outbuf.v",),
}


def weight_port(n: MVU) -> str:
    """Prefix of an external MVU's weight stream ports on the top: w_<node>_tdata, ..."""
    return n.weight_port().port


def mvu_memory_values(n: MVU):
    return n.memory_values()


def rom_style(n: MVU) -> str:
    return n.rom_style()


def _mvu(n: MVU, i: str, o: str) -> str:
    """The hw_mvu instance text of n between streams i and o."""
    return n.rtl().render(n.rtl_ports(i, o))


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


def _fifo_stall_counter(name: str, i: str) -> str:
    """Simulation only (+define+HALFWAVE_FIFO_STATS): cycles the producer of FIFO `name`
    offered a beat that the full FIFO refused."""
    return f"""`ifdef HALFWAVE_FIFO_STATS
    reg [63:0] {name}_full_cycles;
    always @(posedge clk)
        if (rst) {name}_full_cycles <= 64'd0;
        else if ({i}_valid && !{i}_ready) {name}_full_cycles <= {name}_full_cycles + 1'b1;
`endif
"""


def _fifo_stats(names: list[str]) -> str:
    """Simulation only: at the end of the run write every FIFO's high-water mark (its
    max_level) and full-cycle count to fifo_levels.txt, one line `NAME MAX FULL`."""
    lines = "".join(
        f'        $fwrite(fd, "{f} %0d %0d\\n", {f}.max_level, {f}_full_cycles);\n' for f in names
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


def _ports(p: nl.Placed) -> list[str]:
    """Port lines of a placed block: a fork's outputs, a join's inputs, else one each."""
    if p.outs:
        return p.block.fork_ports(p.i, list(p.outs))  # type: ignore[attr-defined]
    if p.ins:
        return p.block.rtl_join_ports(list(p.ins), p.o)
    return p.block.rtl_ports(p.i, p.o)


def render_top(net: nl.Netlist) -> str:
    """top.v of a netlist."""
    ibus, obus = net.in_bus, net.out_bus
    wires, body = [], []
    for p in net.placed:
        if p.role != "adapter":
            wires += [_wire(o, p.fmt) for o in p.outputs()]
        body.append(p.block.rtl().render(_ports(p)))
        if p.role == "fifo":
            body.append(_fifo_stall_counter(p.block.name, p.i))
        elif p.role == "layer":
            body.append(_tap(p.index, p.block))
    body.append(_fifo_stats([p.block.name for p in net.fifos()]))
    wports = "".join(w.rtl_port() for w in net.weight_ports)
    return f"""// top.v — generated by halfwave for model '{net.model}'; do not edit.
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


def top_verilog(df: Dataflow) -> str:
    return render_top(nl.build(df))


def library_blocks(df: Dataflow) -> list[str]:
    """The hw/rtl files this design instantiates (in LIBRARY order)."""
    used = {f"{m}.v" for m in nl.build(df).modules()}
    used |= {dep for name in used for dep in rtl_depends(name)}
    return [name for name in LIBRARY if name in used]


def rtl_depends(name: str) -> list[str]:
    """The shared hw/rtl files `name` instantiates, directly or through another (each once,
    in first-use order)."""
    out: list[str] = []
    for dep in RTL_DEPENDS.get(name, ()):
        for f in (dep, *rtl_depends(dep)):
            if f not in out:
                out.append(f)
    return out


def block_sources(module: str) -> list[str]:
    """The hw/rtl files a library block `module` needs: its own, then the shared ones."""
    return [f"{module}.v", *rtl_depends(f"{module}.v")]


def write_rtl(df: Dataflow, rtl_dir: Path) -> list[Path]:
    """Write top.v, copy the library blocks, write every layer's memory files."""
    rtl_dir.mkdir(parents=True, exist_ok=True)
    net = nl.build(df)
    sources = []
    for name in library_blocks(df):
        shutil.copyfile(RTL_LIB / name, rtl_dir / name)
        sources.append(rtl_dir / name)
    for p in net.placed:
        p.block.write_memories(rtl_dir)
    (rtl_dir / "top.v").write_text(render_top(net))
    sources.append(rtl_dir / "top.v")
    (rtl_dir / "top.json").write_text(json.dumps(io_description(df, sources), indent=1) + "\n")
    return sources


def io_description(df: Dataflow, sources: list[Path]) -> dict:
    """What a simulator needs to drive top.v: stream formats and the source list."""
    first, last = df.nodes[0], df.nodes[-1]
    net = nl.build(df)
    taps = [
        {
            "node": n.name,
            "file": f"tap_{n.name}.hex",
            **asdict(n.out_format()),
            "dtype": n.out_dtype_name(),
            "vectors": n.vectors_out(),
        }
        for n in df.nodes
    ]
    return {
        "top": "top",
        "sources": [p.name for p in sources],
        "in": {**asdict(input_bus(df)), "dtype": first.in_dtype.name,
               "vectors": first.vectors_in()},
        "out": {**asdict(output_bus(df)), "dtype": last.out_dtype_name(),
                "vectors": last.vectors_out()},
        "taps": taps,
        "fifos": [
            {"name": p.block.name, "node": p.layer, "depth": p.block.depth,
             "width": p.block.width}
            for p in net.fifos()
        ],
        "fifo_levels_file": FIFO_LEVELS_FILE,
        # the slowest node or adapter; external weights may need more (ddr_cycles_per_frame)
        "predicted_cycles_per_frame": predicted_cycles_per_frame(df),
        "weight_streams": weight_streams(df),
        "frame_batch": frame_batch(df),  # batched external MVUs: runs of whole batches
    }  # fmt: skip
