"""Lowering residual and branching graphs: hand-built QONNX graphs for each join form
(tests/builders.py style); golden integer values equal float64 QONNX execution at every
boundary; refusals are one sentence naming the node."""

from __future__ import annotations

import numpy as np
import pytest

from halfwave.compiler import lower_join
from halfwave.compiler.errors import CompileError
from halfwave.compiler.lower import lower
from halfwave.compiler.onnx_graph import load_qonnx
from halfwave.flow import verify as ladder
from tests.builders import QONNX, ConvBuilder

pytest.importorskip("halfwave.compiler.blocks.add")  # joinblocks' Add/Concat blocks

S1, S2 = 0.40625, 0.8125  # activation scales (13/32, 13/16: ratio 2)


def _quant(b: ConvBuilder, bits: int, scale: float, signed: int = 0, relu: bool = True) -> str:
    if relu:
        b.node("Relu", [b.cur])
    ins = [b.cur, b.const(scale), b.const(0.0), b.const(float(bits))]
    return b.node("Quant", ins, QONNX, signed=signed, narrow=0, rounding_mode="ROUND")


def _stem(seed: int) -> tuple[ConvBuilder, str]:
    b = ConvBuilder((2, 6, 6), seed).quant_input(bits=4, scale=0.25)
    b.conv(4, 3, pads=(1, 1, 1, 1), weights="int3").batchnorm()
    return b, _quant(b, 2, S1)


def _branch(b: ConvBuilder, x: str, chw, k: int = 3, stride: int = 1, oc: int = 4) -> str:
    """conv k x k (pad k//2) -> BatchNorm from tensor x; returns the BN output."""
    b.cur, b.chw, b.n = x, chw, chw[0]
    p = k // 2
    b.conv(oc, k, stride=stride, pads=(p, p, p, p), weights="int3").batchnorm()
    return b.cur


def _head(b: ConvBuilder, path):
    b.conv(3, 3, weights="int3").batchnorm()
    _quant(b, 2, S1)
    b.flatten().linear(5, weights="bipolar")
    return b.save(path)


def _join(b: ConvBuilder, op: str, x: str, y: str, **attrs) -> str:
    return b.node(op, [x, y], **attrs)


def _graph(form: str, tmp_path, seed: int = 0):
    b, x = _stem(seed)
    chw = b.chw
    if form == "b":  # BatchNorm output + quantised identity shortcut
        main = _branch(b, x, chw)
        _join(b, "Add", main, x)
        _quant(b, 2, S1)
    elif form == "a":  # one shared quantiser (signed 3 bits) on both inputs
        main = _branch(b, x, chw)
        qm = _quant(b, 3, S1 / 2, signed=1, relu=False)
        b.cur = x
        qx = _quant(b, 3, S1 / 2, signed=1, relu=False)
        _join(b, "Add", qm, qx)
        _quant(b, 2, S1)
    elif form == "c":  # two quantised inputs, scales S2 and S1 = S2 / 2
        main = _branch(b, x, chw)
        qm = _quant(b, 2, S2)
        _join(b, "Add", qm, x)
        _quant(b, 2, S1)
    elif form == "down":  # two BatchNorm outputs: 3x3/2 main, 1x1/2 shortcut
        main = _branch(b, x, chw, stride=2)
        short = _branch(b, x, chw, k=1, stride=2)
        _join(b, "Add", main, short)
        _quant(b, 2, S1)
    elif form == "concat":  # channel concat of two branches with scales S1 and S2
        left = _branch(b, x, chw, k=1, oc=3)
        ql = _quant(b, 2, S1)
        _branch(b, x, chw, k=3, oc=2)
        qr = _quant(b, 2, S2)
        _join(b, "Concat", ql, qr, axis=1)
        b.chw, b.n = (5, *chw[1:]), 5
        del left
    elif form == "inception":  # 1x1 branch | 3x3/1 pad 1 max-pool -> 1x1 branch, concat
        _branch(b, x, chw, k=1, oc=3)
        ql = _quant(b, 2, S1)
        b.cur = x
        b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
        _branch(b, b.cur, chw, k=1, oc=2)
        qr = _quant(b, 2, S1)
        _join(b, "Concat", ql, qr, axis=1)
        b.chw, b.n = (5, *chw[1:]), 5
    elif form == "stempool":  # ResNet's 3x3/2 pad 1 max-pool, then a residual block
        b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        x, chw = b.cur, (chw[0], 3, 3)
        main = _branch(b, x, chw)
        _join(b, "Add", main, x)
        _quant(b, 2, S1)
    elif form == "gap":  # global average pools of two branches, added
        _branch(b, x, chw, k=1)
        qa = _quant(b, 2, S1)
        ga = b.node("GlobalAveragePool", [qa])
        gx = b.node("GlobalAveragePool", [x])
        _join(b, "Add", ga, gx)
        _quant(b, 3, S1)
        b.chw, b.n = (4, 1, 1), 4
        b.flatten().linear(5, weights="bipolar")
        return b.save(tmp_path / f"{form}.onnx")
    return _head(b, tmp_path / f"{form}.onnx")


def _inputs(n: int = 64, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 16, size=(n, 2, 6, 6)) * 0.25).astype(np.float32)


@pytest.mark.parametrize("form", ["a", "b", "c", "down", "concat", "inception", "stempool", "gap"])
def test_join_forms_are_exact(form, tmp_path):
    path = _graph(form, tmp_path)
    df = lower(load_qonnx(path), form)
    df.check_graph()
    for n in df.nodes:  # the blocks accept what the lowering made
        n.check()
    kinds = [n.kind for n in df.nodes]
    assert ("Concat" if form in ("concat", "inception") else "Add") in kinds
    x = _inputs()
    ref = ladder.qonnx_rung(path, df, x, float64=True)
    gold = ladder.golden_rung(df, x)
    cmp = ladder.compare(ref, gold)
    assert cmp.boundaries == sum(ladder.boundary_of(n) is not None for n in df.nodes) + 1
    assert cmp.mismatched_frames == 0, cmp.first
    join = next(n for n in df.nodes if n.kind in ("Add", "Concat"))
    k = df.nodes.index(join)
    assert len(np.unique(gold.values[k + 1])) > 1  # the join's codes really vary
    assert len(df.inputs[join.name]) == 2
    if form in ("inception", "stempool"):  # padded max-pool: a 1x1 padding window first
        pad = next(n for n in df.nodes if n.name.startswith("pad"))
        assert (pad.KH, pad.KW, pad.pads, pad.pad_value) == (1, 1, [1, 1, 1, 1], 0)


def test_coefficients_of_each_form(tmp_path):
    def add_of(form):
        df = lower(load_qonnx(_graph(form, tmp_path)))
        return df, next(n for n in df.nodes if n.kind == "Add")

    _, add = add_of("a")  # shared scale: the plain sum
    assert set(add.coef_a) == {1} and set(add.coef_b) == {1}
    _, add = add_of("c")  # scale ratio 2: twice the main branch's codes
    assert all(a == 2 * b for a, b in zip(add.coef_a, add.coef_b, strict=True))
    df, add = add_of("b")  # raw accumulators (input 0) + codes (input 1)
    raw = df.nodes[df.nodes.index(add) - 1]
    assert raw.kind == "MVU" and raw.out_dtype is None and add.a_dtype == raw.out_type
    assert df.inputs[add.name][0] == raw.name


def test_concat_aligns_scales(tmp_path):
    df = lower(load_qonnx(_graph("concat", tmp_path)))
    cat = next(n for n in df.nodes if n.kind == "Concat")
    assert cat.mults == [1, 2] and cat.channels == [3, 2]
    assert cat.boundary.scale == S1


def test_add_exhaustive_against_exact_decisions():
    """fold_add over a whole domain: #(D*a + N*x >= theta) equals the count of rounding
    steps passed by y = (3/7 a + 1/3)/sqrt(5) + 13/32 x (decided by squaring)."""
    from fractions import Fraction as F

    from halfwave.compiler.datatypes import DataType
    from halfwave.compiler.exact import Affine, sign_of_l_minus_r_sqrt_d
    from halfwave.compiler.lower import Quantized
    from halfwave.compiler.thresholds import Step

    raw = lower_join.Raw("r", [Affine(F(3, 7), F(1, 3), F(0), F(5))], -60, 60, DataType.int(8))
    codes = Quantized("q", F(13, 32), DataType.uint(2))
    ks = (1, 2, 3)  # round half to even: k - 1/2 passes iff k is even
    steps = [[Step(F(k) - F(1, 2), strict=k % 2 == 1) for k in ks]]
    (fit,), swapped = lower_join.fold_add(raw, codes, steps, "Add_x")
    assert not swapped
    for a in range(-60, 61):
        for x in range(4):
            want = 0
            for k in ks:
                s = sign_of_l_minus_r_sqrt_d(
                    F(3, 7) * a + F(1, 3), F(k) - F(1, 2) - F(13, 32) * x, F(5)
                )
                want += s > 0 or (s == 0 and k % 2 == 0)
            got = sum(fit.coef_a * a + fit.coef_b * x >= t for t in fit.thresholds)
            assert got == want, (a, x)


def test_refusals_name_the_node(tmp_path, monkeypatch):
    b, x = _stem(0)
    main = _branch(b, x, b.chw)
    add = _join(b, "Add", main, x)
    path = _head(b, tmp_path / "noquant.onnx")  # the Add feeds a Conv unquantised
    with pytest.raises(CompileError, match=r"node 'Add_\d+'.*quantiser"):
        lower(load_qonnx(path))
    del add
    monkeypatch.setattr(lower_join, "MAX_D", 1)  # no exact form within the limit
    with pytest.raises(CompileError, match=r"node 'Add_\d+': channel \d+ of the Add has no exact"):
        lower(load_qonnx(_graph("down", tmp_path)))
    monkeypatch.setattr(lower_join, "MAX_MULT", 1)
    with pytest.raises(CompileError, match=r"node 'Concat_\d+': the Concat input scales"):
        lower(load_qonnx(_graph("concat", tmp_path)))


def test_requantiser_on_codes_becomes_an_identity_layer(tmp_path):
    """A quantiser on quantised codes that no Add folds: an MVU with identity weights and
    the requantiser's exact thresholds (here it clips: 3 bits signed of scale S1/2)."""
    b, x = _stem(0)
    _quant(b, 3, S1 / 2, signed=1, relu=False)
    path = _head(b, tmp_path / "requant.onnx")
    df = lower(load_qonnx(path))
    ident = df.nodes[2]  # after the stem SlidingWindow, MVU
    assert ident.kind == "MVU" and ident.out_dtype == "INT3" and df.is_chain()
    assert np.array_equal(ident.weights, np.eye(4))
    x_in = _inputs()
    ref, gold = ladder.qonnx_rung(path, df, x_in, float64=True), ladder.golden_rung(df, x_in)
    cmp = ladder.compare(ref, gold)
    assert cmp.mismatched_frames == 0 and cmp.boundaries >= 4, cmp.first
    assert set(np.unique(gold.values[3])) == {0, 2, 3}  # codes 0, 1, 2, 3 -> 0, 2, 3, 3
