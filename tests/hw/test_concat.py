"""hw_concat under Verilator (tests/hw/join_wrappers.py's join_tb, the instance as
compiler.blocks.concat renders it) against the block's golden model run_inputs, and
that model against a direct concatenation.

Parameter sets: 2, 3 and 5 inputs, PE = 1 to 4 (dividing every C_i), unsigned, signed
and bipolar inputs widened to a common lane width, mults != 1 (negative too), and the
bipolar pass-through (1-bit lanes copied). Each streams several frames: without stalls
(exact, one beat per cycle, latency 1 after the wrapper's FIFO) and with independent
random stalls on every input and the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from join_wrappers import GATE, RTL, beat_words, join_host_beats, join_wrapper

from halfwave.compiler.blocks.concat import Concat, concat_latency
from halfwave.compiler.codegen_rtl import block_sources
from halfwave.compiler.datatypes import BIPOLAR, DataType
from halfwave.compiler.errors import CompileError
from halfwave.sim import verilator as vl

FRAMES = 3


@dataclass(frozen=True)
class Case:
    channels: tuple[int, ...]
    dtypes: tuple[str, ...]
    mults: tuple[int, ...]
    PE: int
    vectors: int
    out: str | None = None  # None: the smallest type holding every value
    seed: int = 0

    def block(self) -> Concat:
        probe = Concat("cat", list(self.channels), self.vectors, list(self.dtypes),
                       list(self.mults), "INT32", self.PE)  # fmt: skip
        out = self.out or DataType.for_range(*probe.value_range())
        return Concat("cat", list(self.channels), self.vectors, list(self.dtypes),
                      list(self.mults), out, self.PE)  # fmt: skip


CASES = [
    Case((4, 2), ("UINT2", "UINT2"), (1, 1), 2, 5, seed=1),  # inception, equal scales
    Case((3, 6, 9), ("INT4", "UINT2", "BIPOLAR"), (1, 4, -3), 3, 3, seed=2),
    Case((8, 4), ("BIPOLAR", "BIPOLAR"), (1, 1), 4, 4, out="BIPOLAR", seed=3),
    Case(
        (2, 1, 3, 2, 1), ("UINT8", "INT2", "UINT1", "INT8", "UINT4"), (1, -2, 5, 1, 3), 1, 3, seed=4
    ),  # fmt: skip
]


def _case_id(c: Case) -> str:
    return f"{'+'.join(map(str, c.channels))}-pe{c.PE}-{'-'.join(c.dtypes)}"


def _inputs(c: Case, blk: Concat) -> list[np.ndarray]:
    rng = np.random.default_rng(100 + c.seed)
    xs = []
    for ch, dt in zip(c.channels, blk.in_dtypes, strict=True):
        if dt == BIPOLAR:
            xs.append(rng.choice([-1, 1], (FRAMES, c.vectors * ch)))
        else:
            x = rng.integers(dt.min, dt.max + 1, (FRAMES, c.vectors * ch))
            x[0, :ch], x[1, :ch] = dt.max, dt.min  # the range ends
            xs.append(x)
    return xs


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_golden_model_is_the_concatenation(case: Case) -> None:
    blk = case.block()
    blk.check()
    xs = _inputs(case, blk)
    got = blk.run_inputs(xs).reshape(FRAMES, case.vectors, -1)
    for f in range(FRAMES):
        for v in range(case.vectors):
            want = []
            for x, ch, m in zip(xs, case.channels, case.mults, strict=True):
                want += [int(e) * m for e in x[f, v * ch : (v + 1) * ch]]
            assert got[f, v].tolist() == want


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_concat(case: Case, sim_cache: Path, tmp_path: Path) -> None:
    blk = case.block()
    blk.check()
    tb, in_w, out_w = join_wrapper(blk, tmp_path / "join_tb.v")
    srcs = [*(RTL / f for f in block_sources("hw_fifo")), RTL / "hw_concat.v",
            RTL / "hw_outbuf.v", GATE, tb]  # fmt: skip
    binary = vl.build(srcs, "join_tb", {}, sim_cache)
    xs = _inputs(case, blk)
    fmts = blk.in_formats()
    beats = []
    for x, dt, f, ch in zip(xs, blk.in_dtypes, fmts, case.channels, strict=True):
        codes = (x > 0).astype(np.int64) if dt == BIPOLAR else x
        beats.append(beat_words(vl.vectors_to_beats(codes.reshape(-1, ch), case.PE), f.width))
    # host beats in the order the block takes them: pixel by pixel, input by input
    order = [i for _ in range(FRAMES * case.vectors) for i, ch in enumerate(case.channels)
             for _ in range(ch // case.PE)]  # fmt: skip
    masks = np.eye(len(fmts), dtype=bool)[order]
    vals = blk.run_inputs(xs).reshape(-1, blk.C)
    if blk.out_dtype == BIPOLAR:
        vals = (vals > 0).astype(np.int64)
    want = vl.vectors_to_beats(vals, case.PE)
    fo = blk.out_format()
    for mode, stall_in, stall_out, seed in ((0, 0.0, 0.0, 1), (1, 0.2, 0.3, 2),
                                            (2, 0.1, 0.6, 3), (3, 0.0, 0.1, 4)):  # fmt: skip
        host = join_host_beats(beats, masks, mode, fmts)
        res = vl.run(binary, host, in_w, out_w, len(want), tmp_path, stall_in=stall_in,
                     stall_out=stall_out, seed=seed)  # fmt: skip
        got = vl.unpack_lanes(res.out, case.PE, fo.width, fo.signed)
        assert np.array_equal(got, want), f"{case} mode {mode}"
        if mode == 0:  # one beat per cycle; each out 1 cycle after the FIFO's
            t_in, t_out = res.in_times.astype(np.int64), res.out_times.astype(np.int64)
            assert set(np.diff(t_in).tolist()) <= {1} and set(np.diff(t_out).tolist()) <= {1}
            assert set((t_out - t_in).tolist()) == {1 + concat_latency()}
    assert blk.cycles_per_frame() == case.vectors * sum(c // case.PE for c in case.channels)


def test_concat_refuses_bad_parameters() -> None:
    """The block's check names the node (hw_concat's own checks: tests/hw/test_lint.py)."""
    ok = dict(name="c7", channels=[4, 6], vectors=1, in_dtypes=["UINT2", "UINT2"],
              mults=[1, 1], out_dtype="UINT2")  # fmt: skip
    Concat(**ok, PE=2).check()
    with pytest.raises(CompileError, match=r"node 'c7': PE=4 must divide every input's"):
        Concat(**ok, PE=4).check()
    with pytest.raises(CompileError, match=r"cannot hold the values \[0, 9\]"):
        Concat(**{**ok, "mults": [1, 3]}).check()
    with pytest.raises(CompileError, match="1 inputs; a Concat takes 2..8"):
        Concat(**{**ok, "channels": [4], "in_dtypes": ["UINT2"], "mults": [1]}).check()
    assert Concat(**ok).fold_after(6, 10**9, {}).PE == 2  # gcd(4, 6) = 2


def test_join_nodes_round_trip_dataflow_json(tmp_path: Path) -> None:
    """Add and Concat are layer kinds: ir's JSON form (thresholds as .npy) loads back to
    the same node (the same RTL instance and stream formats)."""
    import json

    from test_add import CASES as ADD_CASES

    from halfwave.compiler import ir

    (tmp_path / "params").mkdir()
    for node in (ADD_CASES[1].block(), CASES[1].block()):
        d = ir._as_dict(node)
        if isinstance(d.get("thresholds"), np.ndarray):
            np.save(tmp_path / "params" / "t.npy", d["thresholds"])
            d["thresholds"] = "params/t.npy"
        back = ir._node(json.loads(json.dumps(ir._plain(d))), tmp_path, tmp_path / "x.json")
        assert type(back) is type(node)
        assert back.rtl() == node.rtl() and back.in_formats() == node.in_formats()
