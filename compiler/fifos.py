"""FIFO sizing: the depth of the FIFO in front of every node, from the blocks' production
and consumption patterns (no simulation).

Each block kind states its rule (`Block.fifo_depth`, in its compiler/blocks module):
- In front of a SlidingWindow: (KH - SH + 1) input rows, which hides the bubble at a
  frame boundary (blocks/swg.py).
- In front of an MVU: SF beats (+2), so the producer prepares the next vector while the
  MVU computes its other row folds (blocks/mvu.py).
- Elsewhere: MIN_DEPTH = 4 beats (decoupling only).
This module clamps the rule to MIN_DEPTH..MAX_DEPTH and records the depths.

On a DAG every input of a join has its own FIFO (`fifo{k}` for input 0, `fifo{k}_{j}`
for j > 0, keyed `name` and `name:j` in `Dataflow.fifo_depth`). A join accepts a beat set
only when every input has one, so the FIFO on a short branch (a ResNet shortcut) holds
what the long branch delays: `branch_skews` walks the graph with each block's delay as a
fraction of its frame: `first_out_vectors` (input vectors it takes before its first
output vector; for hw_swg, which works in whole input rows, every row of its first
window, completed: each sliding window on a branch waits for whole rows of the one
before, so the rows add up per window; counting that last row once per branch instead
ran ttq_resnet20 at 60,208 cycles/frame instead of 36,864) plus PIPE_VECTORS output
vectors in flight at full rate (the hw_outbuf entries ending a layer block; the vector
an MVU computes while its FIFO holds the next).
An input whose producer is ahead of the join's latest input by a fraction f needs
ceil(f * vectors_in) + SKEW_SLACK more vectors (`skew_vectors`). Without the PIPE_VECTORS
terms the long branch still runs, but stalls at every frame boundary; below the
first-output delays alone the design deadlocks (both measured in
tests/sim/test_dag_rtl.py). A skew FIFO of at least BRAM_FIFO_BITS bits is put in block
RAM (hw_fifo RAM_STYLE "block").

`size_fifos` records the depths in the IR (`Dataflow.fifo_depth`, by node name), with
explicit overrides (a folding file's `"fifo_depth"`, `CompileOptions.fifo_depths`);
codegen, the HLS streams and the resource model read them through `fifo_depths`. The RTL
simulation confirms them: every FIFO's high-water mark is reported (`sim/rtl.py`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from .blocks.base import MIN_FIFO_DEPTH
from .errors import CompileError

if TYPE_CHECKING:
    from .ir import Dataflow, Node

MIN_DEPTH = MIN_FIFO_DEPTH
MAX_DEPTH = 1 << 15  # beyond this, a FIFO costs more block RAM than it saves
PIPE_VECTORS = 2  # output vectors a block holds at full rate beyond its first-output delay
SKEW_SLACK = 1  # vectors: the beat in the fork and the join's repacker
BRAM_FIFO_BITS = 18 * 1024  # a skew FIFO this large goes to block RAM


def fifo_depth(n: Node) -> int:
    """The analysis's depth of the FIFO in front of n, in n's input beats."""
    return int(min(MAX_DEPTH, max(MIN_DEPTH, n.fifo_depth())))


def fifo_key(name: str, j: int) -> str:
    """Dataflow.fifo_depth's key of the FIFO on input j of node `name`."""
    return name if j == 0 else f"{name}:{j}"


def branch_skews(df: Dataflow) -> dict[tuple[int, int], int]:
    """(node index, input) -> vectors (of that input) its FIFO must hold beyond the
    node's own rule because another input of the same node arrives later (0 on a
    chain). Arrival = the frame fraction at which a block's first output appears."""
    from .ir import INPUT

    arrival = {INPUT: 0.0}
    skew = {}
    for k, n in enumerate(df.nodes):
        srcs = df.sources(k)
        latest = max(arrival[s] for s in srcs)
        for j, s in enumerate(srcs):
            skew[k, j] = skew_vectors(latest - arrival[s], n.vectors_in())
        arrival[n.name] = (latest + n.first_out_vectors() / n.vectors_in()
                           + PIPE_VECTORS / n.vectors_out())
    return skew


def skew_vectors(fraction: float, vectors: int) -> int:
    """Vectors a FIFO holds for an input `fraction` of a frame ahead of the others."""
    if fraction <= 1e-12:
        return 0
    return min(vectors, math.ceil(fraction * vectors - 1e-9)) + SKEW_SLACK


def analysis_depths(df: Dataflow) -> dict[tuple[int, int], int]:
    """The analysis's depth of every FIFO, (node index, input) -> beats of that input."""
    skews = branch_skews(df)
    out = {}
    for k, n in enumerate(df.nodes):
        for j, fmt in enumerate(n.in_formats()):
            beats_per_vector = -(-fmt.count // fmt.lanes)
            skew = skews.get((k, j), 0) * beats_per_vector
            if skew > MAX_DEPTH:  # clamped, the join would deadlock
                raise CompileError(
                    f"input {j} needs a {skew}-beat FIFO to hold the other branch's delay, "
                    f"more than {MAX_DEPTH}; give the join more lanes", n.name)  # fmt: skip
            out[k, j] = int(min(MAX_DEPTH, max(MIN_DEPTH, n.fifo_depth() + skew)))
    return out


def input_fifo_depths(df: Dataflow) -> dict[tuple[int, int], int]:
    """Depth of every FIFO, (node index, input) -> beats: the IR's recorded depth
    (size_fifos) or, for one without, the analysis's."""
    rec = df.fifo_depth
    return {
        (k, j): int(rec.get(fifo_key(df.nodes[k].name, j), 0)) or d
        for (k, j), d in analysis_depths(df).items()
    }


def fifo_style(width: int, depth: int, skewed: bool) -> str:
    """RAM_STYLE of a FIFO: a large skew FIFO in block RAM, the others as Yosys maps."""
    return "block" if skewed and width * depth >= BRAM_FIFO_BITS else "auto"


def fifo_depths(df: Dataflow) -> list[int]:
    """Depth of every FIFO in (node, input) order, in beats of its input (see
    input_fifo_depths)."""
    return list(input_fifo_depths(df).values())


def size_fifos(df: Dataflow, overrides: dict[str, int] | None = None) -> Dataflow:
    """Record the depth of every FIFO in the IR: the analysis's, or the override given
    for it (by node name, `name:j` for input j > 0 of a join). hw_fifo takes any depth
    >= 2; on a chain a smaller FIFO costs throughput, never correctness; a join's FIFO
    below its skew may deadlock (the RTL simulation then stops with SimDeadlock)."""
    overrides = dict(overrides or {})
    keys = {fifo_key(n.name, j): (k, j) for k, n in enumerate(df.nodes)
            for j in range(n.input_count())}  # fmt: skip
    unknown = sorted(set(overrides) - set(keys))
    if unknown:
        raise CompileError(f"FIFO depth given for unknown nodes: {', '.join(unknown)}")
    for name, d in overrides.items():
        if not isinstance(d, int) or isinstance(d, bool) or not 2 <= d <= MAX_DEPTH:
            raise CompileError(f"FIFO depth {d!r} outside 2..{MAX_DEPTH}", name)
    analysis = analysis_depths(df)
    depth = {key: overrides.get(key, analysis[kj]) for key, kj in keys.items()}
    return replace(df, fifo_depth=depth)
