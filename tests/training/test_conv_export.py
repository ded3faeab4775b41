"""QONNX export of the convolutional models reproduces the float64 PyTorch model: equal
integer codes at every quantiser boundary (NCHW) when the QONNX graph runs in float64
(qonnx's ops, a numpy Conv); qonnx's float32 execute_onnx agrees except where float32
rounding puts a pre-activation on the other side of a threshold, each such frame
explained and counted."""

import numpy as np
import onnx
import pytest
import torch
from conftest import (
    conv_boundary_scales,
    explain_float32,
    qonnx_activation_boundaries,
    qonnx_float64_boundaries,
    randomise_conv_bn,
    to_codes,
)

from halfwave.training import ExportError, build_model, calibrated_model, export_qonnx
from halfwave.training.data import digits_images, random_images

HWGQ = ["Neg", "MultiThreshold", "Sub", "Mul"]
BIN_CONV = ["BipolarQuant", "Conv", "BatchNormalization", *HWGQ]
BIN_FC = ["BipolarQuant", "Gemm", "BatchNormalization", *HWGQ]
CNV_W1A2_OPS = (
    ["Quant"]
    + BIN_CONV
    + [*BIN_CONV, "MaxPool"]
    + BIN_CONV
    + [*BIN_CONV, "MaxPool"]
    + BIN_CONV * 2
    + ["Reshape"]  # torch.flatten, as the dynamo exporter writes it
    + BIN_FC * 2
    + ["BipolarQuant", "Gemm", "Mul", "Add"]
)
ALEXNET_OPS = (
    ["Quant"]
    + ["Quant", "Conv", "MaxPool", "BatchNormalization", *HWGQ]  # conv1: 8-bit weights
    + ["BipolarQuant", "Conv", "MaxPool", "BatchNormalization", *HWGQ]  # conv2
    + BIN_CONV * 2  # conv3, conv4
    + [*BIN_CONV, "MaxPool"]  # conv5
    + ["Reshape"]  # torch.flatten, as the dynamo exporter writes it
    + BIN_FC * 2  # fc6, fc7
    + ["Quant", "Gemm", "Mul", "Add"]  # fc8: 8-bit weights, affine head
)


def _attrs(node):
    """A node's attributes, without the ONNX defaults the exporter may spell out."""
    defaults = {"auto_pad": b"NOTSET", "storage_order": 0}
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {k: v for k, v in attrs.items() if defaults.get(k, object()) != v}


def _images(shape, n_digits, n_random, seed):
    """Digits images (when 32x32), generated images, and pixels off the integer grid:
    halves (round half to even), negatives and values past 255 (clamped)."""
    rng = np.random.default_rng(seed)
    parts = [random_images(n_random, shape, seed)]
    if shape[1] == 32:
        parts.append(digits_images(32).x_test[:n_digits].astype(np.float32))
    odd = random_images(4, shape, seed + 1)
    odd[0] += 0.5
    odd[1] = rng.uniform(-20, 300, size=shape).astype(np.float32)
    odd[2] = rng.choice([-1e3, 0.5, 1.5, 254.5, 255.5, 300.0], size=shape).astype(np.float32)
    parts.append(odd)
    return np.concatenate(parts)


def _compare(model, path, x):
    """float64 QONNX == float64 torch at every boundary; float32 QONNX disagreements
    explained (conftest.explain_float32). Returns the codes and the disagreeing frames."""
    ref = model.double().eval()
    out, codes = ref.forward_with_codes(torch.from_numpy(x).double())
    scales = conv_boundary_scales(ref)
    q_out, q_bounds = qonnx_float64_boundaries(path, x)
    q_codes = to_codes(q_bounds, scales)
    assert len(q_codes) == len(codes) == 1 + len(ref.activations())
    for i, (a, b) in enumerate(zip(codes, q_codes, strict=True)):
        assert a.shape == b.shape, f"boundary {i}: shapes {a.shape} and {b.shape}"
        bad = np.argwhere(a != b)
        assert bad.size == 0, f"boundary {i}: {len(bad)} codes differ, first at {bad[0]}"
    np.testing.assert_allclose(q_out, out.numpy(), rtol=1e-12, atol=1e-12)
    f_out, f_bounds = qonnx_activation_boundaries(path, x)
    f_codes = to_codes(f_bounds, scales)
    frames = explain_float32(ref, x, codes, f_codes)
    ok = np.setdiff1d(np.arange(len(x)), frames)  # (untrained heads tie: no argmax check)
    np.testing.assert_allclose(f_out[ok], out.numpy()[ok], rtol=1e-5, atol=1e-4)
    print(f"{model.name}: float32 QONNX disagrees on {len(frames)}/{len(x)} frames {frames}")
    return codes, frames


def test_op_sequence_cnv_w1a2(tmp_path):
    m = onnx.load(export_qonnx("cnv_w1a2", None, tmp_path / "m.onnx", batch_size=2))
    assert [n.op_type for n in m.graph.node] == CNV_W1A2_OPS
    (inp,) = m.graph.input
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim] == [2, 3, 32, 32]
    assert [d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim] == [2, 10]
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    assert all(v.dtype in (np.float32, np.int64) for v in inits.values())  # int64: shapes
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    assert [_attrs(c) for c in convs] == [
        dict(kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1)
    ] * 6
    w0 = inits[next(n for n in m.graph.node if n.op_type == "BipolarQuant").input[0]]
    a0 = inits[next(n for n in m.graph.node if n.op_type == "BipolarQuant").input[1]]
    assert w0.shape == (64, 3, 3, 3) and np.abs(w0).max() <= 1.0  # latent weights, clipped
    assert a0.size == 1 and a0.item() == 1.0  # binary weights: scale 1
    pools = [_attrs(n) for n in m.graph.node if n.op_type == "MaxPool"]
    assert (
        pools
        == [
            dict(
                kernel_shape=[2, 2],
                strides=[2, 2],
                pads=[0, 0, 0, 0],
                ceil_mode=0,
                dilations=[1, 1],
            )
        ]
        * 2
    )
    mts = [_attrs(n)["data_layout"] for n in m.graph.node if n.op_type == "MultiThreshold"]
    assert [v.decode() for v in mts] == ["NCHW"] * 6 + ["NC"] * 2
    (flat,) = [n for n in m.graph.node if n.op_type == "Reshape"]
    assert list(inits[flat.input[1]]) == [2, 256]
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in m.graph.value_info
    }
    assert shapes[flat.output[0]] == [2, 256]


def test_op_sequence_hwgq_alexnet_tiny(tmp_path):
    m = onnx.load(export_qonnx("hwgq_alexnet_tiny", None, tmp_path / "m.onnx"))
    assert [n.op_type for n in m.graph.node] == ALEXNET_OPS
    convs = [_attrs(n) for n in m.graph.node if n.op_type == "Conv"]
    assert [(c["kernel_shape"], c["strides"], c["pads"]) for c in convs] == [
        ([11, 11], [4, 4], [0, 0, 0, 0]),
        ([5, 5], [1, 1], [2, 2, 2, 2]),
        ([3, 3], [1, 1], [1, 1, 1, 1]),
        ([3, 3], [1, 1], [1, 1, 1, 1]),
        ([3, 3], [1, 1], [1, 1, 1, 1]),
    ]
    pools = [_attrs(n) for n in m.graph.node if n.op_type == "MaxPool"]
    pool = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0)
    assert pools == [{**pool, "dilations": [1, 1]}] * 3
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    q1, q8 = [n for n in m.graph.node if n.op_type == "Quant"][1:]
    assert _attrs(q1) == {"signed": 1, "narrow": 1, "rounding_mode": b"ROUND"}
    assert inits[q1.input[0]].shape == (8, 3, 11, 11) and inits[q1.input[1]].shape == (8, 1, 1, 1)
    assert inits[q1.input[3]] == 8 and inits[q8.input[3]] == 8
    assert inits[q8.input[0]].shape == (10, 64) and inits[q8.input[1]].shape == (10, 1)
    scale = inits[q1.input[1]]  # a power of two per output channel; latent weights in range
    assert np.array_equal(np.exp2(np.round(np.log2(scale))), scale)
    assert np.abs(inits[q1.input[0]] / scale).max() <= 127.5


def test_export_is_deterministic(tmp_path):
    for name in ("cnv_w1a2", "hwgq_alexnet_tiny"):
        torch.manual_seed(3)
        model = build_model(name)
        a = export_qonnx(model, None, tmp_path / "a.onnx").read_bytes()
        b = export_qonnx(model, None, tmp_path / "b.onnx").read_bytes()
        assert a == b, name


@pytest.mark.parametrize(
    "name,seed,randomise",
    [
        ("cnv_w1a2", 0, False),
        ("cnv_w1a2", 1, True),
        ("hwgq_alexnet_tiny", 2, False),
        ("hwgq_alexnet_tiny", 3, True),
        ("cnv_w1a1", 4, True),
        pytest.param("cnv_w2a2", 5, True, marks=pytest.mark.slow),
        pytest.param("cnv_w1a3_relu", 6, True, marks=pytest.mark.slow),
    ],
)
def test_codes_match(tmp_path, name, seed, randomise):
    """Calibrated (BatchNorm from data) or randomised (negative BN scales, which make
    AlexNet's pool-before-BN order matter) models, on digits and generated images."""
    model = calibrated_model(name, seed)
    shape = model.input_shape
    x = _images(shape, 8, 4, seed) if shape[1] == 32 else _images(shape, 0, 12, seed)
    if randomise:
        randomise_conv_bn(model, x, seed)
    p = export_qonnx(model, None, tmp_path / "m.onnx", batch_size=len(x))
    codes, _ = _compare(model, p, x)
    levels = 2**model.spec.abits if model.spec.abits > 1 else 2
    for i, c in enumerate(codes[1:]):  # every level occurs at every activation
        assert len(np.unique(c)) == levels, (i, np.unique(c))


def test_float_and_nonuniform_refused(tmp_path):
    with pytest.raises(ExportError, match="float"):
        export_qonnx("cnv_float", None, tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="non-uniform HWGQ"):
        export_qonnx("cnv_w1a2_hwgqnu", None, tmp_path / "m.onnx")


@pytest.mark.slow
def test_full_alexnet_codes_match(tmp_path):
    """Full-size hwgq_alexnet (62M parameters): export and compare on two images."""
    import time

    model = calibrated_model("hwgq_alexnet", 0)
    x = random_images(2, model.input_shape, seed=11)
    t0 = time.perf_counter()
    p = export_qonnx(model, None, tmp_path / "alexnet.onnx", batch_size=len(x))
    seconds = time.perf_counter() - t0
    print(f"\nhwgq_alexnet: export {seconds:.1f} s, {p.stat().st_size / 2**20:.0f} MiB")
    m = onnx.load(p)
    assert [n.op_type for n in m.graph.node] == ALEXNET_OPS
    _compare(model, p, x)
