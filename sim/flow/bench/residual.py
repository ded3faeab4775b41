"""Residual networks on real boards (issue 14): ttq_resnet20 and hwgq_resnet18 compiled
with ``--max`` for pynq-z2 and zcu104, frames/s at the board clock from RTL cycles (with
the board's DDR model where weights stay off chip), every RTL frame compared with the
golden executor, resources (estimate and Yosys), DDR traffic, and the FIFO bits spent on
shortcuts (the join FIFOs that hold the other branch's delay).

    python -m halfwave.flow.bench.residual [--cases ttq_resnet20:pynq-z2 ...]
        [--out bench/residual.json] [--merge] [--no-synth] [--no-rtl] [--frames N]

Each case is synthesis.bench_board_design (see there for every figure) plus the shortcut
FIFO figures of report.json. Full-size hwgq_resnet18 runs two frames through the RTL (the
issue's one-frame check, and one frame interval for frames/s) with the estimate only
(Yosys on its ~100 distinct blocks takes hours on 2 cores). Numbers are recorded, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..cli import sim_options, synth_cache
from .results import write_results
from .synthesis import bench_board_design

CASES = (
    ("ttq_resnet20", "pynq-z2"),
    ("ttq_resnet20", "zcu104"),
    ("hwgq_resnet18", "pynq-z2"),
    ("hwgq_resnet18", "zcu104"),
)
# RTL frames (else 4); Yosys per case: "whole" design, "blocks" (per block), or none (the
# estimate only: hwgq_resnet18's ~100 distinct blocks take hours of Yosys on 2 cores)
FRAMES = {"hwgq_resnet18": 2}
SYNTH = {("ttq_resnet20", "pynq-z2"): "whole", ("ttq_resnet20", "zcu104"): "whole"}


def shortcut_record(build: Path) -> dict:
    """The FIFOs on the joins' inputs (report.json "fifos"), their bits, and those that
    hold a shortcut's delay (model figures)."""
    fifos = json.loads((build / "report.json").read_text())["fifos"]
    total = fifos["total"]
    return {
        "fifo_bits_model": total["bits"],
        "shortcut_fifo_bits_model": total.get("shortcut_bits", 0),
        "fifo_bram36_model": total["bram36"],
        "fifo_count": total["count"],
    }


def bench_case(model: str, board: str, root: Path, frames: int | None, rtl: bool,
               synth: bool) -> dict:  # fmt: skip
    t = time.perf_counter()
    rec = bench_board_design(
        model, board, root, frames=frames or FRAMES.get(model, 4), rtl=rtl,
        whole=synth and SYNTH.get((model, board)) == "whole",
        per_block=synth and SYNTH.get((model, board)) == "blocks", opts=sim_options(),
        synth_cache=synth_cache(root), plot_dir=Path("bench/plots"),
    )  # fmt: skip
    rec.update(shortcut_record(root / "bench" / f"{model}_{board}"))
    rec["model"] = model
    rec["bench_wall_s"] = round(time.perf_counter() - t, 1)
    return rec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="*", default=None, help="MODEL:BOARD ...")
    p.add_argument("--root", type=Path, default=Path("build"))
    p.add_argument("--out", type=Path, default=Path("bench/residual.json"))
    p.add_argument("--merge", action="store_true", help="keep the other records of --out")
    p.add_argument("--frames", type=int, default=None, help="RTL frames (default per model)")
    p.add_argument("--no-synth", action="store_true", help="no Yosys (the estimate only)")
    p.add_argument("--no-rtl", action="store_true", help="cycle model instead of Verilator")
    a = p.parse_args(argv)
    cases = [tuple(c.split(":")) for c in a.cases] if a.cases else CASES
    results = json.loads(a.out.read_text()) if a.merge and a.out.is_file() else {}
    for model, board in cases:
        print(f"bench {model} on {board} ...", flush=True)
        try:
            rec = bench_case(model, board, a.root, a.frames, not a.no_rtl, not a.no_synth)
        except Exception as exc:  # one failing case is a result, not the end
            rec = {"model": model, "board": board, "error": f"{type(exc).__name__}: {exc}"}
        results[f"{model}:{board}"] = rec
        print(json.dumps({k: v for k, v in rec.items() if k != "layers"}, indent=1), flush=True)
        write_results(a.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
