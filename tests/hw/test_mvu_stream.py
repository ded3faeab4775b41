"""hw_mvu with WEIGHT_SOURCE = "stream" (weights from DDR) under Verilator.

The weight words come from the stream harness's DDR model (`--wstream`, the weight
memory's words as binary), not from a ROM. Every MODE (0 XNOR, 1 SIGNSEL, 2 MAC,
3 TERNARY) is checked bit-exact against the numpy reference of tests/hw/test_mvu.py:
without stalls (NF*SF cycles per vector and latency 4, as with the ROM), with random
stalls on the weight stream alone, and with random stalls on all three streams. A slow
DDR model (bandwidth below one word a cycle, latency per pass) must not change the
outputs, and its cycles per vector follow passes * (latency + words * bytes/bandwidth).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from test_mvu import (
    CASES,
    LATENCY,
    Case,
    _params,
    _setup,
    _weight_file_values,
    lint_mvu,
    stimulus_and_expected,
)

from halfwave.compiler.blocks.mvu import (
    write_mvu_mem_files,
    write_mvu_weight_stream,
    write_swap_file,
)
from halfwave.compiler.codegen_rtl import block_sources
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
# hw_mvu and the modules it instantiates
SRCS = [RTL / f for f in block_sources("hw_mvu")]
# one case per mode, tails in both dimensions where the case has them
STREAM_CASES = [CASES[0], CASES[2], CASES[4], CASES[8], CASES[7], CASES[1]]


def _stream_params(c: Case, acc_w: int) -> dict[str, int | str]:
    return {**_params(c, acc_w), "WEIGHT_FILE": "", "WEIGHT_SOURCE": "stream"}


def _id(c: Case) -> str:
    return f"mode{c.MODE}-{c.MW}x{c.MH}-pe{c.PE}-simd{c.SIMD}"


@pytest.mark.parametrize("case", STREAM_CASES, ids=_id)
def test_mvu_stream_lint(case: Case) -> None:
    _, _, _, acc_w, _ = _setup(case, np.random.default_rng(1000 + case.seed))
    lint_mvu(_stream_params(case, acc_w))


def _prepare(c: Case, sim_cache: Path, tmp_path: Path, extra: dict | None = None):
    rng = np.random.default_rng(1000 + c.seed)
    w, x_codes, acc, acc_w, thr = _setup(c, rng)
    wvals, swap = _weight_file_values(c, w)
    # thresholds (and swap flags) stay on chip; the weights go to the stream file only
    write_mvu_mem_files(wvals, thr, c.PE, c.SIMD, c.W_W, acc_w, tmp_path / "mvu")
    (tmp_path / "mvu_weights.mem").unlink()
    wfile = write_mvu_weight_stream(wvals, c.PE, c.SIMD, c.W_W, tmp_path / "mvu")
    if swap is not None:
        write_swap_file(swap, c.PE, tmp_path / "mvu")
    params = {**_stream_params(c, acc_w), **(extra or {})}
    binary = vl.build(SRCS, "hw_mvu", params, sim_cache, cflags=vl.wstream_cflags(["w_"]))
    lw, in_beats, expected = stimulus_and_expected(c, x_codes, acc, acc_w, thr)
    return binary, in_beats, lw, expected, wfile, f"case {asdict(c)} params {params}"


@pytest.mark.parametrize("case", STREAM_CASES, ids=_id)
def test_mvu_stream(case: Case, sim_cache: Path, tmp_path: Path) -> None:
    c = case
    binary, in_beats, lw, expected, wfile, where = _prepare(c, sim_cache, tmp_path)
    sf, nf = -(-c.MW // c.SIMD), -(-c.MH // c.PE)
    wword = c.PE * c.SIMD * c.W_W
    runs = [  # (stall in/out, stall on the weight stream, seed)
        (0.0, 0.0, 1),
        (0.0, 0.5, 3 + c.seed),
        (0.5, 0.5, 5 + c.seed),
        (0.3, 0.8, 7 + c.seed),
    ]
    for stall, stall_w, seed in runs:
        res = vl.run(
            binary, in_beats, c.SIMD * c.IN_W, c.PE * lw, c.vectors * nf, tmp_path,
            stall_in=stall, stall_out=stall, seed=seed, wstreams=[(wfile, wword)],
            stall_w=stall_w,
        )  # fmt: skip
        lanes = vl.unpack_lanes(res.out, c.PE, lw, signed=not c.N_T)
        got = vl.beats_to_vectors(lanes, nf * c.PE)[:, : c.MH]
        what = f"{where} stall {stall} stall_w {stall_w}"
        assert np.array_equal(got, expected), f"{what}:\n{got}\n!=\n{expected}"
        # every vector consumed exactly its NF*SF words (the harness may have prefetched)
        assert res.w_beats == (c.vectors * nf * sf,), what
        if stall == 0.0 and stall_w == 0.0:  # as fast as the ROM form
            in_t = np.asarray(res.in_times).reshape(c.vectors, sf)
            out_t = np.asarray(res.out_times).reshape(c.vectors, nf)
            period = nf * sf
            assert set(np.diff(out_t, axis=0).ravel().tolist()) == {period}, what
            assert set(np.diff(in_t, axis=0).ravel().tolist()) == {period}, what
            assert out_t[0, 0] - in_t[0, -1] == LATENCY, what


@pytest.mark.parametrize("bw,latency", [(0.5, 0), (3.0, 40), (0.0, 25)])
def test_mvu_stream_slow_ddr(bw: float, latency: int, sim_cache: Path, tmp_path: Path) -> None:
    """A DDR model slower than the MVU: exact outputs, and the steady-state cycles per
    vector are the reader's time per pass, latency + words * bytes / bandwidth."""
    c = replace(CASES[7], vectors=12)  # XNOR 64x16, PE 4, SIMD 16: 16 words of 8 bytes
    binary, in_beats, lw, expected, wfile, where = _prepare(c, sim_cache, tmp_path)
    sf, nf = -(-c.MW // c.SIMD), -(-c.MH // c.PE)
    wword = c.PE * c.SIMD * c.W_W
    res = vl.run(
        binary, in_beats, c.SIMD * c.IN_W, c.PE * lw, c.vectors * nf, tmp_path,
        wstreams=[(wfile, wword)], ddr_bytes_per_cycle=bw, ddr_latency=latency,
    )  # fmt: skip
    lanes = vl.unpack_lanes(res.out, c.PE, lw, signed=not c.N_T)
    got = vl.beats_to_vectors(lanes, nf * c.PE)[:, : c.MH]
    assert np.array_equal(got, expected), where
    words, wbytes = nf * sf, -(-wword // 8)
    fetch = words * wbytes / bw if bw else words
    predicted = max(nf * sf, latency + fetch)
    ends = np.asarray(res.out_times).reshape(c.vectors, nf)[:, -1].astype(np.int64)
    period = float(np.diff(ends[2:]).mean())
    assert abs(period - predicted) <= 0.02 * predicted + 1, (period, predicted, where)
