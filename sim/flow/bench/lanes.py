"""LUT per MVU lane by Yosys: hw_mvu's XNOR, W1A2 (binary weights x unsigned 2-bit inputs),
ternary (x unsigned 2-bit inputs) and 8-bit (int8 weights x uint8 inputs) lanes over a
SIMD x PE grid.

Each point synthesises one hw_mvu (``synth_xilinx``, the flow of ``halfwave synth``) with
MW = 4*SIMD, MH = PE (one row fold: no input buffer), WEIGHT_SOURCE = "stream" (no weight
ROM), N_T = 0 (no thresholds) and the exact accumulator width; ``lut_per_lane_yosys`` =
LUT / (SIMD*PE), so the per-PE accumulator, the output buffer and the control are shared
out over the lanes (at PE = 1 they dominate). 8-bit lanes also report DSP48E1s (Yosys
takes the multipliers into DSPs). "before": the adder-tree hw_mvu of commit da7a3ca, the
ABC-mapped popcount hw_mvu of 19dee40 and the hw_lut6 compressor-tree hw_mvu of e33b324
(read from git) at SIMD 32, PE 16, the same parameters; the points: hw_lanetree (lane
pairs, then ternary adders on carry chains, LUT6_2 primitives: sim/flow/synth.py counts a
LUT6_2 as one LUT). ``--grid lanes`` adds LANE_GRID (a reduced SIMD 8..64 x PE 1..32
grid) to the sparse points for every mode. Results are cached by content
(Yosys version, script, sources) under $YOWASP_CACHE_DIR/lanes. Numbers are recorded,
never asserted.

``python -m halfwave.flow.bench.lanes --out bench/lanes.json [--grid full|sparse|lanes]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from dataclasses import asdict
from pathlib import Path

from halfwave.compiler.codegen_rtl import block_sources
from halfwave.compiler.datatypes import DataType

from ..synth import (
    LUT6_DEFINE,
    REPO,
    SYNTH,
    Utilisation,
    _hash,
    _synth_cached,
    yosys_version,
    yowasp_env,
)
from .results import write_results

# the sources of the commits in BEFORE (a file missing there or now is skipped; this order keeps
# their cached results), then hw_mvu's others now
OLD_SOURCES = ("hw_mvu.v", "hw_ram.v", "hw_outbuf.v", "hw_popcount.v", "hw_lut6.v")
SOURCES = (*OLD_SOURCES, *(f for f in block_sources("hw_mvu") if f not in OLD_SOURCES))
# name -> (MODE, IN_W, W_W, largest |product|)
MODES = {
    "xnor": (0, 1, 1, 1),
    "w1a2": (1, 2, 1, 3),
    "ternary": (3, 2, 2, 3),
    "int8": (2, 8, 8, 255 * 128),
}
SPARSE = [(8, 4), (32, 1), (32, 16)]  # about 12 min on one free core, 36 on a busy one
FULL = [(s, p) for s in (8, 16, 32, 64) for p in (1, 4, 16, 32)]
BEFORE = {"da7a3ca": ("xnor", "w1a2"), "19dee40": ("xnor", "w1a2"), "e33b324": ("xnor", "w1a2")}
# the lane grid (every mode): SIMD 8..64 x PE 1..32, reduced to these points and the
# sparse ones (a W1A2 point at 1,024 lanes and more takes minutes of Yosys)
LANE_GRID = [(8, 16), (16, 16), (32, 4), (64, 16)]


def acc_bits(mode: str, mw: int) -> int:
    """hw_mvu's ACC_W for this bench: the signed range of MW products (XNOR: 0..MW)."""
    bound = mw * MODES[mode][3]
    return DataType.smallest_int_holding(-bound, bound).bits


def _copy_sources(work: Path, commit: str | None) -> list[str]:
    """hw_mvu and its modules into work, from the tree or from git at `commit`."""
    names = []
    for f in SOURCES:
        if commit is None:
            if not (REPO / "hw" / "rtl" / f).is_file():
                continue  # an old module the tree no longer has
            shutil.copy(REPO / "hw" / "rtl" / f, work / f)
        else:
            proc = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:hw/rtl/{f}"],
                                  capture_output=True, text=True)  # fmt: skip
            if proc.returncode != 0:
                continue  # the file did not exist then
            (work / f).write_text(proc.stdout)
        names.append(f)
    return names


def point(mode: str, simd: int, pe: int, work: Path, commit: str | None = None) -> dict:
    """Yosys utilisation of one hw_mvu (see the module docstring), cached by content."""
    code, in_w, w_w, _ = MODES[mode]
    mw = 4 * simd
    params = dict(MW=mw, MH=pe, PE=pe, SIMD=simd, MODE=code, IN_W=in_w, W_W=w_w,
                  ACC_W=acc_bits(mode, mw), WEIGHT_SOURCE='"stream"')  # fmt: skip
    sources = _copy_sources(work, commit)
    sets = " ".join(f"-set {k} {v}" for k, v in params.items())
    cmds = [f"read_verilog -D{LUT6_DEFINE} {' '.join(sources)}", f"chparam {sets} hw_mvu",
            "hierarchy -top hw_mvu", f"{SYNTH} -top hw_mvu",
            "tee -q -o {STAT} stat -json"]  # fmt: skip
    key = _hash(yosys_version(), *cmds, *[(work / s).read_bytes() for s in sources])
    cache = Path(yowasp_env()["YOWASP_CACHE_DIR"]) / "lanes"
    util: Utilisation = _synth_cached(key, cmds, work, cache, f"hw_mvu {mode} {simd}x{pe}")
    u = asdict(util)
    return {
        "mode": mode, "simd": simd, "pe": pe, "acc_w": params["ACC_W"],
        "lut_yosys": u["lut"], "ff_yosys": u["ff"], "carry4_yosys": u["carry4"],
        "dsp_yosys": u["dsp"], "lut_per_lane_yosys": round(u["lut"] / (simd * pe), 3),
        "seconds": u["seconds"],
    }  # fmt: skip


def _one(mode: str, simd: int, pe: int, commit: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return point(mode, simd, pe, Path(tmp), commit)


def plot(rows: list[dict], out: Path) -> Path:
    """LUT per lane against PE, one line per mode and SIMD (colour: mode)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    markers = {8: "o", 16: "s", 32: "^", 64: "D"}
    for i, mode in enumerate(MODES):
        for simd in sorted({r["simd"] for r in rows if r["mode"] == mode}):
            pts = sorted((r["pe"], r["lut_per_lane_yosys"]) for r in rows
                         if r["mode"] == mode and r["simd"] == simd)  # fmt: skip
            ax.plot([x for x, _ in pts], [y for _, y in pts], color=f"C{i}",
                    marker=markers.get(simd, "x"), label=f"{mode} SIMD {simd}")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("PE (MW = 4 SIMD, MH = PE)")
    ax.set_ylabel("LUT per lane (Yosys synth_xilinx)")
    ax.set_title("hw_mvu LUT per lane_yosys (no thresholds)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("bench/lanes.json"))
    p.add_argument("--grid", choices=("sparse", "full", "lanes"), default="sparse")
    p.add_argument("--plot", type=Path, default=Path("bench/plots/lanes_yosys.png"))
    a = p.parse_args(argv)
    grid = FULL if a.grid == "full" else SPARSE
    before = {}
    for commit, modes in BEFORE.items():
        for mode in modes:
            row = _one(mode, 32, 16, commit) | {"commit": commit}
            before[f"{mode}@{commit}"] = row
            print(f"{mode} SIMD 32 PE 16 at {commit}: {row['lut_per_lane_yosys']}")
    rows = []
    for mode in MODES:
        for simd, pe in sorted(set(SPARSE + LANE_GRID)) if a.grid == "lanes" else grid:
            row = _one(mode, simd, pe)
            print(f"{mode} SIMD {simd} PE {pe}: {row['lut_per_lane_yosys']} LUT/lane")
            rows.append(row)
    results = {
        "yosys": yosys_version(),
        "synth": SYNTH,
        "setup": "hw_mvu, MW = 4*SIMD, MH = PE, weights streamed, no thresholds",
        "grid": a.grid,
        "before": before,
        "points": rows,
        "plot": str(plot(rows, a.plot)),
    }
    return write_results(a.out, results)


if __name__ == "__main__":
    raise SystemExit(main())
