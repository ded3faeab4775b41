"""report.json and report.md of a BUILD: per layer shape, datatypes, folding, cycles, bits."""

from __future__ import annotations

import json
from pathlib import Path

from .codegen_rtl import input_bus, lane_width, output_bus, predicted_cycles_per_frame
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
        "| layer | kind | shape | mode | in -> out | PE | SIMD | cycles/frame | weight bits |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["layers"]:
        lines.append(
            f"| {r['name']} | {r['kind']} | {'x'.join(map(str, r['shape']))} | "
            f"{r.get('mode', '-')} | {r['in_dtype']} -> {r['out_dtype']} | {r['PE']} | "
            f"{r.get('SIMD', '-')} | {r['cycles_per_frame']} | "
            f"{r.get('weight_bits', 0)} |"
        )
    lines += resource_lines(report.get("resources"))
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
