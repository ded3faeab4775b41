"""hw_mvu with BATCH = B > 1: each streamed weight word serves B consecutive vectors.

Every MODE is checked bit-exact against the numpy reference of tests/hw/test_mvu.py
(which knows nothing of batching) without stalls and under random stalls on all three
streams; the weight stream carries exactly vectors/B passes of NF*SF words; without
stalls the vectors leave NF*SF cycles apart within a batch's drain and a batch every
B*NF*SF cycles, the latency of the batch's first vector being fixed by the schedule.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_mvu import Case, _setup, lint_mvu
from test_mvu_stream import STREAM_CASES, _id, _prepare, _stream_params

from halfwave.sim import verilator as vl

# (case, B): every mode, NF = 1 and SF = 1 included; 12 vectors = several batches
BATCH_CASES = [
    (replace(c, vectors=12), b) for c, b in zip(STREAM_CASES, [2, 3, 4, 2, 6, 3], strict=True)
]


def _bid(v: Case | int) -> str:
    return f"B{v}" if isinstance(v, int) else _id(v)


def batch_latency(c: Case, batch: int) -> int:
    """Cycles from the last input beat of a batch's first vector to that vector's first
    output beat, without stalls: the rest of the batch loads ((B-1)*SF beats), its
    B*NF*SF steps run from the next cycle, then the pipeline (LATENCY = 4 cycles after
    the last step, as without batching, TREE_PIPE 0) and two more through the reorder
    buffer (its read, then the output buffer)."""
    sf, nf = -(-c.MW // c.SIMD), -(-c.MH // c.PE)
    return (batch - 1) * sf + batch * nf * sf + 4 + 2


@pytest.mark.parametrize(
    "case,batch", BATCH_CASES[:3], ids=lambda v: str(v) if isinstance(v, int) else _id(v)
)
def test_mvu_batch_lint(case: Case, batch: int) -> None:
    _, _, _, acc_w, _ = _setup(case, np.random.default_rng(1000 + case.seed))
    lint_mvu({**_stream_params(case, acc_w), "BATCH": batch})


@pytest.mark.parametrize(
    "case,batch", BATCH_CASES, ids=lambda v: str(v) if isinstance(v, int) else _id(v)
)
def test_mvu_batch(case: Case, batch: int, sim_cache: Path, tmp_path: Path) -> None:
    c = case
    binary, in_beats, lw, expected, wfile, where = _prepare(
        c, sim_cache, tmp_path, extra={"BATCH": batch}
    )
    sf, nf = -(-c.MW // c.SIMD), -(-c.MH // c.PE)
    wword = c.PE * c.SIMD * c.W_W
    where = f"{where} BATCH {batch}"
    for stall, stall_w, seed in [(0.0, 0.0, 1), (0.5, 0.5, 5 + c.seed), (0.3, 0.8, 7)]:
        res = vl.run(
            binary, in_beats, c.SIMD * c.IN_W, c.PE * lw, c.vectors * nf, tmp_path,
            stall_in=stall, stall_out=stall, seed=seed, wstreams=[(wfile, wword)],
            stall_w=stall_w,
        )  # fmt: skip
        lanes = vl.unpack_lanes(res.out, c.PE, lw, signed=not c.N_T)
        got = vl.beats_to_vectors(lanes, nf * c.PE)[:, : c.MH]
        what = f"{where} stall {stall} stall_w {stall_w}"
        assert np.array_equal(got, expected), f"{what}:\n{got}\n!=\n{expected}"
        # one pass of the weight matrix per batch (the harness may have prefetched more)
        assert res.w_beats == (c.vectors // batch * nf * sf,), what
        if stall == 0.0 and stall_w == 0.0:
            in_t = np.asarray(res.in_times).reshape(c.vectors, sf)
            out_t = np.asarray(res.out_times).reshape(c.vectors // batch, batch * nf)
            period = batch * nf * sf  # a batch every B*NF*SF cycles, back to back
            assert set(np.diff(out_t[:, 0]).tolist()) == {period}, what
            assert set(np.diff(out_t, axis=1).ravel().tolist()) <= {1}, what  # drain
            assert out_t[0, 0] - in_t[0, -1] == batch_latency(c, batch), what
