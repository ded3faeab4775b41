"""`make bench`: compile time, golden and RTL throughput, predicted vs simulated cycles.

Writes machine-readable results (bench/results.json). Nothing here is a test: numbers are
recorded, never asserted. Models are untrained with BatchNorm statistics calibrated on
digits (compile and simulation cost do not depend on training); trained checkpoints
found under build/models add their accuracy figures. Per model also the FIFOs: count,
total depth, BRAM36/LUTRAM (report.json), the time the sizing stage takes and the RTL
run's high-water marks (`fifo_results`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from halfwave.sim.options import SimOptions

from .. import api
from ..cli import sim_options

MODELS = {"tfc_w1a2": 2000, "sfc_w1a2": 500, "lfc_w1a2": 100}  # name -> RTL frames
CONV_MODELS = {"cnv_w1a2": 20, "cnv_ttq_a2": 20, "hwgq_alexnet_tiny": 20, "hwgq_alexnet": 2}


def hls_csim_results(build: Path, x: np.ndarray, golden_out: np.ndarray,
                     opts: SimOptions | None = None) -> dict:  # fmt: skip
    """The HLS backend's g++ C simulation on the same frames: frames/s (the simulation's
    own timing, without its g++ build) and frames whose output differs from golden."""
    from halfwave.sim import hls

    if not hls.available():
        return {"hls_csim": "skipped: g++ or hls4ml's ap_int.h not found"}
    res = api.simulate(build, x, "hls", opts)
    bad = int(np.any(res.values[-1] != golden_out, axis=1).sum())
    return {
        "hls_csim_frames_per_s": round(res.stats["frames_per_s"], 1),  # g++ C simulation
        "hls_csim_build_s": round(res.stats["build_s"], 2),
        "hls_mismatched_frames": bad,
    }


def fifo_results(build: Path, stats: dict) -> dict:
    """The FIFOs of a build: count, total depth, cost (report.json's estimate), the time
    the compiler's sizing stage takes on this design (compiler/fifos.size_fifos), and
    what the RTL run reached (largest high-water mark / depth, FIFOs that filled)."""
    from halfwave.compiler import ir
    from halfwave.compiler.fifos import size_fifos

    from ..verify import fifo_check

    df = ir.load(build)
    t = time.perf_counter()
    size_fifos(df)
    sizing_s = time.perf_counter() - t
    total = json.loads((build / "report.json").read_text())["fifos"]["total"]
    fifos = stats.get("fifos") or []
    check = fifo_check(stats)
    return {
        "fifo_count": total["count"],
        "fifo_depth_beats": total["depth_beats"],
        "fifo_depth_bits": total["bits"],
        "fifo_bram36_model": total["bram36"],
        "fifo_lutram_model": total["lutram"],
        "fifo_memories_model": total["by_memory"],
        "fifo_sizing_s": round(sizing_s, 6),
        "fifo_max_fill_ratio_rtl": max((f["max_level"] / f["depth"] for f in fifos), default=0),
        "fifo_high_water_bits_rtl": sum(f["max_level"] * f["width"] for f in fifos),
        "fifos_filled_rtl": check.full,
        "fifo_levels_rtl": {f["node"]: [f["max_level"], f["depth"]] for f in fifos},
    }


def bench_model(name: str, frames: int, root: Path, opts: SimOptions | None = None) -> dict:
    from halfwave.training import calibrated_model, digits_test_arrays, export_qonnx

    onnx_path = root / "models" / f"{name}_calibrated.onnx"
    export_qonnx(calibrated_model(name), None, onnx_path)
    build = root / "bench" / name
    t = time.perf_counter()
    df = api.compile(onnx_path, build)
    compile_s = time.perf_counter() - t
    x_test, _ = digits_test_arrays()
    reps = -(-10000 // len(x_test))
    x_many = np.concatenate([x_test] * reps)[:10000]
    t = time.perf_counter()
    golden = api.simulate(build, x_many, "golden")
    golden_fps = len(x_many) / (time.perf_counter() - t)
    x_rtl = np.concatenate([x_test] * (-(-frames // len(x_test))))[:frames]
    t = time.perf_counter()
    rtl = api.simulate(build, x_rtl, "rtl", opts)
    rtl_total_s = time.perf_counter() - t
    mismatches = int(np.any(rtl.values[-1] != golden.values[-1][:frames], axis=1).sum())
    s = rtl.stats
    report = json.loads((build / "report.json").read_text())
    return {
        "compile_s": round(compile_s, 3),
        "layers": [
            {k: r[k] for k in ("name", "shape", "PE", "SIMD", "weight_bits") if k in r}
            | {"cycles_per_frame_model": r["cycles_per_frame"]}
            for r in report["layers"]
        ],
        "total_weight_bits": report["total_weight_bits"],
        "golden_frames_per_s": round(golden_fps, 1),
        "rtl_frames": frames,
        "rtl_mismatched_frames": mismatches,
        "rtl_cycles_per_s": round(s["cycles_per_s"], 1),
        "rtl_frames_per_s": round(frames / s["wall_s"], 1) if s["wall_s"] else None,
        "rtl_wall_s_including_build": round(rtl_total_s, 2),
        "cycles_per_frame_model": s["predicted_cycles_per_frame"],
        "cycles_per_frame_rtl": round(s["cycles_per_frame"], 3),
        "cycle_model_error_pct": round(
            100
            * abs(s["cycles_per_frame"] - s["predicted_cycles_per_frame"])
            / s["cycles_per_frame"],
            3,
        ),
        "latency_cycles_rtl": s["latency_cycles"],
        "frames_per_s_at_100MHz_rtl": round(100e6 / s["cycles_per_frame"], 1),
        "nodes": len(df.nodes),
        **fifo_results(build, s),
        **hls_csim_results(build, x_rtl, golden.values[-1][:frames], opts),
    }


def bench_conv_model(name: str, frames: int, root: Path, opts: SimOptions | None = None) -> dict:
    """Compile time, golden and RTL runs (bit-exact check against golden), cycles/frame
    predicted vs simulated, weight bits per layer; random weights with BatchNorm
    statistics calibrated on images (throughput does not depend on training)."""
    from halfwave.training import calibrated_model, export_qonnx

    onnx_path = root / "models" / f"{name}_calibrated.onnx"
    t = time.perf_counter()
    export_qonnx(calibrated_model(name), None, onnx_path)
    export_s = time.perf_counter() - t
    build = root / "bench" / name
    t = time.perf_counter()
    df = api.compile(onnx_path, build)
    compile_s = time.perf_counter() - t
    x = api.verification_inputs(df, frames)
    t = time.perf_counter()
    golden = api.simulate(build, x, "golden")
    golden_s = time.perf_counter() - t
    t = time.perf_counter()
    rtl = api.simulate(build, x, "rtl", opts)
    rtl_total_s = time.perf_counter() - t
    mismatches = int(np.any(rtl.values[-1] != golden.values[-1], axis=1).sum())
    s = rtl.stats
    report = json.loads((build / "report.json").read_text())
    simulated = s["cycles_per_frame"] if frames > 1 else float(s["latency_cycles"])
    return {
        "weights": "random, BatchNorm calibrated on images",
        "export_s": round(export_s, 2),
        "compile_s": round(compile_s, 2),
        "layers": [
            {
                k: r[k] for k in ("name", "kind", "shape", "PE", "SIMD", "weight_bits") if k in r
            }  # fmt: skip
            | {"cycles_per_frame_model": r["cycles_per_frame"]}
            for r in report["layers"]
        ],
        "total_weight_bits": report["total_weight_bits"],
        "golden_frames_per_s": round(frames / golden_s, 2),
        "rtl_frames": frames,
        "rtl_mismatched_frames_vs_golden": mismatches,
        "rtl_cycles": s["cycles"],
        "rtl_cycles_per_s": round(s["cycles_per_s"], 1),
        "rtl_sim_wall_s": round(s["wall_s"], 2),
        "rtl_wall_s_including_build": round(rtl_total_s, 2),
        "cycles_per_frame_model": s["predicted_cycles_per_frame"],
        "cycles_per_frame_rtl": simulated,
        "cycle_model_error_pct": round(
            100 * abs(simulated - s["predicted_cycles_per_frame"]) / simulated, 3
        ),
        "latency_cycles_rtl": s["latency_cycles"],
        "frames_per_s_at_100MHz_model": round(100e6 / s["predicted_cycles_per_frame"], 2),
        "folding": "default: every layer folded to the cycles of the largest layer at 16x32 lanes",
        "rtl_frames_per_s": round(frames / s["wall_s"], 2) if s["wall_s"] else None,
        **fifo_results(build, s),
        **hls_csim_results(build, x, golden.values[-1], opts),
    }


def training_results(root: Path) -> dict:
    out = {}
    for f in sorted((root / "models").glob("*.pt.json")):
        out[f.name.removesuffix(".pt.json")] = json.loads(f.read_text())
    return out


def write_results(out: Path, results: dict) -> int:
    """Write one bench's JSON (stable key order, trailing newline); the exit status."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("bench/results.json"))
    p.add_argument("--root", type=Path, default=Path("build"))
    p.add_argument("--models", nargs="*", default=[*MODELS, *CONV_MODELS])
    a = p.parse_args(argv)
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "date": time.strftime("%Y-%m-%d"),
        "models": {},
    }
    for name in a.models:
        print(f"bench {name} ...", flush=True)
        if name in CONV_MODELS:
            rec = bench_conv_model(name, CONV_MODELS[name], a.root, sim_options())
        else:
            rec = bench_model(name, MODELS.get(name, 100), a.root, sim_options())
        results["models"][name] = rec
        print(json.dumps(results["models"][name], indent=1), flush=True)
    results["training"] = training_results(a.root)
    return write_results(a.out, results)


if __name__ == "__main__":
    raise SystemExit(main())
