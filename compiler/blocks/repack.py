"""hw_lane_repack: re-cuts a stream from one lane count/width to another (the links
between blocks whose lanes differ, and the bus adapters at the ends of the design)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..memmap import Res
from ..streams import StreamFormat
from .base import Block, Instance, stream_ports
from .calibration import CAL, clog2


@dataclass(frozen=True)
class LaneRepack(Block):
    """`src` lanes in, `dst` lanes out, vectors of `count` elements (COUNT), `vectors`
    of them per frame (HLS only: the RTL block counts elements without a frame)."""

    name: str
    src: StreamFormat
    dst: StreamFormat
    count: int
    vectors: int = 1
    kind: str = "LaneRepack"
    rtl_module = "hw_lane_repack"
    hls_header = "hw_lane_repack.h"

    def in_format(self) -> StreamFormat:
        return self.src

    def out_format(self) -> StreamFormat:
        return self.dst

    def rtl(self) -> Instance:
        s, d = self.src, self.dst
        params = (
            ("IN_LANES", str(s.lanes)), ("IN_LW", str(s.width)), ("OUT_LANES", str(d.lanes)),
            ("OUT_LW", str(d.width)), ("COUNT", str(self.count)), ("SIGNED", str(int(s.signed))),
        )  # fmt: skip
        return Instance(self.rtl_module, self.name, params, rows=(3, 3))

    def rtl_ports(self, i: str, o: str) -> list[str]:
        return [*stream_ports(i, o), f".out_last({o}_last)"]

    def estimate(self, data: bool = True) -> Res:
        s, d = self.src, self.dst
        return estimate_repack(s.lanes, s.width, d.lanes, d.width, self.count)

    def hls(self, i: str, o: str) -> str:
        s, d = self.src, self.dst
        return (
            f"    hw_lane_repack<{s.lanes}, {s.width}, {d.lanes}, {d.width}, {self.count}, "
            f"{int(s.signed)}, {self.vectors}>({i}, {o});\n"
        )

    def hls_max_bits(self) -> int:
        """Bits of the element queue of the HLS repacker."""
        s, d = self.src, self.dst
        if s.lanes == d.lanes:
            return 0
        return (s.lanes + d.lanes - 1) * min(s.width, d.width)


def estimate_repack(in_lanes: int, in_lw: int, out_lanes: int, out_lw: int, count: int) -> Res:
    """hw_lane_repack: a queue of CAP granules of G = gcd(lanes in, lanes out, count)
    elements, written and read at any granule offset (a crossbar of in_lanes/G -> CAP and
    CAP -> out_lanes/G granules), or wires when the lane counts are equal."""
    c = CAL
    if in_lanes == out_lanes:
        return Res(lut=1.0, ff=3.0)
    g = math.gcd(in_lanes, out_lanes, count)
    il, ol, n = in_lanes // g, out_lanes // g, count // g
    gw = g * min(in_lw, out_lw)  # bits of a granule
    cap = il + ol + max(il, ol) - 2
    ff = cap * gw + 3 * clog2(cap + 1) + 2 * clog2(count + 1) + 4
    # the pointers only ever take multiples of gcd(CAP, lanes, tail lanes): Yosys keeps
    # just the crossbar paths those positions reach
    pw = _positions(cap, il, n)
    pr = _positions(cap, ol, n)
    lut = (
        c["repack_base"]
        + pw * il * (c["repack_write"] * gw + c["repack_sel"])
        + c["repack_read"] * ol * gw * pr
    )
    return Res(lut=lut, ff=ff)


def _positions(cap: int, lanes: int, count: int) -> int:
    tail = count - (-(-count // lanes) - 1) * lanes
    return cap // math.gcd(cap, lanes, tail)
