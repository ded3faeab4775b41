"""Run a BUILD's generated RTL (rtl/top.v) under Verilator on integer input values.

Reads only the build: rtl/top.json (stream formats, sources) and the memory files. The
simulator binary is cached by a hash of the RTL sources and parameters, so a retrained
model of the same shape reuses it (weights are read from rtl/*.mem at start).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import verilator as vl


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


def default_cache_dir() -> Path:
    env = os.environ.get("HALFWAVE_SIM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "halfwave" / "sim"


def _to_lanes(values: np.ndarray, dtype: str) -> np.ndarray:
    return (values > 0).astype(np.int64) if dtype == "BIPOLAR" else values


def _from_lanes(lanes: np.ndarray, dtype: str) -> np.ndarray:
    return 2 * lanes - 1 if dtype == "BIPOLAR" else lanes


def simulate(
    build: Path,
    values: np.ndarray,
    stall_in: float = 0.0,
    stall_out: float = 0.0,
    seed: int = 0,
    cache_dir: Path | None = None,
    threads: int = 1,
    taps: bool = False,
) -> RtlRun:
    """Stream `values` (N, values per frame) through the design; with taps, also return
    every node's output values (logged by the simulator, +define+HALFWAVE_TAPS)."""
    rtl = Path(build) / "rtl"
    desc = json.loads((rtl / "top.json").read_text())
    fin, fout = desc["in"], desc["out"]
    binary = vl.build(
        [rtl / s for s in desc["sources"]],
        desc["top"],
        {},
        cache_dir or default_cache_dir(),
        threads=threads,
        defines=("HALFWAVE_TAPS",) if taps else (),
    )
    values = np.asarray(values, dtype=np.int64)
    n_user = len(values)
    if taps:  # one more frame flushes the user's last frame past every tap (a pool may
        # emit its last window before the rest of its input row has arrived)
        values = np.concatenate([values, values[:1]])
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
        stall_in=stall_in,
        stall_out=stall_out,
        seed=seed,
        # a deep pipeline may run this long between two transfers at the ports (the
        # first output of a frame comes after every layer has seen the whole frame)
        max_idle=max(100_000, 4 * len(desc["taps"]) * desc["predicted_cycles_per_frame"]),
    )
    out_lanes = vl.unpack_lanes(res.out, fout["lanes"], fout["width"], fout["signed"])
    out = _from_lanes(vl.beats_to_vectors(out_lanes, fout["count"]), fout["dtype"])
    out = out.reshape(n, -1)[:n_user]
    ends = res.out_times[out_beats_per_frame - 1 :: out_beats_per_frame].astype(np.int64)
    ii = float(np.diff(ends).mean()) if n > 1 else float("nan")
    latency = int(ends[0] - res.in_times[0])
    return RtlRun(
        out,
        res.cycles,
        ii,
        latency,
        desc["predicted_cycles_per_frame"],
        res.cycles_per_s,
        res.wall_s,
        read_taps(rtl, desc["taps"], n_user) if taps else None,
    )


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
