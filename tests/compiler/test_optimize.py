"""Folding optimiser (compiler/optimize.py) on FC and hand-built conv IRs."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from halfwave.compiler.blocks.weight_port import ddr_latency_cycles
from halfwave.compiler.boards import known_boards, load_board
from halfwave.compiler.codegen_rtl import dma_word_bytes
from halfwave.compiler.errors import CompileError
from halfwave.compiler.folding import fold
from halfwave.compiler.ir import MVU, Dataflow, InputQuant, MaxPool, SlidingWindow, TopK
from halfwave.compiler.optimize import (
    Optimiser,
    _folds,
    batch_choices,
    ddr_bytes_per_cycle,
    ddr_cycles,
    efficiency,
    optimise,
    with_batches,
)
from halfwave.compiler.resources import estimate_design

RNG = np.random.default_rng(0)


def mvu(name, mw, mh, *, in_dtype="UINT2", mode="signsel", vectors=1, data=True, n_t=3):
    """A binary-weight layer with 2-bit unsigned outputs (HWGQ-like)."""
    xmax = {"UINT2": 3, "UINT8": 255, "BIPOLAR": 1}[in_dtype]
    lo, hi = (0, mw) if mode == "xnor" else (-xmax * mw, xmax * mw)
    thr = np.sort(RNG.integers(lo // 2, hi // 2 + 1, (mh, n_t)), axis=1) if n_t else None
    w = RNG.choice([-1, 1], (mh, mw)).astype(np.int8) if data else None
    return MVU(
        name=name, MW=mw, MH=mh, mode=mode, in_dtype=in_dtype, weight_dtype="BIPOLAR",
        acc_lo=lo, acc_hi=hi, out_dtype=("UINT2" if mode != "xnor" else "BIPOLAR") if n_t else None,
        weights=w, thresholds=thr, vectors=vectors,
    )  # fmt: skip


def fc_ir(sizes, name="fc", in_dtype="UINT2"):
    nodes = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        last = i == len(sizes) - 2
        nodes.append(
            mvu(f"mvu{i}", a, b, in_dtype=in_dtype if i == 0 else "UINT2", n_t=0 if last else 3)
        )
    return Dataflow(name, InputQuant([sizes[0]], in_dtype, "quant"), nodes)


def conv_ir(in_chw, convs, fcs, name="conv", data=True):
    """convs: (out channels, kernel, stride, pad, pool (k, s) or None); fcs: FC sizes."""
    c, h, w = in_chw
    nodes, dtype, k = [], "UINT8", 0
    for oc, ker, st, pad, pool in convs:
        swg = SlidingWindow(f"swg{k}", c, h, w, ker, ker, st, st, [pad] * 4, dtype)
        nodes.append(swg)
        nodes.append(
            mvu(f"mvu{k}", ker * ker * c, oc, in_dtype=dtype, vectors=swg.OH * swg.OW, data=data)
        )
        c, h, w, dtype = oc, swg.OH, swg.OW, "UINT2"
        if pool:
            mp = MaxPool(f"pool{k}", c, h, w, pool[0], pool[0], pool[1], pool[1], dtype)
            nodes.append(mp)
            h, w = mp.OH, mp.OW
        k += 1
    n_in = c * h * w
    for i, n_out in enumerate(fcs):
        last = i == len(fcs) - 1
        nodes.append(mvu(f"mvu{k}", n_in, n_out, data=data, n_t=0 if last else 3))
        n_in, k = n_out, k + 1
    return Dataflow(name, InputQuant(list(in_chw), "UINT8", "quant", channels_last=True), nodes)


CNV = ((64, 3, 1, 0, None), (64, 3, 1, 0, (2, 2)), (128, 3, 1, 0, None),
       (128, 3, 1, 0, (2, 2)), (256, 3, 1, 0, None), (256, 3, 1, 0, None))  # fmt: skip
ALEXNET = ((96, 11, 4, 0, (3, 2)), (256, 5, 1, 2, (3, 2)), (384, 3, 1, 1, None),
           (384, 3, 1, 1, None), (256, 3, 1, 1, (3, 2)))  # fmt: skip


def test_folds_are_the_smallest_lanes_per_fold_count():
    for n in (1, 7, 10, 64, 100, 513):
        got = _folds(n)
        want = sorted({min(k for k in range(1, n + 1) if -(-n // k) == f) for f in range(1, n + 1)
                       if any(-(-n // k) == f for k in range(1, n + 1))})  # fmt: skip
        assert got == want, n


def _weighted_all(opt: Optimiser, n: MVU, target: int, weights: dict) -> float:
    """Brute force over every (PE, SIMD) pair that meets the target."""
    from halfwave.compiler.optimize import _mvu_cost, _weighted

    best = None
    for pe in range(1, n.MH + 1):
        for simd in range(1, n.MW + 1):
            if n.vectors * -(-n.MH // pe) * -(-n.MW // simd) <= target:
                c = _weighted(_mvu_cost(opt._shape(n, pe, simd)), weights)
                best = c if best is None else min(best, c)
    return best


@pytest.mark.parametrize("target", [40, 300, 2000])
def test_per_layer_choice_is_the_cheapest_of_all_foldings(target):
    """Pruning to the smallest PE per row-fold count loses nothing: brute force agrees."""
    from halfwave.compiler.optimize import _mvu_cost, _weighted

    df = fc_ir([64, 48, 30, 10])
    opt = Optimiser(df, load_board("pynq-z2"))
    weights = {k: 1.0 / v for k, v in opt.budget.items()}
    for n in df.mvus():
        c = opt._best_mvu(n, target, weights)
        assert c.node.cycles_per_frame() <= target
        got = _weighted(_mvu_cost(opt._shape(n, c.node.PE, c.node.SIMD)), weights)
        assert got == pytest.approx(_weighted_all(opt, n, target, weights)), n.name


def test_target_fps_is_met_with_non_divisor_folding():
    board = load_board("pynq-z2")
    df = fc_ir([600, 300, 300, 10])
    plan = optimise(df, board, target_fps=20000)
    assert plan.fits and plan.fps >= 20000
    for n in plan.df.mvus():
        assert n.cycles_per_frame() <= 100e6 / 20000
    assert any(n.MH % n.PE or n.MW % n.SIMD for n in plan.df.mvus())  # not only divisors
    # the least resources: asking for less never costs more LUTs
    slower = optimise(df, board, target_fps=5000)
    assert slower.estimate.lut <= plan.estimate.lut


def test_max_is_the_fastest_design_that_fits():
    board = load_board("pynq-z2")
    df = fc_ir([784, 1024, 1024, 1024, 10])
    plan = optimise(df, board)
    assert plan.fits
    opt = Optimiser(df, board)
    faster = opt.design(plan.target_cycles - 1)
    assert faster is None or not opt.fits(faster[1])
    # balanced: the three big layers within a few percent of the slowest
    cyc = [n.cycles_per_frame() for n in plan.df.mvus()[:3]]
    assert min(cyc) >= 0.9 * max(cyc)
    assert plan.efficiency > 0.85
    assert plan.efficiency == pytest.approx(efficiency(plan.df))


def test_conv_ir_lanes_are_consistent():
    board = load_board("pynq-z2")
    df = conv_ir((3, 32, 32), CNV, (512, 512, 10))
    plan = optimise(df, board, target_fps=3000)
    nodes = plan.df.nodes
    for i, n in enumerate(nodes):
        if isinstance(n, SlidingWindow):
            assert nodes[i + 1].SIMD == n.SIMD and n.C % n.SIMD == 0
        if isinstance(n, MaxPool):
            assert n.C % n.PE == 0
        assert n.cycles_per_frame() <= 100e6 / 3000
    assert plan.fps >= 3000


def _big_board(tmp_path, factor):
    doc = dict(load_board("zcu104").doc)
    doc.update(name="big", resources={k: v * factor for k, v in doc["resources"].items()})
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    return load_board(path)


def test_alexnet_fits_with_weights_in_ddr(tmp_path):
    """AlexNet (227x227, 5 conv + 3 FC layers). Its 61 Mbit of weights do not
    fit a pynq-z2's block RAM: the optimiser moves the FC layers' weights to DDR (read
    once a frame) and, as the convolutions alone still overflow, the cheapest conv layer
    that makes it fit; the frame rate is then bounded by the DDR bandwidth, which the
    plan reports. On a board with 8x the zcu104's resources everything stays on chip."""
    df = conv_ir((3, 227, 227), ALEXNET, (4096, 4096, 1000), data=False)
    board = load_board("pynq-z2")
    plan = optimise(df, board)
    assert plan.fits
    ext = [n.name for n in plan.df.mvus() if n.external]
    assert {"mvu5", "mvu6", "mvu7"} <= set(ext)  # fc6, fc7, fc8
    d = plan.ddr
    assert d["external"] == sorted(ext) and d["bytes_per_frame"] > 0
    bpc = ddr_bytes_per_cycle(board)
    assert bpc == pytest.approx(15.75)  # 75% of 2.1 GB/s at 100 MHz (UG585's DDR efficiency)
    assert d["latency_cycles"] == 30  # 300 ns a transfer at 100 MHz
    assert plan.cycles >= d["bytes_per_frame"] / bpc  # the DDR bounds the frame rate
    assert d["needed_gb_per_s"] <= d["board_gb_per_s"] + 1e-9
    assert plan.fps == pytest.approx(100e6 / plan.cycles)
    for n in plan.df.mvus():  # an external word fills its DMA beat: no padding in DDR
        assert not n.external or 8 * dma_word_bytes(n.weight_word_bits) == n.weight_word_bits
    assert any("weights in DDR" in line for line in plan.summary_lines(board))
    # batched weight streams (one pass per B frames or B pixels): conv layers batch a
    # divisor of their pixels; the DDR no longer bounds the rate, conv1's lanes do
    batches = {n.name: n.batch for n in plan.df.mvus() if n.external}
    assert any(b > 1 for b in batches.values()), batches
    for n in plan.df.mvus():
        assert n.batch in batch_choices(n) if n.external else n.batch == 1
    assert d["ddr_cycles_per_frame"] <= plan.cycles and plan.fps > 130  # 60 unbatched
    plan = optimise(df, _big_board(tmp_path, 8))
    assert plan.fits and all(n.cycles_per_frame() <= plan.target_cycles for n in plan.df.nodes)
    assert not any(n.external for n in plan.df.mvus()) and plan.ddr is None


def test_batches_are_the_smallest_that_meet_the_target():
    """with_batches raises the batch of the stream with the most DDR bytes a frame until
    the DDR allows the target; batch buffers are block RAM in the estimate."""
    df = fold(fc_ir([1024, 1024, 10]), None, {"mvu0": {"PE": 8, "SIMD": 32, "external": True}})
    board = load_board("pynq-z2")
    one = ddr_cycles(df, board)  # 4 K words of 32 bytes, one pass a frame: 8352 cycles
    assert with_batches(df, board, one).mvus()[0].batch == 1
    compute = df.mvus()[0].cycles_per_frame()  # 4096: batch 2 leaves the DDR at 4191
    got = with_batches(df, board, compute)
    assert got.mvus()[0].batch == 4 and ddr_cycles(got, board) == compute
    two = replace(got, nodes=[replace(got.nodes[0], batch=2), *got.nodes[1:]])
    assert ddr_cycles(two, board) > compute
    assert with_batches(df, board, 10) is None
    plain = estimate_design(df).per_layer()["mvu0"]
    batched = estimate_design(got).per_layer()["mvu0"]
    assert batched.bram36 > plain.bram36 and any("reorder" in n for n in batched.notes)


def test_batches_grow_where_block_ram_is_cheapest():
    """Two streams, AlexNet's conv3 (169 pixels: batch 13 or 169) and fc6 (frames): for
    a DDR bound that fc6's frame batch 8 alone meets, with_batches does not pay the ~70
    BRAM36 of conv3's 169-pixel im2col buffers (the larger stream's next batch, the old
    rule), and no batch can be lowered without missing the target."""
    df = conv_ir((3, 227, 227), ALEXNET, (4096, 4096, 1000), data=False)
    ext = {"mvu3": {"PE": 32, "SIMD": 64, "external": True},
           "mvu5": {"PE": 16, "SIMD": 32, "external": True}}  # fmt: skip
    df = fold(df, None, ext)
    board = load_board("pynq-z2")
    got = with_batches(df, board, 200_000)
    batch = {n.name: n.batch for n in got.mvus() if n.external}
    assert batch == {"mvu3": 13, "mvu5": 8} and ddr_cycles(got, board) <= 200_000
    for n in got.mvus():
        smaller = [b for b in batch_choices(n) if b < n.batch] if n.external else []
        if smaller:
            nodes = [replace(m, batch=smaller[-1]) if m is n else m for m in got.nodes]
            assert ddr_cycles(replace(got, nodes=nodes), board) > 200_000, n.name
    wide = replace(got, nodes=[replace(m, batch=169) if m.name == "mvu3" else m for m in got.nodes])
    bram = {k: estimate_design(d, data=False).per_layer()["mvu3"].bram36 for k, d in
            (("13", got), ("169", wide))}  # fmt: skip
    assert bram["169"] > bram["13"] + 60, bram


def test_external_layers_cost_no_weight_memory():
    """A layer whose weights stream from DDR has no weight ROM (no block RAM for it) and
    the folding file's "external" key marks it."""

    df = fc_ir([1024, 1024, 10])
    on = fold(df, None, {"mvu0": {"PE": 8, "SIMD": 32}})
    off = fold(df, None, {"mvu0": {"PE": 8, "SIMD": 32, "external": True}})
    assert off.nodes[0].external and not on.nodes[0].external
    est_on = estimate_design(on).per_layer()["mvu0"]
    est_off = estimate_design(off).per_layer()["mvu0"]
    assert est_on.bram36 >= 28 and est_off.bram36 < est_on.bram36 - 27
    with pytest.raises(CompileError, match="external"):
        fold(df, None, {"mvu0": {"external": "yes"}})


def test_refuses_a_design_that_cannot_fit(tmp_path):
    doc = dict(load_board("pynq-z2").doc)
    doc.update(name="tiny", resources={"lut": 2000, "ff": 4000, "bram36": 1, "dsp": 0})
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(doc))
    board = load_board(path)
    df = fc_ir([784, 1024, 1024, 10])
    with pytest.raises(CompileError, match=r"BRAM36 needs .*short by"):
        optimise(df, board)
    with pytest.raises(CompileError, match=r"does not fit tiny"):
        optimise(df, board, target_fps=1000)


def test_unreachable_target_names_the_best_rate():
    df = fc_ir([64, 32, 10])
    with pytest.raises(CompileError, match=r"fastest folding of this model takes"):
        optimise(df, load_board("pynq-z2"), target_fps=1e9)


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(CompileError, match="known boards: .*pynq-z2"):
        load_board("pynq-z3")
    assert {"pynq-z1", "pynq-z2", "zcu104", "ultra96-v2"} <= set(known_boards())


def test_board_files_state_their_figures():
    for name in known_boards():
        b = load_board(name)
        assert b.clock_mhz > 0 and b.part and 0 < b.reserve < 0.5
        assert b.ddr["fabric_gb_per_s"] > 0 and "source" in b.ddr
        if b.name != "ulx3s-85f":  # the boards with a DMA path: sustained figure and latency
            assert 0 < b.ddr["dma_read_gb_per_s"] < b.ddr["peak_gb_per_s"]
            assert b.ddr["dma_read_source"] and b.ddr["burst_latency_source"]
            assert ddr_bytes_per_cycle(b) * b.clock_mhz * 1e6 == pytest.approx(
                b.ddr["dma_read_gb_per_s"] * 1e9
            )
            assert ddr_latency_cycles(b) == math.ceil(b.ddr["burst_latency_ns"] * b.clock_mhz / 1e3)
        assert "interface" in b.ps_fabric
    z2 = load_board("pynq-z2")
    assert z2.resources == {"lut": 53200, "ff": 106400, "bram36": 140, "dsp": 220, "lutram": 17400}
    assert z2.budget["lut"] == 45220 and z2.budget["bram36"] == 119.0


def test_topk_takes_the_lanes_before_it():
    df = fc_ir([64, 32, 10])
    df = replace(df, nodes=[*df.nodes, TopK("topk", 10, 1, "INT12")])
    plan = optimise(df, load_board("pynq-z2"), target_fps=1e5)
    assert plan.df.nodes[-1].PE == plan.df.nodes[-2].PE
    assert estimate_design(plan.df).total.lut > 0


def test_joins_take_legal_lanes(tmp_path):
    """The contract the optimiser now relies on for joins (it folds them with fold_after):
    any lanes before a join give a legal PE, a divisor of its channels, never above those
    lanes. (The optimiser's old with_lanes put PE 7 before a 64-channel Add of
    hwgq_resnet18 on zcu104; that 90-s compile is bench/residual.json's, not a test.)"""
    from halfwave.compiler.blocks.add import Add
    from halfwave.compiler.lower import lower
    from halfwave.compiler.onnx_graph import load_qonnx
    from tests import residual_nets as rn

    df = lower(load_qonnx(rn.export_net(rn.random_residual_net(0), tmp_path / "r.onnx")))
    add = next(n for n in df.nodes if isinstance(n, Add))
    for lanes in range(1, 3 * add.C):
        folded = add.fold_after(lanes, 10**9, {})  # a target any folding meets
        folded.check()
        assert folded.PE <= lanes and (lanes % add.C or folded.PE == add.C)


def _mac_ir(mw=363, mh=96, vectors=64):
    """One 8-bit MAC layer (conv1-like: INT8 weights x UINT8 pixels, raw output)."""
    w = RNG.integers(-128, 128, (mh, mw)).astype(np.int16)
    lo, hi = -128 * 255 * mw, 127 * 255 * mw
    n = MVU("mvu0", mw, mh, "mac", "UINT8", "INT8", lo, hi, None, weights=w, vectors=vectors)
    return Dataflow("mac", InputQuant([mw], "UINT8", "quant"), [n])


def _board_with(tmp_path, what, count):
    """pynq-z2 with `count` of resource `what`."""
    doc = dict(load_board("pynq-z2").doc)
    doc.update(name=f"{what}{count}", resources={**doc["resources"], what: count})
    path = tmp_path / f"{what}{count}.json"
    path.write_text(json.dumps(doc))
    return load_board(path)


def _dsp_board(tmp_path, dsp):
    return _board_with(tmp_path, "dsp", dsp)


def test_dsp_pairs_halve_the_multipliers():
    """Two 8-bit products per DSP48E1: ceil(PE/2)*SIMD DSPs (an odd last row alone), the
    LUTs of the pair's split on top; the hw_mvu parameter travels with the node."""
    from halfwave.compiler.blocks.mvu import dsp_pair_fits

    n = replace(_mac_ir().mvus()[0], PE=7, SIMD=3)
    plain, packed = n.estimate(), replace(n, dsp_pack=2).estimate()
    assert (plain.dsp, packed.dsp) == (21, 12)
    assert packed.lut > plain.lut
    assert ("DSP_PACK", "2") in replace(n, dsp_pack=2).rtl().params
    assert "DSP_PACK" not in dict(n.rtl().params)
    assert n.pack_options() == [1, 2]
    # the bit budget of A (25-bit signed): 2*W_W + IN_W <= 24
    assert dsp_pair_fits(8, 8) and dsp_pair_fits(6, 12) and not dsp_pair_fits(8, 9)
    wide = replace(n, in_dtype="UINT9")
    assert wide.pack_options() == [1]
    with pytest.raises(CompileError, match=r"mvu0.*dsp_pack=2 needs .*W_W=8, IN_W=9"):
        replace(wide, dsp_pack=2).check()


def test_optimiser_packs_dsps_only_where_they_are_short(tmp_path, monkeypatch):
    """The optimiser weighs each resource by its share of the budget: a pair saves a DSP
    for ~24 LUTs, so with DSPs plentiful next to LUTs it keeps one DSP a lane; on a board
    whose DSPs are short it puts two products in each and reaches a higher rate than
    without pairs, and says so in its summary."""
    df = _mac_ir()
    rich = optimise(df, _dsp_board(tmp_path, 20000))
    assert rich.df.mvus()[0].dsp_pack == 1
    poor_board = _dsp_board(tmp_path, 120)  # budget 102 DSP
    poor = optimise(df, poor_board)
    n = poor.df.mvus()[0]
    assert poor.fits and n.dsp_pack == 2 and poor.estimate.dsp <= 102
    assert n.PE * n.SIMD > 102  # more lanes than the DSPs one a lane would allow
    monkeypatch.setattr(MVU, "pack_options", lambda self: [1])
    unpacked = optimise(df, poor_board)
    assert unpacked.df.mvus()[0].dsp_pack == 1 and unpacked.estimate.dsp <= 102
    assert poor.fps > 1.5 * unpacked.fps
    line = next(s for s in poor.summary_lines(poor_board) if s.startswith("mvu0"))
    assert "two products per DSP48E1" in line and f"{poor.estimate.dsp:g} DSP" in line


def test_shallow_wide_weights_go_to_luts_where_block_ram_is_short(tmp_path, monkeypatch):
    """A weight word of PE*SIMD bits NF*SF words deep fills few of a BRAM36's 512 words:
    at PE 32 x SIMD 64 a 64 x 576 layer's 36,864 bits take 28.5 BRAM36 but about one LUT
    a bit. The optimiser prices both forms; with block RAM short it puts the weights in
    LUTs, reaches a higher rate than with block RAM only, and says which layers."""
    n = replace(mvu("mvu0", 576, 256, in_dtype="BIPOLAR", mode="xnor", n_t=1),
                out_dtype="BIPOLAR")  # fmt: skip
    wide = replace(n, MH=64, weights=n.weights[:64], thresholds=n.thresholds[:64], PE=32,
                   SIMD=64)  # fmt: skip
    assert wide.rom_options() == ["block", "distributed"]
    blk, lut = (replace(wide, weight_rom=r).estimate() for r in ("block", "distributed"))
    assert blk.bram36 >= 28 and lut.bram36 == 0 and lut.lut > blk.lut + 1500
    assert ("ROM_STYLE", '"distributed"') in replace(wide, weight_rom="distributed").rtl().params
    assert replace(wide, external=True).rom_options() == ["auto"]
    with pytest.raises(CompileError, match=r"mvu0.*weight_rom must be one of auto, block"):
        replace(wide, weight_rom="lut").check()
    df = Dataflow("xnor", InputQuant([576], "BIPOLAR", "quant"), [n])
    board = _board_with(tmp_path, "bram36", 12)  # budget 10.2 BRAM36
    got = optimise(df, board)
    assert got.fits and got.df.mvus()[0].weight_rom == "distributed"
    assert got.estimate.bram36 <= 10.2
    monkeypatch.setattr(MVU, "rom_options", lambda self: ["auto"])
    blocks_only = optimise(df, board)
    assert blocks_only.fps * 2 < got.fps
    assert any(s.startswith("weights in LUTs") and "mvu0" in s for s in got.summary_lines(board))


def test_minimise_lut_spends_block_ram_to_save_luts():
    """--minimise lut at a rate: fewer LUTs than the balanced plan, at more block RAM,
    the same rate, and still a fit; refused without a rate or with an unknown resource."""
    board = load_board("pynq-z2")
    df = conv_ir((3, 32, 32), CNV, [512, 512, 10], data=False)
    plain = optimise(df, board, target_fps=3000)
    lean = optimise(df, board, target_fps=3000, minimise="lut")
    assert lean.fits and lean.fps >= 3000
    assert lean.estimate.lut < 0.95 * plain.estimate.lut
    assert lean.estimate.bram36 > plain.estimate.bram36
    assert [n.name for n in lean.df.nodes] == [n.name for n in plain.df.nodes]
    from halfwave.compiler.compile import CompileOptions
    from halfwave.compiler.optimize import fold_for_board

    for opts, msg in ((CompileOptions(board="pynq-z2", minimise="lut"), "needs --target-fps"),
                      (CompileOptions(board="pynq-z2", target_fps=3000, minimise="luts"),
                       "one of lut, ff, bram36, dsp, got 'luts'")):  # fmt: skip
        with pytest.raises(CompileError, match=msg):
            fold_for_board(df, opts, None)


def test_minimise_lut_puts_wide_threshold_words_in_block_ram():
    """--minimise lut prices each MVU's threshold ROM in block RAM beside LUTs: where it
    picks block RAM, the same layer with Yosys's choice costs more LUTs and less block
    RAM, and hw_mvu gets THR_STYLE "block"."""
    board = load_board("pynq-z2")
    df = conv_ir((3, 32, 32), CNV, [512, 512, 10], data=False)
    lean = optimise(df, board, target_fps=3000, minimise="lut")
    picked = [n for n in lean.df.mvus() if n.thr_rom == "block"]
    assert picked
    for n in picked:
        assert "block" in n.thr_options()
        auto = replace(n, thr_rom="auto").fold_estimate()
        assert n.fold_estimate().lut < auto.lut and n.fold_estimate().bram36 > auto.bram36
        assert dict(n.rtl().params)["THR_STYLE"] == '"block"'
    narrow = [n for n in lean.df.mvus() if n.PE * n.n_thresholds * n.acc_bits < 72]
    assert all(n.thr_options() == ["auto"] for n in narrow)
