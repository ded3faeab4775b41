"""Pipelining per target: the pipeline registers of every MVU for the board's logic.

`pipeline_for_board(df, board)` sets each SlidingWindow's `mem_pipe` (hw_swg MEM_PIPE),
each MaxPool's `ram_style` and each MVU's `tree_pipe` (hw_mvu TREE_PIPE: the
popcount trees registered every k compressor levels), `thr_pipe` (THR_PIPE: the
threshold compares registered before their count), `mem_pipe` (MEM_PIPE: the weight and
input memory reads registered again), `rom_bank` (ROM_BANK: a deep weight ROM in banks,
each bank's word registered next to it before their mux) and `lut_rom_bits` (the largest
weight ROM in LUTs). Invariant: only latency changes (each register adds a cycle from a
vector's last input beat to its first output beat), never the values or the cycles per
frame (`MVU.cycles_per_frame`), and no FIFO depth (the analysis counts vectors in
flight, which the deeper output buffer of hw_mvu covers).

The ECP5 (LUT4 fabric, the only place-and-route we have: nextpnr) gets all of them: a
compressor level is a LUT6 there, i.e. two LUT4 and two wide-function muxes, so two
levels a stage, and an N_T-input compare and count in one stage was the critical path
of the thresholded layers. A block RAM's clock-to-output (5.6 ns in nextpnr's ECP5
model, no output register in Yosys's mapping) and the route from it take a whole cycle
at 142 MHz (tfc_w1a2, bench/fmax.json), so the memory reads are registered again, a ROM
over several block RAMs is banked one block RAM a bank (their outputs muxed only after
a register each: cnv_w1a2's 16-block-RAM ROM was its critical path), the threshold word
and a sliding window's line-buffer word are registered before they are used (hw_mvu
THR_PIPE, hw_swg MEM_PIPE: the next critical paths there), every FIFO's word leaves
from a buffer (Dataflow.fifo_out_reg; a block-RAM FIFO's word through a plain register
first: hw_fifo OUT_REG 2), a max-pool's read-modify-write banks go to LUT RAM
(maxpool_ram_style; pool4's block RAM was cnv_w1a2's critical path), and weight ROMs of
up to 64 kbit go to LUTs in 64-word banks (4 LUT4 and 2 wide muxes a bit per bank, on
an 84 k-LUT4 part: tfc_w1a2 with every ROM there is 4,836 LUT4 by nextpnr). Xilinx boards
keep the combinational forms: without Vivado there is no timing figure to choose by,
and a LUT6 level is one LUT there.
"""

from __future__ import annotations

from dataclasses import replace

from .blocks.maxpool import MaxPool
from .blocks.mvu import MVU, Mode
from .blocks.swg import SlidingWindow
from .boards import Board
from .ir import Dataflow
from .streams import signed_lanes

ECP5_TREE_PIPE = 2  # compressor levels between registers on a LUT4 fabric
ECP5_LUT_ROM_BITS = 65536  # larger weight ROMs in block RAM
ECP5_LUT_BANK = 64  # words of a LUT ROM bank: a LUT4, a PFUMX and an L6MUX deep
ECP5_POOL_LUT_BITS = 4096  # larger max-pool banks stay where Yosys puts them
EBR_WIDTHS = (1, 2, 4, 9, 18, 36)  # DP16KD / PDPW16KD data widths (16,384 bits + parity)


def ebr_words(width: int) -> int:
    """Words of one ECP5 block RAM at the narrowest configuration holding `width` bits
    (a wider word spans several block RAMs side by side, 512 words deep)."""
    w = next((w for w in EBR_WIDTHS if w >= width), 36)
    return 512 if w == 36 else 16384 // (1 << EBR_WIDTHS.index(w))


def mvu_pipeline(n: MVU, family: str) -> dict[str, int]:
    """The pipeline fields of one MVU on a board of this family."""
    if family != "ecp5":
        return {}
    popcount = n.mode == Mode.XNOR or (n.mode == Mode.SIGNSEL and not signed_lanes(n.in_dtype))
    lut = replace(n, lut_rom_bits=ECP5_LUT_ROM_BITS).rom_style() == "distributed"
    bank = ECP5_LUT_BANK if lut else ebr_words(n.weight_word_bits)
    return {"tree_pipe": ECP5_TREE_PIPE if popcount else 0, "thr_pipe": int(n.n_thresholds > 0),
            "mem_pipe": 1, "lut_rom_bits": ECP5_LUT_ROM_BITS, "rom_bank": bank}  # fmt: skip


def maxpool_ram_style(n: MaxPool) -> str:
    """A pool's banks in LUT RAM up to ECP5_POOL_LUT_BITS bits each: a bank is read,
    pooled and written back in one cycle, which a block RAM's 5.6 ns clock-to-output
    leaves too little of (cnv_w1a2's pool4 at 88 MHz by nextpnr)."""
    return "distributed" if n.bank_bits() <= ECP5_POOL_LUT_BITS else "auto"


def pipeline_for_board(df: Dataflow, board: Board | None) -> Dataflow:
    """df with every MVU's pipeline registers chosen for `board` (unchanged without)."""
    if board is None:
        return df
    nodes = []
    for n in df.nodes:
        if isinstance(n, MVU):
            n = replace(n, **mvu_pipeline(n, board.family))
        elif isinstance(n, SlidingWindow) and board.family == "ecp5":
            n = replace(n, mem_pipe=1)
        elif isinstance(n, MaxPool) and board.family == "ecp5":
            n = replace(n, ram_style=maxpool_ram_style(n))
        nodes.append(n)
    return replace(df, nodes=nodes, fifo_out_reg=board.family == "ecp5")
