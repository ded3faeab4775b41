"""Benchmarks on a real board budget: fold for a board, simulate, synthesise, plot.

``bench_board_design("cnv_w1a2", "pynq-z2")``: export the (untrained, BatchNorm
calibrated) model, compile it with ``--board pynq-z2 --max``, count cycles per frame in
the RTL (Verilator) and compare its output with the golden executor, run Yosys per block
and on the whole design, and return frames/s at the board clock (cycle model and RTL),
Yosys LUT/FF/BRAM36/DSP next to the estimate, the efficiency and frames/s per kLUT (with a
published design on the same part as the reference). Where the optimiser keeps weights in
DDR (rtl/top.json "weight_streams"), the RTL run feeds them from the harness's DDR model
at the board's bandwidth and the record gives the external layers and the DDR traffic. A
PNG per design shows cycles/frame per layer and resources per layer.

``python -m halfwave.flow.bench.synthesis [--models ...] [--out bench/synth.json] [--merge]``
runs it stand-alone (``--merge`` keeps the other records of --out); ``--calibrate``
re-runs the Yosys sweep the resource model's constants were fitted on
(compiler/resources.py, CAL) and prints estimate vs Yosys per block. Numbers are
recorded, never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from halfwave.sim.options import SimOptions

from .. import api
from ..cli import sim_options, synth_cache
from .results import write_results

Log = Callable[[str], None]

MODELS = ["cnv_w1a2", "hwgq_alexnet_tiny", "hwgq_alexnet", "qnn_mlp"]
WEIGHTS = "random, BatchNorm calibrated on generated images (training.calibrated_model)"
# RTL frames per model (else 3). AlexNet's pipeline is about 3 frames deep and its DDR
# weight streams share the bandwidth, so the frame-to-frame interval of a short run is
# below the steady state (2 frames: 1.18 M cycles on pynq-z2, steady 1.41 M): 12 frames
# and a second run of 6 give the steady state (_steady_cycles; a few minutes).
FRAMES = {"hwgq_alexnet": 12}

# published designs on the xc7z020 (PYNQ-Z1/Z2, ZedBoard), the reference figures
REFERENCE = {
    "cnv_w1a2": {
        "source": "BNN-PYNQ CNV-W1A2 on xc7z020 (Vivado): 40,321 LUT, 131.5 BRAM36, "
        "about 9,150 frames/s at 100 MHz",
        "lut": 40321,
        "bram36": 131.5,
        "fps_at_100MHz": 9150,
        "fps_per_klut": round(9150 / 40.321, 1),
    },
    "hwgq_alexnet": {
        "source": "Jiao et al., FPL 2017: W1A2 AlexNet on xc7z020, 106 frames/s",
        "fps": 106,
    },
}


def bench_board_design(
    name: str,
    board: str = "pynq-z2",
    root: Path = Path("build"),
    target_fps: float | None = None,
    frames: int | None = None,
    whole: bool = True,
    rtl: bool = True,
    jobs: int | None = None,
    log: Log = print,
    plot_dir: Path | None = None,
    per_block: bool = True,
    opts: SimOptions | None = None,
    synth_cache: Path | None = None,
    minimise: str | None = None,
) -> dict:
    """Compile `name` for `board` (--max, or --target-fps; `minimise`: --minimise), simulate
    `frames` frames in RTL (default FRAMES, else 3; with the DDR model where weights are
    external), compare with the golden executor, synthesise (per block with `per_block`;
    whole design with `whole`) and plot (into `plot_dir`, default the build folder). `opts`: the RTL
    simulation's options (the DDR model takes the board's bandwidth); `synth_cache`: the
    Yosys cache (default in the build). Returns the record."""
    from halfwave.compiler import ir

    onnx_path = _export(name, root)
    build = root / "bench" / f"{name}_{board}"
    t = time.perf_counter()
    api.compile(
        onnx_path, build, log=log, board=board, target_fps=target_fps,
        max_fps=target_fps is None, minimise=minimise,
    )  # fmt: skip
    report = json.loads((build / "report.json").read_text())
    rec = _design_record(report, target_fps, time.perf_counter() - t)
    if minimise:
        rec["mode"] += f", --minimise {minimise}"
    clock = report["resources"]["board"]["clock_mhz"] * 1e6
    if rtl:
        n = frames or FRAMES.get(name, 3)
        rec["rtl"] = _rtl_record(build, ir.load(build), n, board, clock, log, opts)
        cycles = rec["rtl"]["cycles_per_frame_rtl"]
    else:
        cycles = rec["cycles_per_frame_model"]
    fps = round(clock / cycles, 1)
    rec["fps_rtl" if rtl else "fps_model"] = fps
    rec["fps_source"] = "RTL cycle count" if rtl else "cycle model"
    if rtl and "steady_state" in rec["rtl"]:
        rec["fps_source"] = "RTL cycle count, steady state (see rtl.steady_state)"
    if rec["ddr"]:
        rec["ddr"]["needed_gb_per_s_at_fps"] = round(rec["ddr"]["bytes_per_frame"] * fps / 1e9, 3)
    syn = _synth_record(rec, fps, build, per_block, whole, jobs, log, synth_cache)
    if name in REFERENCE:
        rec["reference"] = REFERENCE[name]
    png = (plot_dir or build) / f"{name}_{board}.png"
    rec["plot"] = str(plot_design(build, syn, report, png))
    return rec


def _export(name: str, root: Path) -> Path:
    """The untrained model with BatchNorm calibrated on images, as QONNX (reused)."""
    from halfwave.training import calibrated_model, export_qonnx

    onnx_path = root / "models" / f"{name}_calibrated.onnx"
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    if not onnx_path.is_file():
        export_qonnx(calibrated_model(name), None, onnx_path)
    return onnx_path


def _design_record(report: dict, target_fps: float | None, compile_s: float) -> dict:
    """What the compiler decided: folding, cycle model, estimate vs budget, DDR weights
    (model-derived figures: `_model`)."""
    res = report["resources"]
    plan = res["board"]
    clock = plan["clock_mhz"] * 1e6
    return {
        "board": plan["name"],
        "mode": "max" if target_fps is None else f"target {target_fps:g} fps",
        "weights": WEIGHTS,
        "compile_s": round(compile_s, 2),
        "cycles_per_frame_model": plan["cycles_per_frame"],
        "fps_model": round(clock / plan["cycles_per_frame"], 1),
        "efficiency_model": res.get("efficiency"),
        "resources_model": res["estimate"],
        "budget": plan["budget"],
        "budget_pct_model": plan.get("utilisation_pct"),
        "external_weights": (plan.get("ddr") or {}).get("external", []),
        "ddr": plan.get("ddr"),
        "layers": [
            {
                ("cycles_per_frame_model" if k == "cycles_per_frame" else k): v
                for k, v in r.items()
                if k in ("name", "kind", "PE", "SIMD", "cycles_per_frame")
            }
            for r in report["layers"]
        ],
        # batched weight streams: input vectors per pass of each external layer's weights
        "batch": {r["name"]: r["batch"] for r in report["layers"] if r.get("batch", 1) > 1},
    }


def _rtl_record(build: Path, df, frames: int, board: str, clock: float, log: Log,
                opts: SimOptions | None = None) -> dict:  # fmt: skip
    """Run `frames` random frames through the RTL (external weight streams fed by the DDR
    model at the board's bandwidth) and through the golden executor; cycles, frames/s and
    mismatched frames (integer values of the last boundary). With DDR weights a second
    run of the first frames//2 frames gives the steady state (_steady_cycles)."""
    ddr = _ddr_model(build, board)
    bpc = ddr["ddr_bytes_per_cycle"] if ddr else None
    # batched layers take whole batches of frames: both runs bring whole batches
    fb = int(json.loads((build / "rtl" / "top.json").read_text()).get("frame_batch", 1))
    frames = -(-frames // (2 * fb)) * 2 * fb if bpc and fb > 1 else frames
    counts = [frames, frames // 2] if bpc and frames >= 4 else [frames]
    x = _random_inputs(df, frames)
    t = time.perf_counter()
    opts = opts or SimOptions()
    if ddr is not None:
        opts = opts.replace(**ddr)
    runs = [api.simulate(build, x[:n], "rtl", opts) for n in counts]
    wall = time.perf_counter() - t
    t = time.perf_counter()
    want = api.simulate(build, x, "golden").values[-1].reshape(frames, -1)
    bad = sum(int(np.any(want[:n] != r.values[-1].reshape(n, -1), axis=1).sum())
              for n, r in zip(counts, runs, strict=True))  # fmt: skip
    s = runs[0].stats
    cycles = _steady_cycles(runs, counts) if len(runs) == 2 else s["cycles_per_frame"]
    lat = ddr["ddr_latency"] if ddr else 0
    how = f" with the DDR model at {bpc:g} bytes/cycle, {lat} cycles a transfer" if bpc else ""
    log(f"  RTL{how}: {' + '.join(map(str, counts))} frames, {cycles:.0f} cycles/frame, "
        f"{bad} mismatched vs golden ({wall:.0f} s with the build)")  # fmt: skip
    rec = {
        "frames": frames,
        "cycles_per_frame_rtl": cycles,
        "fps_rtl": round(clock / cycles, 1),
        "vs_cycle_model_pct": _pct(cycles, s["predicted_cycles_per_frame"]),
        "mean_frame_interval_cycles_rtl": s["cycles_per_frame"],
        "latency_cycles_rtl": s["latency_cycles"],
        # frame in -> result out of the first frame (a batch waits for its last frame)
        "latency_ms_rtl": round(1e3 * s["latency_cycles"] / clock, 3),
        "frame_batch": fb,
        "cycles_per_frame_model": s["predicted_cycles_per_frame"],
        "ddr_model_bytes_per_cycle": bpc,
        "ddr_model_latency_cycles": lat,
        "frames_compared_with_golden": sum(counts),
        "mismatched_frames_vs_golden": bad,
        "sim_wall_s": round(sum(r.stats["wall_s"] for r in runs), 1),
        "wall_s_including_build": round(wall, 1),
        "golden_wall_s": round(time.perf_counter() - t, 1),
    }
    if len(runs) == 2:
        rec["steady_state"] = STEADY.format(n=counts[0], m=counts[1])
    return rec


def _pct(value: float, ref: float) -> float:
    """How far `value` is from `ref`, in percent (one decimal, never -0.0)."""
    return round(100 * (value / ref - 1), 1) + 0.0


STEADY = (
    "cycles_per_frame = (end of frame {n} of a {n}-frame run - end of frame {m} of a "
    "{m}-frame run) / ({n} - {m}): the DDR streams of the frames behind a frame share the "
    "bandwidth with it, so within one run the first frames pass faster than the steady "
    "state (mean_frame_interval_cycles)"
)


def _steady_cycles(runs: list, counts: list[int]) -> float:
    """Cycles per frame in steady state from an N- and an M-frame run of the same inputs:
    the difference of their last frames' ends over N - M (both last frames see the same
    empty pipeline behind them)."""
    ends = [
        r.stats["latency_cycles"] + (n - 1) * (r.stats["cycles_per_frame"] if n > 1 else 0)
        for n, r in zip(counts, runs, strict=True)
    ]
    return (ends[0] - ends[1]) / (counts[0] - counts[1])


def _ddr_model(build: Path, board: str) -> dict | None:
    """The board's DDR model (simulation options: bytes per cycle, latency per transfer)
    where the design streams weights, else None."""
    from halfwave.compiler.blocks.weight_port import board_ddr_options
    from halfwave.compiler.boards import load_board

    desc = json.loads((build / "rtl" / "top.json").read_text())
    return board_ddr_options(load_board(board)) if desc.get("weight_streams") else None


def _synth_record(
    rec: dict, fps: float, build: Path, per_block: bool, whole: bool, jobs: int | None, log: Log,
    cache: Path | None = None,
) -> dict:  # fmt: skip
    """Yosys per block and/or whole (into `rec`, with frames/s per kLUT of Yosys, else of
    the estimate); returns the synth document (for the plot)."""
    if not (per_block or whole):
        rec["fps_per_klut"] = round(fps / (rec["resources_model"]["lut"] / 1000.0), 1)
        rec["fps_per_klut_of"] = "estimate"
        return {}
    t = time.perf_counter()
    syn = api.synth(build, per_layer=per_block, whole=whole, jobs=jobs, log=log, progress=True,
                    cache_dir=cache)  # fmt: skip
    rec["synth_s"] = round(time.perf_counter() - t, 1)
    rec["yosys_run_s"] = _yosys_run_seconds(build, per_block, whole, cache)
    rec["yosys_sum_of_blocks"] = syn.get("sum_of_blocks")
    rec["yosys_whole"] = {k: v for k, v in syn.get("whole", {}).items() if k != "cells"} or None
    ref = syn.get("whole") or syn.get("sum_of_blocks")
    rec["estimate_error_pct"] = syn.get("estimate_error_pct")
    rec["fps_per_klut"] = round(fps / (ref["lut"] / 1000.0), 1)
    rec["fps_per_klut_of"] = "Yosys whole design" if syn.get("whole") else "Yosys sum of blocks"
    return syn


def _yosys_run_seconds(build: Path, per_block: bool, whole: bool, cache: Path | None) -> dict:
    """How long the (cached) Yosys runs took when they ran: the sum over the distinct
    blocks (run `jobs` at a time) and the whole design."""
    from halfwave.compiler import ir, netlist

    from ..synth import default_cache_dir, synth_blocks, synth_whole

    rtl_dir, cache = build / "rtl", cache or default_cache_dir(build)
    out = {}
    if per_block:
        insts = netlist.blocks(ir.load(build))
        utils = synth_blocks(insts, rtl_dir, cache, 1, False).values()
        runs = {id(u): u.seconds for u in utils}  # equal instances share one run
        out["blocks_total"] = round(sum(runs.values()), 1)
    if whole:
        out["whole"] = round(synth_whole(rtl_dir, cache).seconds, 1)
    return out


def _random_inputs(df, n: int) -> np.ndarray:
    from halfwave.compiler.datatypes import DataType

    dt = DataType.parse(df.input.dtype)
    shape = [d for d in df.input.shape if d > 0]
    codes = np.random.default_rng(0).integers(dt.min, dt.max + 1, size=[n, *shape])
    return (codes * df.input.scale).astype(np.float32)


def plot_design(build: Path, syn: dict, report: dict, out: Path) -> Path:
    """Two panels: cycles/frame per layer (layers with weights in DDR in orange, the DDR
    bound dotted); LUT, FF (thousands), BRAM36 and DSP per layer (estimate, and Yosys per
    block when synthesised)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ddr = report["resources"].get("board", {}).get("ddr") or {}
    ext = set(ddr.get("external", []))
    names = [r["name"] for r in report["layers"]]
    labels = [f"{n} (DDR)" if n in ext else n for n in names]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(max(8, 0.6 * len(names)), 8), sharex=True)
    x = np.arange(len(names))
    _plot_cycles(a1, x, report, ext, ddr.get("ddr_cycles_per_frame"))
    _plot_resources(a2, x, names, report, _yosys_per_layer(syn))
    a2.set_xticks(x, labels, rotation=60, ha="right")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _yosys_per_layer(syn: dict) -> dict[str, dict[str, float]]:
    ys: dict[str, dict[str, float]] = {}
    for b in syn.get("blocks", []):
        acc = ys.setdefault(b["layer"], dict.fromkeys(("lut", "ff", "bram36", "dsp"), 0.0))
        for k in acc:
            acc[k] += b["yosys"][k]
    return ys


def _plot_cycles(ax, x: np.ndarray, report: dict, ext: set[str], ddr_cycles: int | None) -> None:
    cycles = [r["cycles_per_frame"] for r in report["layers"]]
    colors = ["tab:orange" if r["name"] in ext else "tab:blue" for r in report["layers"]]
    ax.bar(x, cycles, color=colors)
    ax.axhline(max(cycles), color="k", lw=0.8, ls="--")
    if ddr_cycles:
        ax.axhline(ddr_cycles, color="tab:orange", lw=1.0, ls=":",
                   label=f"DDR weight streams: {ddr_cycles} cycles/frame")  # fmt: skip
        ax.legend(fontsize=8)
    ax.set_ylabel("cycles / frame")
    ax.set_title(f"{report['model']}: cycles per frame per layer")


def _plot_resources(ax, x: np.ndarray, names: list[str], report: dict, ys: dict) -> None:
    est = {r["name"]: r for r in report["resources"]["layers"]}
    keys = [("lut", 1e-3, "LUT (k)"), ("ff", 1e-3, "FF (k)"), ("bram36", 1, "BRAM36"),
            ("dsp", 1, "DSP")]  # fmt: skip
    w = 0.2
    for i, (k, scale, label) in enumerate(keys):
        e = [est.get(n, {}).get(k, 0) * scale for n in names]
        ax.bar(x + (i - 1.5) * w, e, w, label=f"{label} est.", alpha=0.5)
        if ys:
            y = [ys.get(n, {}).get(k, 0) * scale for n in names]
            ax.scatter(x + (i - 1.5) * w, y, marker="_", s=120, color="k")
    ax.set_ylabel("resources (bars: estimate, ticks: Yosys)")
    ax.legend(fontsize=8, ncol=4)


# ---------------------------------------------------------------- calibration sweep

CALIBRATION = [
    # kind, (MW, MH, PE, SIMD), rom styles
    ("X", (64, 64, 4, 16), "bd"), ("X", (64, 64, 8, 8), "bd"), ("X", (128, 64, 4, 32), "bd"),
    ("X", (32, 32, 2, 8), "bd"), ("X", (256, 64, 8, 32), "bd"), ("X", (64, 32, 16, 16), "bd"),
    ("X", (144, 64, 4, 36), "bd"), ("X", (576, 64, 8, 64), "bd"), ("X", (64, 64, 1, 64), "bd"),
    ("X", (600, 128, 2, 8), "bd"), ("X", (1024, 64, 4, 64), "bd"),
    ("X", (288, 128, 32, 32), "bd"), ("S2", (64, 64, 4, 16), "bd"), ("S2", (64, 64, 8, 8), "bd"),
    ("S2", (128, 64, 4, 32), "bd"), ("S2", (32, 32, 2, 8), "bd"), ("S2", (256, 64, 8, 32), "bd"),
    ("S2", (64, 32, 16, 16), "bd"), ("S2", (144, 64, 4, 36), "bd"),
    ("S2", (576, 64, 8, 64), "bd"), ("S8", (27, 64, 16, 3), "bd"), ("S8", (27, 64, 4, 27), "bd"),
    ("S8", (75, 32, 8, 15), "b"), ("M8", (64, 16, 4, 8), "bd"), ("M8", (27, 16, 16, 3), "b"),
    ("M8", (121, 8, 8, 11), "b"), ("M2", (64, 64, 4, 16), "bd"), ("M2", (128, 32, 8, 8), "b"),
    ("R1", (64, 64, 4, 16), "bd"), ("X", (64, 10, 10, 8), "bd"), ("S2", (64, 10, 10, 16), "b"),
    ("X", (1152, 64, 2, 32), "b"), ("S2", (2304, 32, 1, 32), "b"),
]  # fmt: skip
KINDS = {  # mode, input, weights, thresholds per row, output
    "X": ("xnor", "BIPOLAR", "BIPOLAR", 1, "BIPOLAR"),
    "S2": ("signsel", "UINT2", "BIPOLAR", 3, "UINT2"),
    "S8": ("signsel", "UINT8", "BIPOLAR", 3, "UINT2"),
    "M8": ("mac", "UINT8", "INT8", 0, None),
    "M2": ("mac", "UINT2", "INT2", 3, "UINT2"),
    "R1": ("signsel", "UINT2", "BIPOLAR", 0, None),
}


def calibration_node(kind: str, mw: int, mh: int, pe: int, simd: int, seed: int):
    """A hw_mvu layer with random weights and thresholds (the calibration's data)."""
    from halfwave.compiler.datatypes import DataType
    from halfwave.compiler.ir import MVU

    mode, idt, wdt, n_t, odt = KINDS[kind]
    rng = np.random.default_rng(seed)
    wt, it = DataType.parse(wdt), DataType.parse(idt)
    w = (
        rng.choice([-1, 1], (mh, mw))
        if wdt == "BIPOLAR"
        else rng.integers(wt.min, wt.max + 1, (mh, mw))
    )
    if mode == "xnor":
        lo, hi = 0, mw
    else:
        ws = (-1, 1) if wdt == "BIPOLAR" else (wt.min, wt.max)
        prods = [a * b for a in (it.min, it.max) for b in ws]
        lo, hi = mw * min(prods), mw * max(prods)
    thr = np.sort(rng.integers(lo // 2, hi // 2 + 1, (mh, n_t)), axis=1) if n_t else None
    name = f"cal_{kind}_{mw}x{mh}_p{pe}s{simd}"
    return MVU(name, mw, mh, mode, idt, wdt, lo, hi, odt, PE=pe, SIMD=simd, weights=w,
               thresholds=thr)  # fmt: skip


def run_calibration(work: Path, jobs: int | None = None, log=print) -> list[dict]:
    """Synthesise every calibration block (both ROM styles where listed) and return
    estimate vs Yosys per block."""
    import shutil

    from halfwave.compiler import codegen_rtl as cg
    from halfwave.compiler.blocks.mvu import write_mvu_mem_files
    from halfwave.compiler.resources import estimate_mvu, mvu_shape

    from ..synth import Instance, default_cache_dir, synth_blocks, verilog_value

    rtl = work / "rtl"
    rtl.mkdir(parents=True, exist_ok=True)
    for f in cg.block_sources("hw_mvu"):
        shutil.copyfile(cg.RTL_LIB / f, rtl / f)
    insts, nodes = [], {}
    for kind, (mw, mh, pe, simd), styles in CALIBRATION:
        n = calibration_node(
            kind, mw, mh, pe, simd, zlib.crc32(f"{kind}{mw}{mh}{pe}{simd}".encode())
        )
        w_w = cg.lane_width(cg.DataType.parse(n.weight_dtype))
        write_mvu_mem_files(n.weights, n.thresholds, pe, simd, w_w, n.acc_bits, rtl / n.name)
        inst = n.rtl()
        for st in styles:
            style = {"b": "block", "d": "distributed"}[st]
            params = tuple((k, f'"{style}"' if k == "ROM_STYLE" else v) for k, v in inst.params)
            insts.append(Instance("hw_mvu", f"{n.name}_{st}", params))
            nodes[f"{n.name}_{st}"] = n
    utils = synth_blocks(insts, rtl, default_cache_dir(work), jobs)
    rows = []
    for inst in insts:
        est = estimate_mvu(
            mvu_shape(nodes[inst.name], {k: verilog_value(v) for k, v in inst.params})
        )
        u = utils[inst.name]
        err = round(100 * (est.lut - u.lut) / u.lut, 1)
        rows.append(
            {
                "block": inst.name,
                "yosys": u.summary(),
                "estimate": est.summary(),
                "lut_error_pct": err,
            }
        )
        log(
            f"{inst.name:34s} LUT {u.lut:6d} est {est.lut:7.0f} ({err:+5.1f}%)"
            f"  BRAM {u.bram36:g}/{est.bram36:g}  DSP {u.dsp}/{est.dsp:g}"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="*", default=MODELS)
    p.add_argument("--board", default="pynq-z2")
    p.add_argument("--root", type=Path, default=Path("build"))
    p.add_argument("--out", type=Path, default=Path("bench/synth.json"))
    p.add_argument("--merge", action="store_true", help="keep the other records of --out")
    p.add_argument("--frames", type=int, default=None, help="RTL frames (default per model)")
    p.add_argument("--no-whole", action="store_true", help="per-block synthesis only")
    p.add_argument("--no-synth", action="store_true", help="no Yosys (the estimate only)")
    p.add_argument("--no-rtl", action="store_true", help="cycle model instead of Verilator")
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--calibrate", action="store_true", help="re-run the calibration sweep")
    a = p.parse_args(argv)
    if a.calibrate:
        rows = run_calibration(a.root / "calibration", a.jobs)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.with_name("calibration.json").write_text(json.dumps(rows, indent=1) + "\n")
        return 0
    results = json.loads(a.out.read_text()) if a.merge and a.out.is_file() else {}
    for name in a.models:
        print(f"bench {name} on {a.board} ...", flush=True)
        results[name] = bench_board_design(
            name,
            a.board,
            a.root,
            frames=a.frames,
            whole=not (a.no_whole or a.no_synth),
            per_block=not a.no_synth,
            rtl=not a.no_rtl,
            jobs=a.jobs,
            plot_dir=a.out.parent / "plots",
            opts=sim_options(),
            synth_cache=synth_cache(a.root),
        )
        print(json.dumps(results[name], indent=1), flush=True)
    return write_results(a.out, results)


if __name__ == "__main__":
    raise SystemExit(main())
