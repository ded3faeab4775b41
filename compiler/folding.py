"""Folding: PE (rows per cycle) and SIMD (inputs per cycle) for every node.

PE need not divide MH and SIMD need not divide MW: the tail is padded in the memory
layout and masked in the hardware.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .errors import CompileError
from .ir import MVU, Dataflow, MaxPool, SlidingWindow, TopK

DEFAULT_LANES = 16 * 32  # the largest layer is folded to 16 PE x 32 SIMD by default
MAX_LANES = 64  # PE and SIMD of the default folding (the lane repacker takes 1..64)


def cheapest_folding(
    mh: int, mw: int, target_cycles: int, simd_choices: list[int] | None = None
) -> tuple[int, int]:
    """Fewest lanes (PE*SIMD) with ceil(MH/PE)*ceil(MW/SIMD) <= target; ties: fewer cycles.
    simd_choices restricts SIMD (a convolution's SIMD must divide its input channels)."""
    simds = [v for v in (simd_choices or range(1, mw + 1)) if v <= MAX_LANES] or [1]
    best = None
    for pe in range(1, min(mh, MAX_LANES) + 1):
        nf = -(-mh // pe)
        if nf > target_cycles:
            continue
        sf_max = target_cycles // nf
        fitting = [s for s in simds if -(-mw // s) <= sf_max]
        if not fitting:
            continue
        simd = min(fitting)
        key = (pe * simd, nf * -(-mw // simd), pe)
        if best is None or key < best[0]:
            best = (key, pe, simd)
    if best is None:  # the target is out of reach: the most parallel folding allowed
        return min(mh, MAX_LANES), max(simds)
    return best[1], best[2]


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


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
    for i, n in enumerate(nodes):
        if isinstance(n, MVU):
            swg = nodes[i - 1] if i > 0 and isinstance(nodes[i - 1], SlidingWindow) else None
            nodes[i] = _fold_mvu(n, target, folding.get(n.name, {}), swg)
            if swg is not None:
                nodes[i - 1] = replace(swg, SIMD=nodes[i].SIMD)
    for i, n in enumerate(nodes):
        if isinstance(n, MaxPool):
            nodes[i] = _fold_pool(n, nodes[i - 1].out_lanes, target, folding.get(n.name, {}))
        elif isinstance(n, TopK):
            nodes[i] = replace(n, PE=nodes[i - 1].out_lanes)
    return replace(df, nodes=nodes)


def _fold_mvu(n: MVU, target: int, spec: dict, swg: SlidingWindow | None) -> MVU:
    choices = divisors(swg.C) if swg is not None else None
    per_vector = max(1, target // n.vectors)
    pe, simd = cheapest_folding(n.MH, n.MW, per_vector, choices)
    pe, simd = int(spec.get("PE", pe)), int(spec.get("SIMD", simd))
    external = spec.get("external", n.external)
    if not isinstance(external, bool):
        raise CompileError(f'"external" must be true or false, got {external!r}', n.name)
    if not (1 <= pe <= n.MH and 1 <= simd <= n.MW):
        raise CompileError(
            f"folding PE={pe}, SIMD={simd} outside 1..MH={n.MH}, 1..MW={n.MW}", n.name
        )
    if swg is not None and swg.C % simd:
        raise CompileError(
            f"SIMD={simd} must divide the {swg.C} input channels of this convolution "
            f"(choose one of {divisors(swg.C)})",
            n.name,
        )
    return replace(n, PE=pe, SIMD=simd, external=external)


def _fold_pool(n: MaxPool, lanes_before: int, target: int, spec: dict) -> MaxPool:
    if "PE" in spec:
        pe = int(spec["PE"])
        if pe < 1 or n.C % pe:
            raise CompileError(f"PE={pe} must divide the {n.C} channels", n.name)
        return replace(n, PE=pe)
    fits = [d for d in divisors(n.C) if d <= max(1, lanes_before)]
    pool = replace(n, PE=max(fits))
    for d in divisors(n.C):
        if d > pool.PE and pool.cycles_per_frame() > target:
            pool = replace(n, PE=d)
    return pool


def read_folding_file(path: Path) -> dict[str, dict]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CompileError(f"{path}: cannot read the folding file: {exc}") from exc
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise CompileError(f'{path}: a folding file maps node names to {{"PE": p, "SIMD": s}}')
    return doc
