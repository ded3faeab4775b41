"""The compiler driver: QONNX file -> BUILD folder (IR, RTL, reports)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from . import ir
from .boards import load_board
from .codegen_hls import write_hls
from .codegen_rtl import write_rtl
from .errors import CompileError
from .fifos import fifo_depths, size_fifos
from .folding import fold, read_folding_file
from .lower import lower, make_topk
from .onnx_graph import load_qonnx
from .optimize import fold_for_board
from .pipeline import pipeline_for_board
from .report import build_report, fifo_report, resources_report, write_reports


@dataclass
class CompileOptions:
    folding_file: Path | None = None
    target_cycles: int | None = None
    topk: int | None = None  # append a TopK of this K after the last layer
    name: str | None = None
    board: str | None = None  # hw/boards/<board>.json: fold for it and check the fit
    target_fps: float | None = None  # with board: reach this at its clock, least resources
    max_fps: bool = False  # with board: the fastest design that fits (also: no target)
    fifo_depths: dict[str, int] | None = None  # node name -> depth of the FIFO before it
    minimise: str | None = None  # with target_fps: the resource to save most ("lut", ...)


def compile_model(
    onnx_path: Path,
    build: Path,
    opts: CompileOptions | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> ir.Dataflow:
    """Compile a QONNX file into BUILD; returns the folded dataflow."""
    opts = opts or CompileOptions()
    t0 = time.perf_counter()

    def stage(msg: str, t: float) -> float:
        now = time.perf_counter()
        log(f"{msg:<40s} {now - t:6.2f} s")
        return now

    graph = load_qonnx(onnx_path)
    t = stage(f"import {Path(onnx_path).name}", t0)
    df = lower(graph, opts.name or Path(onnx_path).stem)
    if opts.topk:
        if not isinstance(df.nodes[-1], ir.MVU):
            raise CompileError("--topk: the model already ends in a TopK")
        df = replace(df, nodes=[*df.nodes, make_topk(df.nodes[-1], opts.topk)])
    t = stage(f"lower to {len(df.nodes)} dataflow nodes", t)
    folding = read_folding_file(opts.folding_file) if opts.folding_file else None
    if opts.board or opts.target_fps or opts.max_fps:  # boards, resources and folding
        df, plan = fold_for_board(df, opts, folding, log)
        t = stage("fold for the board", t)
    else:
        df, plan = fold(df, opts.target_cycles, folding), None
        t = stage("fold", t)
    for n in df.nodes:  # a folding no block supports: one sentence naming the node
        n.check()
    if opts.board:  # pipeline registers for the board's timing (latency only)
        df = pipeline_for_board(df, load_board(opts.board))
    overrides = {k: v["fifo_depth"] for k, v in (folding or {}).items() if "fifo_depth" in v}
    df = size_fifos(df, {**overrides, **(opts.fifo_depths or {})})
    depths = fifo_depths(df)
    t = stage(f"size {len(depths)} FIFOs ({sum(depths)} beats)", t)
    build = Path(build)
    build.mkdir(parents=True, exist_ok=True)
    ir.save(df, build)
    write_rtl(df, build / "rtl")
    t = stage("generate RTL and memory files", t)
    write_hls(df, build / "hls", opts.board)
    t = stage("generate HLS C++", t)
    report = build_report(df, time.perf_counter() - t0)
    report["resources"] = resources_report(df, plan)
    report["fifos"] = fifo_report(df)
    write_reports(report, build)
    stage("reports", t)
    return df
