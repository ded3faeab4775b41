"""Folding: PE (rows per cycle) and SIMD (inputs per cycle) for every node.

PE need not divide MH and SIMD need not divide MW: the tail is padded in the memory
layout and masked in the hardware.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .errors import CompileError
from .ir import MVU, Dataflow, TopK

DEFAULT_LANES = 16 * 32  # the largest layer is folded to 16 PE x 32 SIMD by default


def cheapest_folding(mh: int, mw: int, target_cycles: int) -> tuple[int, int]:
    """Fewest lanes (PE*SIMD) with ceil(MH/PE)*ceil(MW/SIMD) <= target; ties: fewer cycles."""
    best = None
    for pe in range(1, mh + 1):
        nf = -(-mh // pe)
        if nf > target_cycles:
            continue
        sf_max = target_cycles // nf
        simd = -(-mw // sf_max)
        key = (pe * simd, nf * -(-mw // simd), pe)
        if best is None or key < best[0]:
            best = (key, pe, simd)
    if best is None:
        return mh, mw
    return best[1], best[2]


def default_target_cycles(df: Dataflow) -> int:
    return max(-(-(n.MH * n.MW) // DEFAULT_LANES) for n in df.mvus())


def fold(
    df: Dataflow, target_cycles: int | None = None, folding: dict[str, dict] | None = None
) -> Dataflow:
    """Fold every MVU to reach target_cycles per frame with the fewest lanes; entries of
    `folding` ({node name: {"PE": p, "SIMD": s}}) override the computed values."""
    target = target_cycles or default_target_cycles(df)
    nodes = []
    for n in df.nodes:
        if isinstance(n, MVU):
            pe, simd = cheapest_folding(n.MH, n.MW, target)
            spec = (folding or {}).get(n.name, {})
            pe, simd = int(spec.get("PE", pe)), int(spec.get("SIMD", simd))
            if not (1 <= pe <= n.MH and 1 <= simd <= n.MW):
                raise CompileError(
                    f"folding PE={pe}, SIMD={simd} outside 1..MH={n.MH}, 1..MW={n.MW}", n.name
                )
            n = replace(n, PE=pe, SIMD=simd)
        elif isinstance(n, TopK):
            n = replace(n, PE=nodes[-1].PE)
        nodes.append(n)
    unknown = set(folding or {}) - {n.name for n in df.nodes}
    if unknown:
        raise CompileError(f"folding names unknown nodes: {', '.join(sorted(unknown))}")
    return replace(df, nodes=nodes)


def read_folding_file(path: Path) -> dict[str, dict]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CompileError(f"{path}: cannot read the folding file: {exc}") from exc
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise CompileError(f'{path}: a folding file maps node names to {{"PE": p, "SIMD": s}}')
    return doc
