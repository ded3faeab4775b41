"""report.json and report.md of a BUILD: per layer shape, datatypes, folding, cycles, bits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .codegen_rtl import (
    input_bus,
    lane_width,
    output_bus,
    predicted_cycles_per_frame,
    weight_streams,
)
from .datatypes import DataType
from .ir import MVU, Dataflow, TopK


def layer_rows(df: Dataflow) -> list[dict]:
    rows = []
    for n in df.nodes:
        row = {
            "name": n.name,
            "kind": n.kind,
            "in_dtype": n.in_dtype,
            "out_dtype": n.out_type.name,
            "PE": n.out_lanes if n.kind == "MVU" else n.in_lanes,
            "cycles_per_frame": n.cycles_per_frame(),
        }
        if isinstance(n, MVU):
            w_bits = lane_width(DataType.parse(n.weight_dtype))
            row.update(
                {
                    "shape": [n.MH, n.MW],
                    "mode": n.mode,
                    "weight_dtype": n.weight_dtype,
                    "SIMD": n.SIMD,
                    "acc_bits": n.acc_bits,
                    "thresholds_per_row": n.n_thresholds,
                    "negated_rows": len(n.negated_rows),
                    "weight_bits": n.MH * n.MW * w_bits,
                    "threshold_bits": n.MH * n.n_thresholds * n.acc_bits,
                }
            )
            row.update(weight_sparsity(n))
            if n.external:  # weights in DDR: what its stream moves (codegen_rtl)
                ws = next(w for w in weight_streams(df) if w["node"] == n.name)
                row["external"] = True
                row["weight_stream"] = {
                    k: ws[k]
                    for k in ("port", "width", "word_bytes", "ddr_word_bytes", "words_per_pass",
                              "passes_per_frame", "bytes_per_frame")
                }  # fmt: skip
        elif isinstance(n, TopK):
            row.update({"shape": [n.N], "K": n.K})
        else:  # SlidingWindow / MaxPool: (H, W, C) in, kernel/stride
            row.update(
                {
                    "shape": [n.IH, n.IW, n.C],
                    "window": [n.KH, n.KW, n.SH, n.SW],
                    "out_shape": [n.OH, n.OW, n.n_out],
                }
            )
        rows.append(row)
    return rows


def weight_sparsity(n: MVU) -> dict:
    """Zero weights of an MVU whose weights can be 0 (ternary, k-bit): their count and
    fraction ("sparsity"); ternary layers also give their integer weights [p, n]. Bipolar
    weights (xnor, signsel) have no zeros and no entry."""
    if n.weight_dtype == "BIPOLAR" or n.weights is None:
        return {}
    zeros = int(np.count_nonzero(n.weights == 0))
    out = {"zero_weights": zeros, "sparsity": zeros / n.weights.size}
    if n.ternary is not None:
        out["ternary_weights"] = list(n.ternary)
    return out


def _sparsity_cell(r: dict) -> str:
    if "sparsity" not in r:
        return "-"
    return f"{100 * r['sparsity']:.1f}%"


def build_report(df: Dataflow, compile_seconds: float) -> dict:
    rows = layer_rows(df)
    ii = predicted_cycles_per_frame(df)
    ibus, obus = input_bus(df), output_bus(df)
    return {
        "model": df.model,
        "layers": rows,
        "input": {
            "dtype": df.input.dtype,
            "scale": df.input.scale,
            "bus_lanes": ibus.lanes,
            "bus_lane_bits": ibus.width,
        },
        "output": {"bus_lanes": obus.lanes, "bus_lane_bits": obus.width},
        "predicted_cycles_per_frame": ii,
        "predicted_fps_at_100MHz": 100e6 / ii,
        "total_weight_bits": sum(r.get("weight_bits", 0) for r in rows),
        "compile_seconds": round(compile_seconds, 3),
    }


def write_reports(report: dict, build: Path) -> None:
    stable = {k: v for k, v in report.items() if k != "compile_seconds"}
    (build / "report.json").write_text(json.dumps(stable, indent=1) + "\n")
    lines = [
        f"# halfwave build: {report['model']}",
        "",
        f"Predicted throughput: {report['predicted_cycles_per_frame']} cycles/frame "
        f"({report['predicted_fps_at_100MHz']:.0f} frames/s at 100 MHz); "
        f"weights {report['total_weight_bits']} bits.",
        "",
        "| layer | kind | shape | mode | in -> out | PE | SIMD | cycles/frame | weight bits "
        "| zero weights |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["layers"]:
        lines.append(
            f"| {r['name']} | {r['kind']} | {'x'.join(map(str, r['shape']))} | "
            f"{r.get('mode', '-')} | {r['in_dtype']} -> {r['out_dtype']} | {r['PE']} | "
            f"{r.get('SIMD', '-')} | {r['cycles_per_frame']} | "
            f"{r.get('weight_bits', 0)} | {_sparsity_cell(r)} |"
        )
    ext = [r for r in report["layers"] if r.get("external")]
    if ext:
        total = sum(r["weight_stream"]["bytes_per_frame"] for r in ext)
        lines += [
            "",
            f"Weights in DDR (external weight streams): {', '.join(r['name'] for r in ext)}, "
            f"{total} bytes per frame; the cycles per frame above assume the streams keep up "
            "(one word a cycle), see the board section for the DDR bound.",
        ]
    lines += resource_lines(report.get("resources"))
    lines += fifo_lines(report.get("fifos"))
    (build / "report.md").write_text("\n".join(lines) + "\n")


def resource_lines(res: dict | None) -> list[str]:
    """report.md's resource table (compiler/resources.py estimates, per layer)."""
    if not res:
        return []
    lines = ["", "## Resources (estimate)", ""]
    b = res.get("board")
    if b:
        util = ", ".join(f"{k.upper()} {v:g}%" for k, v in b["utilisation_pct"].items())
        lines += [
            f"Board {b['name']} ({b['part']}) at {b['clock_mhz']:g} MHz, "
            f"{100 * b['reserve']:.0f}% kept for the shell; folding: {b['mode']}. "
            f"{b['cycles_per_frame']} cycles/frame = {b['fps']:.0f} frames/s. "
            f"Utilisation of the budget: {util}.",
            "",
        ]
        d = b.get("ddr")
        if d:
            lines += [
                f"Weights in DDR: {', '.join(d['external'])}, {d['bytes_per_frame']} bytes a "
                f"frame: {d['needed_gb_per_s']:g} GB/s at {b['fps']:.0f} frames/s of the "
                f"board's {d['board_gb_per_s']:g} GB/s; the DDR alone allows "
                f"{d['ddr_bound_fps']:g} frames/s ({d['ddr_cycles_per_frame']} cycles/frame).",
                "",
            ]
    if "efficiency" in res:
        lines += [
            f"Efficiency {100 * res['efficiency']:.1f}% (ideal {res['ideal_cycles_per_frame']} "
            "cycles/frame = total MACs / total lanes, over the slowest layer's cycles).",
            "",
        ]
    lines += [
        "| layer | cycles/frame | LUT | LUTRAM | FF | BRAM36 | DSP |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [*res["layers"], {"name": "**total**", "cycles_per_frame": None, **res["estimate"]}]
    for r in rows:
        cyc = "-" if r["cycles_per_frame"] is None else r["cycles_per_frame"]
        lines.append(
            f"| {r['name']} | {cyc} | {r['lut']} | {r['lutram']} | {r['ff']} | "
            f"{r['bram36']:g} | {r['dsp']} |"
        )
    return lines


def fifo_lines(fifos: dict | None) -> list[str]:
    """report.md's FIFO table: depth, width, memory and cost of every FIFO, and totals."""
    if not fifos or not fifos["fifos"]:
        return []
    t = fifos["total"]
    kinds = ", ".join(f"{v} {k}" for k, v in t["by_memory"].items())
    lines = [
        "",
        "## FIFOs (estimate)",
        "",
        f"{t['count']} FIFOs ({kinds}), {t['depth_beats']} beats, {t['bits']} bits: "
        f"{t['bram36']:g} BRAM36, {t['lutram']} LUTRAM, {t['lut']} LUT, {t['ff']} FF. "
        "Depths from compiler/fifos.py; `halfwave verify` and `halfwave sim --backend rtl` "
        "report the high-water marks the RTL reaches (BUILD/fifo_levels.json).",
        "",
        "| FIFO | in front of | depth | width | bits | memory | BRAM36 | LUTRAM | LUT | FF "
        "| sized by |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in fifos["fifos"]:
        lines.append(
            f"| {r['name']} | {r['node']} | {r['depth']} | {r['width']} | {r['bits']} | "
            f"{r['memory']} | {r['bram36']:g} | {r['lutram']} | {r['lut']} | {r['ff']} | "
            f"{r['sized_by']} |"
        )
    return lines
