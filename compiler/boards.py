"""Board files (hw/boards/<name>.json): part, default clock, resources, DDR bandwidth
available to the fabric and how the PS talks to the fabric.

A board's *budget* is its resources less the shell reserve (the AXI DMA, interconnect and
control block around the accelerator), ``reserve`` of every resource, stated per board.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import halfwave.hw

from .errors import CompileError

BOARD_DIR = Path(halfwave.hw.__file__).resolve().parent / "boards"
RESOURCES = ("lut", "ff", "bram36", "dsp")  # what a design is checked against


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    family: str  # Yosys synth_xilinx family: xc7, xcup
    clock_mhz: float
    resources: dict[str, float]  # lut, ff, bram36, dsp (lutram, uram where the part has them)
    reserve: float  # fraction of every resource kept for the shell
    ddr: dict
    ps_fabric: dict
    doc: dict  # the whole board file

    @property
    def budget(self) -> dict[str, float]:
        """Resources the accelerator may use: total * (1 - reserve), rounded down (BRAM36
        to half blocks, the granularity of a RAMB18)."""
        out = {}
        for k, v in self.resources.items():
            b = v * (1.0 - self.reserve)
            out[k] = int(b * 2) / 2 if k == "bram36" else int(b)
        return out

    def cycles_to_fps(self, cycles: float) -> float:
        return self.clock_mhz * 1e6 / cycles


def known_boards() -> list[str]:
    return sorted(p.stem for p in BOARD_DIR.glob("*.json"))


def load_board(name: str | Path) -> Board:
    """A board by name (hw/boards/<name>.json) or by the path of a board file."""
    path = Path(name)
    if not (path.suffix == ".json" and path.is_file()):
        path = BOARD_DIR / f"{name}.json"
    if not path.is_file():
        raise CompileError(f"unknown board '{name}'; known boards: {', '.join(known_boards())}")
    try:
        doc = json.loads(path.read_text())
        res = {k: float(v) for k, v in doc["resources"].items()}
        missing = [k for k in RESOURCES if k not in res]
        if missing:
            raise KeyError(f"resources.{missing[0]}")
        return Board(
            name=doc["name"],
            part=doc["part"],
            family=doc.get("family", "xc7"),
            clock_mhz=float(doc["clock_mhz"]),
            resources=res,
            reserve=float(doc.get("reserve", 0.15)),
            ddr=doc.get("ddr", {}),
            ps_fabric=doc.get("ps_fabric", {}),
            doc=doc,
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CompileError(f"{path}: not a valid board file ({exc})") from exc
