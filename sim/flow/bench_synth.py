"""Benchmarks on a real board budget: fold for a board, simulate, synthesise, plot.

``bench_board_design("cnv_w1a2", "pynq-z2")``: export the (untrained, BatchNorm
calibrated) model, compile it with ``--board pynq-z2 --max``, count cycles per frame in
the RTL (Verilator), run Yosys per block and on the whole design, and return frames/s at
the board clock, Yosys LUT/FF/BRAM36/DSP next to the estimate, the efficiency and frames/s
per kLUT (with BNN-PYNQ's CNV-W1A2 on the same part as the reference). A PNG per design
shows cycles/frame per layer and resources per layer.

``python -m halfwave.flow.bench_synth [--models ...] [--out bench/synth.json]`` runs it
stand-alone; ``--calibrate`` re-runs the Yosys sweep the resource model's constants were
fitted on (compiler/resources.py, CAL) and prints estimate vs Yosys per block. Numbers are
recorded, never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from pathlib import Path

import numpy as np

from . import api
from .bench import write_results

# BNN-PYNQ's CNV-W1A2 on the xc7z020 (PYNQ-Z1), the reference figures
REFERENCE = {
    "cnv_w1a2": {
        "source": "BNN-PYNQ CNV-W1A2 on xc7z020 (Vivado): 40,321 LUT, 131.5 BRAM36, "
        "about 9,150 frames/s at 100 MHz",
        "lut": 40321,
        "bram36": 131.5,
        "fps_at_100MHz": 9150,
        "fps_per_klut": round(9150 / 40.321, 1),
    }
}


def bench_board_design(
    name: str,
    board: str = "pynq-z2",
    root: Path = Path("build"),
    target_fps: float | None = None,
    frames: int = 3,
    whole: bool = True,
    rtl: bool = True,
    jobs: int | None = None,
    log=print,
    plot_dir: Path | None = None,
) -> dict:
    """Compile `name` for `board` (--max, or --target-fps), simulate `frames` frames in
    RTL, synthesise (per block; whole design with `whole`) and plot (into `plot_dir`,
    default the build folder). Returns the record."""
    from halfwave.compiler import ir
    from halfwave.training import calibrated_model, export_qonnx

    onnx_path = root / "models" / f"{name}_calibrated.onnx"
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    if not onnx_path.is_file():
        export_qonnx(calibrated_model(name), None, onnx_path)
    build = root / "bench" / f"{name}_{board}"
    t = time.perf_counter()
    api.compile(
        onnx_path, build, log=log, board=board, target_fps=target_fps, max_fps=target_fps is None
    )
    compile_s = time.perf_counter() - t
    report = json.loads((build / "report.json").read_text())
    res = report["resources"]
    df = ir.load(build)
    rec: dict = {
        "board": board,
        "mode": "max" if target_fps is None else f"target {target_fps:g} fps",
        "compile_s": round(compile_s, 2),
        "predicted_cycles_per_frame": res["board"]["cycles_per_frame"],
        "efficiency": res.get("efficiency"),
        "estimate": res["estimate"],
        "budget": res["board"]["budget"],
        "layers": [
            {k: v for k, v in r.items() if k in ("name", "kind", "PE", "SIMD", "cycles_per_frame")}
            for r in report["layers"]
        ],
    }
    clock = res["board"]["clock_mhz"] * 1e6
    if rtl:
        x = _random_inputs(df, frames)
        t = time.perf_counter()
        run = api.simulate(build, x, "rtl")
        rec["rtl"] = {
            "frames": frames,
            "cycles_per_frame": run.stats["cycles_per_frame"],
            "wall_s_including_build": round(time.perf_counter() - t, 1),
        }
        cycles = run.stats["cycles_per_frame"]
    else:
        cycles = rec["predicted_cycles_per_frame"]
    rec["fps"] = round(clock / cycles, 1)
    rec["fps_source"] = "RTL cycle count" if rtl else "cycle model"
    t = time.perf_counter()
    syn = api.synth(build, per_layer=True, whole=whole, jobs=jobs, log=log, progress=True)
    rec["synth_s"] = round(time.perf_counter() - t, 1)
    rec["yosys_sum_of_blocks"] = syn.get("sum_of_blocks")
    rec["yosys_whole"] = {k: v for k, v in syn.get("whole", {}).items() if k != "cells"} or None
    ref = syn.get("whole") or syn.get("sum_of_blocks")
    rec["estimate_error_pct"] = syn.get("estimate_error_pct")
    rec["fps_per_klut"] = round(rec["fps"] / (ref["lut"] / 1000.0), 1)
    if name in REFERENCE:
        rec["reference"] = REFERENCE[name]
    png = (plot_dir or build) / f"{name}_{board}.png"
    rec["plot"] = str(plot_design(build, syn, report, png))
    return rec


def _random_inputs(df, n: int) -> np.ndarray:
    from halfwave.compiler.datatypes import DataType

    dt = DataType.parse(df.input.dtype)
    shape = [d for d in df.input.shape if d > 0]
    codes = np.random.default_rng(0).integers(dt.min, dt.max + 1, size=[n, *shape])
    return (codes * df.input.scale).astype(np.float32)


def plot_design(build: Path, syn: dict, report: dict, out: Path) -> Path:
    """Two panels: cycles/frame per layer; LUT, FF (thousands), BRAM36 and DSP per layer
    (estimate, and Yosys per block when synthesised)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = [r for r in report["layers"]]
    names = [r["name"] for r in layers]
    cycles = [r["cycles_per_frame"] for r in layers]
    est = {r["name"]: r for r in report["resources"]["layers"]}
    ys: dict[str, dict] = {}
    for b in syn.get("blocks", []):
        acc = ys.setdefault(b["layer"], dict.fromkeys(("lut", "ff", "bram36", "dsp"), 0.0))
        for k in acc:
            acc[k] += b["yosys"][k]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(max(8, 0.6 * len(names)), 8), sharex=True)
    x = np.arange(len(names))
    a1.bar(x, cycles, color="tab:blue")
    a1.axhline(max(cycles), color="k", lw=0.8, ls="--")
    a1.set_ylabel("cycles / frame")
    a1.set_title(f"{report['model']}: cycles per frame per layer")
    keys = [("lut", 1e-3, "LUT (k)"), ("ff", 1e-3, "FF (k)"), ("bram36", 1, "BRAM36"),
            ("dsp", 1, "DSP")]  # fmt: skip
    w = 0.2
    for i, (k, scale, label) in enumerate(keys):
        e = [est.get(n, {}).get(k, 0) * scale for n in names]
        a2.bar(x + (i - 1.5) * w, e, w, label=f"{label} est.", alpha=0.5)
        if ys:
            y = [ys.get(n, {}).get(k, 0) * scale for n in names]
            a2.scatter(x + (i - 1.5) * w, y, marker="_", s=120, color="k")
    a2.set_ylabel("resources (bars: estimate, ticks: Yosys)")
    a2.set_xticks(x, names, rotation=60, ha="right")
    a2.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


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
    from halfwave.compiler.resources import estimate_mvu, mvu_shape
    from halfwave.hw.memfiles import write_mvu_mem_files

    from .synth import Instance, default_cache_dir, synth_blocks, verilog_value

    rtl = work / "rtl"
    rtl.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cg.RTL_LIB / "hw_mvu.v", rtl / "hw_mvu.v")
    insts, nodes = [], {}
    for kind, (mw, mh, pe, simd), styles in CALIBRATION:
        n = calibration_node(
            kind, mw, mh, pe, simd, zlib.crc32(f"{kind}{mw}{mh}{pe}{simd}".encode())
        )
        w_w = cg.lane_width(cg.DataType.parse(n.weight_dtype))
        write_mvu_mem_files(n.weights, n.thresholds, pe, simd, w_w, n.acc_bits, rtl / n.name)
        base = cg._mvu(n, "a", "b")
        from .synth import parse_instances

        inst = parse_instances(base)[0]
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
    p.add_argument("--models", nargs="*", default=["cnv_w1a2", "hwgq_alexnet_tiny"])
    p.add_argument("--board", default="pynq-z2")
    p.add_argument("--root", type=Path, default=Path("build"))
    p.add_argument("--out", type=Path, default=Path("bench/synth.json"))
    p.add_argument("--no-whole", action="store_true", help="per-block synthesis only")
    p.add_argument("--no-rtl", action="store_true", help="cycle model instead of Verilator")
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--calibrate", action="store_true", help="re-run the calibration sweep")
    a = p.parse_args(argv)
    if a.calibrate:
        rows = run_calibration(a.root / "calibration", a.jobs)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.with_name("calibration.json").write_text(json.dumps(rows, indent=1) + "\n")
        return 0
    results = {}
    for name in a.models:
        print(f"bench {name} on {a.board} ...", flush=True)
        results[name] = bench_board_design(
            name,
            a.board,
            a.root,
            whole=not a.no_whole,
            rtl=not a.no_rtl,
            jobs=a.jobs,
            plot_dir=a.out.parent / "plots",
        )
        print(json.dumps(results[name], indent=1), flush=True)
    return write_results(a.out, results)


if __name__ == "__main__":
    raise SystemExit(main())
