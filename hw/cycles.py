"""Cycle models of the convolution blocks (hw/rtl/hw_swg.v, hw/rtl/hw_maxpool.v) and of
the external weight streams (`weight_stream_cycles_per_frame`, at the end).

Pure functions of the Verilog parameters (lower-case keyword names). "Cycles per frame" is
the steady-state initiation interval: frames back to back, the producer always valid and
the consumer always ready, no stalls. Arguments that do not affect timing (lane width,
padding value, RAM style, mask, signedness) are accepted and ignored, so a block's whole
parameter dict can be passed with its keys lower-cased.

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

Max-pool (hw_maxpool)
---------------------
One input beat per cycle, never a bubble, and no per-frame overhead: the horizontal and
vertical partial results are updated as beats arrive and each output beat leaves while
its window's last input beat passes. Hence exactly

    cycles/frame = IH * IW * C/PE.

Latency (`maxpool_latency`): 2 cycles from the input beat (oy*SH+KH-1, ox*SW+KW-1, g)
to the output beat of window (oy, ox), channel group g.
"""

from __future__ import annotations

__all__ = [
    "maxpool_cycles_per_frame",
    "maxpool_latency",
    "swg_cycles_per_frame",
    "swg_cycles_per_frame_closed_form",
    "swg_latency",
]

_SWG_LATENCY = 3
_MAXPOOL_LATENCY = 2


def _swg_geometry(c, ih, iw, kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, simd):
    if simd < 1 or c % simd:
        raise ValueError(f"SIMD {simd} must divide C {c}")
    if min(ih, iw, kh, kw, sh, sw) < 1 or min(pad_t, pad_l, pad_b, pad_r) < 0:
        raise ValueError("sizes and strides must be >= 1, padding >= 0")
    if ih + pad_t + pad_b < kh or iw + pad_l + pad_r < kw:
        raise ValueError("the kernel exceeds the padded image")
    cf = c // simd
    oh = (ih + pad_t + pad_b - kh) // sh + 1
    ow = (iw + pad_l + pad_r - kw) // sw + 1
    return cf, oh, ow, iw * cf, ow * kh * kw * cf, kh + sh


def swg_cycles_per_frame(
    *,
    c: int,
    ih: int,
    iw: int,
    kh: int,
    kw: int,
    sh: int = 1,
    sw: int = 1,
    pad_t: int = 0,
    pad_l: int = 0,
    pad_b: int = 0,
    pad_r: int = 0,
    simd: int = 1,
    frames: int = 6,
    **_untimed: object,
) -> int:
    """Steady-state cycles per frame of hw_swg (module docstring: the row-level schedule).

    Evaluates the writer/reader row schedule for `frames` frames (all input available
    from cycle 0, output always ready) and returns the cycles between the starts of the
    last two frames' output."""
    cf, oh, ow, t_w, t_r, nr = _swg_geometry(
        c, ih, iw, kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, simd
    )
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


def swg_cycles_per_frame_closed_form(
    *,
    c: int,
    ih: int,
    iw: int,
    kh: int,
    kw: int,
    sh: int = 1,
    sw: int = 1,
    pad_t: int = 0,
    pad_l: int = 0,
    pad_b: int = 0,
    pad_r: int = 0,
    simd: int = 1,
    **_untimed: object,
) -> int:
    """max(IH*T_W, OH*T_R + B*T_W) (module docstring): equal to `swg_cycles_per_frame`
    in the reader-bound and writer-bound regimes, an underestimate for heavily padded
    geometries in between."""
    cf, oh, ow, t_w, t_r, nr = _swg_geometry(
        c, ih, iw, kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, simd
    )
    need0 = min(kh - 1 - pad_t, ih - 1)
    lo_last = max(0, (oh - 1) * sh - pad_t)
    b = max(0, ih + need0 - lo_last - nr + 1)
    return max(ih * t_w, oh * t_r + b * t_w)


def swg_latency(**_params: object) -> int:
    """Cycles from the input beat completing the last image row an output row needs to
    that output row's first beat (3 for every geometry)."""
    return _SWG_LATENCY


def maxpool_cycles_per_frame(*, c: int, ih: int, iw: int, pe: int = 1, **_untimed: object) -> int:
    """IH * IW * C/PE: one input beat per cycle, no per-frame overhead."""
    if pe < 1 or c % pe:
        raise ValueError(f"PE {pe} must divide C {c}")
    return ih * iw * (c // pe)


def maxpool_latency(**_params: object) -> int:
    """Cycles from a window's last input beat to its output beat (2 for every geometry)."""
    return _MAXPOOL_LATENCY


# --------------------------------------------------------------------------- DDR weights


def weight_stream_cycles_per_frame(
    streams: list[dict],
    bytes_per_cycle: float = 0.0,
    latency: int = 0,
    fifo: int = 4,
    bound: str = "upper",
) -> float:
    """Cycles per frame that the external weight streams (hw_mvu WEIGHT_SOURCE =
    "stream") allow, under the DDR model of sim/harness/stream_harness.cpp: one reader
    per stream with a `fifo`-word prefetch FIFO, `latency` cycles from the request of a
    pass (NF*SF words, requested when the previous pass's last word was fetched) to the
    start of its transfer, and `bytes_per_cycle` shared by all streams (0: unlimited,
    one word a cycle per stream).

    `streams`: per stream {"words_per_pass": N, "word_bytes": S, "passes_per_frame": V}
    (rtl/top.json's "weight_streams"; "ddr_word_bytes", the DMA's padded word, is S
    where given). With t = max(1, S/B) cycles a word (a reader
    fetches at most one word a cycle; t = 1 when unlimited) a pass of stream s alone
    takes the longer of
      reader  L + N*t
      MVU     N + max(0, L + t - fifo)   (it eats one word a cycle; after a fast reader
                                          filled the FIFO it waits out the latency beyond
                                          what the FIFO holds)
    so the stream needs V * pass cycles per frame. Streams sharing the bandwidth need at
    least sum(V*N*S)/B ("lower": the largest of these, reached when one stream's latency
    overlaps another's transfer) and at most sum(V*N*S)/B + L*max(V) ("upper", the
    default: every stream waits its latency at the same time). With one stream, or with
    L = 0, the two coincide and are exact (tests/sim/test_external_weights.py). 0.0
    without streams; the design's cycles per frame are at least this and at least its
    slowest node."""
    worst = 0.0
    total_bytes = 0.0
    passes = 0
    for s in streams:
        n, v = s["words_per_pass"], s["passes_per_frame"]
        size = s.get("ddr_word_bytes", s["word_bytes"])
        per_word = max(1.0, size / bytes_per_cycle) if bytes_per_cycle > 0 else 1.0
        reader = latency + n * per_word
        mvu = n + max(0.0, latency + per_word - fifo)
        worst = max(worst, v * max(reader, mvu))
        total_bytes += v * n * size
        passes = max(passes, v)
    if bytes_per_cycle <= 0:
        return worst
    shared = total_bytes / bytes_per_cycle
    if bound == "upper":
        shared += latency * passes
    elif bound != "lower":
        raise ValueError(f"bound must be 'upper' or 'lower', got {bound!r}")
    return max(worst, shared)
