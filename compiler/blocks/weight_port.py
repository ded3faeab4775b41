"""The weight port of an external MVU (weights in DDR): the system adapter between a DMA
and hw_mvu's weight stream (WEIGHT_SOURCE = "stream"), its DMA word sizing and the
cycle model of the DDR reads (`weight_stream_cycles_per_frame`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import Block

if TYPE_CHECKING:
    from ..boards import Board
    from ..streams import Dataflow

# words of prefetch per weight stream in the DDR model (the simulation harness's reader
# FIFO, sim/rtl.py): the one default of the model and of the simulations
DDR_PREFETCH_WORDS = 64


def dma_word_bytes(bits: int) -> int:
    """Bytes a DMA reads from DDR for one `bits`-bit weight word: AXI DMA streams are
    8 * 2^k bits wide, up to 1024; wider words take several 1024-bit beats."""
    if bits > 1024:
        return 128 * -(-bits // 1024)
    nb = 1
    while nb * 8 < bits:
        nb *= 2
    return nb


@dataclass(frozen=True)
class WeightPort(Block):
    """The top-level port w_<node>_t* feeding an external MVU's weights: `width`-bit
    words, `words_per_pass` (NF*SF) a pass, one pass per `batch` of its `vectors` input
    vectors a frame (hw_mvu BATCH)."""

    name: str  # the MVU it feeds
    width: int
    words_per_pass: int
    vectors: int  # input vectors per frame
    batch: int = 1  # vectors per pass
    kind: str = "WeightPort"

    @property
    def passes_per_frame(self) -> float:
        """Passes per frame: vectors / batch (a fraction when a batch spans frames)."""
        return self.vectors / self.batch

    @property
    def frame_batch(self) -> int:
        """Frames in a whole number of passes: a run brings a multiple of these."""
        return self.batch // math.gcd(self.batch, self.vectors)

    @property
    def port(self) -> str:
        """Prefix of the port's signals on the top: w_<node>_tdata, ..."""
        return f"w_{self.name}_t"

    @property
    def word_bytes(self) -> int:
        return -(-self.width // 8)

    @property
    def ddr_word_bytes(self) -> int:
        return dma_word_bytes(self.width)

    def describe(self) -> dict:
        """rtl/top.json's "weight_streams" entry: what a DMA must feed this port from
        DDR. One pass is the file `<node>_wstream.bin` (the words of the weight memory,
        address nf*SF + sf, each `word_bytes` little-endian bytes, lane p*SIMD+s at bits
        [(p*SIMD+s)*W_W +: W_W], top bits zero); the MVU reads `passes_per_frame` passes
        per frame (one per `batch` input vectors: vectors / batch, a fraction when a batch
        spans frames; a run brings a multiple of `frame_batch` frames). A DMA reads each
        word padded to `ddr_word_bytes` (dma_word_bytes): the DDR traffic is counted in
        those."""
        return {
            "node": self.name,
            "port": self.port,
            "file": f"{self.name}_wstream.bin",
            "width": self.width,
            "word_bytes": self.word_bytes,
            "ddr_word_bytes": self.ddr_word_bytes,
            "words_per_pass": self.words_per_pass,
            "vectors": self.vectors,
            "batch": self.batch,
            "frame_batch": self.frame_batch,
            "passes_per_frame": self.passes_per_frame,
            "bytes_per_frame": round(
                self.passes_per_frame * self.words_per_pass * self.ddr_word_bytes, 3
            ),
            "layout": "word nf*SF+sf of the weight memory, little-endian, lane "
            "p*SIMD+s at bits [(p*SIMD+s)*W_W +: W_W]",
        }

    def rtl_port(self) -> str:
        """The port declarations of top.v for this stream."""
        return (
            f"    // weight stream of {self.name} (weights in DDR): {self.words_per_pass} words "
            f"a pass, a pass per {self.batch} of its {self.vectors} vector(s) a frame\n"
            f"    input  wire [{self.width - 1}:0] {self.port}data,\n"
            f"    input  wire {self.port}valid,\n"
            f"    output wire {self.port}ready,\n"
        )


def weight_stream_cycles_per_frame(
    streams: list[dict],
    bytes_per_cycle: float = 0.0,
    latency: int = 0,
    fifo: int = DDR_PREFETCH_WORDS,
    bound: str = "upper",
) -> float:
    """Cycles per frame that the external weight streams (hw_mvu WEIGHT_SOURCE =
    "stream") allow, under the DDR model of sim/harness/stream_harness.cpp: one reader
    per stream with a `fifo`-word prefetch FIFO, `latency` cycles from the request of a
    pass (NF*SF words, requested when the previous pass's last word was fetched) to the
    start of its transfer, and `bytes_per_cycle` shared by all streams (0: unlimited,
    one word a cycle per stream).

    `streams`: per stream {"words_per_pass": N, "word_bytes": S, "passes_per_frame": V,
    "batch": K} (rtl/top.json's "weight_streams"; "ddr_word_bytes", the DMA's padded word,
    is S where given; K = 1 where absent). With t = max(1, S/B) cycles a word (a reader
    fetches at most one word a cycle; t = 1 when unlimited) a pass of stream s alone
    takes the longer of
      reader  L + N*t
      MVU     K*N + max(0, L + t - K*fifo)   (it eats one word every K cycles; after a
                                          fast reader filled the FIFO it waits out the
                                          latency beyond what the FIFO holds)
    so the stream needs V * pass cycles per frame (V = vectors / K). Streams sharing
    the bandwidth need at least sum(V*N*S)/B ("lower": the largest of these, reached
    when one stream's latency overlaps another's transfer) and at most sum(V*N*S)/B +
    L*max(V) ("upper", the default: every stream waits its latency at the same time).
    With one stream, or with L = 0, the two coincide and are exact
    (tests/sim/test_external_weights.py). 0.0 without streams; the design's cycles per
    frame are at least this and at least its slowest node."""
    worst = 0.0
    total_bytes = 0.0
    passes = 0
    for s in streams:
        n, v, k = s["words_per_pass"], s["passes_per_frame"], s.get("batch", 1)
        size = s.get("ddr_word_bytes", s["word_bytes"])
        per_word = max(1.0, size / bytes_per_cycle) if bytes_per_cycle > 0 else 1.0
        reader = latency + n * per_word
        mvu = k * n + max(0.0, latency + per_word - k * fifo)
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


# ---------------------------------------------------------------- weight streams (DDR)


def weight_streams(df: Dataflow) -> list[dict]:
    """rtl/top.json's "weight_streams": per external MVU, in stream order, what a DMA
    must feed its port from DDR (`WeightPort.describe`)."""
    return [n.weight_port().describe() for n in df.nodes if getattr(n, "external", False)]


def frame_batch(df: Dataflow) -> int:
    """Frames a run must bring a multiple of (1 without batching): the least common
    multiple of the external MVUs' `WeightPort.frame_batch`."""
    out = 1
    for n in df.nodes:
        if getattr(n, "external", False):
            out = math.lcm(out, n.weight_port().frame_batch)
    return out


def ddr_cycles_per_frame(
    df: Dataflow, bytes_per_cycle: float = 0.0, latency: int = 0, fifo: int | None = None
) -> float:
    """Cycles per frame the external weight streams allow (0.0 without any), under the
    harness's DDR model (`weight_stream_cycles_per_frame`)."""
    fifo = DDR_PREFETCH_WORDS if fifo is None else fifo
    return weight_stream_cycles_per_frame(weight_streams(df), bytes_per_cycle, latency, fifo)


def ddr_bytes_per_cycle(board: Board) -> float:
    """The DDR read bandwidth the weight DMAs sustain (board file "ddr": dma_read_gb_per_s,
    the measured or derated figure with its source; else fabric_gb_per_s, else
    peak_gb_per_s) in bytes per fabric clock cycle; 0.0 when the board gives none."""
    ddr = board.ddr
    gbs = ddr.get("dma_read_gb_per_s", ddr.get("fabric_gb_per_s", ddr.get("peak_gb_per_s", 0.0)))
    return float(gbs) * 1e9 / (board.clock_mhz * 1e6)


def ddr_latency_cycles(board: Board) -> int:
    """Cycles at the board clock from a weight DMA transfer's request to its first beat
    (board file "ddr": burst_latency_ns, rounded up; 0 when the board gives none)."""
    ns = float(board.ddr.get("burst_latency_ns", 0.0))
    return math.ceil(ns * board.clock_mhz / 1000.0 - 1e-9)


def board_ddr_options(board: Board) -> dict:
    """The DDR model of `board` as simulation options (sim.options.SimOptions fields):
    the bandwidth the weight DMAs share and the latency of each transfer."""
    return {
        "ddr_bytes_per_cycle": ddr_bytes_per_cycle(board),
        "ddr_latency": ddr_latency_cycles(board),
    }


def ddr_cycles(df: Dataflow, board: Board) -> int:
    """Cycles per frame the external weight streams need at the board's DDR bandwidth and
    latency (0 without external weights; refused when the board has no DDR figure)."""
    from ..errors import CompileError

    if not weight_streams(df):
        return 0
    bpc = ddr_bytes_per_cycle(board)
    if bpc <= 0:
        raise CompileError(f"board {board.name} gives no DDR bandwidth for external weights")
    return math.ceil(ddr_cycles_per_frame(df, bpc, ddr_latency_cycles(board)))


def ddr_summary(df: Dataflow, board: Board, cycles: int) -> dict | None:
    """The DDR traffic of the external weights and what it implies, or None."""
    streams = weight_streams(df)
    if not streams:
        return None
    per_frame = sum(w["bytes_per_frame"] for w in streams)
    fps = board.cycles_to_fps(cycles)
    bpc = ddr_bytes_per_cycle(board)
    bound = ddr_cycles(df, board)
    return {
        "external": [w["node"] for w in streams],
        # input vectors per weight pass (frames of an FC layer, pixels of a convolution)
        "batch": {w["node"]: w["batch"] for w in streams},
        "bytes_per_frame": round(per_frame),
        "board_gb_per_s": round(bpc * board.clock_mhz * 1e6 / 1e9, 3),
        "latency_cycles": ddr_latency_cycles(board),
        "needed_gb_per_s": round(per_frame * fps / 1e9, 3),
        "ddr_cycles_per_frame": bound,
        "ddr_bound_fps": round(board.cycles_to_fps(bound), 1),
        "limited_by_ddr": bound >= cycles,
    }
