"""C simulation of a BUILD's generated HLS C++ (hls/) with g++, at every layer boundary.

The HLS blocks (hw/hls) compile with Xilinx's Apache-2.0 ap_int.h from the hls4ml
package and halfwave's own hls::stream stand-in (-DHALFWAVE_GXX_CSIM); -DHALFWAVE_TAPS
makes the generated top record every layer boundary. `build` compiles sources into one
binary cached by a hash of everything that affects it (like halfwave.sim.verilator);
`simulate` runs hls/csim_main.cpp on integer input values and returns the values at
every boundary plus the C simulation's frames per second.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import verilator as vl
from .options import SimOptions, default_sim_cache
from .verilator import SimBuildError, SimDeadlock, SimError

__all__ = [
    "CXXFLAGS",
    "HlsRun",
    "ap_types_dir",
    "available",
    "build",
    "build_csim",
    "simulate",
    "write_testbench_vectors",
]

CXXFLAGS = ("-O2", "-std=c++17", "-DHALFWAVE_GXX_CSIM")
TESTBENCH_FRAMES = 4  # frames in hls/tb_input.bin for the Vitis HLS self-check


@dataclass
class HlsRun:
    values: list[np.ndarray]  # (N, ...) values at every boundary: input, node 0 out, ...
    frames_per_s: float  # C simulation throughput (calls of halfwave_top)
    wall_s: float  # seconds in the frame loop
    build_s: float  # seconds spent compiling (0 on a cache hit)


def ap_types_dir() -> Path:
    """hls4ml's copy of Xilinx's ap_int.h/ap_fixed.h (Apache-2.0), found without
    importing hls4ml (installed with --no-deps, its own imports would fail)."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise SimError("hls4ml not found (its ap_int.h is needed): run make venv")
    d = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
    if not (d / "ap_int.h").is_file():
        raise SimError(f"ap_int.h not found in {d}: reinstall hls4ml==1.3.0")
    return d


def hls_lib_dir() -> Path:
    import halfwave.hw

    return Path(halfwave.hw.__file__).resolve().parent / "hls"


def cxx() -> str:
    return os.environ.get("CXX", "g++")


def available() -> bool:
    """True when a C++ compiler and the ap_int headers are there (the HLS rung can run)."""
    try:
        ap_types_dir()
    except SimError:
        return False
    return shutil.which(cxx()) is not None


@functools.lru_cache(maxsize=1)
def _toolchain_id() -> str:
    out = subprocess.run([cxx(), "--version"], capture_output=True, text=True, check=True)
    try:
        hls4ml = importlib.metadata.version("hls4ml")
    except importlib.metadata.PackageNotFoundError:
        hls4ml = "?"
    return out.stdout.splitlines()[0] + f"\nhls4ml {hls4ml}"


def build(
    sources: list[Path],
    include_dirs: list[Path],
    cache_dir: Path,
    defines: tuple[str, ...] = (),
    name: str = "csim",
) -> Path:
    """Compile and link `sources` (C++) with the HLS flags; returns the binary.

    Cached: `cache_dir/hls-<sha256>/<name>`, the hash covering the compiler version, the
    hls4ml version, flags, defines, the sources and every header in `include_dirs`. A
    hit returns at once; builds go to a private folder renamed into place (safe with
    pytest-xdist). Translation units compile in parallel (one g++ per source)."""
    sources = [Path(s).resolve() for s in sources]
    include_dirs = [Path(d).resolve() for d in include_dirs]
    flags = [*CXXFLAGS, *(f"-D{d}" for d in defines)]
    h = hashlib.sha256()
    for part in (_toolchain_id(), name, *flags):
        h.update(part.encode() + b"\0")
    for src in sources:
        h.update(src.name.encode() + b"\0" + src.read_bytes() + b"\0")
    for d in include_dirs:
        for f in sorted(d.glob("*.h")):
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    key = h.hexdigest()[:32]
    final = Path(cache_dir) / f"hls-{key}"
    binary = final / name
    if binary.exists():
        return binary
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(cache_dir) / f".tmp-hls-{key[:12]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        incs = [f"-I{d}" for d in include_dirs] + ["-isystem", str(ap_types_dir())]
        procs, objs = [], []
        for i, src in enumerate(sources):
            obj = tmp / f"{i}_{src.stem}.o"
            cmd = [cxx(), *flags, *incs, "-c", str(src), "-o", str(obj)]
            procs.append((cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, text=True)))  # fmt: skip
            objs.append(obj)
        errors = []
        for _cmd, p in procs:
            out, _ = p.communicate()
            if p.returncode != 0:
                errors.append(_first_errors(out))
        if errors:
            raise SimBuildError("g++ build of the HLS C simulation failed:\n" + errors[0])
        link = [cxx(), *map(str, objs), "-o", str(tmp / name)]
        proc = subprocess.run(link, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SimBuildError(f"linking the HLS C simulation failed:\n{proc.stderr[-2000:]}")
        for o in objs:
            o.unlink()
        (tmp / "build.txt").write_text(
            "\n".join(" ".join(c) for c, _ in procs) + "\n" + " ".join(link) + "\n"
        )
        try:
            tmp.rename(final)
        except OSError:
            if not binary.exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return binary


def _first_errors(text: str, limit: int = 15) -> str:
    lines = text.splitlines()
    errs = [i for i, ln in enumerate(lines) if "error" in ln]
    start = errs[0] if errs else max(0, len(lines) - limit)
    return "\n".join(lines[start : start + limit])


def build_csim(build_dir: Path, cache_dir: Path | None = None, literal: bool = False) -> Path:
    """The C simulation binary of BUILD/hls (testbench csim_main.cpp, taps on).

    By default the MVU parameters are read at start from the RTL memory files (rtl/*.mem,
    HALFWAVE_PARAMS_FROM_MEM): the binary depends on the shapes only, like the Verilator
    one. literal=True compiles the constants of hls/params/*.h instead, as Vitis HLS does
    (slow to compile for large layers)."""
    hls = Path(build_dir) / "hls"
    if not (hls / "top.json").is_file():
        raise SimError(f"{hls}: no generated HLS C++ (run halfwave compile)")
    defines = ["HALFWAVE_FAST_CSIM", "HALFWAVE_TAPS"]
    if not literal:
        defines.append("HALFWAVE_PARAMS_FROM_MEM")
    return build(
        [hls / "top.cpp", hls / "csim_main.cpp"],
        [hls, hls / "params"] if literal else [hls],
        cache_dir or default_sim_cache(),
        defines=tuple(defines),
    )


# ---------------------------------------------------------------- values <-> beats


def _to_lanes(values: np.ndarray, dtype: str) -> np.ndarray:
    return (values > 0).astype(np.int64) if dtype == "BIPOLAR" else values


def _from_lanes(lanes: np.ndarray, dtype: str) -> np.ndarray:
    return 2 * lanes - 1 if dtype == "BIPOLAR" else lanes


def values_to_bytes(values: np.ndarray, fmt: dict) -> np.ndarray:
    """(frames, vectors*count) values -> (frames*vectors*beats, bytes) beats of `fmt`
    (a top.json stream: lanes, width, count, vectors, dtype)."""
    v = _to_lanes(np.asarray(values, dtype=np.int64), fmt["dtype"])
    v = v.reshape(len(v) * fmt["vectors"], fmt["count"])
    return vl.pack_lanes(vl.vectors_to_beats(v, fmt["lanes"]), fmt["width"])


def bytes_to_values(data: np.ndarray, fmt: dict, frames: int) -> np.ndarray:
    """Inverse of values_to_bytes: beats -> (frames, vectors*count) values."""
    lanes = vl.unpack_lanes(data, fmt["lanes"], fmt["width"], fmt["signed"])
    v = vl.beats_to_vectors(lanes, fmt["count"]).reshape(frames, -1)
    return _from_lanes(v, fmt["dtype"])


def _beats_per_frame(fmt: dict) -> int:
    return -(-fmt["count"] // fmt["lanes"]) * fmt["vectors"]


# ---------------------------------------------------------------- run


def simulate(
    build_dir: Path, values: np.ndarray, opts: SimOptions | None = None, literal: bool = False
) -> HlsRun:
    """Run integer input values (N, n_in) through BUILD/hls in C simulation; returns the
    values at every layer boundary (input first, as halfwave.sim.golden.execute).
    literal: see build_csim."""

    hls = Path(build_dir) / "hls"
    desc = json.loads((hls / "top.json").read_text())
    t = time.perf_counter()
    binary = build_csim(build_dir, (opts or SimOptions()).cache_dir, literal)
    build_s = time.perf_counter() - t
    values = np.asarray(values, dtype=np.int64).reshape(len(values), -1)
    n = len(values)
    fin, fout = desc["in"], desc["out"]
    with tempfile.TemporaryDirectory(prefix="halfwave-csim-") as td:
        td = Path(td)
        values_to_bytes(values, fin).tofile(td / "in.bin")
        cmd = [str(binary), str(td / "in.bin"), str(td / "out.bin"), str(td / "taps.bin")]
        proc = subprocess.run(cmd, cwd=hls, capture_output=True, text=True)
        if proc.returncode == 3:
            raise SimDeadlock(f"HLS C simulation: {proc.stderr.strip()[-500:]}")
        if proc.returncode != 0:
            raise SimError(
                f"HLS C simulation {binary} exited with {proc.returncode}:\n"
                f"{(proc.stderr + proc.stdout).strip()[-2000:]}"
            )
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        out_bytes = -(-(fout["lanes"] * fout["width"]) // 8)
        out = np.fromfile(td / "out.bin", dtype=np.uint8).reshape(-1, out_bytes)
        taps = np.fromfile(td / "taps.bin", dtype=np.uint8)
    boundaries = []
    pos = 0
    for fmt in desc["taps"]:
        nbytes = -(-(fmt["lanes"] * fmt["width"]) // 8)
        size = n * _beats_per_frame(fmt) * nbytes
        chunk = taps[pos : pos + size].reshape(-1, nbytes)
        pos += size
        boundaries.append(bytes_to_values(chunk, fmt, n))
    if pos != taps.size:
        raise SimError(f"HLS C simulation wrote {taps.size} tap bytes, expected {pos}")
    final = bytes_to_values(out, fout, n)
    if not np.array_equal(final, boundaries[-1]):
        raise SimError("HLS C simulation: the output bus disagrees with the last boundary")
    return HlsRun(boundaries, float(stats["frames_per_s"]), float(stats["wall_s"]), build_s)


def write_testbench_vectors(
    build_dir: Path, df=None, frames: int = TESTBENCH_FRAMES, seed: int = 0
) -> None:
    """hls/tb_input.bin and hls/tb_expected.bin for the self-checking Vitis HLS testbench
    (csim_main.cpp without arguments): random codes over the input datatype's range and
    the golden executor's output for them (deterministic bytes)."""
    from halfwave.compiler import ir
    from halfwave.compiler.datatypes import DataType

    from . import golden

    df = df or ir.load(Path(build_dir))
    desc = json.loads((Path(build_dir) / "hls" / "top.json").read_text())
    dt = DataType.parse(df.input.dtype)
    shape = [frames, *(d for d in df.input.shape if d > 0)]
    rng = np.random.default_rng(seed)
    if dt.kind == "BIPOLAR":
        codes = rng.choice(np.array([-1, 1]), size=shape)
    else:
        codes = rng.integers(dt.min, dt.max + 1, size=shape)
    values = golden.execute(df, codes * np.float64(df.input.scale), preprocessed=True)
    hls = Path(build_dir) / "hls"
    values_to_bytes(values[0], desc["in"]).tofile(hls / "tb_input.bin")
    values_to_bytes(values[-1], desc["out"]).tofile(hls / "tb_expected.bin")
