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

# (N bits per plane, PLANES, PIPE, OUT_W or None for the full range, OP)
CASES = [
    (1, 1, 0, None, 0),
    (2, 3, 1, None, 0),
    (5, 1, 0, None, 0),
    (7, 2, 2, None, 0),
    (32, 1, 0, None, 0),
    (32, 2, 1, None, 0),
    (33, 1, 2, None, 0),
    (64, 1, 3, None, 0),
    (64, 2, 2, None, 0),
    (17, 4, 1, None, 0),
    (40, 1, 0, 4, 0),  # truncated sum: modulo 2^4
    (2, 1, 1, None, 1),  # no compressor level: the op in front
    (32, 1, 0, None, 1),  # XNOR folded into the first level
    (31, 1, 2, None, 1),
    (32, 2, 1, None, 2),  # AND folded (hw_mvu's bit planes)
    (20, 3, 0, 5, 2),
]


def _full_width(n: int, planes: int) -> int:
    return (n * ((1 << planes) - 1)).bit_length()


def test_levels_shrink_to_two_rows() -> None:
    assert popcount_levels(32) == [(32, 1), (6, 3), (3, 5), (2, 6)]
    assert popcount_levels(2, 3) == [(2, 3)]
    assert popcount_latency(32, 1, 0) == 0
    assert popcount_latency(32, 1, 1) == 4
    assert popcount_latency(32, 1, 3) == 2
    # with an op, the first level is 3:2 over (bit, w) pairs
    assert popcount_levels(32, 1, op=1) == [(32, 1), (11, 2), (4, 4), (3, 6), (2, 7)]


@pytest.mark.parametrize("n, planes, pipe, out_w, op", CASES, ids=str)
def test_popcount(n, planes, pipe, out_w, op, sim_cache: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(n * 100 + planes * 10 + pipe + 1000 * op)
    ow = out_w or _full_width(n, planes)
    lat = popcount_latency(n, planes, pipe, op)
    params = dict(N=n, PLANES=planes, PIPE=pipe, LAT=lat, OUT_W=ow, OP=op)
    binary = vl.build([RTL / "hw_popcount.v", RTL / "hw_lut6.v", TB], "popcount_tb", params,
                      sim_cache)  # fmt: skip
    beats = 200
    bits = rng.integers(0, 2, (beats, planes, n))
    w = rng.integers(0, 2, (beats, n))
    bits[0] = 1  # the largest sum (XNOR: with w = 1)
    w[0] = 1
    bits[1] = 0
    counted = {0: bits, 1: 1 - (bits ^ w[:, None, :]), 2: bits & w[:, None, :]}[op]
    weights = 1 << np.arange(planes)
    expected = (counted.sum(axis=2) @ weights) & ((1 << ow) - 1)
    words = bits.reshape(beats, planes * n)
    if op:
        words = np.concatenate([words, w], axis=1)
    check_sums(binary, words, expected, ow, lat, tmp_path, params)


def check_sums(binary, words, expected, ow: int, lat: int, tmp_path: Path, params) -> None:
    """Beats of `words` (one bit a column) through a summing wrapper: the ow-bit outputs
    equal `expected` without and with random stalls (0.5 on both sides), and without
    stalls every sum leaves `lat` cycles after its input."""
    beats = len(words)
    packed = vl.pack_lanes(words, 1)
    for stall, seed in ((0.0, 1), (0.5, 2)):
        res = vl.run(binary, packed, words.shape[1], ow, beats, tmp_path,
                     stall_in=stall, stall_out=stall, seed=seed)  # fmt: skip
        got = vl.unpack_lanes(res.out, 1, ow, signed=False)[:, 0]
        assert np.array_equal(got, expected), f"{params} stall {stall}"
        if stall == 0.0:
            t_in, t_out = np.asarray(res.in_times), np.asarray(res.out_times)
            assert np.array_equal(t_out - t_in, np.full(beats, lat)), params
