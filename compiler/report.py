"""report.json and report.md of a BUILD: per layer shape, datatypes, folding, cycles, bits."""

from __future__ import annotations

import json
from pathlib import Path

from . import netlist as nl
from .blocks.weight_port import ddr_cycles, ddr_summary
from .fifos import analysis_depths, branch_skews
from .ir import MVU, Dataflow
from .resources import estimate_design
from .streams import input_bus, output_bus, predicted_cycles_per_frame


def layer_rows(df: Dataflow) -> list[dict]:
    return [layer_row(df, n) for n in df.nodes]


def layer_row(df: Dataflow, n) -> dict:
    """report.json's row of one layer: the common columns, then the block's own."""
    row = {
        "name": n.name,
        "kind": n.kind,
        "in_dtype": n.in_dtype.name,
        "out_dtype": n.out_type.name,
        "PE": n.out_lanes if n.kind == "MVU" else n.in_lanes,
        "cycles_per_frame": n.cycles_per_frame(),
    }
    row.update(n.report_row())
    return row


def weight_sparsity(n: MVU) -> dict:
    return n.weight_sparsity()


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
            "dtype": df.input.dtype.name,
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


FIFO_MEMORY = {"block": "BRAM", "distributed": "LUTRAM", "logic": "FF"}


def fifo_report(df: Dataflow) -> dict:
    """report.json's "fifos": every FIFO of the netlist (in stream order) with its
    depth, width, the memory Yosys maps its words to (BRAM, LUTRAM or FF: registers)
    and what it costs, and the totals. `sized_by` says whether the depth is the
    analysis's (compiler/fifos.py) or an override."""

    analysis_of, skews = analysis_depths(df), branch_skews(df)
    rows, shortcut_bits = [], 0
    for p in nl.build(df).fifos():
        f = p.block
        r = f.estimate()
        analysis = analysis_of[p.index, p.port]
        if skews[p.index, p.port]:  # a join's FIFO holding another branch's delay
            shortcut_bits += f.depth * f.width
        rows.append(
            {
                "name": f.name,
                "node": p.layer,
                "depth": f.depth,
                "width": f.width,
                "bits": f.depth * f.width,
                "memory": FIFO_MEMORY[f.storage().kind],
                "sized_by": "analysis" if f.depth == analysis else f"override ({analysis})",
                **{k: v for k, v in r.summary().items() if k != "dsp"},
            }
        )
    total = {
        "count": len(rows),
        "depth_beats": sum(r["depth"] for r in rows),
        "bits": sum(r["bits"] for r in rows),
        **{k: sum(r[k] for r in rows) for k in ("lut", "lutram", "ff")},
        "bram36": float(sum(r["bram36"] for r in rows)),
        "by_memory": {
            kind: sum(1 for r in rows if r["memory"] == kind)
            for kind in FIFO_MEMORY.values()
            if any(r["memory"] == kind for r in rows)
        },
    }
    if shortcut_bits:
        total["shortcut_bits"] = shortcut_bits
    return {"fifos": rows, "total": total}


def resources_report(df: Dataflow, plan=None) -> dict:
    """report.json's "resources": the estimate per layer (node + its FIFO and
    repackers) and in total, with the board budget and the optimiser's figures when
    compiled for a board (plan: optimize.Plan)."""
    est = estimate_design(df)
    per_layer = est.per_layer()
    cycles = {n.name: n.cycles_per_frame() for n in df.nodes}
    layers = []
    for name, r in per_layer.items():
        layers.append({"name": name, "cycles_per_frame": cycles.get(name), **r.summary()})
    doc: dict = {
        "model": "yosys synth_xilinx -family xc7 (see halfwave.flow.synth)",
        "estimate": est.total.summary(),
        "layers": layers,
        "memories": {name: r.notes for name, r in est.blocks.items() if r.notes},
    }
    mvus = df.mvus()
    if mvus:
        slowest = max(cycles.values())
        ideal = sum(n.MH * n.MW * n.vectors for n in mvus) / sum(n.PE * n.SIMD for n in mvus)
        doc["efficiency"] = round(ideal / slowest, 4)
        doc["ideal_cycles_per_frame"] = round(ideal, 1)
    board = getattr(plan, "board", None)
    if board is not None:
        ii = max(predicted_cycles_per_frame(df), ddr_cycles(df, board))  # DDR weights too
        budget = {
            k: float(v) for k, v in board.budget.items() if k in ("lut", "ff", "bram36", "dsp")
        }
        doc["board"] = {
            "name": board.name,
            "part": board.part,
            "clock_mhz": board.clock_mhz,
            "reserve": board.reserve,
            "budget": budget,
            "utilisation_pct": {
                k: round(100 * est.total.get(k) / v, 1) for k, v in budget.items() if v
            },
            "mode": plan.mode,
            "target_cycles_per_frame": plan.target_cycles or None,
            "cycles_per_frame": ii,
            "fps": round(board.clock_mhz * 1e6 / ii, 1),
        }
        ddr = ddr_summary(df, board, ii)
        if ddr:
            doc["board"]["ddr"] = ddr
    return doc
