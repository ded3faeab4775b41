"""Stream layout of a design: formats, bus adapters, lane repackers between blocks and
the predicted cycles per frame.

Every back end (RTL, HLS, system, estimator, simulator description) takes its stream
formats from here, so they agree beat for beat. A block states its own input and output
format (`Block.in_format`, `Block.out_format`); this module places what goes between
blocks: the bus adapters at the ends (`input_bus`, `output_bus`) and the lane repackers
where a producer's lanes differ from its consumer's (`link_stages`). The external weight
streams and their DDR bound are the weight port's (blocks/weight_port.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .datatypes import DataType

BUS_BITS = 64  # host stream width target (AXI-stream tdata)


class Node(Protocol):
    """What the stream helpers read of a dataflow node (compiler/ir.Node, a Block):
    structural, so this module needs neither ir nor the blocks (which import it)."""

    name: str

    @property
    def n_out(self) -> int: ...
    def in_format(self) -> StreamFormat: ...
    def in_formats(self) -> list[StreamFormat]: ...
    def out_format(self) -> StreamFormat: ...
    def vectors_in(self) -> int: ...
    def vectors_out(self) -> int: ...
    def cycles_per_frame(self) -> int: ...


class Dataflow(Protocol):
    """What they read of a dataflow (compiler/ir.Dataflow)."""

    @property
    def nodes(self) -> Sequence[Node]: ...
    def sources(self, k: int) -> list[str]: ...


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
    """Bits of one lane carrying values of dt (BIPOLAR: one bit, 1 = +1)."""
    return 1 if dt.kind == "BIPOLAR" else dt.bits


def signed_lanes(dt: DataType) -> bool:
    """Whether lanes of dt are two's complement (BIPOLAR lanes are plain bits)."""
    return dt.signed and dt.kind != "BIPOLAR"


def format_of(dt: DataType, lanes: int, count: int) -> StreamFormat:
    return StreamFormat(lanes, lane_width(dt), count, signed_lanes(dt))


def bus_format(lw: int, count: int, signed: bool) -> StreamFormat:
    """Byte-aligned lanes, as many as fit in BUS_BITS (at least one, at most count)."""
    width = 8 * -(-lw // 8)
    return StreamFormat(max(1, min(count, BUS_BITS // width)), width, count, signed)


def node_in_format(n: Node) -> StreamFormat:
    return n.in_format()


def node_out_format(n: Node) -> StreamFormat:
    return n.out_format()


def vectors_in(n: Node) -> int:
    """Stream vectors (pixels, windows) a node takes per frame."""
    return n.vectors_in()


def vectors_out(n: Node) -> int:
    return n.vectors_out()


def input_bus(df: Dataflow) -> StreamFormat:
    f = df.nodes[0].in_format()
    return bus_format(f.width, f.count, f.signed)


def output_bus(df: Dataflow) -> StreamFormat:
    f = df.nodes[-1].out_format()
    return bus_format(f.width, f.count, f.signed)


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


def predicted_cycles_per_frame(df: Dataflow) -> int:
    """Steady-state initiation interval: the slowest stage (every repacker is at most as
    slow as its neighbours; the bus adapters move one beat per cycle). On a DAG every
    branch runs at its slowest node's rate and a fork or join at its slowest side's, so
    the slowest node of the whole graph bounds the design."""
    stages = [n.cycles_per_frame() for n in df.nodes]
    by_name = {n.name: n for n in df.nodes}
    for k, n in enumerate(df.nodes):
        for src, fin in zip(df.sources(k), n.in_formats(), strict=True):
            a = by_name.get(src)
            if a is not None and len(link_stages(a.out_format(), fin)) == 2:  # a value a cycle
                stages.append(a.n_out * a.vectors_out())
    bus_in = input_bus(df).beats * df.nodes[0].vectors_in()
    bus_out = output_bus(df).beats * df.nodes[-1].vectors_out()
    return max([*stages, bus_in, bus_out])
