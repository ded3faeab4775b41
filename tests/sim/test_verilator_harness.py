"""The Verilator harness and its Python API: lane packing against Python-int arithmetic,
deadlock detection, build errors and the binary cache."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler.codegen_rtl import block_sources
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
FIFO_SRCS = [RTL / f for f in block_sources("hw_fifo")]  # hw_fifo and its memory
FIFO_PARAMS = {"WIDTH": 8, "DEPTH": 2}  # same build as a case of tests/hw/test_fifo.py


def _ref_pack(values: np.ndarray, width: int) -> np.ndarray:
    """Beats as Python ints (bit l*W+b = bit b of lane l), then little-endian bytes."""
    n, lanes = values.shape
    nbytes = (lanes * width + 7) // 8
    out = np.zeros((n, nbytes), dtype=np.uint8)
    mask = (1 << width) - 1
    for i in range(n):
        word = 0
        for lane in range(lanes):
            word |= (int(values[i, lane]) & mask) << (lane * width)
        out[i] = np.frombuffer(word.to_bytes(nbytes, "little"), dtype=np.uint8)
    return out


# (lanes, width, signed): narrow, byte-straddling, > 64 bits per beat, 64-bit lanes
PACK_CASES = [(1, 1, False), (3, 5, True), (7, 9, False), (5, 17, True), (13, 8, True),
              (3, 64, True), (2, 63, False), (33, 3, False)]  # fmt: skip


@pytest.mark.parametrize("lanes,width,signed", PACK_CASES)
def test_pack_unpack_round_trip(lanes: int, width: int, signed: bool) -> None:
    rng = np.random.default_rng(lanes * 100 + width)
    if signed:
        lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    else:
        lo, hi = 0, (1 << width) - 1
    values = rng.integers(lo, hi, (20, lanes), endpoint=True, dtype=np.int64)
    values[0, :] = lo
    values[1, :] = hi
    packed = vl.pack_lanes(values, width)
    ref = _ref_pack(values, width)
    case = f"lanes {lanes} width {width} signed {signed}"
    assert packed.dtype == np.uint8 and packed.shape == ref.shape, case
    assert np.array_equal(packed, ref), case
    back = vl.unpack_lanes(packed, lanes, width, signed=signed)
    assert back.dtype == np.int64
    assert np.array_equal(back, values), case


def test_pack_truncates_twos_complement() -> None:
    packed = vl.pack_lanes(np.array([[-1, 17, -8]]), 4)  # 0xF, 0x1, 0x8
    assert packed.tolist() == [[0x1F, 0x08]]
    assert vl.unpack_lanes(packed, 3, 4, signed=True).tolist() == [[-1, 1, -8]]
    assert vl.unpack_lanes(packed, 3, 4, signed=False).tolist() == [[15, 1, 8]]


def test_vectors_beats_round_trip() -> None:
    values = np.arange(2 * 7).reshape(2, 7) + 1
    beats = vl.vectors_to_beats(values, 3)
    assert beats.tolist() == [[1, 2, 3], [4, 5, 6], [7, 0, 0], [8, 9, 10], [11, 12, 13],
                              [14, 0, 0]]  # fmt: skip
    assert np.array_equal(vl.beats_to_vectors(beats, 7), values)


def test_deadlock_raises(sim_cache: Path, tmp_path: Path) -> None:
    binary = vl.build(FIFO_SRCS, "hw_fifo", FIFO_PARAMS, sim_cache)
    beats = np.arange(10, dtype=np.uint8).reshape(10, 1)
    with pytest.raises(vl.SimDeadlock) as err:
        vl.run(binary, beats, 8, 8, 10, tmp_path, stall_out=1.0, max_idle=500)
    msg = str(err.value)
    assert msg == (
        "deadlock: no stream transfer for 500 cycles (in accepted 2/10 beats, out 0/10)"
    ), msg


def test_run_wide_and_partial_bytes(sim_cache: Path, tmp_path: Path) -> None:
    """A 100-bit FIFO (VlWide signal, 13 bytes with 4 spare bits) passes beats intact."""
    binary = vl.build(FIFO_SRCS, "hw_fifo", {"WIDTH": 100, "DEPTH": 3}, sim_cache)
    rng = np.random.default_rng(5)
    beats = rng.integers(0, 256, (50, 13), dtype=np.uint8)
    beats[:, 12] &= 0x0F
    res = vl.run(binary, beats, 100, 100, 50, tmp_path, stall_in=0.3, stall_out=0.3, seed=3)
    assert np.array_equal(res.out, beats)
    assert res.cycles >= 50 and res.cycles_per_s > 0
    assert len(res.in_times) == 50 and len(res.out_times) == 50


def test_build_is_cached(sim_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = vl.build(FIFO_SRCS, "hw_fifo", FIFO_PARAMS, sim_cache)
    mtime = first.stat().st_mtime_ns

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"cache miss: rebuilt with {args}")

    vl._verilator_version()  # version probe is memoised; the build itself must not run
    monkeypatch.setattr(subprocess, "run", no_subprocess)
    second = vl.build(FIFO_SRCS, "hw_fifo", dict(FIFO_PARAMS), sim_cache)
    assert second == first and second.stat().st_mtime_ns == mtime


def test_build_error(tmp_path: Path) -> None:
    src = tmp_path / "broken.v"
    src.write_text("module broken(input wire clk);\n  assign nosuch = clk\nendmodule\n")
    with pytest.raises(vl.SimBuildError, match="%Error"):
        vl.build([src], "broken", {}, tmp_path / "cache")
