"""Folding: PE (rows per cycle) and SIMD (inputs per cycle) for every node.

PE need not divide MH and SIMD need not divide MW: the tail is padded in the memory
layout and masked in the hardware.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .blocks.base import MAX_LANES, divisors
from .blocks.mvu import cheapest_folding
from .errors import CompileError
from .ir import Dataflow

__all__ = ["MAX_LANES", "cheapest_folding", "default_target_cycles", "divisors", "fold"]

DEFAULT_LANES = 16 * 32  # the largest layer is folded to 16 PE x 32 SIMD by default


def default_target_cycles(df: Dataflow) -> int:
    return max(-(-(n.MH * n.MW * n.vectors) // DEFAULT_LANES) for n in df.mvus())


def fold(
    df: Dataflow, target_cycles: int | None = None, folding: dict[str, dict] | None = None
) -> Dataflow:
    """Fold every MVU to reach target_cycles per frame with the fewest lanes; entries of
    `folding` ({node name: {"PE": p, "SIMD": s}}) override the computed values. A
    SlidingWindow takes the SIMD of its MVU (a divisor of the channels); a MaxPool the
    largest divisor of its channels not above the PE of the node before it (more if that
    misses the target); a TopK the PE of the node before it. An MVU entry may also say
    `"external": true` (weights in DDR, streamed: see ir.MVU.external)."""
    target = target_cycles or default_target_cycles(df)
    folding = folding or {}
    unknown = set(folding) - {n.name for n in df.nodes}
    if unknown:
        raise CompileError(f"folding names unknown nodes: {', '.join(sorted(unknown))}")
    nodes = list(df.nodes)
    index = {n.name: i for i, n in enumerate(nodes)}
    # the producer of each node's input 0 (a join's other inputs are repacked to its
    # lanes by the netlist); None for the input quantiser
    src = [index.get(df.sources(i)[0]) for i in range(len(nodes))]
    for i, n in enumerate(nodes):  # blocks that fold to the target on their own (MVUs)
        if not n.folds_to_target:
            continue
        p = src[i]
        prev = nodes[p] if p is not None and nodes[p].lanes_from_consumer else None
        choices = prev.consumer_lane_choices() if prev is not None else None
        nodes[i] = n.fold(target, folding.get(n.name, {}), choices)
        if prev is not None:  # it takes its consumer's lanes
            nodes[p] = prev.with_lanes(nodes[i].in_lanes)
    for i, n in enumerate(nodes):  # blocks that follow the lanes before them
        if src[i] is not None:
            nodes[i] = n.fold_after(nodes[src[i]].out_lanes, target, folding.get(n.name, {}))
    return replace(df, nodes=nodes)


def read_folding_file(path: Path) -> dict[str, dict]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CompileError(f"{path}: cannot read the folding file: {exc}") from exc
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise CompileError(f'{path}: a folding file maps node names to {{"PE": p, "SIMD": s}}')
    return doc
