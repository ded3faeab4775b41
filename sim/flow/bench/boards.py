"""Board benchmarks (the lead wires them into `make bench`): the time of every stage of
`halfwave bitstream` per model and board, nextpnr's Fmax on the open board, and the
frames/s implied (accelerator alone at the clock and at Fmax; through the host link).

    python -m halfwave.flow.bench.boards --out bench/boards.json [--cases tfc_w1a2:ulx3s-85f]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ..board.bitstream import run_bitstream
from ..cli import sim_options

CASES = (
    ("tfc_w1a2", "ulx3s-85f"),  # the open flow to a real bitstream
    ("cnv_w1a2", "ulx3s-85f"),
    ("tfc_w1a2", "pynq-z2"),  # stops before Vivado (exit 3) where it is absent
    ("hwgq_alexnet_tiny", "pynq-z2"),
)


def bench_board(model: str, board: str, root: Path, frames: int = 4) -> dict:
    t = time.perf_counter()
    status, rep = run_bitstream(model, board, root=root, calibrate=True, frames=frames,
                                synth="estimate", opts=sim_options())  # fmt: skip
    out = {
        "model": model, "board": board, "exit_status": status,
        "total_s": round(time.perf_counter() - t, 1), "stages_s": rep["stages_s"],
        "cosim": {COSIM_NAMES.get(k, k): v for k, v in rep["cosim"].items()},
    }  # fmt: skip
    if "open_flow" in rep:
        o = rep["open_flow"]
        out.update({new: o[old] for old, new in OPEN_FLOW_NAMES.items()})
    return out


# figures named by their source: the system co-simulation's cycles (_rtl), the cycle
# model (_model), nextpnr (_nextpnr; at Fmax: nextpnr's Fmax over the model's cycles)
COSIM_NAMES = {
    "board_frames_per_s": "board_frames_per_s_rtl",
    "accelerator_frames_per_s": "accelerator_frames_per_s_model",
}
OPEN_FLOW_NAMES = {
    "fmax_mhz": "fmax_mhz_nextpnr",
    "clock_mhz": "clock_mhz",
    "utilisation": "utilisation_nextpnr",
    "bit_bytes": "bit_bytes",
    "accelerator_fps_at_clock": "accelerator_fps_at_clock_model",
    "accelerator_fps_at_fmax": "accelerator_fps_at_fmax_nextpnr",
    "link_fps": "link_fps_model",
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("bench/boards.json"))
    p.add_argument("--cases", nargs="*", default=None, help="MODEL:BOARD ...")
    p.add_argument("--root", type=Path, default=None)
    a = p.parse_args(argv)
    cases = [tuple(c.split(":")) for c in a.cases] if a.cases else CASES
    results = []
    with tempfile.TemporaryDirectory() as td:
        root = a.root or Path(td)
        for model, board in cases:
            try:
                r = bench_board(model, board, root)
            except Exception as exc:  # one failing case is a result, not the end
                r = {"model": model, "board": board, "error": f"{type(exc).__name__}: {exc}"}
            results.append(r)
            print(json.dumps(r), flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
