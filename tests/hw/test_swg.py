"""hw_swg under Verilator against numpy im2col (pad with PAD_VALUE, slice the windows).

Each parameter set builds one simulator and streams several frames back to back:
without stalls (exact windows; cycles per frame equal to the row-level schedule of
halfwave.compiler.blocks.swg, and within 5% of its steady state; latency 3 from the input beat that
completes the first needed row) and with random stalls on both sides (exact windows).
Geometries cover kernels 1..7 and 11, strides 1..4 (also stride > kernel), asymmetric
padding 0..3, non-square images and kernels, kernel == padded image, output rows made of
padding alone, C not a power of two, SIMD = 1, C and in between, and the AlexNet conv1
(227x227x3, 11x11/4) and conv2 (27x27x96, 5x5 pad 2) geometries.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from halfwave.compiler.blocks.swg import swg_cycles_per_frame, swg_latency
from halfwave.compiler.codegen_rtl import block_sources
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
SRCS = [RTL / f for f in block_sources("hw_swg")]  # the block and the modules it uses


@dataclass(frozen=True)
class Case:
    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    PAD_T: int
    PAD_L: int
    PAD_B: int
    PAD_R: int
    SIMD: int
    W: int = 8
    PAD_VALUE: int = 0
    RAM_STYLE: str = "auto"
    MEM_PIPE: int = 0  # 1: the line buffer's word registered again (+1 latency)
    frames: int = 4  # frames of the no-stall run (the stalled runs use fewer when big)
    stall_frames: int = 3
    seed: int = 0


def _random_case(seed: int) -> Case:
    """A geometry drawn from the ranges the compiler may ask for (seeded)."""
    r = random.Random(seed)
    kh = r.choice([1, 2, 3, 4, 5, 7, 11])
    kw = r.choice([1, 2, 3, 5, 7]) if r.random() < 0.5 else kh
    sh, sw = r.randint(1, 4), r.randint(1, 4)
    pt, pl, pb, pr = (r.randint(0, 3) for _ in range(4))
    ih = r.randint(max(1, kh - pt - pb), kh + 9)
    iw = r.randint(max(1, kw - pl - pr), kw + 9)
    c = r.choice([3, 5, 6, 10])
    simd = r.choice([d for d in range(1, c + 1) if c % d == 0])
    return Case(c, ih, iw, kh, kw, sh, sw, pt, pl, pb, pr, simd, W=r.choice([2, 5, 8]),
                PAD_VALUE=r.randint(0, 3), seed=seed)  # fmt: skip


CASES = [
    # AlexNet conv1: 227x227x3, 11x11 stride 4, no padding, SIMD = C
    Case(3, 227, 227, 11, 11, 4, 4, 0, 0, 0, 0, 3, frames=2, stall_frames=1, seed=1),
    # AlexNet conv2: 27x27x96, 5x5 stride 1, padding 2, SIMD in between (3 beats/pixel)
    Case(96, 27, 27, 5, 5, 1, 1, 2, 2, 2, 2, 32, frames=2, stall_frames=1, seed=2),
    # 3x3 stride 1 "same" padding with a non-zero pad value, SIMD = 1, block RAM
    Case(6, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, W=4, PAD_VALUE=9, RAM_STYLE="block", seed=3),
    # 7x7 stride 2, asymmetric padding 3/2/1/0, non-square image, 2 beats per pixel
    # (pad value -1: a two's complement lane of all ones)
    Case(6, 13, 10, 7, 7, 2, 2, 3, 2, 1, 0, 3, W=5, PAD_VALUE=-1, seed=4),
    # non-square kernel 2x5, strides 4 (> kernel height) and 1, unused bottom rows
    Case(5, 14, 9, 2, 5, 4, 1, 0, 3, 2, 1, 5, W=3, PAD_VALUE=5, RAM_STYLE="distributed", seed=5),
    # kernel == padded image (one window), 11x11 on 9x10 padded 1/0/1/1
    Case(2, 9, 10, 11, 11, 3, 2, 1, 0, 1, 1, 1, W=6, PAD_VALUE=1, seed=6),
    # 1x1 kernel, stride 3 > kernel, padding 3: whole output rows of padding alone
    Case(4, 7, 8, 1, 1, 3, 3, 3, 2, 3, 1, 2, W=8, PAD_VALUE=200, frames=5, seed=7),
    # every window in the padding (a frame needs no input): the reader may not run ahead
    Case(3, 2, 3, 1, 1, 4, 4, 1, 1, 1, 2, 3, W=2, PAD_VALUE=2, frames=12, seed=8),
    # ... the ECP5's form: the block RAM's word registered again (latency 4), stride 2
    Case(6, 9, 7, 3, 3, 2, 1, 1, 1, 1, 1, 2, W=4, PAD_VALUE=9, RAM_STYLE="block", MEM_PIPE=1,
         seed=11),  # fmt: skip
    # random geometries (seeded)
    _random_case(9),
    _random_case(10),
]


def _case_id(c: Case) -> str:
    return (
        f"{c.IH}x{c.IW}x{c.C}-k{c.KH}x{c.KW}-s{c.SH}x{c.SW}"
        f"-p{c.PAD_T}{c.PAD_L}{c.PAD_B}{c.PAD_R}-simd{c.SIMD}"
    )


def _params(c: Case) -> dict[str, int | str]:
    p = asdict(c)
    for k in ("frames", "stall_frames", "seed"):
        del p[k]
    return p


def _timing_kwargs(c: Case) -> dict[str, int]:
    return {k.lower(): v for k, v in _params(c).items() if isinstance(v, int) and k != "MEM_PIPE"}


def reference_windows(img: np.ndarray, c: Case) -> np.ndarray:
    """(frames, IH, IW, C) -> (frames*OH*OW, KH*KW*C) lane codes: pad with PAD_VALUE
    (as a W-bit code), then slice every window; element (ky, kx, ch) of a window at
    (ky*KW + kx)*C + ch."""
    f, ih, iw, ch = img.shape
    pad_code = c.PAD_VALUE & ((1 << c.W) - 1)
    padded = np.full(
        (f, ih + c.PAD_T + c.PAD_B, iw + c.PAD_L + c.PAD_R, ch), pad_code, dtype=np.int64
    )
    padded[:, c.PAD_T : c.PAD_T + ih, c.PAD_L : c.PAD_L + iw] = img
    win = sliding_window_view(padded, (c.KH, c.KW), axis=(1, 2))[:, :: c.SH, :: c.SW]
    # (f, oy, ox, ch, ky, kx) -> (f, oy, ox, ky, kx, ch)
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, c.KH * c.KW * ch)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_swg_lint(case: Case) -> None:
    """Every tested parameter set is lint-clean under -Wall, not only the defaults."""
    gargs = [
        f'-G{k}="{v}"' if isinstance(v, str) else f"-G{k}={v}" for k, v in _params(case).items()
    ]
    cmd = ["verilator", "--lint-only", "-Wall", *gargs, *map(str, SRCS)]
    proc = subprocess.run(cmd, env=vl.verilator_env(), capture_output=True, text=True)
    report = "\n".join(ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%"))
    assert proc.returncode == 0 and not report, f"{' '.join(cmd)}\n{report}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_swg(case: Case, sim_cache: Path, tmp_path: Path) -> None:
    c = case
    params = _params(c)
    where = f"case {asdict(c)}"
    binary = vl.build(SRCS, "hw_swg", params, sim_cache)
    rng = np.random.default_rng(100 + c.seed)
    cf = c.C // c.SIMD
    width = c.SIMD * c.W

    def stream(frames: int):
        img = rng.integers(0, 1 << c.W, (frames, c.IH, c.IW, c.C))
        beats_in = vl.pack_lanes(vl.vectors_to_beats(img.reshape(-1, c.C), c.SIMD), c.W)
        expected = vl.vectors_to_beats(reference_windows(img, c), c.SIMD)
        return beats_in, expected

    # no stalls: exact windows, cycles per frame, latency
    beats_in, expected = stream(c.frames)
    res = vl.run(binary, beats_in, width, width, len(expected), tmp_path)
    got = vl.unpack_lanes(res.out, c.SIMD, c.W, signed=False)
    assert np.array_equal(got, expected), f"{where} no stalls: windows differ"

    per_frame = len(expected) // c.frames
    starts = res.out_times[::per_frame].astype(np.int64)
    measured = int(starts[-1] - starts[-2])
    kw = _timing_kwargs(c)
    steady = swg_cycles_per_frame(**kw)
    print(f"{_case_id(c)}: {measured} cycles/frame simulated, {steady} predicted, "
          f"{res.cycles_per_s / 1e6:.2f} Mcycles/s")  # fmt: skip
    assert abs(measured - steady) <= 0.05 * steady, f"{where}: {measured} vs model {steady}"
    # the row-level schedule is cycle-exact for the same number of frames
    assert measured == swg_cycles_per_frame(**kw, frames=c.frames), where
    # latency: first output beat after the input beat completing the rows it needs
    need_rows = min(c.KH - c.PAD_T, c.IH)
    if need_rows > 0:
        last_in = res.in_times[need_rows * c.IW * cf - 1]
        assert int(res.out_times[0] - last_in) == swg_latency(c.MEM_PIPE), where

    # random stalls on both sides (and a mostly-blocked consumer): exact windows
    beats_in, expected = stream(c.stall_frames)
    for stall_in, stall_out, seed in ((0.5, 0.5, 11 + c.seed), (0.2, 0.8, 12 + c.seed)):
        if stall_out > 0.5 and len(expected) > 100_000:
            continue  # the big geometries: one stalled run is enough
        res = vl.run(
            binary, beats_in, width, width, len(expected), tmp_path,
            stall_in=stall_in, stall_out=stall_out, seed=seed,
        )  # fmt: skip
        got = vl.unpack_lanes(res.out, c.SIMD, c.W, signed=False)
        assert np.array_equal(got, expected), f"{where} stalls {stall_in}/{stall_out} seed {seed}"


def test_swg_refuses_illegal_parameters(sim_cache: Path, tmp_path: Path) -> None:
    """SIMD not dividing C stops the simulation at time 0 with the check's message."""
    base = Case(6, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, W=2)
    binary = vl.build(SRCS, "hw_swg", _params(base), sim_cache)
    beats = vl.pack_lanes(np.zeros((2, 4), np.int64), 2)
    with pytest.raises(vl.SimError, match=r"ERROR: \S*hw_swg: SIMD=4 must divide C=6"):
        vl.run(binary, beats, 8, 8, 2, tmp_path, max_idle=100)
