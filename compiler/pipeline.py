"""Pipelining per target: the pipeline registers of every MVU for the board's logic.

`pipeline_for_board(df, board)` sets each MVU's `tree_pipe` (hw_mvu TREE_PIPE: the
popcount trees registered every k compressor levels), `thr_pipe` (THR_PIPE: the
threshold compares registered before their count), `mem_pipe` (MEM_PIPE: the weight and
input memory reads registered again) and `lut_rom_depth` (deeper weight ROMs in block
RAM). Invariant: only latency changes (each
register adds a cycle from a vector's last input beat to its first output beat), never
the values or the cycles per frame (`MVU.cycles_per_frame`), and no FIFO depth (the
analysis counts vectors in flight, which the deeper output buffer of hw_mvu covers).

The ECP5 (LUT4 fabric, the only place-and-route we have: nextpnr) gets both: a
compressor level is a LUT6 there, i.e. two LUT4 and two wide-function muxes, so two
levels a stage, and an N_T-input compare and count in one stage was the critical path
of the thresholded layers; a block RAM's clock-to-output (5.6 ns in nextpnr's ECP5
model, no output register in Yosys's mapping) takes most of a cycle, so the memory reads
are registered again; and a weight ROM of 4,096 words in LUT logic (a tfc layer at SIMD
1) is a mux tree of 12 cells: deeper ROMs go to block RAM (bench/fmax.json). Xilinx
boards keep the combinational forms: without Vivado there is no timing figure to choose
by, and a LUT6 level is one LUT there.
"""

from __future__ import annotations

from dataclasses import replace

from .blocks.mvu import MVU, Mode
from .boards import Board
from .ir import Dataflow
from .streams import signed_lanes

ECP5_TREE_PIPE = 2  # compressor levels between registers on a LUT4 fabric
ECP5_LUT_ROM_DEPTH = 64  # deeper weight ROMs in block RAM (a 64-word LUT4 ROM: 3 cells)


def mvu_pipeline(n: MVU, family: str) -> dict[str, int]:
    """The pipeline fields of one MVU on a board of this family."""
    if family != "ecp5":
        return {}
    popcount = n.mode == Mode.XNOR or (n.mode == Mode.SIGNSEL and not signed_lanes(n.in_dtype))
    return {"tree_pipe": ECP5_TREE_PIPE if popcount else 0, "thr_pipe": int(n.n_thresholds > 0),
            "mem_pipe": 1, "lut_rom_depth": ECP5_LUT_ROM_DEPTH}  # fmt: skip


def pipeline_for_board(df: Dataflow, board: Board | None) -> Dataflow:
    """df with every MVU's pipeline registers chosen for `board` (unchanged without)."""
    if board is None:
        return df
    nodes = []
    for n in df.nodes:
        if isinstance(n, MVU):
            n = replace(n, **mvu_pipeline(n, board.family))
        nodes.append(n)
    return replace(df, nodes=nodes)
