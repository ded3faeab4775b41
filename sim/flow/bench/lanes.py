"""LUT per MVU lane by Yosys: hw_mvu's XNOR and W1A2 (binary weights x unsigned 2-bit
inputs) datapaths over a SIMD x PE grid.

Each point synthesises one hw_mvu (``synth_xilinx``, the flow of ``halfwave synth``) with
MW = 4*SIMD, MH = PE (one row fold: no input buffer), WEIGHT_SOURCE = "stream" (no weight
ROM), N_T = 0 (no thresholds) and the exact accumulator width; ``lut_per_lane_yosys`` =
LUT / (SIMD*PE), so the per-PE accumulator, the output buffer and the control are shared
out over the lanes (at PE = 1 they dominate). "before": the adder-tree hw_mvu of commit
da7a3ca (read from git) at SIMD 32, PE 16, the same parameters. Numbers are recorded,
never asserted.

``python -m halfwave.flow.bench.lanes --out bench/lanes.json [--grid full|sparse]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from halfwave.compiler.datatypes import DataType

from ..synth import LUT6_DEFINE, REPO, SYNTH, Utilisation, _cells_of, run_yosys, yosys_version
from .results import write_results

SOURCES = ("hw_mvu.v", "hw_ram.v", "hw_outbuf.v", "hw_popcount.v", "hw_lut6.v")
MODES = {"xnor": (0, 1), "w1a2": (1, 2)}  # name -> (MODE, IN_W)
SPARSE = [(8, 4), (16, 8), (32, 1), (32, 16), (64, 8)]
FULL = [(s, p) for s in (8, 16, 32, 64) for p in (1, 4, 16, 32)]
BEFORE_COMMIT = "da7a3ca"  # the adder-tree hw_mvu, before hw_popcount


def acc_bits(mode: str, mw: int) -> int:
    """hw_mvu's ACC_W for this bench: popcount 0..MW (XNOR) or +-3*MW (W1A2), signed."""
    bound = mw if mode == "xnor" else 3 * mw
    return DataType.smallest_int_holding(-bound, bound).bits


def _copy_sources(work: Path, commit: str | None) -> list[str]:
    """hw_mvu and its modules into work, from the tree or from git at `commit`."""
    names = []
    for f in SOURCES:
        if commit is None:
            shutil.copy(REPO / "hw" / "rtl" / f, work / f)
        else:
            proc = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:hw/rtl/{f}"],
                                  capture_output=True, text=True)  # fmt: skip
            if proc.returncode != 0:
                continue  # hw_popcount.v did not exist then
            (work / f).write_text(proc.stdout)
        names.append(f)
    return names


def point(mode: str, simd: int, pe: int, work: Path, commit: str | None = None) -> dict:
    """Yosys utilisation of one hw_mvu (see the module docstring)."""
    code, in_w = MODES[mode]
    mw = 4 * simd
    params = dict(MW=mw, MH=pe, PE=pe, SIMD=simd, MODE=code, IN_W=in_w,
                  ACC_W=acc_bits(mode, mw), WEIGHT_SOURCE='"stream"')  # fmt: skip
    sources = _copy_sources(work, commit)
    sets = " ".join(f"-set {k} {v}" for k, v in params.items())
    cmds = [f"read_verilog -D{LUT6_DEFINE} {' '.join(sources)}", f"chparam {sets} hw_mvu",
            "hierarchy -top hw_mvu", f"{SYNTH} -top hw_mvu",
            "tee -q -o stat.json stat -json"]  # fmt: skip
    t = time.perf_counter()
    run_yosys(cmds, work, work / "yosys.log")
    util = Utilisation.from_cells(
        _cells_of(json.loads((work / "stat.json").read_text())), [], time.perf_counter() - t
    )
    return {
        "mode": mode, "simd": simd, "pe": pe, "acc_w": params["ACC_W"],
        "lut_yosys": util.lut, "ff_yosys": util.ff, "carry4_yosys": util.carry4,
        "lut_per_lane_yosys": round(util.lut / (simd * pe), 3), "seconds": util.seconds,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("bench/lanes.json"))
    p.add_argument("--grid", choices=("sparse", "full"), default="sparse")
    a = p.parse_args(argv)
    grid = SPARSE if a.grid == "sparse" else FULL
    before = {}
    for mode in MODES:
        with tempfile.TemporaryDirectory() as tmp:
            before[mode] = point(mode, 32, 16, Path(tmp), BEFORE_COMMIT)
        before[mode]["commit"] = BEFORE_COMMIT
        print(f"{mode} SIMD 32 PE 16 at {BEFORE_COMMIT}: {before[mode]['lut_per_lane_yosys']}")
    rows = []
    for mode in MODES:
        for simd, pe in grid:
            with tempfile.TemporaryDirectory() as tmp:
                row = point(mode, simd, pe, Path(tmp))
            print(f"{mode} SIMD {simd} PE {pe}: {row['lut_per_lane_yosys']} LUT/lane")
            rows.append(row)
    results = {
        "yosys": yosys_version(),
        "synth": SYNTH,
        "setup": "hw_mvu, MW = 4*SIMD, MH = PE, weights streamed, no thresholds",
        "before": before,
        "points": rows,
    }
    return write_results(a.out, results)


if __name__ == "__main__":
    raise SystemExit(main())
