"""hw_avgpool under Verilator against numpy (the sum of every KH x KW window at stride SH,
SW >= the window) and against the golden model of compiler.blocks.avgpool.

Each parameter set streams several frames back to back: without stalls (exact outputs;
one input beat every cycle, IH*IW*C/PE cycles per frame as the cycle model says; every
output beat exactly 2 cycles after the last input beat of its window) and with random
stalls on both sides (exact outputs). Geometries cover 2x2/2, a global pool (one window
of the whole image, one-word banks as registers), stride > kernel with unused rows and
columns, non-square windows, 1x1, signed, unsigned and bipolar lanes, PE = 1, C and in
between, and sums that need every bit of OUT_W.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler.blocks.avgpool import (
    AvgPool,
    avgpool_cycles_per_frame,
    avgpool_latency,
    sum_dtype,
)
from halfwave.compiler.codegen_rtl import block_sources
from halfwave.compiler.datatypes import BIPOLAR, DataType
from halfwave.compiler.errors import CompileError
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
SRCS = [RTL / f for f in block_sources("hw_avgpool")]


@dataclass(frozen=True)
class Case:
    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    PE: int
    dtype: str = "UINT2"
    RAM_STYLE: str = "auto"
    frames: int = 4
    seed: int = 0

    @property
    def block(self) -> AvgPool:
        dt = DataType.parse(self.dtype)
        return AvgPool("pool", self.C, self.IH, self.IW, self.KH, self.KW, self.SH, self.SW,
                       dt, sum_dtype(dt, self.KH * self.KW), self.PE)  # fmt: skip


CASES = [
    Case(6, 8, 8, 2, 2, 2, 2, 2, seed=1),  # 2x2/2, 3 beats per pixel
    Case(4, 5, 7, 5, 7, 5, 7, 4, "INT3", RAM_STYLE="block", seed=2),  # global, CF = 1
    Case(3, 6, 6, 6, 6, 6, 6, 1, "BIPOLAR", seed=3),  # global of +-1, 3 beats a pixel
    Case(10, 11, 13, 2, 3, 3, 4, 5, "INT4", RAM_STYLE="distributed", seed=4),  # gaps
    Case(2, 4, 5, 1, 1, 1, 1, 1, "UINT8", frames=3, seed=5),  # 1x1: OUT_W == W
    Case(8, 9, 9, 3, 3, 3, 3, 8, "UINT8", seed=6),  # 3x3/3, sums up to 9*255
    Case(5, 7, 6, 3, 2, 4, 2, 1, "INT8", seed=7),  # non-square, partial last window rows
]


def _case_id(c: Case) -> str:
    return f"{c.IH}x{c.IW}x{c.C}-k{c.KH}x{c.KW}-s{c.SH}x{c.SW}-pe{c.PE}-{c.dtype}"


def _params(c: Case) -> dict[str, int | str]:
    inst = c.block.rtl()
    return {**{k: int(v) for k, v in inst.params}, "RAM_STYLE": c.RAM_STYLE}


def reference_sums(img: np.ndarray, c: Case) -> np.ndarray:
    """(frames, IH, IW, C) -> (frames, OH, OW, C): the sum over each window, directly."""
    oh, ow = (c.IH - c.KH) // c.SH + 1, (c.IW - c.KW) // c.SW + 1
    out = np.zeros((len(img), oh, ow, c.C), np.int64)
    for oy in range(oh):
        for ox in range(ow):
            y, x = oy * c.SH, ox * c.SW
            out[:, oy, ox] = img[:, y : y + c.KH, x : x + c.KW].sum(axis=(1, 2))
    return out


def _image(c: Case) -> np.ndarray:
    dt = DataType.parse(c.dtype)
    rng = np.random.default_rng(100 + c.seed)
    if dt == BIPOLAR:
        return rng.choice([-1, 1], (c.frames, c.IH, c.IW, c.C))
    img = rng.integers(dt.min, dt.max + 1, (c.frames, c.IH, c.IW, c.C))
    img[0] = dt.max  # extreme sums: every bit of OUT_W
    img[1] = dt.min
    return img


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_golden_model_is_the_window_sum(case: Case) -> None:
    img = _image(case)
    got = case.block.run(img.reshape(case.frames, -1))
    assert np.array_equal(got, reference_sums(img, case).reshape(case.frames, -1))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_avgpool(case: Case, sim_cache: Path, tmp_path: Path) -> None:
    c, blk = case, case.block
    where = f"case {asdict(c)}"
    binary = vl.build(SRCS, "hw_avgpool", _params(c), sim_cache)
    img = _image(c)
    lanes = vl.vectors_to_beats(img.reshape(-1, c.C), c.PE)
    w_in = blk.in_format().width
    w_out = blk.out_format().width
    beats_in = vl.pack_lanes((lanes > 0).astype(np.int64) if c.dtype == "BIPOLAR" else lanes,
                             w_in)  # fmt: skip
    sums = reference_sums(img, c)
    expected = vl.vectors_to_beats(sums.reshape(-1, c.C), c.PE)
    signed = blk.out_format().signed
    width_in, width_out = c.PE * w_in, c.PE * w_out

    res = vl.run(binary, beats_in, width_in, width_out, len(expected), tmp_path)
    got = vl.unpack_lanes(res.out, c.PE, w_out, signed=signed)
    assert np.array_equal(got, expected), f"{where} no stalls"
    in_t = res.in_times.astype(np.int64)
    assert np.array_equal(in_t, np.arange(len(in_t))), f"{where}: input not taken every cycle"
    cf = c.C // c.PE
    per_frame = c.IH * c.IW * cf
    model = avgpool_cycles_per_frame(c=c.C, ih=c.IH, iw=c.IW, pe=c.PE)
    assert model == blk.cycles_per_frame() == per_frame
    if len(in_t) > per_frame * (c.frames - 1):
        measured = int(in_t[per_frame * (c.frames - 1)] - in_t[per_frame * (c.frames - 2)])
        assert measured == model, f"{where}: {measured} vs model {model}"
    f, oy, ox, g = np.meshgrid(
        np.arange(c.frames), np.arange(sums.shape[1]), np.arange(sums.shape[2]),
        np.arange(cf), indexing="ij",
    )  # fmt: skip
    src = ((f * c.IH + oy * c.SH + c.KH - 1) * c.IW + ox * c.SW + c.KW - 1) * cf + g
    lat = res.out_times.astype(np.int64) - in_t[src.ravel()]
    assert set(lat.tolist()) == {avgpool_latency()}, f"{where}: latencies {set(lat.tolist())}"

    for stall_in, stall_out, seed in ((0.5, 0.5, 11 + c.seed), (0.1, 0.9, 12 + c.seed)):
        res = vl.run(
            binary, beats_in, width_in, width_out, len(expected), tmp_path,
            stall_in=stall_in, stall_out=stall_out, seed=seed,
        )  # fmt: skip
        got = vl.unpack_lanes(res.out, c.PE, w_out, signed=signed)
        assert np.array_equal(got, expected), f"{where} stalls {stall_in}/{stall_out} seed {seed}"


def test_avgpool_refuses_overlapping_windows(sim_cache: Path, tmp_path: Path) -> None:
    """Stride below the window stops the simulation at time 0 with its message, and the
    block's check names the node."""
    params = dict(C=2, IH=6, IW=6, KH=3, KW=3, SH=2, SW=2, PE=2, W=2, OUT_W=6)
    binary = vl.build(SRCS, "hw_avgpool", params, sim_cache)
    beats = vl.pack_lanes(np.zeros((8, 2), np.int64), 2)
    msg = r"ERROR: \S*hw_avgpool: strides SH=2, SW=2 must be >= the window KH=3, KW=3"
    with pytest.raises(vl.SimError, match=msg):
        vl.run(binary, beats, 4, 12, 1, tmp_path, max_idle=100)
    blk = AvgPool("p7", 2, 6, 6, 3, 3, 2, 2, "UINT2", "UINT6", 2)
    with pytest.raises(CompileError, match="node 'p7': average-pool windows overlap"):
        blk.check()
    with pytest.raises(CompileError, match="cannot hold a sum of 9 UINT2 values"):
        AvgPool("p8", 2, 6, 6, 3, 3, 3, 3, "UINT2", "UINT4", 2).check()


@pytest.mark.parametrize("idx", [0, 2])
def test_avgpool_recovers_from_reset_mid_frame(idx, sim_cache: Path, tmp_path: Path) -> None:
    """Reset after half a frame and a beat (tests/hw/test_reset.py's wrapper): the next
    whole frames are exact, with and without stalls."""
    from test_reset import SHARED, _run_both, reset_wrapper

    c = CASES[idx]
    blk = c.block
    img = _image(c)[:2]
    lanes = vl.vectors_to_beats(img.reshape(-1, c.C), c.PE)
    w_in, w_out = blk.in_format().width, blk.out_format().width
    beats = vl.pack_lanes((lanes > 0).astype(np.int64) if c.dtype == "BIPOLAR" else lanes, w_in)
    expected = vl.vectors_to_beats(reference_sums(img, c).reshape(-1, c.C), c.PE)
    after = (c.IH * c.IW * c.C // c.PE) // 2 + 1
    junk = np.random.default_rng(80 + idx).integers(0, 256, (after, beats.shape[1]), np.uint8)
    in_w, out_w = c.PE * w_in, c.PE * w_out
    tb = reset_wrapper("hw_avgpool", _params(c), in_w, out_w, after, tmp_path / "tb.v")
    binary = vl.build([RTL / "hw_avgpool.v", *SHARED, tb], "reset_tb", {}, sim_cache)
    for out in _run_both(binary, np.vstack([junk, beats]), in_w, out_w, len(expected), tmp_path):
        got = vl.unpack_lanes(out, c.PE, w_out, signed=blk.out_format().signed)
        assert np.array_equal(got, expected), f"{c}"
