"""Folding optimiser: PE/SIMD per node for a frame rate on a board, least resources.

Given a board (its resources less the shell reserve, compiler/boards.py) and a target
of T cycles per frame at the board clock, every node gets the folding that meets T at
the least cost, where cost weighs LUT, FF, BRAM36 and DSP each by its share of the
budget (resources.py estimates them). Nodes are independent given T, except that a
SlidingWindow takes the SIMD of the MVU after it (a divisor of its channels), a MaxPool
the smallest divisor of its channels that meets T and a TopK the lanes of the node
before it. When the cheapest choice overflows one resource (e.g. block RAM while LUTs are
free), that resource's weight is raised and the choice repeated (a few rounds of a
multiplicative Lagrangian update), trading LUTs for BRAM through the memory shapes that
PE/SIMD imply.

``optimise(df, board, target_fps=F)``: T = clock / F; the design with the least cost that
reaches F, or CompileError naming the resource and the shortfall.
``optimise(df, board)`` (``--max``): binary search for the smallest T whose design fits.
``minimise="lut"`` (or another resource) weighs that resource MINIMISE_WEIGHT times its
budget share: the design at F that spends the others (block RAM for LUT ROMs, wider
memories) to save it, as long as it fits.

PE need not divide MH and SIMD need not divide MW (only the padding costs); for each
number of row folds NF only the smallest PE giving it is considered (likewise SIMD for
SF), which keeps the search to O(sqrt(MH) + sqrt(MW)) candidates per layer.

Weights in DDR: when even the most folded design does not fit, the largest weight
memories move off chip one by one (``external_candidates``: layers run once per frame
first, largest weights first; ir.MVU.external) until it fits. Their streams share the
board's DDR bandwidth (``ddr_bytes_per_cycle``), which bounds the frame rate: a target
below ``ddr_cycles`` is out of reach, and the plan's cycles per frame are the larger of
the slowest node and the DDR bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

from .blocks.base import MAX_LANES, divisors
from .blocks.fifo import estimate_fifo
from .blocks.mvu import MVU, Mode, MvuShape, estimate_mvu, mvu_shape
from .blocks.mvu import fold_lanes as _folds
from .blocks.repack import estimate_repack
from .blocks.weight_port import ddr_bytes_per_cycle, ddr_cycles, ddr_summary, dma_word_bytes
from .boards import RESOURCES, Board
from .errors import CompileError
from .fifos import fifo_depth
from .ir import Dataflow, Node
from .memmap import Res
from .resources import estimate_design
from .streams import (
    input_bus,
    link_stages,
    output_bus,
    predicted_cycles_per_frame,
)

__all__ = [  # ddr_* moved to compiler/blocks/weight_port.py; re-exported for their users
    "MAX_LANES", "Optimiser", "_folds", "Plan", "ddr_bytes_per_cycle", "ddr_cycles", "ddr_summary",
    "dma_word_bytes", "divisors", "optimise",
]  # fmt: skip


def node_cycles(n: Node) -> int:
    return n.cycles_per_frame()


def _fmt(f, lanes: int):
    return replace(f, lanes=lanes)


@lru_cache(maxsize=200_000)
def _mvu_cost(shape: MvuShape) -> Res:
    return estimate_mvu(shape)


@lru_cache(maxsize=200_000)
def _link_cost(src, dst) -> Res:
    """Lane repackers codegen puts between two streams (none when the lanes agree)."""
    r = Res()
    for a, b, count in link_stages(src, dst):
        r = r + estimate_repack(a.lanes, a.width, b.lanes, b.width, count)
    return r


@lru_cache(maxsize=100_000)
def _fifo_cost(bits: int, depth: int) -> Res:
    return estimate_fifo(bits, depth)


def _ratio(used: float, available: float) -> float:
    if available > 0:
        return used / available
    return math.inf if used > 0 else 0.0


MINIMISE_WEIGHT = 10.0  # --minimise R: R's weight over its budget share


def base_weights(budget: dict[str, float], minimise: str | None = None) -> dict[str, float]:
    """Each resource weighed by its share of the budget (a resource the board lacks is
    as good as forbidden), `minimise`'s MINIMISE_WEIGHT times more."""
    w = {k: (1.0 / v if v > 0 else 1e6) for k, v in budget.items()}
    if minimise is not None:
        w[minimise] *= MINIMISE_WEIGHT
    return w


def _weighted(r: Res, w: dict[str, float]) -> float:
    return sum(w[k] * r.get(k) for k in w)


@dataclass
class Choice:
    node: Node
    res: Res


@dataclass
class Plan:
    """An optimiser result: the folded dataflow and what it costs and achieves."""

    df: Dataflow
    target_cycles: int
    cycles: int  # predicted cycles per frame of the design (slowest stage, bus included)
    fps: float  # at the board clock
    estimate: Res
    budget: dict[str, float]
    fits: bool
    layers: list[dict] = field(default_factory=list)
    efficiency: float = 0.0
    mode: str = "max"
    board: Board | None = None
    ddr: dict | None = None  # external weights: ddr_summary

    def summary_lines(self, board: Board) -> list[str]:
        util = ", ".join(
            f"{k.upper()} {round(self.estimate.get(k), 1):g}/{self.budget[k]:g} "
            f"({100 * _ratio(self.estimate.get(k), self.budget[k]):.0f}%)"
            for k in RESOURCES
        )
        lines = [
            f"folding for {board.name} at {board.clock_mhz:g} MHz ({self.mode}): "
            f"{self.cycles} cycles/frame, {self.fps:.0f} frames/s, efficiency "
            f"{100 * self.efficiency:.0f}%",
            f"estimate vs budget ({100 * board.reserve:.0f}% kept for the shell): {util}",
        ]
        lines += [f"{n.name} (MAC, PE {n.PE} x SIMD {n.SIMD}): {n.multipliers()}"
                  for n in self.df.mvus() if n.mode == Mode.MAC]  # fmt: skip
        lut_roms = [n.name for n in self.df.mvus() if n.weight_rom == "distributed"]
        if lut_roms:
            lines.append(f"weights in LUTs (cheaper than block RAM there): {', '.join(lut_roms)}")
        if self.ddr:
            d = self.ddr
            ext = [f"{n} (batch {d['batch'][n]})" if d["batch"].get(n, 1) > 1 else n
                   for n in d["external"]]  # fmt: skip
            lines.append(
                f"weights in DDR: {', '.join(ext)} ({d['bytes_per_frame']} bytes "
                f"a frame): {d['needed_gb_per_s']:g} GB/s at {self.fps:.0f} frames/s of "
                f"{d['board_gb_per_s']:g} GB/s; the DDR alone allows {d['ddr_bound_fps']:g} "
                f"frames/s" + (" (the limit)" if d["limited_by_ddr"] else "")
            )
        return lines


class Optimiser:
    def __init__(self, df: Dataflow, board: Board, data: bool = True, minimise: str | None = None):
        self.df = df
        self.board = board
        self.minimise = minimise
        self.budget = {k: float(board.budget[k]) for k in RESOURCES}
        self.data = data
        # lanes a block may take, set by the block before it (the SIMD of a convolution's
        # MVU must divide the channels of its SlidingWindow)
        self.simd_choices: dict[str, list[int] | None] = {}
        by_name = {n.name: n for n in df.nodes}
        for i, n in enumerate(df.nodes):
            prev = by_name.get(df.sources(i)[0])  # input 0's producer (on a DAG too)
            self.simd_choices[n.name] = prev.consumer_lane_choices() if prev else None

    # ------------------------------------------------------------ per-node choices

    def _shape(self, n: MVU, pe: int, simd: int) -> MvuShape:
        return mvu_shape(replace(n, PE=pe, SIMD=simd), None, data=False)

    def _best_mvu(self, n: MVU, target: int, weights: dict[str, float]) -> Choice | None:
        best = None
        for pe, simd in n.fold_candidates(target, self.simd_choices.get(n.name)):
            r = _mvu_cost(self._shape(n, pe, simd))
            key = (_weighted(r, weights), pe * simd)
            if best is None or key < best[0]:
                best = (key, pe, simd, r)
        if best is None:
            return None
        return Choice(replace(n, PE=best[1], SIMD=best[2]), best[3])

    def _units(self, target: int) -> list[list[tuple]] | None:
        """Per stage of the chain (a block, with the lane-following block before it, e.g.
        an MVU with its SlidingWindow): the choices that meet `target`, each (in lanes,
        out lanes, blocks, Res); in lanes None: the block takes the lanes before it."""
        nodes = self.df.nodes
        units: list[list[tuple]] = []
        i = 0
        while i < len(nodes):
            n, follower, span = nodes[i], None, 1
            if n.lanes_from_consumer and i + 1 < len(nodes):
                follower, n, span = n, nodes[i + 1], 2
            choices = []
            if n.lanes_from_producer:
                choices.append((None, 1, [n], Res()))  # takes the lanes before it
            else:
                for lanes_in, lanes_out, b in n.fold_options(target, self.simd_choices[n.name]):
                    r = b.fold_estimate() + self._fifo(b)
                    picked = [b]
                    if follower is not None:
                        sw = follower.with_lanes(lanes_in)
                        if node_cycles(sw) > target:
                            continue
                        r = r + sw.fold_estimate() + self._fifo(sw)
                        picked = [sw, b]
                    choices.append((lanes_in, lanes_out, picked, r))
            if not choices:
                return None
            units.append(choices)
            i += span
        return units

    def _fifo(self, n: Node) -> Res:
        """The FIFO codegen puts in front of n (its depth from compiler/fifos.py)."""
        return _fifo_cost(n.in_format().bits, fifo_depth(n))

    def fold_for(self, target: int, weights: dict[str, float]) -> Dataflow | None:
        """The cheapest folding with every node at most `target` cycles per frame (None
        when some node cannot reach it): a shortest path along the chain whose states are
        the stream's lanes between stages, so the lane repackers a choice implies (and
        the FIFOs) are paid for where they arise."""
        units = self._units(target)
        if units is None:
            return None
        # states: out lanes -> (weighted cost, chosen nodes so far)
        states: dict[int, tuple[float, list]] = {input_bus(self.df).lanes: (0.0, [])}
        src_fmt = input_bus(self.df)
        for choices in units:
            proto = choices[0][2][0]
            dst = proto.in_format()
            new: dict[int, tuple[float, list]] = {}
            for lanes_prev, (cost_prev, picked_prev) in states.items():
                src = _fmt(src_fmt, lanes_prev)
                for lanes_in, lanes_out, picked, r in choices:
                    if lanes_in is None:  # TopK, joins: the lanes before it, where legal
                        tk = picked[0].fold_after(lanes_prev, target, {})
                        if node_cycles(tk) > target:
                            continue
                        picked = [tk]
                        r = tk.fold_estimate() + self._fifo(tk)
                        lanes_in, lanes_out = tk.in_lanes, tk.out_lanes
                    link = _link_cost(src, _fmt(dst, lanes_in))
                    c = cost_prev + _weighted(r + link, weights)
                    if lanes_out not in new or c < new[lanes_out][0]:
                        new[lanes_out] = (c, picked_prev + picked)
            if not new:
                return None
            states = new
            src_fmt = choices[0][2][-1].out_format()
        obus = output_bus(self.df)
        best = None
        for lanes, (c, picked) in states.items():
            c += _weighted(_link_cost(_fmt(src_fmt, lanes), obus), weights)
            if best is None or c < best[0]:
                best = (c, picked)
        df = replace(self.df, nodes=best[1])
        if any(node_cycles(n) > target for n in df.nodes):
            return None
        return df

    # ------------------------------------------------------------ designs

    def design(self, target: int) -> tuple[Dataflow, Res] | None:
        """The cheapest design meeting target cycles/frame that fits the budget; when none
        fits, the last one tried (with fits False in evaluate)."""
        weights = base_weights(self.budget, self.minimise)
        last = None
        for _ in range(8):
            df = self.fold_for(target, weights)
            df = with_batches(df, self.board, target, weights) if df is not None else None
            if df is None:
                return None
            est = estimate_design(df, data=False).total
            last = (df, est)
            over = {k: _ratio(est.get(k), self.budget[k]) for k in RESOURCES}
            worst = max(over, key=over.get)
            if over[worst] <= 1.0:
                return last
            for k in RESOURCES:  # raise the weight of overflowing resources
                if over[k] > 1.0:
                    weights[k] *= 1.0 + 4.0 * min(over[k] - 1.0, 10.0) + 0.5
        return last

    def fits(self, est: Res) -> bool:
        return all(est.get(k) <= self.budget[k] for k in RESOURCES)

    def min_target(self) -> int:
        """Fewest cycles/frame any folding reaches (every lane count at its largest)."""
        return max(1, *(n.fastest_cycles(self.simd_choices[n.name]) for n in self.df.nodes))

    def max_target(self) -> int:
        """Cycles/frame of the most folded design (PE = SIMD = 1)."""
        return max(1, *(n.slowest_cycles() for n in self.df.nodes))


# vectors per weight pass an external FC layer may take (frames per pass): the batch
# buffers grow with B, the DDR traffic shrinks as 1/B
FC_BATCHES = (1, 2, 4, 8, 16, 32, 64)


def batch_choices(n: MVU) -> list[int]:
    """hw_mvu BATCH values for external MVU n: a layer run once a frame batches frames
    (FC_BATCHES); a convolution batches its output pixels, B dividing their count so
    that a batch never spans frames (1, ..., vectors: each weight word then read once a
    frame)."""
    if n.vectors == 1:
        return list(FC_BATCHES)
    return [b for b in range(1, n.vectors + 1) if n.vectors % b == 0]


def with_batches(
    df: Dataflow, board: Board, target: int, weights: dict[str, float] | None = None
) -> Dataflow | None:
    """df with batches that bring the external weight streams within `target` cycles per
    frame at the board's DDR bandwidth (None when even the largest batches do not): from
    batch 1, the stream whose next larger batch saves the most DDR bytes a frame per unit
    of resource cost it adds (its batch buffers, block RAM mostly: the resource model's
    "inbuf"/"reorder" of hw_mvu BATCH, weighed by `weights`, default each resource's
    share of the board's budget) takes it, until the DDR allows the target. So a cheap
    frame batch of an FC layer goes before a convolution's jump from 13 to 169 pixels
    (AlexNet's conv4: 2 MB a frame less for ~74 BRAM36 of im2col buffers), and no stream
    gets a larger batch than the target needs."""
    ext = [n for n in df.mvus() if n.external]
    if not ext:
        return df
    w = weights or base_weights({k: float(board.budget[k]) for k in RESOURCES})
    batch = {n.name: 1 for n in ext}
    while True:
        nodes = [replace(n, batch=batch[n.name]) if n.name in batch else n for n in df.nodes]
        out = replace(df, nodes=nodes)
        if ddr_cycles(out, board) <= target:
            return _trim_batches(out, board, target)
        steps = [_batch_step(n, w) for n in out.mvus() if n.external]
        steps = [s for s in steps if s is not None]
        if not steps:
            return None
        name, b = max(steps)[1:]
        batch[name] = b


def _trim_batches(df: Dataflow, board: Board, target: int) -> Dataflow:
    """Each stream back to its smallest batch that still meets the target with the others
    as they are (a batch a later, larger step made unnecessary); the largest batches
    first."""
    for name in sorted((n.name for n in df.mvus() if n.batch > 1),
                       key=lambda m: -_node(df, m).batch):  # fmt: skip
        n = _node(df, name)
        for b in batch_choices(n)[: batch_choices(n).index(n.batch)]:
            nodes = [replace(m, batch=b) if m.name == name else m for m in df.nodes]
            trial = replace(df, nodes=nodes)
            if ddr_cycles(trial, board) <= target:
                df = trial
                break
    return df


def _node(df: Dataflow, name: str) -> Node:
    return next(n for n in df.nodes if n.name == name)


def _batch_step(n: MVU, weights: dict[str, float]) -> tuple[float, str, int] | None:
    """(DDR bytes a frame saved per weighted resource cost added, name, batch) of
    external MVU n's next larger batch; None at its largest."""
    choices = batch_choices(n)
    if n.batch >= choices[-1]:
        return None
    nxt = replace(n, batch=choices[choices.index(n.batch) + 1])
    saved = _stream_bytes(n) - _stream_bytes(nxt)
    added = _weighted(_mvu_cost(mvu_shape(nxt, None, data=False)), weights) - _weighted(
        _mvu_cost(mvu_shape(n, None, data=False)), weights
    )
    return saved / max(added, 1e-9), n.name, nxt.batch


def _stream_bytes(n: MVU) -> float:
    return n.weight_port().describe()["bytes_per_frame"]


def external_candidates(df: Dataflow) -> list[str]:
    """MVUs whose weights may move to DDR, in the order they move: fewest passes per
    frame first (a convolution rereads its weights for every pixel), then the largest
    weight memory."""
    mvus = [n for n in df.mvus() if not n.external]
    key = {n.name: (n.vectors, -n.MH * n.MW * n.w_bits, i) for i, n in enumerate(mvus)}
    return sorted(key, key=key.get)


def with_external(df: Dataflow, names: list[str]) -> Dataflow:
    pick = [isinstance(n, MVU) and n.name in names for n in df.nodes]
    nodes = [replace(n, external=True) if p else n for n, p in zip(df.nodes, pick, strict=True)]
    return replace(df, nodes=nodes)


def plan_of(df: Dataflow, board: Board, target: int, est: Res, mode: str) -> Plan:
    cycles = max(predicted_cycles_per_frame(df), ddr_cycles(df, board))
    budget = {k: float(board.budget[k]) for k in RESOURCES}
    return Plan(
        df=df,
        target_cycles=target,
        cycles=cycles,
        fps=board.cycles_to_fps(cycles),
        estimate=est,
        budget=budget,
        fits=all(est.get(k) <= budget[k] for k in RESOURCES),
        layers=layer_table(df),
        efficiency=efficiency(df),
        mode=mode,
        ddr=ddr_summary(df, board, cycles),
    )


def layer_table(df: Dataflow) -> list[dict]:
    rows = []
    for n in df.nodes:
        row = {"name": n.name, "kind": n.kind, "cycles_per_frame": node_cycles(n)}
        row.update(n.fold_row())
        rows.append(row)
    return rows


def efficiency(df: Dataflow) -> float:
    """Ideal cycles (total MACs / total MVU lanes) over the slowest node's cycles: 1.0
    when every lane of every layer is busy every cycle."""
    mvus = df.mvus()
    if not mvus:
        return 0.0
    macs = sum(n.MH * n.MW * n.vectors for n in mvus)
    lanes = sum(n.PE * n.SIMD for n in mvus)
    slowest = max(node_cycles(n) for n in df.nodes)
    return (macs / lanes) / slowest


def shortfall_message(est: Res, budget: dict[str, float], board: Board, what: str) -> str:
    over = [(k, est.get(k) - budget[k]) for k in RESOURCES if est.get(k) > budget[k]]
    parts = [
        f"{k.upper()} needs {round(est.get(k), 1):g} of {budget[k]:g} available "
        f"(short by {round(short, 1):g}"
        + (f", {100 * short / budget[k]:.0f}%)" if budget[k] else ")")
        for k, short in over
    ]
    return (
        f"{what} does not fit {board.name} ({board.part}, {100 * board.reserve:.0f}% kept "
        f"for the shell): " + "; ".join(parts)
    )


def optimise(
    df: Dataflow,
    board: Board,
    target_fps: float | None = None,
    log=lambda s: None,
    minimise: str | None = None,
) -> Plan:
    """Fold df for `board`: to reach target_fps with the least resources, or (None) the
    fastest design that fits. When no design fits with every weight on chip, the largest
    weight memories move to DDR (external_candidates), as few as make it fit. Raises
    CompileError when no design fits even with every candidate in DDR."""
    names = choose_external(df, board)
    plan = _optimise(with_external(df, names), board, target_fps, log, minimise)
    if names and target_fps is None:
        plan, names = _more_external(df, board, names, plan, log)
    if names:
        log(f"optimiser: weights of {', '.join(names)} in DDR (on chip they do not fit)")
    return plan


def _more_external(df: Dataflow, board: Board, names: list[str], plan: Plan, log):
    """--max with weights in DDR: batched weight streams cost little DDR bandwidth, and
    every layer moved off chip frees block RAM for wider (faster) layers elsewhere. The
    remaining candidates move one by one (external_candidates order) while the plan gets
    faster; the fastest plan and its external layers."""
    rest = [c for c in external_candidates(df) if c not in names]
    best = (plan, names)
    for k in range(1, len(rest) + 1):
        more = [*names, *rest[:k]]
        try:
            p = _optimise(with_external(df, more), board, None, lambda s: None)
        except CompileError:
            break
        if p.cycles >= best[0].cycles:
            break
        best = (p, more)
    if best[1] != names:
        log(f"optimiser: {best[0].cycles} cycles/frame with {', '.join(best[1][len(names):])} "
            f"in DDR too (block RAM freed for wider layers)")  # fmt: skip
    return best


def _fits_most_folded(df: Dataflow, board: Board) -> tuple[bool, Res]:
    opt = Optimiser(df, board)
    got = opt.design(opt.max_target())
    if got is None:
        return False, Res()
    return opt.fits(got[1]), got[1]


def choose_external(df: Dataflow, board: Board) -> list[str]:
    """The MVUs whose weights go to DDR: none when the most folded design fits on chip;
    otherwise candidates are added in `external_candidates` order (fewest passes per
    frame, then largest weights: the most block RAM freed per DDR byte) until the next
    one makes it fit; that last one is replaced by the candidate with the fewest DDR
    bytes per frame that also makes it fit. Raises CompileError (the on-chip shortfall,
    and what is still short with every candidate in DDR) when nothing fits."""
    ok, est0 = _fits_most_folded(df, board)
    if ok:
        return []
    cands = external_candidates(df)
    chosen: list[str] = []
    while True:
        rest = [c for c in cands if c not in chosen]
        if not rest:
            budget = {k: float(board.budget[k]) for k in RESOURCES}
            _, est = _fits_most_folded(with_external(df, chosen), board)
            raise CompileError(
                shortfall_message(est0, budget, board, "even the most folded design")
                + "; with the weights of "
                + ", ".join(chosen)
                + " in DDR: "
                + shortfall_message(est, budget, board, "it").split(": ", 1)[-1]
            )
        head = rest[0]
        if _fits_most_folded(with_external(df, [*chosen, head]), board)[0]:
            # a candidate with fewer DDR bytes per frame may free enough block RAM too
            cheaper = [c for c in rest if _dense_bytes(df, c) < _dense_bytes(df, head)]
            for c in sorted(cheaper, key=lambda c: (_dense_bytes(df, c), c)):
                if _fits_most_folded(with_external(df, [*chosen, c]), board)[0]:
                    return [*chosen, c]
            return [*chosen, head]
        chosen.append(head)


def _dense_bytes(df: Dataflow, name: str) -> float:
    n = next(n for n in df.mvus() if n.name == name)
    return n.vectors * n.MH * n.MW * n.w_bits / 8


def _batched_dense_bytes(df: Dataflow, name: str) -> float:
    """DDR bytes a frame of MVU `name`'s weights at its largest batch."""
    n = next(n for n in df.mvus() if n.name == name)
    return _dense_bytes(df, name) / batch_choices(n)[-1]


def _optimise(
    df: Dataflow, board: Board, target_fps: float | None, log, minimise: str | None = None
) -> Plan:
    opt = Optimiser(df, board, minimise=minimise)
    lo, hi = opt.min_target(), opt.max_target()
    # the weight streams cannot go faster than their dense bytes (at the largest batches)
    # at the DDR bandwidth
    dense = sum(_batched_dense_bytes(df, n.name) for n in df.mvus() if n.external)
    if dense:
        lo = max(lo, math.ceil(dense / ddr_bytes_per_cycle(board)))
    hi = max(hi, lo)
    clock = board.clock_mhz * 1e6
    if target_fps is not None:
        if target_fps <= 0:
            raise CompileError(f"--target-fps must be positive, got {target_fps:g}")
        target = int(math.floor(clock / target_fps))
        if target < lo and dense and math.ceil(dense / ddr_bytes_per_cycle(board)) == lo:
            raise CompileError(
                f"{target_fps:g} frames/s needs at most {target} cycles per frame; the "
                f"weights in DDR take {lo} at {board.name}'s DDR bandwidth ({clock / lo:.0f} "
                "frames/s): the design does not fit on chip at that rate"
            )
        if target < lo:
            raise CompileError(
                f"{target_fps:g} frames/s needs at most {target} cycles per frame at "
                f"{board.clock_mhz:g} MHz; the fastest folding of this model takes {lo} "
                f"({clock / lo:.0f} frames/s)"
            )
        got = opt.design(target)
        if got is None:
            raise CompileError(f"no folding reaches {target} cycles per frame")
        plan = plan_of(got[0], board, target, got[1], "target")
        if not plan.fits:
            raise CompileError(
                shortfall_message(plan.estimate, plan.budget, board, f"{target_fps:g} frames/s")
            )
        return plan
    # --max: the smallest target whose cheapest design fits (binary search)
    best = None
    got = opt.design(hi)
    if got is None or not opt.fits(got[1]):
        plain = opt.fold_for(hi, base_weights(opt.budget))
        est = estimate_design(plain, data=False).total if plain is not None else Res()
        raise CompileError(shortfall_message(est, opt.budget, board, "even the most folded design"))
    best = (hi, got)
    while lo < hi:
        mid = (lo + hi) // 2
        got = opt.design(mid)
        if got is not None and opt.fits(got[1]):
            hi, best = mid, (mid, got)
        else:
            lo = mid + 1
    target, (df_best, est) = best
    log(f"optimiser: smallest fitting target {target} cycles/frame")
    return plan_of(df_best, board, target, est, "max")


def fold_for_board(df: Dataflow, opts, folding: dict | None, log=lambda s: None):
    """compile's folding step when a board (or a frame-rate goal) is given: the optimiser
    (--target-fps F, or --max / no target: the fastest design that fits), or the given
    folding (--folding / --target-cycles) checked against the board. Returns (df, plan)."""
    from .boards import load_board
    from .folding import fold

    if not opts.board:
        raise CompileError("--target-fps and --max need --board (the clock and resources)")
    if opts.target_fps is not None and opts.max_fps:
        raise CompileError("give either --target-fps or --max, not both")
    board = load_board(opts.board)
    if folding or opts.target_cycles:
        if opts.target_fps is not None or opts.max_fps:
            raise CompileError("--folding/--target-cycles fix the folding; drop --target-fps/--max")
        df = fold(df, opts.target_cycles, folding)
        est = estimate_design(df, data=False).total
        plan = plan_of(df, board, 0, est, "given")
        if not plan.fits:
            raise CompileError(shortfall_message(est, plan.budget, board, "this folding"))
    else:
        if opts.minimise is not None and opts.target_fps is None:
            raise CompileError("--minimise needs --target-fps (the rate to keep while saving it)")
        if opts.minimise is not None and opts.minimise not in RESOURCES:
            choices = ", ".join(RESOURCES)
            raise CompileError(f"--minimise takes one of {choices}, got {opts.minimise!r}")
        plan = optimise(df, board, opts.target_fps, log, opts.minimise)
        df = plan.df
    plan.board = board
    for line in plan.summary_lines(board):
        log(line)
    return df, plan
