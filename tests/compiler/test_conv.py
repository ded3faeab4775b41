"""Convolutional lowering: random small conv nets (hand-built QONNX) compiled, golden
executor == QONNX float64 execution at every boundary; geometry and folding rules."""

from __future__ import annotations

import numpy as np
import pytest
from builders import ConvBuilder

from halfwave.compiler.errors import CompileError
from halfwave.compiler.ir import MVU, MaxPool, SlidingWindow
from halfwave.flow import api


def _verify(tmp_path, b: ConvBuilder, n=12, rtl=False, stall=0.0, folding=None):
    onnx_path = b.save(tmp_path / "net.onnx")
    rep = api.verify_onnx(onnx_path, tmp_path / "build", n=n, rtl=rtl, stall=stall,
                          folding=folding)  # fmt: skip
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    exact = [c for c in rep.comparisons if c.exact]
    assert all(c.mismatched_frames == 0 for c in exact)
    return rep


def random_conv_net(seed: int) -> ConvBuilder:
    """Kernel 1..7, stride 1..4, padding 0..3 (asymmetric), pools 2/2 or 3/2 either before
    the BatchNorm (fused) or after the activation, odd channel counts, then an FC head."""
    rng = np.random.default_rng(seed)
    h = int(rng.integers(9, 16))
    w = int(rng.integers(9, 16))
    b = ConvBuilder((int(rng.integers(1, 4)), h, w), seed=seed).quant_input(
        bits=int(rng.choice([2, 8]))
    )
    for layer in range(2):
        k = int(rng.integers(1, 8))
        s = int(rng.integers(1, 5))
        pads = tuple(int(v) for v in rng.integers(0, 4, 4))
        _, ch, cw = b.chw
        k = min(k, ch + pads[0] + pads[2], cw + pads[1] + pads[3])
        b.conv(int(rng.integers(3, 12)), k, s, pads, weights="bipolar" if layer else "int4")
        pool = rng.choice(["none", "fused", "after"]) if min(b.chw[1:]) >= 3 else "none"
        pk, ps = (3, 2) if rng.random() < 0.5 else (2, 2)
        if pool == "fused":
            b.maxpool(pk, ps)
        b.batchnorm().hwgq()
        if pool == "after":
            b.maxpool(pk, ps)
    b.flatten().linear(int(rng.integers(5, 12))).batchnorm().hwgq().linear(7)
    return b


@pytest.mark.parametrize("seed", range(8))
def test_random_conv_nets_golden_equals_qonnx(tmp_path, seed):
    _verify(tmp_path, random_conv_net(seed))


def test_fused_pool_takes_min_on_negative_bn_channels(tmp_path):
    b = ConvBuilder((2, 9, 9), seed=3).quant_input(bits=2)
    b.conv(12, 3).maxpool(3, 2).batchnorm().hwgq().flatten().linear(5)
    _verify(tmp_path, b, n=30)
    df = api.compile(tmp_path / "net.onnx", tmp_path / "build")
    pool = next(n for n in df.nodes if isinstance(n, MaxPool))
    mvu = next(n for n in df.nodes if isinstance(n, MVU))
    assert pool.fused and pool.min_channels  # some BN scales are negative
    assert mvu.boundary is None and pool.boundary is not None


def test_alexnet_geometries_and_flatten_order(tmp_path):
    """11x11 stride 4 (no pad) then 5x5 pad 2, pools 3/2, flatten into an FC layer."""
    b = ConvBuilder((3, 39, 39), seed=5).quant_input(bits=8)
    b.conv(6, 11, 4, weights="int8").maxpool(3, 2).batchnorm().hwgq()
    b.conv(8, 5, 1, (2, 2, 2, 2)).maxpool(3, 2).batchnorm().hwgq()
    b.flatten().linear(9).batchnorm().hwgq().linear(4)
    _verify(tmp_path, b, n=10)
    df = api.compile(tmp_path / "net.onnx", tmp_path / "build")
    swgs = [n for n in df.nodes if isinstance(n, SlidingWindow)]
    assert [(s.KH, s.SH, s.pads, s.OH) for s in swgs] == [
        (11, 4, [0, 0, 0, 0], 8),
        (5, 1, [2, 2, 2, 2], 3),
    ]
    assert df.input.channels_last


def test_conv_simd_divides_channels(tmp_path):
    b = ConvBuilder((6, 8, 8), seed=1).quant_input(bits=2)
    b.conv(10, 3).batchnorm().hwgq().flatten().linear(3)
    path = b.save(tmp_path / "net.onnx")
    df = api.compile(path, tmp_path / "b1", target_cycles=40)
    mvu = next(n for n in df.nodes if isinstance(n, MVU))
    swg = next(n for n in df.nodes if isinstance(n, SlidingWindow))
    assert 6 % mvu.SIMD == 0 and swg.SIMD == mvu.SIMD
    assert mvu.cycles_per_frame() <= 40 * 1.0 or mvu.SIMD == 6
    fold = tmp_path / "fold.json"
    fold.write_text('{"mvu0": {"PE": 2, "SIMD": 4}}')
    with pytest.raises(CompileError, match="SIMD=4 must divide the 6 input channels"):
        api.compile(path, tmp_path / "b2", folding=fold)


def test_bipolar_input_with_padding_is_refused(tmp_path):
    b = ConvBuilder((2, 6, 6), seed=2).quant_input(bits=2)
    b.conv(4, 3).batchnorm().bipolar_act().conv(4, 3, 1, (1, 1, 1, 1))
    b.batchnorm().hwgq().flatten().linear(3)
    with pytest.raises(CompileError, match="padding of a bipolar"):
        api.compile(b.save(tmp_path / "net.onnx"), tmp_path / "build")


@pytest.mark.parametrize("kind", ["ternary", "ttq"])
def test_ternary_layers(tmp_path, kind):
    """Symmetric (Brevitas 2-bit narrow) and two-scale ternary weights (Wp/Wn = 26/9),
    negative BatchNorm scales (negated rows swap p and n), an all-zero channel."""
    b = ConvBuilder((3, 10, 10), seed=11).quant_input(bits=4)
    b.conv(9, 3, 1, (1, 1, 1, 1), weights=kind).batchnorm().hwgq()
    b.conv(7, 3, 2, weights=kind).maxpool(2, 2).batchnorm().hwgq()
    b.flatten().linear(10, weights=kind).batchnorm().hwgq().linear(5, weights=kind)
    _verify(tmp_path, b, n=8, rtl=True, stall=0.3)
    df = api.compile(tmp_path / "net.onnx", tmp_path / "build")
    mvus = [n for n in df.nodes if isinstance(n, MVU)]
    assert all(m.mode == "ternary" for m in mvus)
    assert mvus[0].ternary == ([1, 1] if kind == "ternary" else [26, 9])
    assert any(m.negated_rows for m in mvus)
