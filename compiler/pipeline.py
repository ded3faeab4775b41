"""Pipelining per target: the pipeline registers of every MVU for the board's logic.

`pipeline_for_board(df, board)` sets each MVU's `tree_pipe` (hw_mvu TREE_PIPE: the
popcount trees registered every k compressor levels) and `thr_pipe` (THR_PIPE: the
threshold compares registered before their count). Invariant: only latency changes (each
register adds a cycle from a vector's last input beat to its first output beat), never
the values or the cycles per frame (`MVU.cycles_per_frame`), and no FIFO depth (the
analysis counts vectors in flight, which the deeper output buffer of hw_mvu covers).

The ECP5 (LUT4 fabric, the only place-and-route we have: nextpnr) gets both: a
compressor level is a LUT6 there, i.e. two LUT4 and two wide-function muxes, so two
levels a stage, and an N_T-input compare and count in one stage was the critical path
of the thresholded layers, and a weight ROM of 4,096 words in LUT logic (a tfc layer at
SIMD 1) a mux tree of 12 cells: deeper ROMs go to block RAM (bench/fmax.json). Xilinx
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


def mvu_pipeline(n: MVU, family: str) -> tuple[int, int, int]:
    """(tree_pipe, thr_pipe, lut_rom_depth) of one MVU on a board of this family."""
    if family != "ecp5":
        return 0, 0, 0
    popcount = n.mode == Mode.XNOR or (n.mode == Mode.SIGNSEL and not signed_lanes(n.in_dtype))
    return (ECP5_TREE_PIPE if popcount else 0), (1 if n.n_thresholds else 0), ECP5_LUT_ROM_DEPTH


def pipeline_for_board(df: Dataflow, board: Board | None) -> Dataflow:
    """df with every MVU's pipeline registers chosen for `board` (unchanged without)."""
    if board is None:
        return df
    nodes = []
    for n in df.nodes:
        if isinstance(n, MVU):
            tree, thr, depth = mvu_pipeline(n, board.family)
            n = replace(n, tree_pipe=tree, thr_pipe=thr, lut_rom_depth=depth)
        nodes.append(n)
    return replace(df, nodes=nodes)
