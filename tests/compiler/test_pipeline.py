"""compiler/pipeline.py: the pipeline registers chosen per board change latency only.

Unit: on the ECP5 board every MVU gets its registers (popcount trees, compares, memory
reads, ROMs over 64 kbit in block RAM, deep ROMs in banks) and its hw_mvu parameters; on
a Xilinx board nothing changes; cycles per frame are the same. RTL: a random conv net
compiled for the ECP5 board (pipelined), at its fastest and at its smallest folding (deep
weight ROMs in banks), is bit-exact at every node under random stalls, and without
stalls runs at the cycle model's cycles per frame."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler.blocks.fifo import (
    FIFO_SYNC_BITS,
    estimate_fifo,
    fifo_block,
    fifo_storage,
)
from halfwave.compiler.blocks.maxpool import MaxPool
from halfwave.compiler.blocks.mvu import MVU
from halfwave.compiler.blocks.swg import SlidingWindow
from halfwave.compiler.boards import load_board
from halfwave.compiler.pipeline import (
    ECP5_LUT_ROM_BITS,
    ECP5_POOL_LUT_BITS,
    ebr_words,
    maxpool_ram_style,
    pipeline_for_board,
)
from halfwave.flow import api

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_block_kinds import fc_ir  # noqa: E402
from test_conv import random_conv_net  # noqa: E402


def test_ecp5_gets_pipeline_registers_xilinx_does_not():
    df = fc_ir([64, 32, 10])
    ecp5 = pipeline_for_board(df, load_board("ulx3s-85f"))
    xc7 = pipeline_for_board(df, load_board("pynq-z2"))
    for a, b, c in zip(df.nodes, ecp5.nodes, xc7.nodes, strict=True):
        assert c == a and b.cycles_per_frame() == a.cycles_per_frame()
        if not isinstance(a, MVU):
            continue
        params = dict(b.rtl().params)
        assert b.mem_pipe == 1 and params["MEM_PIPE"] == "1"
        assert b.thr_pipe == int(a.n_thresholds > 0)
        assert ("THR_PIPE" in params) == (a.n_thresholds > 0)
        assert "MEM_PIPE" not in dict(a.rtl().params)
        bits = a.MH * a.MW * a.w_bits
        assert b.rom_style() == ("distributed" if bits <= ECP5_LUT_ROM_BITS else "block")
        assert b.rom_bank == (64 if bits <= ECP5_LUT_ROM_BITS else ebr_words(a.weight_word_bits))
        assert ("ROM_BANK" in params) == (a.NF * a.SF > b.rom_bank)


def test_ebr_words_one_block_ram_per_bank():
    assert [ebr_words(w) for w in (1, 2, 3, 4, 9, 10, 18, 36, 72)] == [
        16384, 8192, 4096, 4096, 2048, 1024, 1024, 512, 512
    ]


@pytest.mark.parametrize("fastest", [True, False], ids=["max", "smallest"])
def test_pipelined_conv_net_bit_exact_in_rtl(tmp_path, sim_opts, fastest):
    onnx_path = random_conv_net(3).save(tmp_path / "net.onnx")
    speed = {"max_fps": True} if fastest else {"target_fps": 1.0}
    df = api.compile(onnx_path, tmp_path / "b", board="ulx3s-85f", **speed)
    assert any(n.mem_pipe and n.thr_pipe for n in df.mvus())
    swgs = [n for n in df.nodes if isinstance(n, SlidingWindow)]
    assert swgs and all(n.mem_pipe == 1 for n in swgs)
    top = (tmp_path / "b" / "rtl" / "top.v").read_text()
    assert ".MEM_PIPE(1)" in top and ".THR_PIPE(1)" in top
    buffered = top.count(".OUT_REG(1)") + top.count(".OUT_REG(2)")
    assert df.fifo_out_reg and buffered == top.count("hw_fifo #(")
    banked = [n for n in df.mvus() if n.NF * n.SF > n.rom_bank]
    assert banked or fastest
    for n in banked:  # the bank files hw_ram reads, with the ROM's words split
        words = (tmp_path / "b" / "rtl" / f"{n.name}_weights.mem").read_text().splitlines()
        banks = sorted((tmp_path / "b" / "rtl").glob(f"{n.name}_weights.mem.b*.mem"))
        assert len(banks) == -(-len(words) // n.rom_bank)
        assert sum((b.read_text().splitlines() for b in banks), []) == words
    x = api.verification_inputs(df, 4, seed=1)
    gold = api.simulate(tmp_path / "b", x, "golden")
    stalled = api.simulate(tmp_path / "b", x, "rtl",
                           sim_opts.replace(stall_in=0.4, stall_out=0.4, taps=True))  # fmt: skip
    assert len(stalled.values) == len(gold.values)
    for k, (got, want) in enumerate(zip(stalled.values, gold.values, strict=True)):
        assert np.array_equal(got, want), f"boundary {k}"
    s = api.simulate(tmp_path / "b", x, "rtl", sim_opts).stats
    assert s["cycles_per_frame"] == s["predicted_cycles_per_frame"], s


def test_fifo_in_block_ram_read_synchronously_into_a_buffer():
    """With fifo_out_reg (the ECP5), a FIFO that may be in block RAM (a block-RAM skew
    FIFO, or FIFO_SYNC_BITS or more) takes OUT_REG 2 (no logic after the block RAM's
    output), a small one the register buffer, and without fifo_out_reg neither."""
    big = fifo_block("f", 64, 1024, "block", True)
    mid = fifo_block("f", 24, 96, "auto", True)  # cnv_w1a2's, in block RAM by Yosys ECP5
    small = fifo_block("f", 8, 16, "auto", True)
    assert (big.style, big.out_reg, big.storage().kind) == ("block", 2, "block")
    assert (mid.style, mid.out_reg) == ("auto", 2) and 24 * 96 >= FIFO_SYNC_BITS
    assert (small.out_reg, small.storage().kind) == (1, fifo_storage(8, 16).kind)
    assert fifo_block("f", 64, 1024, "block", False).out_reg == 0
    params = dict(big.rtl().params)
    assert params["OUT_REG"] == "2" and params["RAM_STYLE"] == '"block"'
    # the buffer costs LUT RAM and the bypass is gone: a different estimate, no BRAM change
    plain = estimate_fifo(64, 1024, "block")
    assert big.estimate().bram36 == plain.bram36 and big.estimate().lutram > plain.lutram


def test_ecp5_max_pool_banks_in_lut_ram_up_to_4_kbit():
    """On the ECP5 a pool's read-modify-write banks go to LUT RAM (RAM_STYLE in its
    instance and its estimate) while a bank holds at most ECP5_POOL_LUT_BITS; larger
    ones and every pool on a Xilinx board stay Yosys's choice."""
    small = MaxPool("p", C=64, IH=28, IW=28, KH=2, KW=2, SH=2, SW=2, dtype="UINT2", PE=2)
    big = MaxPool("q", C=256, IH=56, IW=56, KH=2, KW=2, SH=2, SW=2, dtype="UINT2", PE=4)
    assert small.bank_bits() == 14 * 64 * 2 <= ECP5_POOL_LUT_BITS < big.bank_bits()
    assert maxpool_ram_style(small) == "distributed" and maxpool_ram_style(big) == "auto"
    lut = replace(small, ram_style="distributed")
    assert dict(lut.rtl().params)["RAM_STYLE"] == '"distributed"'
    assert "RAM_STYLE" not in dict(small.rtl().params)
    # the estimate follows RAM_STYLE: the large pool's block RAM banks become LUT RAM
    forced = replace(big, ram_style="distributed").estimate()
    assert big.estimate().bram36 > 0 and forced.bram36 == 0
    assert forced.lutram > big.estimate().lutram
