"""The design as a graph: blocks (layers, FIFOs, lane repackers, bus adapters), the
weight ports of external MVUs, and the streams between them.

Built once from the folded IR (`build`); the RTL back end renders it as top.v, the HLS
back end as halfwave_top, the estimator and `halfwave synth` walk its blocks
(`blocks`). Nothing re-parses generated Verilog. Streams are named by their wire in
top.v: s_in (the input bus), rp<k>_<s> (repacker outputs), f<k> (the FIFO in front of
node k), n<k> (node k's output), m_out (the output bus). The graph is a DAG
(Dataflow.inputs): a producer with several consumers feeds a Fork (`fork<k>`, or
`fork_in` for the input bus) whose output c is wire <producer wire>_b<c>; input j > 0
of a join has its own repackers rp<k>_<j>_<s> and FIFO `fifo<k>_<j>` (wire f<k>_<j>),
and the join's ports come from `Block.rtl_join_ports`. Every stream is an Edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .blocks import Block, Instance, LaneRepack, WeightPort, fifo_block
from .fifos import branch_skews, fifo_style, input_fifo_depths
from .ir import INPUT, Dataflow
from .streams import StreamFormat, input_bus, link_stages, output_bus


@dataclass(frozen=True)
class Placed:
    """A block in the design: its input and output streams and the layer it serves.
    `role`: "repack" (between layers), "fifo" (in front of a layer), "layer" or
    "adapter" (the output bus adapter) or "fork"; `index`: the layer's position in the
    IR; `port`: the layer input a repacker or FIFO serves. A join's input wires are
    `ins`, a fork's output wires `outs` (then `i`, `o` are the first of them)."""

    block: Block
    i: str
    o: str
    fmt: StreamFormat  # format of the output stream
    layer: str
    role: str
    index: int | None = None
    port: int = 0
    ins: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()

    def inputs(self) -> list[str]:
        return list(self.ins) or [self.i]

    def outputs(self) -> list[str]:
        return list(self.outs) or [self.o]


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


def fork_block(name: str, width: int, n_out: int, beats: int) -> Block:
    """The Fork block after a producer with several consumers (blocks/fork.py)."""
    from .blocks.fork import Fork

    return Fork(name, width, n_out, beats)


class _Builder:
    """Places blocks in stream order and records the edges between them."""

    def __init__(self, ibus: StreamFormat) -> None:
        self.placed: list[Placed] = []
        self.edges: list[Edge] = []
        self.producer = {"s_in": "in"}
        self.fmt_of = {"s_in": ibus}

    def place(self, p: Placed) -> None:
        self.placed.append(p)
        for w in p.inputs():
            self.edges.append(Edge(self.producer[w], p.block.name, w, self.fmt_of[w]))
        for w in p.outputs():
            self.producer[w] = p.block.name
            self.fmt_of[w] = p.fmt


def build(df: Dataflow) -> Netlist:
    """The netlist of a folded dataflow (see the module docstring)."""
    ibus, obus = input_bus(df), output_bus(df)
    depths, skews = input_fifo_depths(df), branch_skews(df)
    b = _Builder(ibus)
    # each producer's output: (wire, elements per frame); forked ones hand out branches
    wire = {INPUT: "s_in"}
    elems = {INPUT: ibus.count * df.nodes[0].vectors_in()}
    branches: dict[str, list[str]] = {}
    consumers = df.consumers()

    def take(src: str) -> str:
        if src in branches:
            return branches[src].pop(0)
        return wire[src]

    def fork(src: str, index: int | None) -> None:
        n_out = len(consumers.get(src, []))
        if n_out < 2:
            return
        w, fmt = wire[src], b.fmt_of[wire[src]]
        name = "fork_in" if index is None else f"fork{index}"
        outs = tuple(f"{w}_b{c}" for c in range(n_out))
        beats = elems[src] // fmt.count * fmt.beats
        f = fork_block(name, fmt.bits, n_out, beats)
        layer = "input" if index is None else df.nodes[index].name
        b.place(Placed(f, w, outs[0], fmt, layer, "fork", index, outs=outs))
        branches[src] = list(outs)

    fork(INPUT, None)
    for k, n in enumerate(df.nodes):
        ins = []
        for j, (src, fin) in enumerate(zip(df.sources(k), n.in_formats(), strict=True)):
            prev = take(src)
            tag = f"{k}" if j == 0 else f"{k}_{j}"
            for s_, (a, dst, count) in enumerate(link_stages(b.fmt_of[prev], fin)):
                rp = LaneRepack(f"repack{tag}_{s_}", a, dst, count, elems[src] // count)
                b.place(Placed(rp, prev, f"rp{tag}_{s_}", dst, n.name, "repack", k, j))
                prev = f"rp{tag}_{s_}"
            d = depths[k, j]
            style = fifo_style(fin.bits, d, skews[k, j] > 0)
            fifo = fifo_block(f"fifo{tag}", fin.bits, d, style, df.fifo_out_reg)
            b.place(Placed(fifo, prev, f"f{tag}", fin, n.name, "fifo", k, j))
            ins.append(f"f{tag}")
        fout = n.out_format()
        b.place(Placed(n, ins[0], f"n{k}", fout, n.name, "layer", k,
                       ins=tuple(ins) if len(ins) > 1 else ()))  # fmt: skip
        wire[n.name], elems[n.name] = f"n{k}", fout.count * n.vectors_out()
        fork(n.name, k)
    last = df.nodes[-1].name
    fmt = b.fmt_of[wire[last]]
    adapter = LaneRepack("out_adapter", fmt, obus, fmt.count, elems[last] // fmt.count)
    b.place(Placed(adapter, wire[last], "m_out", obus, "out_adapter", "adapter"))
    b.edges.append(Edge("out_adapter", "out", "m_out", obus))
    ports = [n.weight_port() for n in df.nodes if getattr(n, "external", False)]
    return Netlist(df.model, ibus, obus, b.placed, ports, b.edges)


def blocks(df: Dataflow) -> list[Instance]:
    """The RTL block instances of df's top.v (module, name, params): what `halfwave
    synth` synthesises one by one, without parsing top.v."""
    return build(df).blocks()
