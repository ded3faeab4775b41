"""The design as a graph: blocks (layers, FIFOs, lane repackers, bus adapters), the
weight ports of external MVUs, and the streams between them.

Built once from the folded IR (`build`); the RTL back end renders it as top.v, the HLS
back end as halfwave_top, the estimator and `halfwave synth` walk its blocks
(`blocks`). Nothing re-parses generated Verilog. Streams are named by their wire in
top.v: s_in (the input bus), rp<k>_<j> (repacker outputs), f<k> (the FIFO in front of
node k), n<k> (node k's output), m_out (the output bus). The graph is a DAG: a
node's inputs and outputs are edges, so forks and joins are edges too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .blocks import Block, Fifo, Instance, LaneRepack, WeightPort
from .fifos import fifo_depths
from .ir import Dataflow
from .streams import StreamFormat, input_bus, link_stages, output_bus


@dataclass(frozen=True)
class Placed:
    """A block in the design: its input and output streams and the layer it serves.
    `role`: "repack" (between layers), "fifo" (in front of a layer), "layer" or
    "adapter" (the output bus adapter); `index`: the layer's position in the IR."""

    block: Block
    i: str
    o: str
    fmt: StreamFormat  # format of the output stream
    layer: str
    role: str
    index: int | None = None


@dataclass(frozen=True)
class Edge:
    """A stream from one block (or the input port) to another (or the output port)."""

    src: str  # instance name, or "in" for the input bus
    dst: str  # instance name, or "out" for the output bus
    wire: str
    fmt: StreamFormat


@dataclass
class Netlist:
    model: str
    in_bus: StreamFormat
    out_bus: StreamFormat
    placed: list[Placed]  # in a topological order (stream order)
    weight_ports: list[WeightPort] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def blocks(self) -> list[Instance]:
        """Every RTL block instance (module, name, parameters as Verilog text)."""
        return [p.block.rtl() for p in self.placed]

    def layers(self) -> list[Placed]:
        return [p for p in self.placed if p.role == "layer"]

    def fifos(self) -> list[Placed]:
        return [p for p in self.placed if p.role == "fifo"]

    def modules(self) -> list[str]:
        """The hw/rtl modules this design instantiates (first use order)."""
        return list(dict.fromkeys(p.block.rtl_module for p in self.placed))


def build(df: Dataflow) -> Netlist:
    """The netlist of a folded dataflow (see the module docstring)."""
    ibus, obus = input_bus(df), output_bus(df)
    depths = fifo_depths(df)
    placed: list[Placed] = []
    edges: list[Edge] = []
    producer = {"s_in": "in"}

    def place(b: Block, i: str, o: str, fmt: StreamFormat, layer: str, role: str, k=None):
        placed.append(Placed(b, i, o, fmt, layer, role, k))
        edges.append(Edge(producer[i], b.name, i, fmt_of[i]))
        producer[o] = b.name
        fmt_of[o] = fmt

    fmt_of = {"s_in": ibus}
    prev, prev_fmt = "s_in", ibus
    elems = ibus.count * df.nodes[0].vectors_in()
    for k, n in enumerate(df.nodes):
        fin = n.in_format()
        for j, (src, dst, count) in enumerate(link_stages(prev_fmt, fin)):
            rp = LaneRepack(f"repack{k}_{j}", src, dst, count, elems // count)
            place(rp, prev, f"rp{k}_{j}", dst, n.name, "repack", k)
            prev = f"rp{k}_{j}"
        place(Fifo(f"fifo{k}", fin.bits, depths[k]), prev, f"f{k}", fin, n.name, "fifo", k)
        fout = n.out_format()
        place(n, f"f{k}", f"n{k}", fout, n.name, "layer", k)
        prev, prev_fmt, elems = f"n{k}", fout, fout.count * n.vectors_out()
    adapter = LaneRepack("out_adapter", prev_fmt, obus, prev_fmt.count, elems // prev_fmt.count)
    place(adapter, prev, "m_out", obus, "out_adapter", "adapter")
    edges.append(Edge("out_adapter", "out", "m_out", obus))
    ports = [n.weight_port() for n in df.nodes if getattr(n, "external", False)]
    return Netlist(df.model, ibus, obus, placed, ports, edges)


def blocks(df: Dataflow) -> list[Instance]:
    """The RTL block instances of df's top.v (module, name, params): what `halfwave
    synth` synthesises one by one, without parsing top.v."""
    return build(df).blocks()
