"""Convolutional models: naming, shapes, layer order, boundary codes, calibration."""

import numpy as np
import pytest
import torch
from brevitas.nn import QuantReLU as UniformReLU
from torch.nn import functional as F

from halfwave.training import build_model, calibrated_model, parse_name
from halfwave.training.brevitas_layers import QuantConv2d
from halfwave.training.brevitas_quant import HWGQReLU as HWGQ
from halfwave.training.brevitas_quant import SignAct
from halfwave.training.conv_models import QuantCNN
from halfwave.training.data import random_images
from halfwave.training.models import input_shape, is_conv


@pytest.mark.parametrize(
    "name,w,a,act",
    [
        ("cnv_w1a2", 1, 2, HWGQ),
        ("cnv_w1a1", 1, 1, SignAct),
        ("cnv_w2a2", 2, 2, HWGQ),
        ("cnv_w1a3_relu", 1, 3, UniformReLU),
        ("hwgq_alexnet_tiny", 1, 2, HWGQ),
    ],
)
def test_names(name, w, a, act):
    spec = parse_name(name)
    assert (spec.wbits, spec.abits) == (w, a) and is_conv(name)
    m = build_model(name)
    assert isinstance(m, QuantCNN) and m.name == name
    assert all(isinstance(x, act) for x in m.activations())


@pytest.mark.parametrize(
    "bad", ["cnv", "cnv_w9a2", "cnv_w1a1_relu", "hwgq_alexnet_w1a2", "hwgq_alexnet_tiny_float"]
)
def test_bad_names(bad):
    with pytest.raises(ValueError, match="model name"):
        parse_name(bad)


def test_cnv_structure():
    m = build_model("cnv_w1a2")
    assert m.input_shape == (3, 32, 32)
    assert [c.out_channels for c in m.convs] == [64, 64, 128, 128, 256, 256]
    assert [(c.kernel_size, c.stride, c.padding) for c in m.convs] == [((3, 3), (1, 1), (0, 0))] * 6
    assert all(c.bits == 1 and c.per_channel for c in m.convs)
    assert m.shapes == [(64, 30, 30), (64, 14, 14), (128, 12, 12), (128, 5, 5), (256, 3, 3)] + [
        (256, 1, 1)
    ]
    assert [(lin.in_features, lin.out_features) for lin in m.linears] == [(256, 512), (512, 512)]
    assert all(lin.bits == 1 for lin in m.linears)
    out = m.out_linear
    assert (out.out_features, out.bits, out.per_channel) == (10, 1, False)
    assert m(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    f = build_model("cnv_float")
    assert all(c.bits == 0 for c in f.convs) and isinstance(f.conv_acts[0], torch.nn.ReLU)
    assert f(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_alexnet_tiny_structure():
    m = build_model("hwgq_alexnet_tiny")
    assert m.input_shape == (3, 99, 99)
    assert [
        (c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0], c.bits) for c in m.convs
    ] == [
        (8, 11, 4, 0, 8),
        (16, 5, 1, 2, 1),
        (24, 3, 1, 1, 1),
        (24, 3, 1, 1, 1),
        (16, 3, 1, 1, 1),
    ]
    assert m.shapes == [(8, 11, 11), (16, 5, 5), (24, 5, 5), (24, 5, 5), (16, 2, 2)]
    assert [lin.in_features for lin in m.linears] == [64, 64]
    out = m.out_linear
    assert (out.in_features, out.out_features, out.bits, out.per_channel) == (64, 10, 8, True)
    assert [(c.pool, c.pool_before_bn) for c in m.arch.convs] == [
        ((3, 2), True),
        ((3, 2), True),
        (None, False),
        (None, False),
        ((3, 2), False),
    ]


def test_alexnet_full_shapes():
    m = build_model("hwgq_alexnet")
    assert m.input_shape == (3, 227, 227)
    assert [c.out_channels for c in m.convs] == [96, 256, 384, 384, 256]
    assert m.shapes == [(96, 27, 27), (256, 13, 13), (384, 13, 13), (384, 13, 13), (256, 6, 6)]
    assert [(lin.in_features, lin.out_features) for lin in m.linears] == [
        (9216, 4096),
        (4096, 4096),
    ]
    assert (m.out_linear.out_features, m.out_linear.bits) == (1000, 8)
    assert m.convs[0].bits == 8 and all(c.bits == 1 for c in m.convs[1:])


def _bn(z, bn):
    """Inference BatchNorm written out in ONNX's order (as the models compute it)."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    mean, var = bn.running_mean.reshape(shape), bn.running_var.reshape(shape)
    return (z - mean) / torch.sqrt(var + bn.eps) * bn.weight.reshape(shape) + bn.bias.reshape(shape)


def _manual_forward(m, x):
    """The layer order written out with torch.nn.functional: conv -> [pool] -> BN -> act
    -> [pool] per the architecture; a second path to compare the model with."""
    x = torch.clamp(torch.round(x), 0, 255)
    for layer, conv, bn, act in zip(m.arch.convs, m.convs, m.conv_bns, m.conv_acts, strict=True):
        z = F.conv2d(x, conv.quant_weight().value, stride=conv.stride, padding=conv.padding)
        if layer.pool and layer.pool_before_bn:
            z = F.max_pool2d(z, *layer.pool)
        x = act(_bn(z, bn))
        if layer.pool and not layer.pool_before_bn:
            x = F.max_pool2d(x, *layer.pool)
    x = x.reshape(len(x), -1)
    for lin, bn, act in zip(m.linears, m.bns, m.acts, strict=True):
        z = x @ lin.quant_weight().value.t()
        x = act(_bn(z, bn))
    return (x @ m.out_linear.quant_weight().value.t()) * m.out_scale + m.out_bias


@pytest.mark.parametrize("name", ["cnv_w1a2", "hwgq_alexnet_tiny"])
def test_layer_order_and_codes(name):
    shape = input_shape(name)
    m = calibrated_model(name, 1, x=random_images(8, shape, 1)).double()
    with torch.no_grad():  # negative BN scales: pool before / after BN differ
        for bn in [*m.conv_bns, *m.bns]:
            bn.weight.mul_(torch.where(torch.rand(len(bn.weight)) < 0.3, -1.0, 1.0))
    x = torch.from_numpy(random_images(3, shape, 2)).double()
    out, codes = m.forward_with_codes(x)
    assert torch.equal(out, m(x))
    want = _manual_forward(m, x)
    torch.testing.assert_close(out, want, rtol=1e-9, atol=1e-9)
    assert len(codes) == 1 + len(m.convs) + len(m.linears)
    assert np.array_equal(codes[0], x.numpy().astype(np.int64))
    for c, shape in zip(codes[1:], m.shapes, strict=False):
        layer_pooled_after = c.shape[2] != shape[1]
        assert c.dtype == np.int64 and c.shape[:2] == (3, shape[0])
        assert c.min() >= 0 and c.max() <= 3
        if not layer_pooled_after:
            assert c.shape[2:] == shape[1:]
    # CNV boundaries are taken before the pool that follows the activation
    if name == "cnv_w1a2":
        assert [c.shape[1:] for c in codes[1:7]] == [
            (64, 30, 30),
            (64, 28, 28),
            (128, 12, 12),
            (128, 10, 10),
            (256, 3, 3),
            (256, 1, 1),
        ]
    assert [c.shape for c in codes[-2:]] == [(3, m.linears[0].out_features)] * 2


def test_sign_codes():
    m = calibrated_model("cnv_w1a1", x=random_images(8, (3, 32, 32), 3)).double()
    _, codes = m.forward_with_codes(torch.from_numpy(random_images(2, (3, 32, 32), 4)).double())
    assert all(set(np.unique(c)) == {-1, 1} for c in codes[1:])


def test_quant_conv_weights():
    """Binary: sign(W) (W >= 0 -> +1), scale 1; 8-bit: narrow codes, a power-of-two scale
    per output channel."""
    conv = QuantConv2d(2, 3, 3, bits=1).double()
    qw = conv.quant_weight()
    w = conv.weight.detach()
    assert torch.equal(qw.value, torch.where(w >= 0, 1.0, -1.0).double())
    assert float(qw.scale) == 1.0
    c8 = QuantConv2d(2, 3, 3, bits=8).double()
    qw = c8.quant_weight()
    codes = qw.value / qw.scale
    assert qw.scale.shape == (3, 1, 1, 1) and codes.abs().max() <= 127
    assert torch.equal(codes, torch.round(codes))
    assert all(float(s).hex().startswith("0x1.0000000000000p") for s in qw.scale.flatten())


def _histograms(model, x):
    _, codes = model.double().forward_with_codes(torch.from_numpy(x).double())
    return [np.bincount(c.ravel(), minlength=4) / c.size for c in codes[1:]]


@pytest.mark.parametrize("name", ["cnv_w1a2", "hwgq_alexnet_tiny"])
def test_calibration_spreads_codes(name):
    m = calibrated_model(name, 0)
    x = random_images(8, m.input_shape, seed=99)  # other images than the calibration set
    hists = _histograms(m, x)
    print(f"\n{name} code histogram per activation (fractions of codes 0, 1, 2, 3):")
    for i, h in enumerate(hists):
        print(f"  act {i}: " + " ".join(f"{v:.3f}" for v in h))
    for i, h in enumerate(hists):
        assert (h > 0.01).all(), f"activation {i}: code histogram {h}"


@pytest.mark.slow
def test_alexnet_full_calibration():
    import time

    t0 = time.perf_counter()
    m = calibrated_model("hwgq_alexnet", 0)
    seconds = time.perf_counter() - t0

    hists = _histograms(m, random_images(2, m.input_shape, seed=5))
    print(f"\nhwgq_alexnet: built and calibrated in {seconds:.1f} s; code histograms:")
    for i, h in enumerate(hists):
        print(f"  act {i}: " + " ".join(f"{v:.3f}" for v in h))
    for i, h in enumerate(hists):
        assert (h > 0).all(), f"activation {i}: code histogram {h}"
