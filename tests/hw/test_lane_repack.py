"""hw_lane_repack under Verilator (through tests/hw/tb/lane_repack_tb.v, which puts
out_last on the top out_data bit) against integer arithmetic on Python ints: exact lanes,
zero tail lanes and out_last under heavy random stalls; without stalls, one vector every
max(IB, OB) cycles in steady state (the header's throughput claim)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
TB = Path(__file__).resolve().parent / "tb" / "lane_repack_tb.v"


@dataclass(frozen=True)
class Case:
    IN_LANES: int
    IN_LW: int
    OUT_LANES: int
    OUT_LW: int
    COUNT: int
    SIGNED: int


CASES = [
    # widen signed 4 -> 8 bits, 2 -> 3 lanes, COUNT a multiple of neither; the buffer
    # size is tight here (one element less and the output side misses cycles)
    Case(IN_LANES=2, IN_LW=4, OUT_LANES=3, OUT_LW=8, COUNT=11, SIGNED=1),
    # narrow 8 -> 5 bits, 8 -> 3 lanes (64-bit input beats), output-bound
    Case(IN_LANES=8, IN_LW=8, OUT_LANES=3, OUT_LW=5, COUNT=13, SIGNED=0),
    # widen unsigned 3 -> 6 bits, 3 -> 33 lanes (199-bit output beats), input-bound
    Case(IN_LANES=3, IN_LW=3, OUT_LANES=33, OUT_LW=6, COUNT=70, SIGNED=0),
    # equal lane counts: pass-through with signed widening and a zeroed tail
    Case(IN_LANES=5, IN_LW=4, OUT_LANES=5, OUT_LW=7, COUNT=12, SIGNED=1),
    # wider than 64 lanes: 96 -> 32 (granules of G = 32 elements, AlexNet conv1's output)
    Case(IN_LANES=96, IN_LW=2, OUT_LANES=32, OUT_LW=2, COUNT=96, SIGNED=0),
    # 3 -> 256 lanes, G = 1 (a queue of 513 elements), COUNT not a multiple of 256
    Case(IN_LANES=3, IN_LW=3, OUT_LANES=256, OUT_LW=4, COUNT=363, SIGNED=1),
    # 130 -> 7 lanes narrowing 5 -> 3 bits, G = 1, output-bound
    Case(IN_LANES=130, IN_LW=5, OUT_LANES=7, OUT_LW=3, COUNT=300, SIGNED=0),
    # 48 -> 200 lanes, G = gcd(48, 200, 600) = 8: a 6 -> 25 granule queue, input-bound
    Case(IN_LANES=48, IN_LW=1, OUT_LANES=200, OUT_LW=2, COUNT=600, SIGNED=1),
]
STALLS = [(0.5, 0.5, 21), (0.0, 0.8, 22), (0.8, 0.0, 23)]


def _reference(raw: list[list[int]], c: Case) -> list[list[int]]:
    """Output lanes (unsigned OUT_LW-bit codes) of each vector from raw input codes."""
    out_mask = (1 << c.OUT_LW) - 1
    ob = -(-c.COUNT // c.OUT_LANES)
    vecs = []
    for codes in raw:
        vals = []
        for code in codes:
            if c.SIGNED and code >> (c.IN_LW - 1):
                code -= 1 << c.IN_LW  # the element's signed value
            vals.append(code & out_mask)  # sign/zero extend or truncate
        vecs.append(vals + [0] * (ob * c.OUT_LANES - c.COUNT))
    return vecs


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, asdict(c).values())))
def test_lane_repack(case: Case, sim_cache: Path, tmp_path: Path) -> None:
    c = case
    ib, ob = -(-c.COUNT // c.IN_LANES), -(-c.COUNT // c.OUT_LANES)
    ow = c.OUT_LANES * c.OUT_LW + 1
    binary = vl.build([RTL / "hw_lane_repack.v", TB], "lane_repack_tb", asdict(c), sim_cache)
    rng = np.random.default_rng(sum(asdict(c).values()))
    n_vec = 60
    # raw input codes; the tail (padding) lanes of each vector's last beat are random junk
    raw = rng.integers(0, 1 << c.IN_LW, (n_vec, ib * c.IN_LANES), dtype=np.int64)
    in_beats = vl.pack_lanes(raw.reshape(n_vec * ib, c.IN_LANES), c.IN_LW)
    expected = np.array(_reference(raw[:, : c.COUNT].tolist(), c), dtype=np.int64)
    expected_last = (np.arange(n_vec * ob) % ob) == ob - 1

    def check(res: vl.RunResult, where: str) -> None:
        lanes = vl.unpack_lanes(res.out, c.OUT_LANES, c.OUT_LW, signed=False)
        got = lanes.reshape(n_vec, ob * c.OUT_LANES)
        last = np.unpackbits(res.out, axis=1, bitorder="little")[:, ow - 1].astype(bool)
        bad = np.nonzero(np.any(got != expected, axis=1))[0]
        assert bad.size == 0, f"{where}: vector {bad[:1]}: {got[bad[:1]]} != {expected[bad[:1]]}"
        assert np.array_equal(last, expected_last), f"{where}: out_last wrong"

    for stall_in, stall_out, seed in STALLS:
        where = f"{c} stall_in {stall_in} stall_out {stall_out} seed {seed}"
        check(vl.run(binary, in_beats, c.IN_LANES * c.IN_LW, ow, n_vec * ob, tmp_path,
                     stall_in, stall_out, seed), where)  # fmt: skip

    res = vl.run(binary, in_beats, c.IN_LANES * c.IN_LW, ow, n_vec * ob, tmp_path)
    check(res, f"{c} no stalls")
    period = max(ib, ob)
    ends = res.out_times.astype(np.int64).reshape(n_vec, ob)[:, -1]
    # steady state: after a few vectors, exactly `period` cycles per vector on average
    # (and never faster: one beat per cycle per side)
    assert ends[-1] - ends[-41] == 40 * period, f"{c}: {np.diff(ends).tolist()}"
    assert np.diff(ends).min() >= period
    if ib >= ob:  # input-bound: the producer is never stalled
        assert np.array_equal(res.in_times, np.arange(n_vec * ib)), f"{c}: input stalled"
    else:  # output-bound: an output beat every cycle once started
        outs = res.out_times.astype(np.int64)
        assert np.array_equal(np.diff(outs[ob:]), np.ones(len(outs) - ob - 1)), f"{c}"
    if c.IN_LANES == c.OUT_LANES:
        assert np.array_equal(res.out_times, res.in_times), "pass-through has latency 0"
