"""FIFO sizing: the depth of the FIFO in front of every node, from the blocks' production
and consumption patterns (no simulation).

- In front of a SlidingWindow: the line buffer holds KH+SH rows, so at a frame boundary
  the producer is held back until the last windows are read, and the next frame's first
  output row then waits for KH-SH rows to arrive while the consumer idles. A FIFO of
  (KH - SH + 1) input rows lets the producer run that far ahead, which hides the bubble.
- In front of an MVU: the MVU reads its SF input beats only during row fold 0 and then
  computes NF-1 more folds; a FIFO of SF beats (+2) lets the producer prepare the next
  vector meanwhile, so neither side waits for the other.
- Elsewhere: 4 beats (decoupling only).

`size_fifos` records the depths in the IR (`Dataflow.fifo_depth`, by node name), with
explicit overrides (a folding file's `"fifo_depth"`, `CompileOptions.fifo_depths`);
codegen, the HLS streams and the resource model read them through `fifo_depths`. The RTL
simulation confirms them: every FIFO's high-water mark is reported (`sim/rtl.py`).
"""

from __future__ import annotations

from dataclasses import replace

from .errors import CompileError
from .ir import MVU, Dataflow, Node, SlidingWindow

MIN_DEPTH = 4
MAX_DEPTH = 1 << 15  # beyond this, a FIFO costs more block RAM than it saves


def fifo_depth(n: Node) -> int:
    """The analysis's depth of the FIFO in front of n, in n's input beats."""
    if isinstance(n, SlidingWindow):
        rows = max(0, n.KH - n.SH) + 1
        depth = rows * n.IW * (n.C // n.SIMD)
    elif isinstance(n, MVU):
        depth = n.SF + 2
    else:
        depth = MIN_DEPTH
    return int(min(MAX_DEPTH, max(MIN_DEPTH, depth)))


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
