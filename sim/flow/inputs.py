"""Checks of what a user hands to the flow besides the model (the model itself:
compiler/validate.py): input arrays for `sim`, BUILD folders, folding files, and the
one-sentence form of every refusal.

A BUILD folder gets a manifest (BUILD/manifest.json, written by api.compile) with the
sha256 of every file the simulators read: dataflow.json, params/, rtl/ (top.json, its
sources, memory and weight-stream files) and the HLS sources. A file missing or edited
since the compile is named and the user asked to recompile, instead of simulating
hardware that is not the compiled one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from halfwave.compiler import ir
from halfwave.compiler.errors import CompileError

MANIFEST = "manifest.json"
FOLDING_KEYS = {"PE", "SIMD", "external", "fifo_depth", "batch", "dsp_pack", "weight_rom"}


def sentence(exc: BaseException) -> str:
    """An exception's message as one line (tracebacks and multi-line library messages
    folded), at most 400 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


# ---------------------------------------------------------------- X.npy


def check_inputs(x: np.ndarray, df: ir.Dataflow, what: str = "X") -> np.ndarray:
    """Model inputs (batch first) of a real numeric dtype, finite, with the model's
    per-frame shape; returned as float64."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise CompileError(f"{what}: holds {x.dtype} values; the model takes real numbers")
    shape = [int(d) for d in df.input.model_shape()]
    size = int(np.prod(shape)) if all(d > 0 for d in shape) else None
    exact = x.ndim == 1 + len(shape) and all(
        d <= 0 or d == n for d, n in zip(shape, x.shape[1:], strict=True)
    )
    flat = x.ndim == 2 and size is not None and x.shape[1] == size
    if not (exact or flat):
        raise CompileError(
            f"{what}: shape {list(x.shape)} is not (frames, {', '.join(map(str, shape))}) "
            "as the model takes"
        )
    if len(x) == 0:
        raise CompileError(f"{what}: holds no frames")
    x = x.astype(np.float64)
    bad = ~np.isfinite(x.reshape(len(x), -1))
    if bad.any():
        frame = int(np.flatnonzero(bad.any(axis=1))[0])
        kind = "NaN" if np.isnan(x.reshape(len(x), -1)[frame]).any() else "Inf"
        raise CompileError(f"{what}: frame {frame} holds {kind}")
    return x


# ---------------------------------------------------------------- folding files


def check_folding_file(path: Path) -> None:
    """A folding file maps node names to {"PE": p, "SIMD": s, "external": bool,
    "fifo_depth": d} with positive integers (unknown node names are refused by the
    folding itself, which knows the nodes)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompileError(f"{path}: cannot read the folding file ({sentence(exc)})") from None
    if not isinstance(doc, dict):
        raise CompileError(f'{path}: a folding file maps node names to {{"PE": p, "SIMD": s}}')
    for node, spec in doc.items():
        if not isinstance(spec, dict):
            raise CompileError(f"{path}: the entry of '{node}' is not an object")
        unknown = sorted(set(spec) - FOLDING_KEYS)
        if unknown:
            raise CompileError(
                f"{path}: '{node}' has unknown key '{unknown[0]}' (keys: "
                f"{', '.join(sorted(FOLDING_KEYS))})"
            )
        for key in ("PE", "SIMD", "fifo_depth", "batch"):
            v = spec.get(key, 1)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise CompileError(f"{path}: '{node}' {key}={v!r} is not a positive integer")


# ---------------------------------------------------------------- BUILD folders


def before_compile(build: Path, folding: Path | None) -> None:
    """Before compiling into BUILD: the folding file checked, the old manifest removed
    (a compile that stops half-way leaves no manifest that vouches for old files)."""
    if folding is not None:
        check_folding_file(folding)
    (Path(build) / MANIFEST).unlink(missing_ok=True)


def _manifest_files(build: Path) -> list[Path]:
    files = [build / "dataflow.json", *sorted((build / "params").glob("*.npy"))]
    rtl = build / "rtl"
    if (rtl / "top.json").is_file():
        try:
            sources = json.loads((rtl / "top.json").read_text()).get("sources", [])
        except (json.JSONDecodeError, AttributeError):
            sources = []
        files += [rtl / "top.json", *(rtl / str(s) for s in sources)]
    files += sorted(rtl.glob("*.mem")) + sorted(rtl.glob("*_wstream.bin"))
    hls = build / "hls"
    files += sorted(hls.glob("*.h")) + sorted(hls.glob("*.cpp")) + sorted(hls.glob("params/*"))
    return [f for f in files if f.is_file()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(build: Path) -> Path:
    """BUILD/manifest.json: the hash of every file the simulators read."""
    build = Path(build)
    doc = {str(f.relative_to(build)): _sha256(f) for f in _manifest_files(build)}
    out = build / MANIFEST
    out.write_text(json.dumps({"files": doc}, indent=1, sort_keys=True) + "\n")
    return out


def check_manifest(build: Path) -> None:
    """Every file of the manifest present and unchanged (no manifest: nothing to check)."""
    build = Path(build)
    path = build / MANIFEST
    if not path.is_file():
        return
    try:
        files = json.loads(path.read_text())["files"]
        items = [(str(k), str(v)) for k, v in files.items()]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise CompileError(f"{path}: not a readable build manifest; recompile") from None
    for rel, digest in items:
        f = build / rel
        if not f.is_file():
            raise CompileError(f"{build}: {rel} is missing; recompile the BUILD")
        if _sha256(f) != digest:
            raise CompileError(f"{build}: {rel} was edited after the compile; recompile the BUILD")


def load_build(build: Path) -> ir.Dataflow:
    """ir.load with every way a BUILD folder can be damaged refused in one sentence:
    no folder, missing or edited files (manifest), unreadable or inconsistent IR."""
    build = Path(build)
    if not (build / "dataflow.json").is_file():
        raise CompileError(f"{build}: not a halfwave build (no dataflow.json)")
    check_manifest(build)
    try:
        df = ir.load(build)
        _check_nodes(df)
    except CompileError as exc:
        raise CompileError(f"{build}: damaged build ({exc}); recompile") from None
    except Exception as exc:  # JSON, missing arrays, edited fields: many kinds
        raise CompileError(
            f"{build}: damaged build ({type(exc).__name__}: {sentence(exc)}); recompile"
        ) from None
    return df


def _check_nodes(df: ir.Dataflow) -> None:
    """Fields of the types the IR declares, parameter arrays of the node's shape."""
    import dataclasses

    for n in [df.input, *df.nodes]:
        for f in dataclasses.fields(n):
            v = getattr(n, f.name)
            where = getattr(n, "name", "input")
            if f.type == "int" and (not isinstance(v, int) or isinstance(v, bool)):
                raise CompileError(f"field {f.name}={v!r} is not an integer", where)
            if f.type == "str" and not isinstance(v, str):
                raise CompileError(f"field {f.name}={v!r} is not text", where)
        weights = getattr(n, "weights", None)
        if weights is not None and tuple(weights.shape) != (n.MH, n.MW):
            raise CompileError(
                f"weights of shape {list(weights.shape)}, not [{n.MH}, {n.MW}]", n.name
            )
        thr = getattr(n, "thresholds", None)
        rows = getattr(n, "MH", getattr(n, "C", None))  # an MVU's rows, an Add's channels
        if thr is not None and (thr.ndim != 2 or thr.shape[0] != rows):
            raise CompileError(f"thresholds of shape {list(thr.shape)} for {rows} rows", n.name)
