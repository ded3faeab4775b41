"""hw_popcount under Verilator (through tests/hw/tb/popcount_tb.v, a stream wrapper)
against numpy: sum over planes j of 2^j * popcount(plane j), on random bits, without and
with random stalls (probability 0.5 on both sides). The wrapper's valid pipeline has the
latency compiler/blocks/mvu.py computes (popcount_latency): a wrong latency misaligns the
sums and fails the comparison; without stalls one sum leaves per cycle after LATENCY."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler.blocks.mvu import popcount_latency, popcount_levels
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
TB = Path(__file__).resolve().parent / "tb" / "popcount_tb.v"

# (N bits per plane, PLANES, PIPE, OUT_W or None for the full range)
CASES = [
    (1, 1, 0, None),
    (2, 3, 1, None),
    (5, 1, 0, None),
    (7, 2, 2, None),
    (32, 1, 0, None),
    (32, 2, 1, None),
    (33, 1, 2, None),
    (64, 1, 3, None),
    (64, 2, 2, None),
    (17, 4, 1, None),
    (40, 1, 0, 4),  # truncated sum: modulo 2^4
]


def _full_width(n: int, planes: int) -> int:
    return (n * ((1 << planes) - 1)).bit_length()


def test_levels_shrink_to_two_rows() -> None:
    assert popcount_levels(32) == [(32, 1), (6, 3), (3, 5), (2, 6)]
    assert popcount_levels(2, 3) == [(2, 3)]
    assert popcount_latency(32, 1, 0) == 0
    assert popcount_latency(32, 1, 1) == 4
    assert popcount_latency(32, 1, 3) == 2


@pytest.mark.parametrize("n, planes, pipe, out_w", CASES, ids=str)
def test_popcount(n, planes, pipe, out_w, sim_cache: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(n * 100 + planes * 10 + pipe)
    ow = out_w or _full_width(n, planes)
    lat = popcount_latency(n, planes, pipe)
    params = dict(N=n, PLANES=planes, PIPE=pipe, LAT=lat, OUT_W=ow)
    binary = vl.build([RTL / "hw_popcount.v", TB], "popcount_tb", params, sim_cache)
    beats = 200
    bits = rng.integers(0, 2, (beats, planes, n))
    bits[0] = 1  # the largest sum
    bits[1] = 0
    weights = 1 << np.arange(planes)
    expected = (bits.sum(axis=2) @ weights) & ((1 << ow) - 1)
    packed = vl.pack_lanes(bits.reshape(beats, planes * n), 1)
    for stall, seed in ((0.0, 1), (0.5, 2)):
        res = vl.run(binary, packed, planes * n, ow, beats, tmp_path,
                     stall_in=stall, stall_out=stall, seed=seed)  # fmt: skip
        got = vl.unpack_lanes(res.out, 1, ow, signed=False)[:, 0]
        assert np.array_equal(got, expected), f"{params} stall {stall}"
        if stall == 0.0:
            t_in, t_out = np.asarray(res.in_times), np.asarray(res.out_times)
            assert np.array_equal(t_out - t_in, np.full(beats, lat)), params
