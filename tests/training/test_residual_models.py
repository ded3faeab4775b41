"""Residual and inception models (res_models.py) and the user-style residual networks
(tests/residual_nets.py): structure, a training step, QONNX export forms, and float64
QONNX execution equal to the float64 PyTorch model at every quantiser boundary."""

import collections
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from conftest import qonnx_float64_boundaries, to_codes

from halfwave.training import build_model, export_qonnx, parse_name, train
from halfwave.training.brevitas_layers import act_scale
from halfwave.training.brevitas_quant import HWGQReLU
from halfwave.training.calibrate import calibrate_batchnorm
from halfwave.training.data import random_images
from halfwave.training.res_models import BasicBlock, Inception, ResidualCNN
from halfwave.training.ternary import TernaryConv2d

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from residual_nets import (  # noqa: E402
    example_input,
    export_net,
    preprocessed_net,
    random_residual_net,
)

SMALL = ["ttq_resnet20", "hwgq_resnet18_tiny", "hwgq_googlenet_tiny"]


def _ops(proto) -> collections.Counter:
    return collections.Counter(n.op_type for n in proto.graph.node)


def _producers(proto) -> dict[str, str]:
    return {o: n.op_type for n in proto.graph.node for o in n.output}


@pytest.mark.parametrize(
    "name,blocks,downsample,params",
    [
        ("ttq_resnet20", 9, 2, 272_524),
        ("ttq_resnet32", 15, 2, 466_980),
        ("ttq_resnet44", 21, 2, 661_436),
        ("ttq_resnet56", 27, 2, 855_892),
        ("hwgq_resnet18_tiny", 4, 2, 98_532),
        ("hwgq_resnet18", 8, 3, 11_690_512),
    ],
)
def test_resnet_structure(name, blocks, downsample, params):
    spec = parse_name(name)
    m = build_model(name)
    assert isinstance(m, ResidualCNN)
    assert (spec.wbits, spec.abits) == ((2, 2) if spec.ternary else (1, 2))
    body = [b for b in m.body if isinstance(b, BasicBlock)]
    assert len(body) == blocks and sum(b.downsample for b in body) == downsample
    assert sum(p.numel() for p in m.parameters() if p.requires_grad) == params
    stem = m.stem[0].conv
    assert stem.bits == 8 and m.out_linear.bits == 8  # first and last layer 8-bit
    others = [c for b in body for c in (b.conv1, b.conv2, getattr(b, "conv_sc", None)) if c]
    if spec.ternary:
        assert all(isinstance(c, TernaryConv2d) for c in others)
    else:
        assert all(c.bits == 1 for c in others)
    assert all(isinstance(a, HWGQReLU) for a in m.activations())
    quant_sc = downsample if name.startswith("ttq") else 0  # TTQ: quantised 1x1 shortcuts
    assert len(m.activations()) == 1 + 2 * blocks + quant_sc


def test_googlenet_structure():
    tiny, full = build_model("hwgq_googlenet_tiny"), build_model("hwgq_googlenet")
    assert [b.bp.conv.out_channels for b in tiny.body if isinstance(b, Inception)] == [8, 8, 8]
    assert tiny.features == 64 and full.features == 1024
    n = sum(p.numel() for p in full.parameters())
    # torchvision's GoogLeNet without aux heads: 6.62M, with 3x3 convs where the paper
    # (and this model) has 5x5; plus out_scale/out_bias instead of the FC bias
    assert n == 7_006_832
    assert len(full.activations()) == 3 + 9 * 6


@pytest.mark.parametrize("name", SMALL)
def test_forward_and_training_step(name):
    torch.manual_seed(0)
    m = build_model(name).train()
    x = torch.from_numpy(random_images(8, m.input_shape, 1))
    y = torch.arange(8) % m.n_classes
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses


def test_train_loop(tmp_path):
    """The halfwave training loop (digits at 32x32, two steps) and export of its result."""
    metrics = train(
        "hwgq_resnet18_tiny", tmp_path / "m.pt", epochs=1, max_steps=2, batch_size=16,
        progress=False, threads=1,
    )  # fmt: skip
    assert metrics["name"] == "hwgq_resnet18_tiny" and 0 <= metrics["test_accuracy"] <= 1
    p = export_qonnx("hwgq_resnet18_tiny", tmp_path / "m.pt", tmp_path / "m.onnx")
    assert _ops(onnx.load(p))["Add"] == 4 + 1


EXPECTED = {  # op counts of the exported graphs
    "ttq_resnet20": dict(
        Add=9 + 1, Concat=0, GlobalAveragePool=1, MultiThreshold=19 + 2, BipolarQuant=0,
        Quant=1 + 1 + 20 + 1, BatchNormalization=21, Conv=21, MaxPool=0,
    ),
    "hwgq_resnet18_tiny": dict(
        Add=4 + 1, Concat=0, GlobalAveragePool=1, MultiThreshold=9, BipolarQuant=10,
        Quant=3, BatchNormalization=11, Conv=11, MaxPool=1,
    ),
    "hwgq_googlenet_tiny": dict(
        Add=1, Concat=3, GlobalAveragePool=1, MultiThreshold=19, BipolarQuant=18,
        Quant=3, BatchNormalization=19, Conv=19, MaxPool=5,
    ),
}  # fmt: skip


def _randomised(name: str, x: np.ndarray, seed: int) -> ResidualCNN:
    """A model with random BN affine parameters (a quarter of the scales negative) and
    BatchNorm statistics measured on x: every HWGQ level occurs."""
    torch.manual_seed(seed)
    m = build_model(name)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in m.modules():
            if isinstance(bn, torch.nn.BatchNorm2d):
                c = bn.num_features
                sign = torch.where(torch.rand(c, generator=g) < 0.25, -1.0, 1.0)
                bn.weight.copy_(sign * (0.5 + torch.rand(c, generator=g)))
                bn.bias.copy_(torch.rand(c, generator=g) * 1.5 - 0.3)
        m.out_scale.copy_(0.5 + torch.rand(m.n_classes, generator=g))
        m.out_bias.copy_(torch.randn(m.n_classes, generator=g))
    return calibrate_batchnorm(m, x)


@pytest.mark.parametrize("name", SMALL)
def test_export_forms_and_codes(tmp_path, name):
    x = random_images(6, build_model(name).input_shape, 7)
    model = _randomised(name, x, 3)
    p = export_qonnx(model, None, tmp_path / "m.onnx", batch_size=len(x))
    proto = onnx.load(p)
    ops = _ops(proto)
    assert {k: ops.get(k, 0) for k in EXPECTED[name]} == EXPECTED[name], ops
    assert ops["ReduceMean"] == 0
    prod = _producers(proto)
    adds = [n for n in proto.graph.node if n.op_type == "Add"][:-1]  # the last: out_bias
    for a in adds:  # a BN output + (the block input: HWGQ Mul or MaxPool of it, or a BN)
        kinds = sorted(prod[i] for i in a.input)
        assert kinds[0] == "BatchNormalization"
        assert kinds[1] in ("BatchNormalization", "MaxPool", "Mul"), kinds  # Mul: HWGQ codes
        (use,) = [n for n in proto.graph.node if a.output[0] in n.input]
        assert use.op_type == "Neg"  # into HWGQ's Neg -> MultiThreshold -> Sub -> Mul
    for c in (n for n in proto.graph.node if n.op_type == "Concat"):
        assert len(c.input) == 4 and {prod[i] for i in c.input} == {"Mul"}
    # float64 QONNX = float64 torch at every boundary, and the output
    ref = model.double().eval()
    out, codes = ref.forward_with_codes(torch.from_numpy(x).double())
    q_out, q_bounds = qonnx_float64_boundaries(p, x)
    scales = [1.0] + [act_scale(a) for a in ref.activations()]
    q_codes = to_codes(q_bounds, scales)
    assert len(q_codes) == len(codes) == len(scales)
    _match(codes, q_codes)
    np.testing.assert_allclose(q_out, out.numpy(), rtol=1e-12, atol=1e-12)
    assert all(len(np.unique(c)) == 4 for c in codes[1:5])  # every HWGQ level occurs


def _match(torch_bounds, qonnx_bounds):
    """Every torch boundary equals its own QONNX boundary. The exported node order is a
    topological order, not always the forward order: parallel branches (inception) and
    the two calls of a shared quantiser may come in another order."""
    left = list(qonnx_bounds)
    for i, b in enumerate(torch_bounds):
        same = [j for j, q in enumerate(left) if q.shape == b.shape and np.array_equal(q, b)]
        j = same[0] if same else None
        assert j is not None, f"boundary {i} {b.shape}: no equal QONNX boundary"
        left.pop(j)


def _stock_boundaries(model, x):
    """The outputs of every QuantIdentity/QuantReLU call of a float64 stock model."""
    import brevitas.nn as qnn

    outs = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: outs.append(o.detach().numpy()))
        for m in model.modules()
        if isinstance(m, (qnn.QuantIdentity, qnn.QuantReLU))
    ]
    with torch.no_grad():
        y = model(torch.from_numpy(x).double()).numpy()
    for h in hooks:
        h.remove()
    return y, outs


def _check_stock(model, tmp_path, seed):
    x = example_input(model, 8, 100 + seed)
    p = export_net(model, tmp_path / "m.onnx", batch_size=len(x))
    q_out, q_bounds = qonnx_float64_boundaries(p, x)
    out, bounds = _stock_boundaries(model.double().eval(), x)
    assert len(bounds) == len(q_bounds)
    _match(bounds, q_bounds)
    np.testing.assert_allclose(q_out, out, rtol=1e-12, atol=1e-12)
    return onnx.load(p), bounds


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_residual_net(tmp_path, seed):
    proto, bounds = _check_stock(random_residual_net(seed), tmp_path, seed)
    ops = _ops(proto)
    assert ops["Add"] == 3 and ops["GlobalAveragePool"] == 1 and ops["Gemm"] == 1
    prod = _producers(proto)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    form_a, form_b_conv, form_b_id = [n for n in proto.graph.node if n.op_type == "Add"]
    qa = [n for n in proto.graph.node if n.output[0] in form_a.input]
    assert [n.op_type for n in qa] == ["Quant", "Quant"]  # form (a): one shared quantiser
    assert np.array_equal(inits[qa[0].input[1]], inits[qa[1].input[1]])
    assert sorted(prod[i] for i in form_b_conv.input) == ["BatchNormalization"] * 2
    assert sorted(prod[i] for i in form_b_id.input) == ["BatchNormalization", "Quant"]
    for a in (form_a, form_b_conv, form_b_id):  # each sum is re-quantised (QuantReLU)
        (use,) = [n for n in proto.graph.node if a.output[0] in n.input]
        assert use.op_type == "Relu"
    assert all(len(np.unique(b)) > 2 for b in bounds[1:])


def test_preprocessed_net(tmp_path):
    proto, _ = _check_stock(preprocessed_net(0), tmp_path, 0)
    ops = [n.op_type for n in proto.graph.node]
    assert ops[:3] == ["Mul", "Sub", "Quant"]  # 2 * x - 1, then the input quantiser
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    mul, sub = proto.graph.node[:2]
    assert [float(inits[i]) for i in (*mul.input, *sub.input) if i in inits] == [2.0, 1.0]


@pytest.mark.slow
def test_ttq_resnet56_exports(tmp_path):
    proto = onnx.load(export_qonnx("ttq_resnet56", None, tmp_path / "m.onnx"))
    ops = _ops(proto)
    assert ops["Add"] == 27 + 1 and ops["MultiThreshold"] == 55 + 2 and ops["Conv"] == 57


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,expected",
    [
        ("hwgq_resnet18", dict(Add=9, MultiThreshold=17, BipolarQuant=19, Quant=3, MaxPool=1)),
        ("hwgq_googlenet", dict(Concat=9, MultiThreshold=57, BipolarQuant=56, Quant=3, MaxPool=13)),
    ],
)
def test_full_size_exports(tmp_path, name, expected):
    ops = _ops(onnx.load(export_qonnx(name, None, tmp_path / "m.onnx")))
    assert {k: ops[k] for k in expected} == expected and ops["GlobalAveragePool"] == 1
