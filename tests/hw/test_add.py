"""hw_add under Verilator (tests/hw/join_wrappers.py's join_tb, the instance as
compiler.blocks.add renders it, its memory files as write_memories writes them) against
the block's golden model run_inputs, and that model against a direct loop.

Random parameter sets (seeded): PE, C, signed / unsigned / bipolar inputs, per-channel
or constant coefficients (ROM or parameters), raw z or N_T thresholds (unsigned,
signed with a negative out_base, bipolar out). Each streams several frames: without
stalls (exact, one beat pair per cycle, latency 2 after the wrapper's FIFO) and with
independent random stalls on both inputs and the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from join_wrappers import GATE, RTL, beat_words, join_host_beats, join_wrapper

from halfwave.compiler.blocks.add import Add, add_cycles_per_frame, add_latency
from halfwave.compiler.codegen_rtl import block_sources
from halfwave.compiler.datatypes import BIPOLAR, DataType
from halfwave.compiler.errors import CompileError
from halfwave.sim import verilator as vl

FRAMES = 3


@dataclass(frozen=True)
class Case:
    C: int
    PE: int
    vectors: int
    a: str
    b: str
    coefs: str  # "one" (1, 1) | "const" (one random pair) | "channel" (per channel)
    out: str | None  # None: raw z; else the out dtype (thresholds)
    n_t: int = 0
    out_base: int = 0
    seed: int = 0

    def block(self) -> Add:
        rng = np.random.default_rng(self.seed)
        if self.coefs == "one":
            ca, cb = [1] * self.C, [1] * self.C
        elif self.coefs == "const":
            ca, cb = [int(rng.integers(-7, 8))] * self.C, [int(rng.integers(1, 9))] * self.C
        else:
            ca = [int(v) for v in rng.integers(-9, 10, self.C)]
            cb = [int(v) for v in rng.integers(-4, 33, self.C)]
        probe = Add("add", self.C, self.vectors, self.a, self.b, ca, cb, 0, 0, None)
        lo, hi = probe.z_range()
        thr = None
        if self.out is not None:
            thr = np.sort(rng.integers(lo - 2, hi + 3, (self.C, self.n_t)), axis=1)
        return Add("add", self.C, self.vectors, self.a, self.b, ca, cb, lo, hi, self.out,
                   self.out_base, thr, self.PE)  # fmt: skip


CASES = [
    Case(6, 3, 2, "UINT2", "UINT2", "one", "UINT2", n_t=3, seed=1),  # residual form (a)
    Case(8, 4, 3, "INT14", "UINT2", "channel", "INT2", n_t=3, out_base=-2, seed=2),  # (b)
    Case(5, 1, 4, "BIPOLAR", "INT4", "const", None, seed=3),  # raw z
    Case(12, 6, 2, "INT3", "BIPOLAR", "channel", "BIPOLAR", n_t=1, seed=4),
    Case(4, 4, 5, "UINT8", "INT8", "channel", None, seed=5),  # raw z, one beat a vector
]


def _case_id(c: Case) -> str:
    return f"c{c.C}-pe{c.PE}-{c.a}-{c.b}-{c.coefs}-{c.out or 'raw'}"


def _values(dt: DataType, rng: np.random.Generator, shape: tuple) -> np.ndarray:
    if dt == BIPOLAR:
        return rng.choice([-1, 1], shape)
    return rng.integers(dt.min, dt.max + 1, shape)


def _inputs(c: Case, blk: Add) -> list[np.ndarray]:
    rng = np.random.default_rng(100 + c.seed)
    xs = [_values(blk.a_dtype, rng, (FRAMES, c.vectors * c.C)),
          _values(blk.b_dtype, rng, (FRAMES, c.vectors * c.C))]  # fmt: skip
    for x, dt in zip(xs, (blk.a_dtype, blk.b_dtype), strict=True):
        if dt != BIPOLAR:  # the range ends: every bit of z
            x[0, : c.C], x[1, : c.C] = dt.max, dt.min
    return xs


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_golden_model_is_the_formula(case: Case) -> None:
    blk = case.block()
    blk.check()
    a, b = _inputs(case, blk)
    got = blk.run_inputs([a, b]).reshape(-1, case.C)
    a, b = a.reshape(-1, case.C), b.reshape(-1, case.C)
    for v in range(len(a)):
        for ch in range(case.C):
            z = blk.coef_a[ch] * int(a[v, ch]) + blk.coef_b[ch] * int(b[v, ch])
            if blk.thresholds is None:
                want = z
            else:
                cnt = sum(z >= int(t) for t in blk.thresholds[ch])
                want = (2 * cnt - 1) if case.out == "BIPOLAR" else case.out_base + cnt
            assert got[v, ch] == want


def _codes(x: np.ndarray, dt: DataType) -> np.ndarray:
    return (x > 0).astype(np.int64) if dt == BIPOLAR else x


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_add(case: Case, sim_cache: Path, tmp_path: Path) -> None:
    blk = case.block()
    blk.check()
    blk.write_memories(tmp_path)
    tb, in_w, out_w = join_wrapper(blk, tmp_path / "join_tb.v")
    srcs = [*(RTL / f for f in block_sources("hw_add")), RTL / "hw_fifo.v", GATE, tb]
    binary = vl.build(srcs, "join_tb", {}, sim_cache)
    xs = _inputs(case, blk)
    fa, fb = blk.in_formats()
    beats = [
        beat_words(vl.vectors_to_beats(_codes(x, dt).reshape(-1, case.C), case.PE), f.width)
        for x, dt, f in zip(xs, (blk.a_dtype, blk.b_dtype), (fa, fb), strict=True)
    ]
    masks = np.ones((len(beats[0]), 2), bool)
    want_vals = blk.run_inputs(xs).reshape(-1, case.C)
    if case.out == "BIPOLAR":
        want_vals = (want_vals > 0).astype(np.int64)
    want = vl.vectors_to_beats(want_vals, case.PE)
    fo = blk.out_format()
    n_out = len(want)
    for mode, stall_in, stall_out, seed in ((0, 0.0, 0.0, 1), (1, 0.2, 0.3, 2),
                                            (2, 0.1, 0.6, 3), (3, 0.0, 0.1, 4)):  # fmt: skip
        host = join_host_beats(beats, masks, mode, [fa, fb])
        res = vl.run(binary, host, in_w, out_w, n_out, tmp_path, stall_in=stall_in,
                     stall_out=stall_out, seed=seed)  # fmt: skip
        got = vl.unpack_lanes(res.out, case.PE, fo.width, fo.signed)
        assert np.array_equal(got, want), f"{case} mode {mode}"
        if mode == 0:  # one pair per cycle; output 2 cycles after the FIFO's
            t_in, t_out = res.in_times.astype(np.int64), res.out_times.astype(np.int64)
            assert set(np.diff(t_in).tolist()) <= {1} and set(np.diff(t_out).tolist()) <= {1}
            assert set((t_out - t_in).tolist()) == {1 + add_latency()}
    per_frame = case.vectors * case.C // case.PE
    assert blk.cycles_per_frame() == add_cycles_per_frame(c=case.C, vectors=case.vectors,
                                                          pe=case.PE) == per_frame  # fmt: skip


def test_add_refuses_bad_parameters() -> None:
    """The block's check names the node (hw_add's own checks: tests/hw/test_lint.py)."""
    ok = dict(name="a7", C=4, vectors=1, a_dtype="UINT2", b_dtype="UINT2", coef_a=[1] * 4,
              coef_b=[1] * 4, acc_lo=0, acc_hi=6, out_dtype=None)  # fmt: skip
    Add(**ok).check()
    with pytest.raises(CompileError, match="node 'a7': PE=3 must divide the 4 channels"):
        Add(**ok, PE=3).check()
    with pytest.raises(CompileError, match=r"node 'a7': the sum ranges over \[0, 9\]"):
        Add(**{**ok, "coef_b": [2] * 4}).check()
    with pytest.raises(CompileError, match="out_dtype and thresholds must be given together"):
        Add(**{**ok, "out_dtype": "UINT2"}).check()
    with pytest.raises(CompileError, match="3 thresholds from out_base 0 do not fit UINT1"):
        Add(**{**ok, "out_dtype": "UINT1"}, thresholds=np.zeros((4, 3), np.int64)).check()
