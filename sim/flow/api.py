"""The public Python API: train, export, compile, simulate, verify (thin layer)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from halfwave.compiler import ir
from halfwave.compiler.compile import CompileOptions, compile_model
from halfwave.sim import golden
from halfwave.sim.options import SimOptions

from . import inputs
from . import verify as ladder

MODEL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def is_model_name(s: str) -> bool:
    return bool(MODEL_NAME.match(s)) and not s.endswith(".onnx")


def train(
    model: str,
    out: Path,
    epochs: int | None = None,
    seed: int = 0,
    data: Path | None = None,
    **options,
) -> dict:
    """Train on digits, or (convolutional models) on the image folder ``data``;
    ``options``: halfwave.training.train's (lr, batch_size, device, loss, resume, ...)."""
    from halfwave.training import train as _train

    return _train(model, Path(out), epochs=epochs, seed=seed, data_dir=data, **options)


def export(model: str, ckpt: Path | None, out: Path) -> Path:
    from halfwave.training import export_qonnx

    export_qonnx(model, ckpt, Path(out))
    return Path(out)


def compile(
    onnx_path: Path,
    build: Path,
    folding: Path | None = None,
    target_cycles: int | None = None,
    topk: int | None = None,
    log: Log = _quiet,
    board: str | None = None,
    target_fps: float | None = None,
    max_fps: bool = False,
    fifo_depths: dict[str, int] | None = None,
    minimise: str | None = None,
) -> ir.Dataflow:
    """Compile a QONNX file into BUILD. With `board` (hw/boards/<name>.json) the folding
    optimiser picks PE/SIMD: `target_fps` at the board clock with the least resources, or
    the fastest design that fits (`max_fps`, or no target). `fifo_depths` ({node: depth})
    overrides the FIFO sizing in front of those nodes; `minimise` ("lut", "ff", "bram36",
    "dsp", with `target_fps`) weighs that resource most."""
    opts = CompileOptions(
        folding, target_cycles, topk, board=board, target_fps=target_fps, max_fps=max_fps,
        fifo_depths=fifo_depths, minimise=minimise,
    )  # fmt: skip
    inputs.before_compile(Path(build), folding)  # folding file checked, old manifest gone
    df = compile_model(Path(onnx_path), Path(build), opts, log)
    from halfwave.sim import hls

    hls.write_testbench_vectors(Path(build), df)  # hls/tb_*.bin: the Vitis HLS self-check
    inputs.write_manifest(Path(build))  # sim/verify refuse files edited after this
    return df


def synth(
    build: Path,
    per_layer: bool = True,
    whole: bool = False,
    jobs: int | None = None,
    log: Log = _quiet,
    progress: bool = False,
    cache_dir: Path | None = None,
) -> dict:
    """`halfwave synth`: Yosys (synth_xilinx -family xc7) per block and/or on the whole
    design; writes BUILD/synth.json and the estimate-vs-Yosys table in report.md.
    Yosys results are cached in `cache_dir` (default BUILD/synth/cache)."""
    from .synth import synth_build

    return synth_build(Path(build), per_layer, whole, jobs, cache_dir, log=log, progress=progress)


@dataclass
class SimResult:
    output: np.ndarray  # what the model returns (dequantised), batch first
    values: list[np.ndarray]  # integer values per boundary (rtl: input and output only)
    stats: dict = field(default_factory=dict)
    port: np.ndarray | None = None  # rtl: the values that left top's output port


def simulate(
    build: Path, x: np.ndarray, backend: str = "golden", opts: SimOptions | None = None
) -> SimResult:
    """Run a BUILD on float inputs x. rtl with `opts.taps`: values at every node boundary
    are logged by the simulator; without, only the input and output values are returned.
    `opts` (stalls, DDR model, simulator cache) applies to rtl and hls."""
    opts = opts or SimOptions()
    df = inputs.load_build(Path(build))  # missing/edited files, damaged IR: one sentence
    x = inputs.check_inputs(x, df)
    if backend == "golden":
        values = golden.execute(df, x)
        return SimResult(golden.dequantize_output(df, values[-1]), values)
    if backend == "rtl":
        from halfwave.sim import rtl

        vin = golden.quantize_input(df.input, x)
        run = rtl.simulate(Path(build), vin, opts)
        stats = {
            "cycles": run.cycles,
            "cycles_per_frame": run.cycles_per_frame,
            "predicted_cycles_per_frame": run.predicted_cycles_per_frame,
            "latency_cycles": run.latency,
            "cycles_per_s": run.cycles_per_s,
            "wall_s": run.wall_s,
        }
        if run.fifos is not None:  # high-water mark of every FIFO (sim/rtl.py)
            stats["fifos"] = run.fifos
        values = [vin, run.values]
        if run.taps is not None:
            values = [vin, *(run.taps[n.name] for n in df.nodes)]
        return SimResult(golden.dequantize_output(df, run.values), values, stats, run.values)
    if backend == "hls":  # C simulation of BUILD/hls with g++: every boundary, always
        from halfwave.sim import hls

        vin = golden.quantize_input(df.input, x)
        hrun = hls.simulate(Path(build), vin, opts)
        stats = {"frames_per_s": hrun.frames_per_s, "wall_s": hrun.wall_s, "build_s": hrun.build_s}
        return SimResult(golden.dequantize_output(df, hrun.values[-1]), hrun.values, stats)
    raise ValueError(f"unknown backend '{backend}' (golden, rtl or hls)")


# ---------------------------------------------------------------- verify


@dataclass
class VerifyReport:
    lines: list[str]
    ok: bool
    comparisons: list[ladder.Comparison]
    rtl_stats: dict
    hls_stats: dict = field(default_factory=dict)
    fifos: ladder.FifoCheck | None = None  # RTL FIFO high-water marks vs depths
    ran: list[str] = field(default_factory=list)  # the exact rungs compared
    not_run: list[str] = field(default_factory=list)  # rungs left out (torch, rtl, hls)

    @property
    def verdict(self) -> str:
        """BIT-EXACT or MISMATCH, naming the rungs that ran and those that did not."""
        s = f"{'BIT-EXACT' if self.ok else 'MISMATCH'} ({' = '.join(self.ran)})"
        return s + (f"; not run: {', '.join(self.not_run)}" if self.not_run else "")


def model_paths(model: str, root: Path = Path("build")) -> tuple[Path, Path, Path]:
    """Checkpoint, QONNX file and BUILD folder of a named model."""
    return (root / "models" / f"{model}.pt", root / "models" / f"{model}.onnx", root / model)


def prepare_model(model: str, root: Path, log: Log, epochs: int | None = None) -> tuple[Path, Path]:
    """Train (or reuse) and export a named model; returns (checkpoint, onnx)."""
    ckpt, onnx_path, _ = model_paths(model, root)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    if ckpt.is_file():
        log(f"reusing checkpoint {ckpt}")
    else:
        t = time.perf_counter()
        metrics = train(model, ckpt, epochs=epochs)
        log(
            f"trained {model} in {time.perf_counter() - t:.1f} s: "
            f"test accuracy {metrics.get('test_accuracy', float('nan')):.4f}"
        )
    export(model, ckpt, onnx_path)
    log(f"exported {onnx_path}")
    return ckpt, onnx_path


def verification_inputs(df: ir.Dataflow, n: int, seed: int = 0) -> np.ndarray:
    """Digits test images when the model takes 64 pixels or square RGB images of 8-bit
    pixels (digits upscaled), otherwise random inputs that cover the input quantiser's
    whole range."""
    shape = [d for d in df.input.shape if d > 0]
    if df.input.preprocess is not None:  # the quantiser's codes, taken back through it
        return _codes_before_preprocessing(df, n, seed)
    if int(np.prod(shape)) == 64:
        from halfwave.training import digits_test_arrays

        x, _ = digits_test_arrays()
        if len(x) >= n:
            return x[:n].reshape([n, *shape]).astype(np.float32)
    if len(shape) == 3 and shape[0] == 3 and shape[1] == shape[2] and n <= 450:
        from halfwave.training.data import digits_test_images  # digits upscaled to RGB

        x, _ = digits_test_images(shape[1], n)
        if df.input.dtype == "UINT8" and df.input.scale == 1.0:
            return x.astype(np.float32)
    from halfwave.compiler.datatypes import DataType

    dt = DataType.parse(df.input.dtype)
    rng = np.random.default_rng(seed)
    codes = rng.integers(dt.min, dt.max + 1, size=[n, *shape])
    return (codes * df.input.scale).astype(np.float32)


def _codes_before_preprocessing(df: ir.Dataflow, n: int, seed: int) -> np.ndarray:
    """Inputs whose pre-processed values are the quantiser's codes (every code, both
    signs) moved by up to 0.45 of a step, so rounding decides each one."""
    from halfwave.compiler.datatypes import DataType

    dt = DataType.parse(df.input.dtype)
    shape = [n, *df.input.shape]
    rng = np.random.default_rng(seed)
    codes = rng.integers(dt.min, dt.max + 1, size=shape) + rng.uniform(-0.45, 0.45, shape)
    x = df.input.preprocess.invert(codes * df.input.scale)
    return x.reshape(n, *df.input.model_shape()).astype(np.float32)


def verify(
    target: str,
    n: int = 200,
    root: Path = Path("build"),
    rtl: bool = True,
    stall: float = 0.0,
    folding: Path | None = None,
    log: Log = _quiet,
    hls: bool = False,
    epochs: int | None = None,
    opts: SimOptions | None = None,
) -> VerifyReport:
    """`halfwave verify`: TARGET is a model name (trained, with `epochs` or the model's
    default, and exported if needed) or a QONNX file (then the ladder starts at QONNX
    execution). `stall` sets both stall probabilities of `opts`."""
    if is_model_name(target):
        from halfwave.training import load_checkpoint

        ckpt, onnx_path = prepare_model(target, root, log, epochs)
        return verify_onnx(
            onnx_path,
            model_paths(target, root)[2],
            load_checkpoint(ckpt),
            n,
            rtl=rtl,
            stall=stall,
            folding=folding,
            log=log,
            hls=hls,
            opts=opts,
        )
    onnx_path = Path(target)
    return verify_onnx(
        onnx_path,
        root / onnx_path.stem,
        None,
        n,
        rtl=rtl,
        stall=stall,
        folding=folding,
        log=log,
        hls=hls,
        opts=opts,
    )


def verify_onnx(
    onnx_path: Path,
    build: Path,
    model=None,
    n: int = 200,
    x: np.ndarray | None = None,
    rtl: bool = True,
    stall: float = 0.0,
    folding: Path | None = None,
    log: Log = _quiet,
    hls: bool = False,
    opts: SimOptions | None = None,
) -> VerifyReport:
    """Compile onnx_path into build and compare every rung on n inputs (or on x). With
    hls, the HLS C simulation is compared with the golden executor and the RTL too, at
    every boundary. `opts`: the simulations' options, `stall` on both streams."""
    opts = (opts or SimOptions()).replace(stall_in=stall, stall_out=stall)
    df = compile(onnx_path, build, folding=folding, log=log)
    if x is None:
        x = verification_inputs(df, n)
    rungs = []
    if model is not None:
        rungs.append(ladder.torch_rung(model, df, x, float64=True))
    rungs.append(ladder.qonnx_rung(onnx_path, df, x, float64=True))
    rungs.append(ladder.golden_rung(df, x))
    rtl_stats: dict = {}
    if rtl:
        res = simulate(build, x, "rtl", opts.replace(taps=True))
        rungs.append(ladder.Rung("rtl", res.values))
        rtl_stats = res.stats
    comps = [ladder.compare(a, b) for a, b in zip(rungs, rungs[1:], strict=False)]
    gold = next(r for r in rungs if r.name == "golden")
    if rtl:  # the taps are the blocks' outputs; the output port is compared too
        port = ladder.Rung("rtl-port", [None] * len(df.nodes) + [res.port])
        comps.append(ladder.compare(gold, port))
    hls_stats: dict = {}
    if hls:  # the HLS rung beside the RTL: compared with golden and with the RTL
        res = simulate(build, x, "hls", opts)
        hls_rung = ladder.Rung("hls", res.values)
        hls_stats = res.stats
        refs = [r for r in rungs if r.name in ("golden", "rtl")]
        comps += [ladder.compare(r, hls_rung) for r in refs]
    lines = []
    for c in comps:
        extra = ""
        if c.dut == "hls":
            extra = f"C simulation {hls_stats['frames_per_s']:.0f} frames/s"
        if c.dut == "rtl":
            s = rtl_stats
            extra = (
                f"{s['cycles_per_frame']:.1f} cycles/frame (predicted "
                f"{s['predicted_cycles_per_frame']}), latency {s['latency_cycles']} cycles, "
                f"{s['cycles_per_s'] / 1e6:.2f} M cycles/s"
            )
        lines.append(c.line(extra))
    ulps = next(r for r in rungs if r.name == "qonnx-f64").threshold_ulps
    f32 = []
    if model is not None:
        f32.append(ladder.torch_rung(model, df, x, float64=False))
    f32.append(ladder.qonnx_rung(onnx_path, df, x, float64=False))
    f32 = [ladder.compare_float32(gold, r, ulps) for r in f32]
    lines += [c.line("float32") for c in f32]
    fifos = None
    if rtl:
        fifos = write_fifo_levels(build, rtl_stats, steady=stall == 0)
        lines += fifos.lines + fifos.warnings
    margins = ", ".join(f"{r.name} {r.margin:.1e}" for r in rungs if r.margin)
    if margins:
        lines.append(f"integer recovery margins (must stay < {ladder.MARGIN_LIMIT}): {margins}")
    ok = all(c.ok for c in comps + f32) and all(r.margin < ladder.MARGIN_LIMIT for r in rungs)
    ran = [r.name for r in rungs] + (["hls"] if hls else [])
    not_run = [name for name, on in (("torch-f64", model is not None), ("rtl", rtl),
                                     ("hls", hls)) if not on]  # fmt: skip
    return VerifyReport(lines, ok, comps + f32, rtl_stats, hls_stats, fifos, ran, not_run)


def write_fifo_levels(build: Path, stats: dict, steady: bool = True) -> ladder.FifoCheck:
    """Check an RTL run's FIFO high-water marks against their depths (verify.fifo_check)
    and write them to BUILD/fifo_levels.json."""
    check = ladder.fifo_check(stats, steady)
    doc = check.as_dict(stats)
    (Path(build) / "fifo_levels.json").write_text(json.dumps(doc, indent=1) + "\n")
    return check
