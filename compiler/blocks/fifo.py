"""hw_fifo: the stream FIFO in front of every layer block (depth from compiler/fifos.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ..memmap import MemMap, Res, map_memory
from .base import Block, Instance, stream_ports
from .calibration import CAL, clog2


@dataclass(frozen=True)
class Fifo(Block):
    """`depth` beats of `width` bits; `style`: its RAM_STYLE ("auto": Yosys decides)."""

    name: str
    width: int
    depth: int
    style: str = "auto"
    out_reg: int = 0  # hw_fifo OUT_REG: a 2-entry register buffer after the memory
    kind: str = "FIFO"
    rtl_module = "hw_fifo"

    def rtl(self) -> Instance:
        params = (("WIDTH", str(self.width)), ("DEPTH", str(self.depth)))
        if self.style != "auto":  # a large skew FIFO (compiler/fifos.py)
            params += (("RAM_STYLE", f'"{self.style}"'),)
        if self.out_reg:
            params += (("OUT_REG", str(self.out_reg)),)
        return Instance(self.rtl_module, self.name, params, rows=(len(params),), inline=True)

    def rtl_ports(self, i: str, o: str) -> list[str]:
        return [*stream_ports(i, o), ".level(), .max_level()"]

    def estimate(self, data: bool = True) -> Res:
        return estimate_fifo(self.width, self.depth, self.style)

    def storage(self) -> MemMap:
        return fifo_storage(self.width, self.depth, self.style)


def fifo_storage(width: int, depth: int, style: str = "auto") -> MemMap:
    """Where Yosys puts a hw_fifo's words: an asynchronous read of the read pointer,
    which Yosys turns into a transparent synchronous read (the pointer register merged
    into the port)."""
    st = {"distributed": "distributed", "registers": "logic", "block": "block"}.get(style, "auto")
    return map_memory(depth, width, write=True, read_sync=True, style=st, transparent=True)


def estimate_fifo(width: int, depth: int, style: str = "auto") -> Res:
    """hw_fifo: its storage (fifo_storage), pointers and level counter."""
    c = CAL
    lw = clog2(depth + 1)
    aw = max(1, clog2(depth))
    ff = 2 * aw + 2 * lw
    m = fifo_storage(width, depth, style)
    lut = c["fifo_base"] + c["fifo_ptr"] * (aw + lw) + m.lutram + c["fifo_mux"] * m.mux_bits
    if m.kind == "logic":
        ff += depth * width
        lut += c["fifo_reg_mux"] * width * max(0, depth - 1)
    elif m.kind == "block":  # soft transparency: last written word and a bypass mux
        ff += width + 1
        lut += c["fifo_bypass"] * width
    return Res(lut=lut, lutram=m.lutram, ff=ff, bram36=m.bram36, notes=[f"storage: {m.kind}"])
