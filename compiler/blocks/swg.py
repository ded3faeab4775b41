"""hw_swg: the sliding-window generator (im2col on a stream) in front of a convolution.

Sliding-window generator (hw_swg)
---------------------------------
Notation: CF = C/SIMD beats per pixel, OH = (IH+PAD_T+PAD_B-KH)//SH + 1,
OW = (IW+PAD_L+PAD_R-KW)//SW + 1, NR = KH+SH line-buffer rows,
T_W = IW*CF cycles to write one image row, T_R = OW*KH*KW*CF cycles to read one output
row (one beat per cycle on each side).

The writer and the reader are coupled only at row granularity (see the RTL header):
  - writer row g (rows numbered over all frames) begins when row g-1 is complete and the
    reader has released row g-NR; it then takes T_W cycles;
  - reader row r (output row oy of frame f) begins when reader row r-1 is done and every
    image row it needs, f*IH + max(0, a) .. f*IH + min(IH-1, a+KH-1) with a = oy*SH-PAD_T,
    is complete (an output row of padding alone waits for the rows released before it:
    f*IH + lo - 1, lo = min(max(a, 0), IH)); it takes T_R cycles and at its end releases
    the rows the next output row does not need (at a frame's end, all the rest of the
    frame, including unused bottom rows).
A row completed by the beat of cycle t (or released by the read of cycle t) is seen by
the other side in cycle t+1, i.e. back to back: the row counter adds no idle cycle.
This is a max-plus linear system; `swg_cycles_per_frame` evaluates it row by row for a
few frames (O(frames * (IH + OH)) steps) and returns the period of the last frames, which
is the RTL's steady-state cycles per frame (checked to the cycle in tests/hw/test_swg.py).

Closed form for the usual regimes: when the SH new rows of every output row load while
the previous output row is read (SH*T_W <= T_R, the reader-bound case of most
convolutions) the reader never waits inside a frame, only at the frame boundary: while
the last output row (first row lo_last = max(0, (OH-1)*SH-PAD_T)) is read, the writer
may run up to NR rows past lo_last; row 0 of the next frame needs rows up to
need0 = min(KH-1-PAD_T, IH-1) of that frame, so B = max(0, IH + need0 - lo_last - NR + 1)
rows are written after the last output row is read, while the reader waits. When the
writer is the bottleneck it never waits (the reader frees rows faster than they
arrive). Hence

    cycles/frame ~ max(IH*T_W, OH*T_R + B*T_W)     (+ a few cycles)

e.g. AlexNet conv1 (227x227x3, 11x11/4, SIMD 3): T_W = 227, T_R = 55*121 = 6655,
B = 227 + 10 - 216 - 15 + 1 = 7: 55*6655 + 7*227 = 367614. Heavily padded geometries (pad
rows that make the reader idle-free while the writer is held back by the NR-row buffer)
fall between the two regimes; the row-level evaluation covers them too.

Latency (`swg_latency`): 3 cycles from the input beat completing the last image row an
output row needs to that output row's first beat (row count register, RAM read,
output buffer).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..datatypes import DataType
from ..memmap import Res, map_memory
from ..streams import StreamFormat, format_of, lane_width
from .base import MAX_LANES, Instance, PixelBlock, as_dtype, divisors
from .calibration import CAL, clog2

__all__ = [
    "SlidingWindow",
    "estimate_swg",
    "swg_cycles_per_frame",
    "swg_cycles_per_frame_closed_form",
    "swg_latency",
]

_SWG_LATENCY = 3


@dataclass
class SlidingWindow(PixelBlock):
    """im2col on a stream: (IH, IW, C) pixels in, OH*OW windows of (KH, KW, C) out.

    Window element (ky, kx, c) is at index (ky*KW + kx)*C + c, the column order of the
    convolution's MVU. Padding positions carry pad_value (the code of 0)."""

    name: str
    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    pads: list[int]  # top, left, bottom, right
    dtype: DataType
    pad_value: int = 0
    SIMD: int = 1  # lanes in and out; divides C
    mem_pipe: int = 0  # hw_swg MEM_PIPE: the line buffer's word registered again (ECP5)
    kind: str = "SlidingWindow"
    rtl_module = "hw_swg"
    hls_header = "hw_swg.h"
    lanes_from_consumer = True

    def __post_init__(self) -> None:
        self.dtype = as_dtype(self.dtype, self.name, "dtype")

    def check(self) -> None:
        from ..errors import CompileError

        if self.SIMD < 1 or self.C % self.SIMD:
            raise CompileError(f"SIMD={self.SIMD} must divide the {self.C} channels", self.name)
        if len(self.pads) != 4 or min(self.pads) < 0:
            raise CompileError(f"pads {self.pads} must be 4 values >= 0", self.name)
        if min(self.KH, self.KW, self.SH, self.SW) < 1 or self.OH < 1 or self.OW < 1:
            raise CompileError("the kernel exceeds the padded image", self.name)

    @property
    def OH(self) -> int:
        return (self.IH + self.pads[0] + self.pads[2] - self.KH) // self.SH + 1

    @property
    def OW(self) -> int:
        return (self.IW + self.pads[1] + self.pads[3] - self.KW) // self.SW + 1

    @property
    def n_out(self) -> int:
        return self.KH * self.KW * self.C

    @property
    def in_lanes(self) -> int:
        return self.SIMD

    @property
    def out_lanes(self) -> int:
        return self.SIMD

    def geometry(self) -> dict[str, int]:
        return {
            "C": self.C, "IH": self.IH, "IW": self.IW, "KH": self.KH, "KW": self.KW,
            "SH": self.SH, "SW": self.SW, "PAD_T": self.pads[0], "PAD_L": self.pads[1],
            "PAD_B": self.pads[2], "PAD_R": self.pads[3], "SIMD": self.SIMD,
        }  # fmt: skip

    def in_format(self) -> StreamFormat:
        return format_of(self.dtype, self.SIMD, self.C)

    def out_format(self) -> StreamFormat:
        return format_of(self.dtype, self.SIMD, self.n_out)

    def cycles_per_frame(self) -> int:
        return _cycles(tuple(self.geometry().items()))

    def first_out_vectors(self) -> int:
        """Input rows up to the last row of the first window, whole: hw_swg emits an
        output row once every input row it needs is complete (row granularity), and a
        window below this one waits for this one's rows the same way."""
        return min(self.IH, max(1, self.KH - self.pads[0])) * self.IW

    def fifo_depth(self) -> int:
        """(KH - SH + 1) input rows: the line buffer holds KH+SH rows, so at a frame
        boundary the producer is held back until the last windows are read, and the next
        frame's first output row then waits for KH-SH rows while the consumer idles; a
        FIFO of that many rows lets the producer run ahead and hides the bubble."""
        rows = max(0, self.KH - self.SH) + 1
        return rows * self.IW * (self.C // self.SIMD)

    def with_lanes(self, lanes: int) -> SlidingWindow:
        return replace(self, SIMD=lanes)

    def consumer_lane_choices(self) -> list[int] | None:
        return divisors(self.C)

    def fold_row(self) -> dict:
        return {"SIMD": self.SIMD}

    def fastest_cycles(self, lane_choices: list[int] | None) -> int:
        simd = max(d for d in divisors(self.C) if d <= MAX_LANES)
        return self.with_lanes(simd).cycles_per_frame()

    def slowest_cycles(self) -> int:
        return self.with_lanes(1).cycles_per_frame()

    def estimate(self, data: bool = True) -> Res:
        return estimate_swg({**self.geometry(), "W": lane_width(self.dtype)})

    def run(self, x: np.ndarray) -> np.ndarray:
        """Pixels (N, IH*IW*C) -> windows (N, OH*OW*KH*KW*C), element (ky, kx, c) of window
        (oy, ox) = padded image[oy*SH + ky, ox*SW + kx, c]."""
        n = len(x)
        img = x.reshape(n, self.IH, self.IW, self.C)
        t, left, b, r = self.pads
        img = np.pad(img, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=self.pad_value)
        win = np.lib.stride_tricks.sliding_window_view(img, (self.KH, self.KW), axis=(1, 2))
        win = win[:, :: self.SH, :: self.SW][:, : self.OH, : self.OW]  # (N, OH, OW, C, KH, KW)
        return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n, -1)

    def rtl(self) -> Instance:
        w = lane_width(self.dtype)
        params = [(k, str(v)) for k, v in self.geometry().items()]
        params += [("W", str(w)), ("PAD_VALUE", str(self.pad_value & ((1 << w) - 1)))]
        if self.mem_pipe:
            params.append(("MEM_PIPE", str(self.mem_pipe)))
        return Instance(self.rtl_module, self.name, tuple(params), rows=(12, 2 + self.mem_pipe))

    def hls(self, i: str, o: str) -> str:
        lw = lane_width(self.dtype)
        if self.dtype.kind == "BIPOLAR":
            pad = 1 if self.pad_value > 0 else 0
        else:
            pad = self.pad_value & ((1 << lw) - 1)
        pads = ", ".join(str(p) for p in self.pads)  # top, left, bottom, right
        return (
            f"    hw_swg<{self.C}, {self.IH}, {self.IW}, {self.KH}, {self.KW}, {self.SH}, "
            f"{self.SW}, {pads}, {self.SIMD}, {lw}, {pad}>({i}, {o});\n"
        )


@lru_cache(maxsize=100_000)
def _cycles(geometry: tuple) -> int:
    """swg_cycles_per_frame of a geometry (a schedule evaluated row by row: cached)."""
    return swg_cycles_per_frame(**{k.lower(): v for k, v in geometry})


def estimate_swg(p: dict) -> Res:
    """hw_swg: a line buffer of (KH+SH) rows x IW*C/SIMD words of SIMD*W bits (simple dual
    port, synchronous read of old data), row/column counters, a 2-entry output buffer."""
    c = CAL
    simd, w = p.get("SIMD", 1), p.get("W", 1)
    cf = p["C"] // simd
    depth = (p["KH"] + p["SH"]) * p["IW"] * cf
    dw = simd * w
    style = str(p.get("RAM_STYLE", "auto"))
    st = {"distributed": "distributed", "block": "block"}.get(style, "auto")
    m = map_memory(max(1, depth), dw, write=True, read_sync=True, style=st)
    aw = max(1, clog2(depth))
    lut = c["swg_base"] + c["swg_bit"] * dw + c["swg_addr"] * aw + m.lutram
    lut += c["rom_mux"] * m.mux_bits
    ff = c["swg_ff_base"] + c["swg_ff_bit"] * dw + c["swg_ff_addr"] * aw
    if m.kind != "block":
        ff += dw * (depth + 1 if m.kind == "logic" else 1)
    return Res(lut=lut, lutram=m.lutram, ff=ff, bram36=m.bram36, notes=[f"buffer: {m.kind}"])


# ---------------------------------------------------------------- cycle model


class _Geometry(NamedTuple):
    """hw_swg's timed parameters (lower-case) and the derived row timings."""

    c: int
    ih: int
    iw: int
    kh: int
    kw: int
    sh: int
    sw: int
    pad_t: int
    pad_l: int
    pad_b: int
    pad_r: int
    simd: int
    cf: int  # beats per pixel
    oh: int
    ow: int
    t_w: int  # cycles to write one image row
    t_r: int  # cycles to read one output row
    nr: int  # line-buffer rows


def _swg_geometry(
    c: int, ih: int, iw: int, kh: int, kw: int, sh: int = 1, sw: int = 1, pad_t: int = 0,
    pad_l: int = 0, pad_b: int = 0, pad_r: int = 0, simd: int = 1, **_untimed: object,
) -> _Geometry:  # fmt: skip
    if simd < 1 or c % simd:
        raise ValueError(f"SIMD {simd} must divide C {c}")
    if min(ih, iw, kh, kw, sh, sw) < 1 or min(pad_t, pad_l, pad_b, pad_r) < 0:
        raise ValueError("sizes and strides must be >= 1, padding >= 0")
    if ih + pad_t + pad_b < kh or iw + pad_l + pad_r < kw:
        raise ValueError("the kernel exceeds the padded image")
    cf = c // simd
    oh = (ih + pad_t + pad_b - kh) // sh + 1
    ow = (iw + pad_l + pad_r - kw) // sw + 1
    return _Geometry(c, ih, iw, kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, simd,
                     cf, oh, ow, iw * cf, ow * kh * kw * cf, kh + sh)  # fmt: skip


def swg_cycles_per_frame(*, frames: int = 6, **params: int) -> int:
    """Steady-state cycles per frame of hw_swg (module docstring: the row-level schedule).

    `params`: hw_swg's parameters with lower-case names (c, ih, iw, kh, kw; sh, sw,
    pad_t, pad_l, pad_b, pad_r, simd default to 1/0; untimed ones are ignored).
    Evaluates the writer/reader row schedule for `frames` frames (all input available
    from cycle 0, output always ready) and returns the cycles between the starts of the
    last two frames' output."""
    g = _swg_geometry(**params)
    ih, kh, sh, pad_t, oh = g.ih, g.kh, g.sh, g.pad_t, g.oh
    t_w, t_r, nr = g.t_w, g.t_r, g.nr
    frames = max(int(frames), 3)
    # per output row: last image row needed (-1: none) and rows released at its end
    need_hi, release = [], []
    for oy in range(oh):
        a = oy * sh - pad_t
        lo, hi = min(max(a, 0), ih), min(a + kh - 1, ih - 1)
        need_hi.append(hi if hi >= lo else lo - 1)
        lo_next = ih if oy == oh - 1 else min(max(a + sh, 0), ih)
        release.append(lo_next - lo)
    n_w, n_r = frames * ih, frames * oh
    w_done = [0] * n_w  # cycle in which writer row g's completion is visible
    r_start = [0] * n_r  # cycle of reader row r's first beat
    released_at = []  # (cycle visible, cumulative rows released) per reader row
    released = 0
    g = r = 0
    w_free = 0  # earliest cycle the writer may start its next row
    r_free = 0  # earliest cycle the reader may start its next row
    rel_idx = 0  # first reader row whose release is not yet known to cover row g-NR
    while r < n_r:
        f, oy = divmod(r, oh)
        gneed = f * ih + need_hi[oy]  # -1: nothing
        if gneed < g:  # the rows it needs are complete: schedule reader row r
            t = max(r_free, w_done[gneed] if gneed >= 0 else 0)
            r_start[r] = t
            r_free = t + t_r
            released += release[oy]
            released_at.append((r_free, released))
            r += 1
            continue
        # otherwise the writer must make progress: writer row g needs row g-NR released
        t = w_free
        if g - nr >= 0:
            while rel_idx < len(released_at) and released_at[rel_idx][1] < g - nr + 1:
                rel_idx += 1
            if rel_idx == len(released_at):  # cannot happen: the RTL never deadlocks
                raise AssertionError("swg schedule deadlock")
            t = max(t, released_at[rel_idx][0])
        w_done[g] = t + t_w
        w_free = t + t_w
        g += 1
    return r_start[(frames - 1) * oh] - r_start[(frames - 2) * oh]


def swg_cycles_per_frame_closed_form(**params: int) -> int:
    """max(IH*T_W, OH*T_R + B*T_W) (module docstring): equal to `swg_cycles_per_frame`
    in the reader-bound and writer-bound regimes, an underestimate for heavily padded
    geometries in between."""
    g = _swg_geometry(**params)
    ih, kh, sh, pad_t, oh, t_w, t_r, nr = g.ih, g.kh, g.sh, g.pad_t, g.oh, g.t_w, g.t_r, g.nr
    need0 = min(kh - 1 - pad_t, ih - 1)
    lo_last = max(0, (oh - 1) * sh - pad_t)
    b = max(0, ih + need0 - lo_last - nr + 1)
    return max(ih * t_w, oh * t_r + b * t_w)


def swg_latency(mem_pipe: int = 0, **_params: object) -> int:
    """Cycles from the input beat completing the last image row an output row needs to
    that output row's first beat (3 for every geometry, + MEM_PIPE)."""
    return _SWG_LATENCY + mem_pipe
