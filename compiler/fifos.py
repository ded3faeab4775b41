"""FIFO sizing: the depth of the FIFO in front of every node, from the blocks' production
and consumption patterns (no simulation).

Each block kind states its rule (`Block.fifo_depth`, in its compiler/blocks module):
- In front of a SlidingWindow: (KH - SH + 1) input rows, which hides the bubble at a
  frame boundary (blocks/swg.py).
- In front of an MVU: SF beats (+2), so the producer prepares the next vector while the
  MVU computes its other row folds (blocks/mvu.py).
- Elsewhere: MIN_DEPTH = 4 beats (decoupling only).
This module clamps the rule to MIN_DEPTH..MAX_DEPTH and records the depths.

`size_fifos` records the depths in the IR (`Dataflow.fifo_depth`, by node name), with
explicit overrides (a folding file's `"fifo_depth"`, `CompileOptions.fifo_depths`);
codegen, the HLS streams and the resource model read them through `fifo_depths`. The RTL
simulation confirms them: every FIFO's high-water mark is reported (`sim/rtl.py`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .blocks.base import MIN_FIFO_DEPTH
from .errors import CompileError

if TYPE_CHECKING:
    from .ir import Dataflow, Node

MIN_DEPTH = MIN_FIFO_DEPTH
MAX_DEPTH = 1 << 15  # beyond this, a FIFO costs more block RAM than it saves


def fifo_depth(n: Node) -> int:
    """The analysis's depth of the FIFO in front of n, in n's input beats."""
    return int(min(MAX_DEPTH, max(MIN_DEPTH, n.fifo_depth())))


def fifo_depths(df: Dataflow) -> list[int]:
    """Depth of the FIFO in front of each node, in that node's input beats: the IR's
    recorded depth (size_fifos) or, for a node without one, the analysis's."""
    return [int(df.fifo_depth.get(n.name, 0)) or fifo_depth(n) for n in df.nodes]


def size_fifos(df: Dataflow, overrides: dict[str, int] | None = None) -> Dataflow:
    """Record the depth of every FIFO in the IR: the analysis's, or the override given
    for that node (hw_fifo takes any depth >= 2; a smaller FIFO costs throughput, never
    correctness, since a chain of valid/ready blocks cannot deadlock)."""
    overrides = dict(overrides or {})
    names = {n.name for n in df.nodes}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise CompileError(f"FIFO depth given for unknown nodes: {', '.join(unknown)}")
    for name, d in overrides.items():
        if not isinstance(d, int) or isinstance(d, bool) or not 2 <= d <= MAX_DEPTH:
            raise CompileError(f"FIFO depth {d!r} outside 2..{MAX_DEPTH}", name)
    depth = {n.name: overrides.get(n.name, fifo_depth(n)) for n in df.nodes}
    return replace(df, fifo_depth=depth)
