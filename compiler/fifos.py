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
"""

from __future__ import annotations

from .ir import MVU, Dataflow, Node, SlidingWindow

MIN_DEPTH = 4
MAX_DEPTH = 1 << 15  # beyond this, a FIFO costs more block RAM than it saves


def fifo_depth(n: Node) -> int:
    if isinstance(n, SlidingWindow):
        rows = max(0, n.KH - n.SH) + 1
        depth = rows * n.IW * (n.C // n.SIMD)
    elif isinstance(n, MVU):
        depth = n.SF + 2
    else:
        depth = MIN_DEPTH
    return int(min(MAX_DEPTH, max(MIN_DEPTH, depth)))


def fifo_depths(df: Dataflow) -> list[int]:
    """Depth of the FIFO in front of each node, in that node's input beats."""
    return [fifo_depth(n) for n in df.nodes]
