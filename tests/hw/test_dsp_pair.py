"""hw_dsp_pair (two products sharing a factor in one DSP48E1 multiplier) under Verilator
(tests/hw/tb/dsp_pair_tb.v, one output register) against numpy's products: exhaustive
on narrow operands, the signed extremes and random values on 8-bit ones, without and with
random stalls (probability 0.5 on both sides); operands that exceed the 25 x 18 budget
are refused when the simulator is built."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
TB = Path(__file__).resolve().parent / "tb" / "dsp_pair_tb.v"

# (W_W, IN_W, IN_SIGNED, exhaustive)
CASES = [
    (2, 1, 0, True),
    (3, 3, 1, True),
    (4, 4, 0, True),
    (8, 8, 0, False),  # conv1 of hwgq_alexnet: 2*8 + 8 = 24 bits of A, the whole budget
    (8, 8, 1, False),
    (6, 12, 0, False),
]


def _ranges(w_w: int, in_w: int, signed: int) -> tuple[range, range]:
    w = range(-(1 << (w_w - 1)), 1 << (w_w - 1))
    x = range(-(1 << (in_w - 1)), 1 << (in_w - 1)) if signed else range(1 << in_w)
    return w, x


def _operands(w_w: int, in_w: int, signed: int, exhaustive: bool, rng) -> np.ndarray:
    """(n, 3) rows (w_lo, w_hi, x)."""
    w, x = _ranges(w_w, in_w, signed)
    if exhaustive:
        return np.array(list(itertools.product(w, w, x)), dtype=np.int64)
    corners = [w[0], w[0] + 1, -1, 0, 1, w[-1]]
    xc = sorted({x[0], x[0] + 1, 0, 1, x[-1] - 1, x[-1]})
    rows = list(itertools.product(corners, corners, xc))
    n = 3000
    rand = np.stack([rng.integers(w[0], w[-1] + 1, n), rng.integers(w[0], w[-1] + 1, n),
                     rng.integers(x[0], x[-1] + 1, n)], axis=1)  # fmt: skip
    return np.concatenate([np.array(rows, dtype=np.int64), rand])


@pytest.mark.parametrize("w_w, in_w, signed, exhaustive", CASES, ids=str)
def test_dsp_pair(w_w, in_w, signed, exhaustive, sim_cache: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(w_w * 100 + in_w * 10 + signed)
    out_w = w_w + in_w + 1
    params = dict(W_W=w_w, IN_W=in_w, IN_SIGNED=signed, OUT_W=out_w)
    binary = vl.build([RTL / "hw_dsp_pair.v", TB], "dsp_pair_tb", params, sim_cache)
    ops = _operands(w_w, in_w, signed, exhaustive, rng)
    mw, mx = (1 << w_w) - 1, (1 << in_w) - 1
    word = (ops[:, 0] & mw) | ((ops[:, 1] & mw) << w_w) | ((ops[:, 2] & mx) << (2 * w_w))
    packed = vl.pack_lanes(word[:, None], 2 * w_w + in_w)
    expected = np.stack([ops[:, 0] * ops[:, 2], ops[:, 1] * ops[:, 2]], axis=1)
    for stall, seed in ((0.0, 1), (0.5, 2)):
        res = vl.run(binary, packed, 2 * w_w + in_w, 2 * out_w, len(ops), tmp_path,
                     stall_in=stall, stall_out=stall, seed=seed)  # fmt: skip
        got = vl.unpack_lanes(res.out, 2, out_w, signed=True)
        bad = np.flatnonzero((got != expected).any(axis=1))
        assert bad.size == 0, f"{params} stall {stall}: (w_lo, w_hi, x) {ops[bad[:3]].tolist()}"


def test_dsp_pair_refuses_operands_beyond_25x18(sim_cache: Path, tmp_path: Path) -> None:
    """2*W_W + IN_W = 25 bits of A do not fit the DSP48E1's signed 25-bit port: the
    parameter check stops the simulation at time 0 with its sentence."""
    binary = vl.build([RTL / "hw_dsp_pair.v", TB], "dsp_pair_tb",
                      dict(W_W=8, IN_W=9, IN_SIGNED=0, OUT_W=18), sim_cache)  # fmt: skip
    beats = vl.pack_lanes(np.zeros((2, 1), np.int64), 25)
    with pytest.raises(vl.SimError, match="8-bit x 9-bit products do not fit one DSP48E1"):
        vl.run(binary, beats, 25, 36, 2, tmp_path, max_idle=100)
