"""Every HLS block template (hw/hls) against a direct numpy reference, in C simulation.

Each group of block configurations (template instantiations, listed below with fixed
seeds) compiles into one binary (blocks_tb.cpp + a generated cases.h), built twice: with
HALFWAVE_FAST_CSIM (the native-integer paths halfwave's own C simulation uses) and
without (the ap_int code Vitis HLS synthesises). Each configuration then runs on random
parameters and inputs (seeded), several frames back to back; padding lanes of the
input hold random junk, so masking is checked too. Parameters are packed by
halfwave.compiler.blocks.mvu through codegen_hls, as the generated headers are.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler.blocks.avgpool import AvgPool, sum_dtype
from halfwave.compiler.codegen_hls import mvu_swap_flags, mvu_threshold_values, mvu_weight_lanes
from halfwave.compiler.datatypes import DataType
from halfwave.compiler.ir import MVU
from halfwave.sim import hls
from halfwave.sim import verilator as vl

HERE = Path(__file__).resolve().parent
FRAMES = 3

pytestmark = pytest.mark.skipif(not hls.available(), reason="g++ or hls4ml's ap_int.h missing")


def _smallest_signed_bits(lo: int, hi: int) -> int:
    b = 1
    while not (-(1 << (b - 1)) <= lo and hi < (1 << (b - 1))):
        b += 1
    return b


def _beats(values: np.ndarray, lanes: int, width: int, junk_rng=None) -> np.ndarray:
    """(n_vec, count) lane codes -> beat bytes; tail lanes random junk when junk_rng."""
    values = np.asarray(values, dtype=np.int64)
    beats = vl.vectors_to_beats(values, lanes)
    if junk_rng is not None and values.shape[1] % lanes:
        tail = values.shape[1] % lanes
        per = -(-values.shape[1] // lanes)
        last = np.arange(per - 1, len(beats), per)
        beats[np.ix_(last, np.arange(tail, lanes))] = junk_rng.integers(
            0, 1 << width, (len(last), lanes - tail)
        )
    return vl.pack_lanes(beats, width)


def _out(path: Path, lanes: int, width: int, count: int, signed: bool) -> np.ndarray:
    nbytes = -(-(lanes * width) // 8)
    data = np.fromfile(path, dtype=np.uint8).reshape(-1, nbytes)
    return vl.beats_to_vectors(vl.unpack_lanes(data, lanes, width, signed), count)


# ---------------------------------------------------------------- MVU


@dataclass(frozen=True)
class MvuCase:
    MW: int
    MH: int
    PE: int
    SIMD: int
    mode: str  # xnor | signsel | mac | ternary
    in_dtype: str
    w_bits: int = 1  # mac: weight bits
    n_t: int = 0
    out_bias: int = 0
    out_w: int = 1
    vectors: int = 1
    wp: int = 1
    wn: int = 1
    acc_extra: int = 0
    seed: int = 0

    @property
    def in_w(self) -> int:
        return 1 if self.in_dtype == "BIPOLAR" else int(self.in_dtype.lstrip("UINT"))

    @property
    def in_signed(self) -> bool:
        return self.in_dtype.startswith("INT")

    @property
    def w_w(self) -> int:
        return {"xnor": 1, "signsel": 1, "ternary": 2}.get(self.mode, self.w_bits)

    def x_range(self) -> tuple[int, int]:
        if self.in_dtype == "BIPOLAR":
            return -1, 1
        if self.in_signed:
            return -(1 << (self.in_w - 1)), (1 << (self.in_w - 1)) - 1
        return 0, (1 << self.in_w) - 1

    def node(self, rng: np.random.Generator) -> MVU:
        mh, mw = self.MH, self.MW
        if self.mode in ("xnor", "signsel"):
            w = rng.choice([-1, 1], (mh, mw))
        elif self.mode == "ternary":  # IR values: codes scaled by (p, n), (n, p) if negated
            codes = rng.choice([-1, 0, 1], (mh, mw))
            negated = rng.random(mh) < 0.4
            kp = np.where(negated, self.wn, self.wp)[:, None]
            kn = np.where(negated, self.wp, self.wn)[:, None]
            w = np.where(codes == 1, kp, np.where(codes == -1, -kn, 0))
        else:
            w = rng.integers(-(1 << (self.w_bits - 1)), 1 << (self.w_bits - 1), (mh, mw))
        if self.mode == "xnor":
            lo, hi = 0, mw
        else:
            xl, xh = self.x_range()
            lo = int(np.minimum(w * xl, w * xh).sum(axis=1).min())
            hi = int(np.maximum(w * xl, w * xh).sum(axis=1).max())
        thr = None
        if self.n_t:
            thr = np.sort(rng.integers(lo - 2, hi + 3, (mh, self.n_t)), axis=1)
        bits = _smallest_signed_bits(lo, hi + 3) + self.acc_extra
        if self.n_t:
            out_dtype = "BIPOLAR" if self.out_w == 1 and self.mode == "xnor" else (
                f"INT{self.out_w}" if self.out_bias < 0 else f"UINT{self.out_w}")  # fmt: skip
        else:
            out_dtype = None
        return MVU(
            name="m",
            MW=mw,
            MH=mh,
            mode=self.mode,
            in_dtype=self.in_dtype,
            weight_dtype="BIPOLAR" if self.w_w == 1 else f"INT{self.w_w}",
            acc_lo=-(1 << (bits - 1)),
            acc_hi=(1 << (bits - 1)) - 2,
            out_dtype=out_dtype,
            out_base=self.out_bias,
            PE=self.PE,
            SIMD=self.SIMD,
            weights=w.astype(np.int64),
            thresholds=thr,
            negated_rows=[int(r) for r in np.flatnonzero(negated)]
            if self.mode == "ternary"
            else [],
            vectors=self.vectors,
            ternary=[self.wp, self.wn] if self.mode == "ternary" else None,
        )

    def template(self) -> str:
        n = self.node(np.random.default_rng(self.seed))
        modes = {"xnor": 0, "signsel": 1, "mac": 2, "ternary": 3}
        return (
            f"run_mvu<{self.MW}, {self.MH}, {self.PE}, {self.SIMD}, {modes[self.mode]}, "
            f"{self.in_w}, {int(self.in_signed)}, {self.w_w}, {n.acc_bits}, {self.n_t}, "
            f"{self.out_w}, {self.out_bias}, {self.vectors}, {self.wp}, {self.wn}>"
        )

    def run(self, binary: Path, idx: int, d: Path) -> None:
        rng = np.random.default_rng(self.seed)
        n = self.node(rng)
        acc_w = n.acc_bits
        lo, hi = self.x_range()
        xs = rng.integers(lo, hi + 1, (FRAMES * self.vectors, self.MW))
        if self.in_dtype == "BIPOLAR":
            xs = np.where(xs >= 0, 1, -1)
        lanes = (xs > 0).astype(np.int64) if self.in_dtype == "BIPOLAR" else xs
        _beats(lanes, self.SIMD, self.in_w, rng).tofile(d / "in.bin")
        w_lanes = mvu_weight_lanes(n)
        vl.pack_lanes(w_lanes.reshape(-1, self.SIMD), self.w_w).tofile(d / "weights.bin")
        if self.n_t:
            t = mvu_threshold_values(n).reshape(-1, 1)
        else:
            t = np.zeros((self.PE * n.NF, 1), np.int64)
        vl.pack_lanes(t, acc_w).tofile(d / "thresholds.bin")
        vl.pack_lanes(mvu_swap_flags(n).reshape(-1, 1), 8).tofile(d / "swap.bin")
        _run(binary, idx, d)

        w = n.weights
        if self.mode == "xnor":
            acc = (xs[:, None, :] == w[None, :, :]).sum(axis=2)
        else:  # the IR's integer weights (ternary: codes times the row's scales)
            acc = xs @ w.T
        if self.n_t:
            want = (acc[:, :, None] >= n.thresholds[None]).sum(axis=2) + self.out_bias
            got = _out(d / "out.bin", self.PE, self.out_w, self.MH, self.out_bias < 0)
        else:
            want = acc
            got = _out(d / "out.bin", self.PE, acc_w, self.MH, True)
        _check(self, got, want)


MVU_CASES = [
    MvuCase(20, 10, 3, 6, "xnor", "BIPOLAR", seed=1),  # PE, SIMD divide neither
    MvuCase(32, 8, 8, 32, "xnor", "BIPOLAR", n_t=1, seed=2),  # BNN sign, one cycle
    MvuCase(13, 9, 2, 5, "signsel", "UINT2", n_t=3, out_w=2, seed=3),
    MvuCase(7, 5, 1, 1, "signsel", "INT4", acc_extra=1, seed=4),
    MvuCase(11, 6, 4, 3, "mac", "INT8", w_bits=8, seed=5),
    MvuCase(18, 7, 7, 6, "mac", "UINT3", w_bits=2, n_t=3, out_bias=-2, out_w=2, seed=6),
    MvuCase(64, 16, 4, 64, "signsel", "UINT2", n_t=3, out_w=2, seed=7),  # 128-bit beats
    MvuCase(30, 12, 5, 20, "mac", "UINT8", w_bits=4, vectors=3, seed=8),  # 80-bit words
    MvuCase(9, 6, 3, 4, "mac", "INT8", w_bits=8, acc_extra=24, seed=9),  # 40-bit acc
    MvuCase(21, 9, 3, 7, "ternary", "UINT2", wp=3, wn=2, seed=10),
    MvuCase(16, 10, 5, 8, "ternary", "INT4", wp=1, wn=5, n_t=7, out_w=3, seed=11),
    MvuCase(100, 3, 3, 100, "xnor", "BIPOLAR", vectors=4, seed=12),  # 100-bit beats
]


def _random_mvu_cases(n: int, seed: int) -> list[MvuCase]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        mode = str(rng.choice(["xnor", "signsel", "mac", "ternary"]))
        mw, mh = int(rng.integers(1, 41)), int(rng.integers(1, 21))
        in_dtype = "BIPOLAR" if mode == "xnor" else str(
            rng.choice(["UINT1", "UINT2", "UINT4", "INT2", "INT8"]))  # fmt: skip
        n_t = int(rng.choice([0, 1, 3]))
        out_w = 1 if n_t <= 1 else 2
        out_bias = -2 if (n_t == 3 and rng.random() < 0.5) else 0
        out_w = 2 if out_bias else out_w
        out.append(
            MvuCase(
                mw,
                mh,
                int(rng.integers(1, mh + 1)),
                int(rng.integers(1, mw + 1)),
                mode,
                in_dtype,
                w_bits=int(rng.integers(2, 9)),
                n_t=n_t,
                out_bias=out_bias,
                out_w=out_w,
                vectors=int(rng.integers(1, 3)),
                wp=int(rng.integers(1, 4)),
                wn=int(rng.integers(1, 4)),
                seed=100 + i,
            )  # fmt: skip
        )
    return out


# ---------------------------------------------------------------- TopK, repack, SWG, pool


@dataclass(frozen=True)
class TopKCase:
    N: int
    PE: int
    ACC_W: int
    K: int
    seed: int = 0

    @property
    def idx_w(self) -> int:
        return max(1, (self.N - 1).bit_length())

    def template(self) -> str:
        return f"run_topk<{self.N}, {self.PE}, {self.ACC_W}, {self.K}, {self.idx_w}>"

    def run(self, binary: Path, idx: int, d: Path) -> None:
        rng = np.random.default_rng(self.seed)
        span = min(1 << (self.ACC_W - 1), 4)  # small range: many ties
        x = rng.integers(-span, span, (FRAMES, self.N))
        x[0] = rng.integers(-(1 << (self.ACC_W - 1)), 1 << (self.ACC_W - 1), self.N)
        _beats(x, self.PE, self.ACC_W, rng).tofile(d / "in.bin")
        _run(binary, idx, d)
        got = _out(d / "out.bin", 1, self.idx_w, self.K, False)
        _check(self, got, np.argsort(-x, axis=1, kind="stable")[:, : self.K])


@dataclass(frozen=True)
class RepackCase:
    in_lanes: int
    in_lw: int
    out_lanes: int
    out_lw: int
    count: int
    signed: int
    vectors: int = 1
    seed: int = 0

    def template(self) -> str:
        return (
            f"run_repack<{self.in_lanes}, {self.in_lw}, {self.out_lanes}, {self.out_lw}, "
            f"{self.count}, {self.signed}, {self.vectors}>"
        )

    def run(self, binary: Path, idx: int, d: Path) -> None:
        rng = np.random.default_rng(self.seed)
        codes = rng.integers(0, 1 << self.in_lw, (FRAMES * self.vectors, self.count))
        _beats(codes, self.in_lanes, self.in_lw, rng).tofile(d / "in.bin")
        _run(binary, idx, d)
        if self.out_lw > self.in_lw and self.signed:
            neg = codes >= (1 << (self.in_lw - 1))
            want = np.where(neg, codes - (1 << self.in_lw), codes) & ((1 << self.out_lw) - 1)
        else:
            want = codes & ((1 << self.out_lw) - 1)
        nbytes = -(-(self.out_lanes * self.out_lw) // 8)
        data = np.fromfile(d / "out.bin", dtype=np.uint8).reshape(-1, nbytes)
        got = vl.unpack_lanes(data, self.out_lanes, self.out_lw, False)
        _check(self, got, vl.vectors_to_beats(want, self.out_lanes))  # tails must be 0


@dataclass(frozen=True)
class SwgCase:
    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    pads: tuple[int, int, int, int]
    SIMD: int
    W: int
    pad: int = 0
    seed: int = 0

    @property
    def OH(self) -> int:
        return (self.IH + self.pads[0] + self.pads[2] - self.KH) // self.SH + 1

    @property
    def OW(self) -> int:
        return (self.IW + self.pads[1] + self.pads[3] - self.KW) // self.SW + 1

    def template(self) -> str:
        t, left, b, r = self.pads
        return (
            f"run_swg<{self.C}, {self.IH}, {self.IW}, {self.KH}, {self.KW}, {self.SH}, "
            f"{self.SW}, {t}, {left}, {b}, {r}, {self.SIMD}, {self.W}, {self.pad}>"
        )

    def run(self, binary: Path, idx: int, d: Path) -> None:
        rng = np.random.default_rng(self.seed)
        img = rng.integers(0, 1 << self.W, (FRAMES, self.IH, self.IW, self.C))
        _beats(img.reshape(-1, self.C), self.SIMD, self.W).tofile(d / "in.bin")
        _run(binary, idx, d)
        t, left, b, r = self.pads
        padded = np.full((FRAMES, self.IH + t + b, self.IW + left + r, self.C), self.pad)
        padded[:, t : t + self.IH, left : left + self.IW] = img
        win = np.empty((FRAMES, self.OH, self.OW, self.KH, self.KW, self.C), np.int64)
        for oy in range(self.OH):
            for ox in range(self.OW):
                y, x = oy * self.SH, ox * self.SW
                win[:, oy, ox] = padded[:, y : y + self.KH, x : x + self.KW]
        n_out = self.KH * self.KW * self.C
        got = _out(d / "out.bin", self.SIMD, self.W, n_out, False)
        _check(self, got, win.reshape(-1, n_out))


@dataclass(frozen=True)
class PoolCase:
    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    PE: int
    W: int
    signed: int
    min_frac: float = 0.0
    seed: int = 0

    def template(self) -> str:
        return (
            f"run_maxpool<{self.C}, {self.IH}, {self.IW}, {self.KH}, {self.KW}, {self.SH}, "
            f"{self.SW}, {self.PE}, {self.W}, {self.signed}>"
        )

    def run(self, binary: Path, idx: int, d: Path) -> None:
        rng = np.random.default_rng(self.seed)
        lo, hi = (-(1 << (self.W - 1)), 1 << (self.W - 1)) if self.signed else (0, 1 << self.W)
        img = rng.integers(lo, hi, (FRAMES, self.IH, self.IW, self.C))
        minc = rng.random(self.C) < self.min_frac
        vl.pack_lanes(minc.astype(np.int64)[:, None], 8).tofile(d / "min_channels.bin")
        _beats(img.reshape(-1, self.C), self.PE, self.W).tofile(d / "in.bin")
        _run(binary, idx, d)
        oh, ow = (self.IH - self.KH) // self.SH + 1, (self.IW - self.KW) // self.SW + 1
        want = np.empty((FRAMES, oh, ow, self.C), np.int64)
        for oy in range(oh):
            for ox in range(ow):
                y, x = oy * self.SH, ox * self.SW
                blk = img[:, y : y + self.KH, x : x + self.KW].reshape(FRAMES, -1, self.C)
                want[:, oy, ox] = np.where(minc, blk.min(axis=1), blk.max(axis=1))
        got = _out(d / "out.bin", self.PE, self.W, self.C, bool(self.signed))
        _check(self, got, want.reshape(-1, self.C))


@dataclass(frozen=True)
class AvgPoolCase:
    """hw_avgpool: window sums, compared with a direct loop over the windows."""

    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    PE: int
    dtype: str
    seed: int = 0

    @property
    def block(self) -> AvgPool:
        dt = DataType.parse(self.dtype)
        return AvgPool("p", self.C, self.IH, self.IW, self.KH, self.KW, self.SH, self.SW, dt,
                       sum_dtype(dt, self.KH * self.KW), self.PE)  # fmt: skip

    def template(self) -> str:
        return f"run_avgpool<{', '.join(str(v) for _, v in self.block.rtl().params)}>"

    def run(self, binary: Path, idx: int, d: Path) -> None:
        rng = np.random.default_rng(self.seed)
        blk, dt = self.block, DataType.parse(self.dtype)
        if dt.kind == "BIPOLAR":
            img = rng.choice([-1, 1], (FRAMES, self.IH, self.IW, self.C))
        else:
            img = rng.integers(dt.min, dt.max + 1, (FRAMES, self.IH, self.IW, self.C))
        lanes = (img > 0).astype(np.int64) if dt.kind == "BIPOLAR" else img
        _beats(lanes.reshape(-1, self.C), self.PE, blk.in_format().width).tofile(d / "in.bin")
        _run(binary, idx, d)
        want = np.empty((FRAMES, blk.OH, blk.OW, self.C), np.int64)
        for oy in range(blk.OH):
            for ox in range(blk.OW):
                y, x = oy * self.SH, ox * self.SW
                want[:, oy, ox] = img[:, y : y + self.KH, x : x + self.KW].sum(axis=(1, 2))
        fmt = blk.out_format()
        got = _out(d / "out.bin", self.PE, fmt.width, self.C, fmt.signed)
        _check(self, got, want.reshape(-1, self.C))


PIXEL_CASES: list = [
    TopKCase(10, 1, 16, 1, seed=1),
    TopKCase(10, 3, 5, 3, seed=2),
    TopKCase(7, 7, 3, 7, seed=3),  # K == N, one beat
    TopKCase(1, 1, 4, 1, seed=4),
    TopKCase(13, 4, 40, 5, seed=5),  # 160-bit beats, 40-bit values
    RepackCase(8, 8, 64, 8, 64, 0, seed=1),  # bus -> SIMD
    RepackCase(5, 8, 8, 8, 10, 1, seed=2),  # PE -> bus
    RepackCase(3, 4, 2, 7, 11, 1, seed=3),  # widen, sign-extend
    RepackCase(3, 4, 2, 7, 11, 0, seed=4),  # widen, zero-extend
    RepackCase(7, 12, 3, 5, 20, 1, vectors=3, seed=5),  # narrow (keep low bits)
    RepackCase(4, 6, 4, 9, 9, 1, vectors=2, seed=6),  # same lanes, wider
    RepackCase(1, 1, 1, 8, 5, 0, seed=7),
    RepackCase(64, 2, 16, 2, 64, 0, seed=8),
    RepackCase(2, 3, 3, 3, 1, 0, seed=9),  # count 1
    SwgCase(3, 6, 5, 3, 3, 1, 1, (0, 0, 0, 0), 3, 8, seed=1),
    SwgCase(4, 7, 7, 3, 3, 2, 2, (1, 1, 1, 1), 2, 2, pad=0, seed=2),
    SwgCase(2, 9, 8, 2, 3, 3, 2, (2, 0, 1, 3), 1, 4, pad=5, seed=3),  # asymmetric pads
    SwgCase(6, 5, 5, 1, 1, 1, 1, (0, 0, 0, 0), 6, 1, seed=4),  # 1x1
    SwgCase(8, 4, 4, 4, 4, 1, 1, (0, 0, 0, 0), 4, 3, seed=5),  # kernel = image
    SwgCase(2, 11, 11, 5, 5, 4, 4, (2, 2, 2, 2), 2, 1, pad=1, seed=6),  # stride < kernel
    SwgCase(1, 10, 9, 2, 2, 4, 3, (0, 0, 0, 0), 1, 2, seed=7),  # stride > kernel
    PoolCase(4, 6, 6, 2, 2, 2, 2, 2, 2, 0, seed=1),
    PoolCase(3, 7, 7, 3, 3, 2, 2, 3, 4, 1, min_frac=0.5, seed=2),  # overlapping, signed
    PoolCase(8, 5, 6, 2, 2, 2, 2, 4, 1, 0, min_frac=0.3, seed=3),  # bipolar, drops edge
    PoolCase(6, 9, 9, 3, 3, 3, 3, 1, 8, 1, min_frac=1.0, seed=4),
    PoolCase(2, 4, 4, 4, 4, 1, 1, 2, 3, 0, seed=5),  # global pool
    AvgPoolCase(6, 8, 8, 2, 2, 2, 2, 3, "UINT2", seed=1),
    AvgPoolCase(4, 5, 7, 5, 7, 5, 7, 4, "INT3", seed=2),  # global
    AvgPoolCase(3, 6, 6, 6, 6, 6, 6, 1, "BIPOLAR", seed=3),  # global of +-1
    AvgPoolCase(10, 11, 13, 2, 3, 3, 4, 5, "INT4", seed=4),  # gaps between windows
    AvgPoolCase(8, 9, 9, 3, 3, 3, 3, 8, "UINT8", seed=5),  # sums up to 9*255
]

GROUPS = {"mvu": MVU_CASES + _random_mvu_cases(8, seed=2024), "pixel": PIXEL_CASES}


# ---------------------------------------------------------------- driver


def _run(binary: Path, idx: int, d: Path) -> None:
    proc = subprocess.run([str(binary), str(idx), str(d), str(FRAMES)], capture_output=True)
    assert proc.returncode == 0, f"case {idx}: exit {proc.returncode}: {proc.stderr.decode()}"


def _check(case, got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape, f"{case}: shape {got.shape} != {want.shape}"
    bad = np.argwhere(got != want)
    assert not len(bad), f"{case}: {len(bad)} mismatches, first at {tuple(bad[0])}: " + (
        f"got {got[tuple(bad[0])]}, want {want[tuple(bad[0])]}"
    )


def _binary(group: str, fast: bool, gen: Path) -> Path:
    gen.mkdir(parents=True, exist_ok=True)
    lines = [f"case {i}: return {c.template()}(dir, frames);" for i, c in enumerate(GROUPS[group])]
    (gen / "cases.h").write_text(
        f"// generated by tests/hw/hls/test_blocks.py ({group})\n#define HALFWAVE_CASES \\\n    "
        + " \\\n    ".join(lines)
        + "\n"
    )
    return hls.build(
        [HERE / "blocks_tb.cpp"],
        [gen, hls.hls_lib_dir()],
        Path(os.environ["HALFWAVE_SIM_CACHE"]),  # tests/conftest.py sets it
        defines=("HALFWAVE_FAST_CSIM",) if fast else (),
        name=f"blocks_{group}",
    )


@pytest.mark.parametrize("fast", [True, False], ids=["fast-csim", "ap_int"])
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_blocks_match_numpy(tmp_path, group, fast):
    binary = _binary(group, fast, tmp_path / "gen")
    for idx, case in enumerate(GROUPS[group]):
        d = tmp_path / f"case{idx}"
        d.mkdir()
        case.run(binary, idx, d)
