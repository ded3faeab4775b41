"""The `halfwave` command: train, export, compile, sim, verify.

Each subcommand prints one line per stage and exits non-zero with one readable sentence
on failure (`error: ...`), never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from halfwave.compiler.errors import CompileError


def _log(msg: str) -> None:
    print(msg, flush=True)


def cmd_train(a: argparse.Namespace) -> int:
    from . import api

    metrics = api.train(a.model, a.out, epochs=a.epochs, seed=a.seed)
    print(json.dumps(metrics, indent=1))
    print(f"checkpoint: {a.out}")
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from . import api

    api.export(a.model, a.ckpt, a.out)
    print(f"QONNX: {a.out}")
    return 0


def cmd_compile(a: argparse.Namespace) -> int:
    from . import api

    t = time.perf_counter()
    api.compile(a.model, a.out, a.folding, a.target_cycles, a.topk, log=_log)
    print(
        f"compiled in {time.perf_counter() - t:.2f} s; outputs in {a.out}: dataflow.json, "
        "rtl/, report.json, report.md"
    )
    return 0


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CompileError(f"{path}: not a readable .npy array ({exc})") from exc


def cmd_sim(a: argparse.Namespace) -> int:
    from . import api

    x = _load_npy(a.inputs)
    res = api.simulate(a.build, x, a.backend, a.stall, a.stall, a.seed, taps=bool(a.raw))
    np.save(a.out, res.output)
    if a.raw:
        a.raw.mkdir(parents=True, exist_ok=True)
        for i, v in enumerate(res.values):
            np.save(a.raw / f"boundary{i}.npy", v)
    if res.stats:
        print(json.dumps(res.stats, indent=1))
    print(f"{len(x)} frames through {a.backend}; output: {a.out}")
    return 0


def cmd_verify(a: argparse.Namespace) -> int:
    from . import api

    rep = api.verify(
        a.target, n=a.n, root=a.root, rtl=not a.no_rtl, stall=a.stall, folding=a.folding, log=_log
    )
    for line in rep.lines:
        print(line)
    print("BIT-EXACT" if rep.ok else "MISMATCH")
    return 0 if rep.ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="halfwave", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser(
        "train",
        help="train a model on digits",
        description=(
            "Train a named model (e.g. tfc_w1a2, sfc_w1a2, lfc_w1a2, tfc_w1a1, tfc_w2a2, "
            "tfc_float) on sklearn's digits and save a checkpoint."
        ),
    )
    t.add_argument("model")
    t.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "export",
        help="export a trained model to QONNX",
        description=("Export a named model with its checkpoint to a QONNX file."),
    )
    e.add_argument("model")
    e.add_argument("--ckpt", type=Path, default=None, help="checkpoint from `train`")
    e.add_argument("--out", type=Path, required=True)
    e.set_defaults(func=cmd_export)

    c = sub.add_parser(
        "compile",
        help="compile a QONNX file to a BUILD folder",
        description=(
            "Lower a QONNX file to the dataflow IR, fold it and generate RTL. BUILD gets "
            "dataflow.json, rtl/, report.json and report.md."
        ),
    )
    c.add_argument("model", type=Path, help="QONNX (.onnx) file")
    c.add_argument("--out", type=Path, required=True, help="BUILD folder")
    c.add_argument(
        "--folding",
        type=Path,
        default=None,
        help='JSON {"mvu0": {"PE": 4, "SIMD": 8}, ...} overriding the default',
    )
    c.add_argument(
        "--target-cycles",
        type=int,
        default=None,
        help="fold every layer to at most this many cycles per frame",
    )
    c.add_argument("--topk", type=int, default=None, help="append a TopK block with this K")
    c.set_defaults(func=cmd_compile)

    s = sub.add_parser(
        "sim",
        help="run a BUILD on inputs",
        description=(
            "Run X.npy (what the PyTorch model takes, float32, batch first) through a BUILD "
            "and write Y.npy (what the PyTorch model returns)."
        ),
    )
    s.add_argument("build", type=Path)
    s.add_argument("--inputs", type=Path, required=True)
    s.add_argument("--backend", choices=["golden", "rtl"], default="golden")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument(
        "--raw",
        type=Path,
        default=None,
        help="also write the integer values at every layer boundary here",
    )
    s.add_argument(
        "--stall",
        type=float,
        default=0.0,
        help="rtl: probability of a random stall per cycle on both streams",
    )
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_sim)

    v = sub.add_parser(
        "verify",
        help="prove a model bit-exact through every rung",
        description=(
            "Compare integer values at every layer boundary: PyTorch float64 == QONNX execution "
            "== golden executor == RTL (Verilator). TARGET is a model name (trained and "
            "exported if needed) or a QONNX file. Exits non-zero on any mismatch."
        ),
    )
    v.add_argument("target", help="model name (e.g. tfc_w1a2) or model.onnx")
    v.add_argument("--n", type=int, default=200, help="frames to compare")
    v.add_argument("--root", type=Path, default=Path("build"), help="where builds go")
    v.add_argument("--no-rtl", action="store_true", help="skip the RTL rung")
    v.add_argument("--stall", type=float, default=0.0, help="random stalls in the RTL rung")
    v.add_argument("--folding", type=Path, default=None)
    v.set_defaults(func=cmd_verify)
    return p


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        return a.func(a)
    except (CompileError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a named failure from a lower layer (training, simulation)
        if type(exc).__name__ in ("CheckpointError", "ExportError", "SimBuildError", "SimDeadlock"):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
