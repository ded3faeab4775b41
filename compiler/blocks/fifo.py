"""hw_fifo: the stream FIFO in front of every layer block (depth from compiler/fifos.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ..memmap import MemMap, Res, map_memory
from .base import Block, Instance, stream_ports
from .calibration import CAL, clog2

# the smallest FIFO that takes OUT_REG 2 with fifo_out_reg: Yosys's ECP5 mapping put
# cnv_w1a2's 96 x 24-bit FIFO in block RAM
FIFO_SYNC_BITS = 1024


@dataclass(frozen=True)
class Fifo(Block):
    """`depth` beats of `width` bits; `style`: its RAM_STYLE ("auto": Yosys decides)."""

    name: str
    width: int
    depth: int
    style: str = "auto"
    out_reg: int = 0  # hw_fifo OUT_REG: 1 a 2-entry register buffer, 2 a synchronous read,
    # registered, into a 4-entry LUT-RAM buffer
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
        return estimate_fifo(self.width, self.depth, self.style, self.out_reg)

    def storage(self) -> MemMap:
        return fifo_storage(self.width, self.depth, self.style, self.out_reg)


def fifo_block(name: str, width: int, depth: int, style: str, out_reg: bool) -> Fifo:
    """The FIFO of `depth` beats; with `out_reg` (Dataflow.fifo_out_reg, the ECP5) its
    words leave from a buffer: one of FIFO_SYNC_BITS or more (Yosys may put it in block
    RAM) or in block RAM by `style` is read synchronously, the word registered in a
    plain flip-flop before a LUT-RAM buffer (OUT_REG 2: no logic between a block RAM's
    clock-to-output and a flip-flop), the others get the 2-entry register buffer
    (OUT_REG 1)."""
    if not out_reg:
        return Fifo(name, width, depth, style)
    sync = style == "block" or width * depth >= FIFO_SYNC_BITS
    return Fifo(name, width, depth, style, 2 if sync else 1)


def fifo_storage(width: int, depth: int, style: str = "auto", out_reg: int = 0) -> MemMap:
    """Where Yosys puts a hw_fifo's words: an asynchronous read of the read pointer,
    which Yosys turns into a transparent synchronous read (the pointer register merged
    into the port); with OUT_REG 2 a plain synchronous read."""
    st = {"distributed": "distributed", "registers": "logic", "block": "block"}.get(style, "auto")
    return map_memory(depth, width, write=True, read_sync=True, style=st,
                      transparent=out_reg != 2)  # fmt: skip


def estimate_fifo(width: int, depth: int, style: str = "auto", out_reg: int = 0) -> Res:
    """hw_fifo: its storage (fifo_storage), pointers and level counter, and the buffer
    after the memory (OUT_REG)."""
    c = CAL
    lw = clog2(depth + 1)
    aw = max(1, clog2(depth))
    ff = 2 * aw + 2 * lw
    m = fifo_storage(width, depth, style, out_reg)
    lut = c["fifo_base"] + c["fifo_ptr"] * (aw + lw) + m.lutram + c["fifo_mux"] * m.mux_bits
    lutram = m.lutram
    if m.kind == "logic":
        ff += depth * width
        lut += c["fifo_reg_mux"] * width * max(0, depth - 1)
    elif m.kind == "block" and out_reg != 2:  # soft transparency: last word and a bypass mux
        ff += width + 1
        lut += c["fifo_bypass"] * width
    if out_reg == 1:  # two registers and the head's input mux
        ff += 2 * width + 3
        lut += width + c["fifo_base"]
    elif out_reg == 2:  # the read word's register, a 4-word LUT-RAM queue, the credits
        q = map_memory(4, width, write=True, read_sync=False, style="distributed")
        ff += width + 2 + 2 + 2 + 3 + 1
        lut += q.lutram + c["fifo_base"] + c["fifo_ptr"] * 7
        lutram += q.lutram
    return Res(lut=lut, lutram=lutram, ff=ff, bram36=m.bram36, notes=[f"storage: {m.kind}"])
