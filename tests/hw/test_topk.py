"""hw_topk under Verilator against numpy's stable argsort (ties: lower index first).

Each parameter set builds one simulator and streams several vectors back to back:
without stalls (exact indices and the cycle model: N cycles per vector, N+1 when K == N)
and with random stalls of probability 0.5 on both sides. Narrow values force many ties;
padding lanes of the last beat hold random junk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"


# (N, PE, K, ACC_W, seed)
CASES = [
    (10, 1, 1, 8, 1),  # the usual top-1 of ten classes, one value per beat
    (13, 4, 3, 3, 2),  # PE does not divide N, 3-bit values: many ties
    (9, 2, 9, 2, 3),  # K == N: full sort, 2-bit values
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"N{c[0]}-PE{c[1]}-K{c[2]}")
def test_topk(case: tuple[int, int, int, int, int], sim_cache: Path, tmp_path: Path) -> None:
    n, pe, k, acc_w, seed = case
    vectors = 7
    rng = np.random.default_rng(2000 + seed)
    beats_per_vec = -(-n // pe)
    idx_w = max(1, int(np.ceil(np.log2(n))))
    params = dict(N=n, PE=pe, K=k, ACC_W=acc_w)
    where = f"params {params} seed {seed}"

    values = rng.integers(-(1 << (acc_w - 1)), 1 << (acc_w - 1), (vectors, beats_per_vec * pe))
    expected = np.argsort(-values[:, :n], axis=1, kind="stable")[:, :k]
    in_beats = vl.pack_lanes(values.reshape(-1, pe), acc_w)
    binary = vl.build([RTL / "hw_topk.v"], "hw_topk", params, sim_cache)

    for stall, run_seed in ((0.0, 1), (0.5, 5 + seed)):
        res = vl.run(
            binary, in_beats, pe * acc_w, idx_w, vectors * k, tmp_path,
            stall_in=stall, stall_out=stall, seed=run_seed,
        )  # fmt: skip
        got = vl.unpack_lanes(res.out, 1, idx_w, signed=False).reshape(vectors, k)
        assert np.array_equal(got, expected), f"{where} stall {stall}:\n{got}\n!=\n{expected}"
        if stall == 0.0:
            out_t = np.asarray(res.out_times).reshape(vectors, k)
            in_t = np.asarray(res.in_times).reshape(vectors, beats_per_vec)
            period = n + 1 if k == n else n
            assert set(np.diff(out_t[:, 0]).tolist()) == {period}, where
            assert set(np.diff(out_t, axis=1).ravel().tolist()) <= {1}, where
            lanes_last = n - (beats_per_vec - 1) * pe
            assert out_t[0, 0] - in_t[0, -1] == lanes_last + 2, where


def test_topk_refuses_illegal_parameters(sim_cache: Path, tmp_path: Path) -> None:
    """K > N stops the simulation at time 0 with the parameter check's message."""
    binary = vl.build([RTL / "hw_topk.v"], "hw_topk", dict(N=4, K=5, ACC_W=4), sim_cache)
    beats = vl.pack_lanes(np.zeros((4, 1), np.int64), 4)
    with pytest.raises(vl.SimError, match=r"ERROR: \S*hw_topk: K=5 must be in 1\.\.N=4"):
        vl.run(binary, beats, 4, 2, 5, tmp_path, max_idle=100)
