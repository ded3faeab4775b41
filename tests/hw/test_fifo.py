"""hw_fifo under Verilator (through tests/hw/tb/fifo_tb.v, which appends level and
max_level to every output beat): data order exact under heavy random stalls, level and
max_level consistent with the beats in flight, and one beat per cycle with latency 1
without stalls; with OUT_REG (the ECP5's buffer after the memory) the same order, one
beat per cycle with latency 2 (OUT_REG 1) or 4 (OUT_REG 2, a synchronous read,
registered, into a 4-entry buffer), and a capacity of DEPTH + 2 or DEPTH + 4."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler.codegen_rtl import block_sources
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
TB = Path(__file__).resolve().parent / "tb" / "fifo_tb.v"

# (WIDTH, DEPTH, RAM_STYLE): CData / QData / VlWide widths, non-power-of-2 depths
CASES = [(8, 2, "auto"), (37, 5, "block"), (64, 3, "registers"), (100, 16, "distributed")]
STALLS = [(0.5, 0.5, 11), (0.0, 0.7, 12), (0.7, 0.0, 13), (0.9, 0.9, 14)]


def _level_bits(depth: int) -> int:
    return (depth).bit_length()  # $clog2(DEPTH + 1)


@pytest.mark.parametrize("width,depth,style", CASES, ids=lambda v: str(v))
def test_fifo(width: int, depth: int, style: str, sim_cache: Path, tmp_path: Path) -> None:
    lw = _level_bits(depth)
    ow = width + 2 * lw
    params = {"WIDTH": width, "DEPTH": depth, "RAM_STYLE": style}
    srcs = [*(RTL / f for f in block_sources("hw_fifo")), TB]
    binary = vl.build(srcs, "fifo_tb", params, sim_cache)
    rng = np.random.default_rng(width * 1000 + depth)
    n = 3000
    data = rng.integers(0, 1 << min(width, 62), (n, 1), dtype=np.int64)
    if width > 62:  # fill the whole word: several random 31-bit lanes
        k = -(-width // 31)
        lanes = rng.integers(0, 1 << 31, (n, k), dtype=np.int64)
        wide = vl.pack_lanes(lanes, 31)
        in_beats = np.ascontiguousarray(wide[:, : (width + 7) // 8])
        in_beats[:, -1] &= (1 << (width - 8 * ((width + 7) // 8 - 1))) - 1
    else:
        in_beats = vl.pack_lanes(data, width)

    def split(out: np.ndarray):
        bits = np.unpackbits(out, axis=1, bitorder="little")[:, :ow]
        payload = np.packbits(bits[:, :width], axis=1, bitorder="little")
        weights = 1 << np.arange(lw)
        level = bits[:, width : width + lw] @ weights
        max_level = bits[:, width + lw : width + 2 * lw] @ weights
        return payload, level, max_level

    for stall_in, stall_out, seed in STALLS:
        case = f"params {params} stall_in {stall_in} stall_out {stall_out} seed {seed}"
        res = vl.run(binary, in_beats, width, ow, n, tmp_path, stall_in, stall_out, seed)
        payload, level, max_level = split(res.out)
        assert np.array_equal(payload, in_beats), case
        # level counts the beat leaving; beats in flight from the transfer times
        in_t, out_t = res.in_times.astype(np.int64), res.out_times.astype(np.int64)
        inflight = np.searchsorted(in_t, out_t, side="left") - np.arange(n)
        assert np.array_equal(level, inflight), case
        assert level.min() >= 1 and level.max() <= depth, case
        assert np.all(np.diff(max_level) >= 0) and np.all(max_level >= level), case
        if stall_out >= 0.7 and stall_in == 0.0:
            assert max_level[-1] == depth, case

    res = vl.run(binary, in_beats, width, ow, n, tmp_path)
    payload, level, max_level = split(res.out)
    assert np.array_equal(payload, in_beats)
    assert np.array_equal(res.in_times, np.arange(n)), "input not accepted every cycle"
    assert np.array_equal(res.out_times, res.in_times + 1), "latency is not 1 cycle"
    assert set(level.tolist()) == {1} and max_level[-1] == 1


# (RAM_STYLE, OUT_REG) -> the beats it holds beyond DEPTH, and its latency
OUT_REGS = {("block", 1): (2, 2), ("distributed", 1): (2, 2), ("block", 2): (4, 4),
            ("auto", 2): (4, 4)}  # fmt: skip


@pytest.mark.parametrize("style,out_reg", list(OUT_REGS), ids=lambda v: str(v))
def test_fifo_out_reg(style: str, out_reg: int, sim_cache: Path, tmp_path: Path) -> None:
    width, depth = 13, 6
    lw = _level_bits(depth)
    extra, latency = OUT_REGS[style, out_reg]
    params = {"WIDTH": width, "DEPTH": depth, "RAM_STYLE": style, "OUT_REG": out_reg}
    srcs = [*(RTL / f for f in block_sources("hw_fifo")), TB]
    binary = vl.build(srcs, "fifo_tb", params, sim_cache)
    n = 2000
    data = np.random.default_rng(7).integers(0, 1 << width, (n, 1), dtype=np.int64)
    in_beats = vl.pack_lanes(data, width)
    nbytes = in_beats.shape[1]

    def payload(out: np.ndarray) -> np.ndarray:
        bits = np.unpackbits(out, axis=1, bitorder="little")[:, :width]
        return np.packbits(bits, axis=1, bitorder="little")[:, :nbytes]

    for stall_in, stall_out, seed in STALLS:
        case = (params, stall_in, stall_out)
        res = vl.run(binary, in_beats, width, width + 2 * lw, n, tmp_path, stall_in, stall_out,
                     seed)  # fmt: skip
        assert np.array_equal(payload(res.out), in_beats), case
        in_t, out_t = res.in_times.astype(np.int64), res.out_times.astype(np.int64)
        stored = np.searchsorted(in_t, out_t, side="left") - np.arange(n)
        assert stored.max() <= depth + extra, case
        if stall_out >= 0.7 and stall_in == 0.0:
            assert stored.max() == depth + extra, case
    res = vl.run(binary, in_beats, width, width + 2 * lw, n, tmp_path)
    assert np.array_equal(payload(res.out), in_beats)
    assert np.array_equal(res.in_times, np.arange(n)), "input not accepted every cycle"
    assert np.array_equal(res.out_times, res.in_times + latency), f"latency is not {latency}"
