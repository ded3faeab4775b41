"""hw_lanetree (and the hw_tadd, hw_lut62, hw_carry it is built from) under Verilator,
through tests/hw/tb/lanetree_tb.v, against numpy: the sum over lanes of x (OP 0),
x XNOR w (OP 1) or x AND w (OP 2), modulo 2^OUT_W, on random lanes, without and with
random stalls (probability 0.5 on both sides). STRUCT = 1 runs the Xilinx structure (the
LUT6_2 tables and carry chains, through the plain models of hw_lut62 and hw_carry);
STRUCT = 0 the behavioural sums the other flows synthesise. The wrapper's valid pipeline
has the latency compiler/blocks/mvu.py computes (lanetree_latency): a wrong latency
misaligns the sums and fails the comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler.blocks.mvu import lanetree_latency, lanetree_levels
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
TB = Path(__file__).resolve().parent / "tb" / "lanetree_tb.v"
SRCS = [RTL / f"{m}.v" for m in ("hw_lanetree", "hw_tadd", "hw_lut62", "hw_carry")] + [TB]

# (N, IN_W, OP, PIPE, OUT_W or None for the full range, STRUCT)
CASES = [
    (1, 1, 1, 0, None, 1),
    (2, 1, 1, 1, None, 1),
    (7, 1, 1, 0, None, 1),
    (32, 1, 1, 0, None, 1),
    (32, 1, 1, 2, None, 0),
    (33, 1, 1, 1, None, 1),
    (32, 2, 2, 0, None, 1),
    (31, 2, 2, 2, 9, 1),
    (32, 2, 0, 0, 10, 1),  # hw_mvu's column term: the lanes themselves
    (20, 3, 2, 1, 5, 1),  # truncated: modulo 2^5
    (64, 2, 2, 3, None, 0),
    (5, 3, 0, 0, None, 0),
]


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


def _full_width(n: int, in_w: int, op: int) -> int:
    return (n * (1 if op == 1 else (1 << in_w) - 1)).bit_length()


def test_levels() -> None:
    assert lanetree_levels(32) == [16, 6, 2]
    assert lanetree_levels(1) == [1]
    assert lanetree_levels(5) == [3, 1]
    assert lanetree_latency(32, 0) == 0
    assert lanetree_latency(32, 1) == 3
    assert lanetree_latency(32, 2) == 2


@pytest.mark.parametrize("n, in_w, op, pipe, out_w, struct", CASES, ids=str)
def test_lanetree(n, in_w, op, pipe, out_w, struct, sim_cache: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(n * 100 + in_w * 10 + pipe + 1000 * op + 7 * struct)
    ow = out_w or _full_width(n, in_w, op)
    lat = lanetree_latency(n, pipe)
    params = dict(N=n, IN_W=in_w, OP=op, PIPE=pipe, LAT=lat, OUT_W=ow, STRUCT=struct)
    binary = vl.build(SRCS, "lanetree_tb", params, sim_cache)
    beats = 200
    x = rng.integers(0, 1 << in_w, (beats, n))
    w = rng.integers(0, 2, (beats, n))
    x[0], w[0] = (1 << in_w) - 1, 1  # the largest sum
    x[1] = 0
    counted = {0: x, 1: 1 - (x ^ w), 2: x * w}[op]
    expected = counted.sum(axis=1) & ((1 << ow) - 1)
    bits = (x[:, :, None] >> np.arange(in_w)) & 1
    words = np.concatenate([bits.reshape(beats, n * in_w), w], axis=1)
    check_sums(binary, words, expected, ow, lat, tmp_path, params)
