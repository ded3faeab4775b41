"""Run a BUILD's generated RTL (rtl/top.v) under Verilator on integer input values.

Reads only the build: rtl/top.json (stream formats, sources) and the memory files. The
simulator binary is cached by a hash of the RTL sources and parameters, so a retrained
model of the same shape reuses it (weights are read from rtl/*.mem at start).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from halfwave.compiler.blocks.weight_port import weight_stream_cycles_per_frame

from . import verilator as vl
from .options import SimOptions


@dataclass
class RtlRun:
    values: np.ndarray  # (N, n_out) output values of the last node
    cycles: int  # simulated cycles in all
    cycles_per_frame: float  # steady-state initiation interval (frame ends)
    latency: int  # first input beat accepted -> last output beat of frame 0
    predicted_cycles_per_frame: int
    cycles_per_s: float
    wall_s: float
    taps: dict[str, np.ndarray] | None = None  # node name -> (N, values per frame)
    # per FIFO (stream order): name, node, depth, width, max_level (high-water mark),
    # full_cycles (cycles its producer was refused); None for a build without the stats
    fifos: list[dict] | None = None


def _to_lanes(values: np.ndarray, dtype: str) -> np.ndarray:
    return (values > 0).astype(np.int64) if dtype == "BIPOLAR" else values


def _from_lanes(lanes: np.ndarray, dtype: str) -> np.ndarray:
    return 2 * lanes - 1 if dtype == "BIPOLAR" else lanes


def simulate(build: Path, values: np.ndarray, opts: SimOptions | None = None) -> RtlRun:
    """Stream `values` (N, values per frame) through the design; with `opts.taps`, also
    return every node's output values (logged by the simulator, +define+HALFWAVE_TAPS).

    External weight streams (top.json "weight_streams") are fed by the harness's DDR
    model from their `rtl/<node>_wstream.bin` files with the DDR options of `opts`
    (bandwidth shared by all streams, latency before each pass, prefetch per stream).
    The predicted cycles per frame then include the DDR bound (compiler/blocks/weight_port.py
    `weight_stream_cycles_per_frame`)."""
    o = opts or SimOptions()
    taps = o.taps
    rtl = Path(build) / "rtl"
    desc = json.loads((rtl / "top.json").read_text())
    fin, fout = desc["in"], desc["out"]
    streams = desc.get("weight_streams", [])
    predicted = max(
        desc["predicted_cycles_per_frame"],
        math.ceil(
            weight_stream_cycles_per_frame(
                streams, o.ddr_bytes_per_cycle, o.ddr_latency, o.ddr_fifo
            )
        ),
    )
    binary = vl.build(
        [rtl / s for s in desc["sources"]],
        desc["top"],
        {},
        o.cache_dir,
        threads=o.threads,
        cflags=vl.wstream_cflags([w["port"] for w in streams]),
        defines=("HALFWAVE_FIFO_STATS", *(("HALFWAVE_TAPS",) if taps else ())),
    )
    values = np.asarray(values, dtype=np.int64)
    n_user = len(values)
    if taps:  # one more frame flushes the user's last frame past every tap (a pool may
        # emit its last window before the rest of its input row has arrived)
        values = np.concatenate([values, values[:1]])
    pad = -len(values) % desc.get("frame_batch", 1)  # batched MVUs take whole batches
    values = np.concatenate([values, np.repeat(values[:1], pad, axis=0)])
    n = len(values)
    vin, vout = fin.get("vectors", 1), fout.get("vectors", 1)
    lanes = _to_lanes(values, fin["dtype"])
    beats = vl.vectors_to_beats(lanes.reshape(n * vin, -1), fin["lanes"])
    in_bytes = vl.pack_lanes(beats, fin["width"])
    out_beats_per_frame = -(-fout["count"] // fout["lanes"]) * vout
    res = vl.run(
        binary,
        in_bytes,
        fin["lanes"] * fin["width"],
        fout["lanes"] * fout["width"],
        n * out_beats_per_frame,
        rtl,
        stall_in=o.stall_in,
        stall_out=o.stall_out,
        seed=o.seed,
        # a deep pipeline may run this long between two transfers at the ports (the
        # first output of a frame comes after every layer has seen the whole frame)
        max_idle=max(100_000, 4 * len(desc["taps"]) * predicted),
        wstreams=[(rtl / w["file"], w["width"], w.get("ddr_word_bytes", 0)) for w in streams],
        ddr_bytes_per_cycle=o.ddr_bytes_per_cycle,
        ddr_latency=o.ddr_latency,
        ddr_fifo=o.ddr_fifo,
    )
    out_lanes = vl.unpack_lanes(res.out, fout["lanes"], fout["width"], fout["signed"])
    out = _from_lanes(vl.beats_to_vectors(out_lanes, fout["count"]), fout["dtype"])
    out = out.reshape(n, -1)[:n_user]
    fifos = read_fifo_levels(rtl, desc)
    ends = res.out_times[out_beats_per_frame - 1 :: out_beats_per_frame].astype(np.int64)
    ii = float(np.diff(ends).mean()) if n > 1 else float("nan")
    latency = int(ends[0] - res.in_times[0])
    return RtlRun(
        out,
        res.cycles,
        ii,
        latency,
        predicted,
        res.cycles_per_s,
        res.wall_s,
        read_taps(rtl, desc["taps"], n_user) if taps else None,
        fifos,
    )


def read_fifo_levels(rtl: Path, desc: dict) -> list[dict] | None:
    """The simulator's FIFO statistics (+define+HALFWAVE_FIFO_STATS, lines `fifoK MAX
    FULL` written at the end of the run) joined with top.json's depth and width."""
    path = rtl / desc.get("fifo_levels_file", "fifo_levels.txt")
    if "fifos" not in desc or not path.exists():
        return None
    seen = {}
    for line in path.read_text().splitlines():
        name, high, full = line.split()
        seen[name] = (int(high), int(full))
    path.unlink()
    return [
        {**f, "max_level": seen[f["name"]][0], "full_cycles": seen[f["name"]][1]}
        for f in desc["fifos"]
        if f["name"] in seen
    ]


def read_taps(rtl: Path, taps: list[dict], n: int) -> dict[str, np.ndarray]:
    """Tap files (one hex beat per line) -> values (N, per frame) per node."""
    out = {}
    for t in taps:
        path = rtl / t["file"]
        lines = path.read_text().split() if path.exists() else []
        words = [int(x, 16) for x in lines]
        lanes = _words_to_lanes(words, t["lanes"], t["width"], t["signed"])
        per_vector = -(-t["count"] // t["lanes"])
        # a block may run ahead into the next frame (e.g. windows of padding alone)
        lanes = lanes[: n * t.get("vectors", 1) * per_vector]
        vec = vl.beats_to_vectors(lanes, t["count"]) if len(lanes) else lanes
        vals = _from_lanes(vec, t["dtype"])
        total = vals.size
        out[t["node"]] = vals.reshape(n, -1) if total and total % n == 0 else vals.reshape(1, -1)
        path.unlink(missing_ok=True)
    return out


def _words_to_lanes(words: list[int], lanes: int, width: int, signed: bool) -> np.ndarray:
    mask = (1 << width) - 1
    arr = np.array(
        [[(w >> (k * width)) & mask for k in range(lanes)] for w in words], dtype=np.int64
    ).reshape(len(words), lanes)
    if signed:
        arr = np.where(arr >= 1 << (width - 1), arr - (1 << width), arr)
    return arr
