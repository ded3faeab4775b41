"""Brevitas' QONNX export (with halfwave's HWGQ handler) reproduces the float64 PyTorch
model: equal integer codes at every quantiser boundary, qonnx execute_onnx being the
independent path."""

import numpy as np
import onnx
import pytest
import torch
from conftest import (
    activation_thresholds,
    boundary_scales,
    qonnx_boundaries,
    randomise_bn,
    to_codes,
)

from halfwave.training import ExportError, build_model, export_qonnx
from halfwave.training.models import BN_EPS

TFC_W1A2_OPS = (
    ["Quant"]
    + ["BipolarQuant", "Gemm", "BatchNormalization", "Neg", "MultiThreshold", "Sub", "Mul"] * 3
    + ["BipolarQuant", "Gemm", "Mul", "Add"]
)


def _inputs(digits_x, seed):
    rng = np.random.default_rng(seed)
    ints = rng.integers(0, 17, size=(64, 64)).astype(np.float32)
    floats = rng.uniform(-2, 20, size=(64, 64)).astype(np.float32)
    halves = (rng.integers(-2, 40, size=(32, 64)) + 0.5).astype(np.float32)  # ties
    big = rng.choice([-1e3, 0.0, 254.5, 255.5, 300.0], size=(8, 64)).astype(np.float32)
    return np.concatenate([digits_x, ints, floats, halves, big])


def _compare(model, path, x):
    ref = model.double().eval()
    out, codes = ref.forward_with_codes(torch.from_numpy(x).double())
    q_out, q_bounds = qonnx_boundaries(path, x)
    q_codes = to_codes(q_bounds, boundary_scales(ref))
    assert len(q_codes) == len(codes)
    for i, (a, b) in enumerate(zip(codes, q_codes, strict=True)):
        bad = np.argwhere(a != b)
        assert bad.size == 0, f"boundary {i}: {len(bad)} codes differ, first at {bad[0]}"
    assert np.array_equal(out.numpy().argmax(1), q_out.argmax(1))
    np.testing.assert_allclose(q_out, out.numpy(), rtol=1e-5, atol=1e-4)
    return codes


def test_op_sequence_tfc_w1a2(tmp_path):
    p = export_qonnx("tfc_w1a2", None, tmp_path / "m.onnx")
    m = onnx.load(p)
    assert [n.op_type for n in m.graph.node] == TFC_W1A2_OPS
    assert m.graph.input[0].name == "global_in" and m.graph.output[0].name == "global_out"
    mt = [n for n in m.graph.node if n.op_type == "MultiThreshold"][0]
    assert mt.domain == "qonnx.custom_op.general"
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    assert all(v.dtype == np.float32 for v in inits.values())
    thr = inits[mt.input[1]]
    assert thr.shape == (1, 3) and list(thr[0]) == sorted(thr[0]) and thr[0, -1] == 0.0
    bn = [n for n in m.graph.node if n.op_type == "BatchNormalization"][0]
    assert {a.name: a.f for a in bn.attribute}["epsilon"] == BN_EPS


def test_export_is_deterministic(tmp_path):
    torch.manual_seed(3)
    model = build_model("tfc_w1a1")
    a = export_qonnx(model, None, tmp_path / "a.onnx").read_bytes()
    b = export_qonnx(model, None, tmp_path / "b.onnx").read_bytes()
    assert a == b


@pytest.mark.parametrize(
    "name,seed",
    [
        ("tfc_w1a2", 0),
        ("tfc_w1a1", 1),
        ("tfc_w1a3", 2),
        ("tfc_w2a2", 3),
        ("tfc_w4a2_relu", 4),
        ("tfc_w1a4", 5),
    ],
)
def test_random_model_codes_match(tmp_path, digits_x, name, seed):
    x = _inputs(digits_x, seed)
    torch.manual_seed(seed)
    model = randomise_bn(build_model(name), digits_x, seed)
    p = export_qonnx(model, None, tmp_path / "m.onnx", batch_size=len(x))
    codes = _compare(model, p, x)
    levels = 2**model.spec.abits if model.spec.abits > 1 else 2
    for c in codes[1:]:  # every level occurs at every hidden layer
        assert len(np.unique(c)) == levels


def _tie_model(name, x, seed):
    """A model whose BN outputs hit activation thresholds exactly: weights +-1 (alpha 1),
    BN with var + eps = 2^-16 and gamma = 2^-8 (so y = z - mean + beta exactly), beta
    chosen so that chosen samples land exactly on a threshold."""
    g = torch.Generator().manual_seed(seed)
    model = build_model(name).eval().double()
    with torch.no_grad():
        h = model.inp(torch.from_numpy(x).double())
        for lin, bn, act in zip(model.linears, model.bns, model.acts, strict=True):
            signs = torch.rand(lin.weight.shape, generator=g) < 0.5
            lin.weight.copy_(torch.where(signs, -1.0, 1.0))
            z = lin(h)
            c = z.shape[1]
            bn.running_mean.zero_()
            bn.running_var.fill_(2.0**-16 - float(np.float32(bn.eps)))
            bn.weight.fill_(2.0**-8)
            th = torch.from_numpy(activation_thresholds(act))
            k = torch.randint(0, len(th), (c,), generator=g)
            s = torch.randint(0, len(x), (c,), generator=g)
            bn.bias.copy_(th[k] - z[s, torch.arange(c)])
            y = bn(z)
            assert (y[s, torch.arange(c)] == th[k]).all()
            h = act(y)
        model.out_linear.weight.fill_(1.0)
    for t in model.state_dict().values():
        if t.is_floating_point():
            assert torch.equal(t.float().double(), t)
    return model.float()


@pytest.mark.parametrize("name", ["tfc_w1a2", "tfc_w1a1", "tfc_w1a3"])
def test_exact_ties_match(tmp_path, name):
    rng = np.random.default_rng(7)
    x = (rng.random((200, 64)) < 0.1).astype(np.float32) * rng.integers(0, 3, (200, 64))
    x = x.astype(np.float32)
    model = _tie_model(name, x, 11)
    ref = model.double()
    # the tie model really puts pre-activations on thresholds
    h = ref.inp(torch.from_numpy(x).double())
    hits = 0
    for lin, bn, act in zip(ref.linears, ref.bns, ref.acts, strict=True):
        y = bn(lin(h))
        th = torch.from_numpy(activation_thresholds(act))
        hits += int((y.unsqueeze(-1) == th).sum())
        h = act(y)
    assert hits >= 3 * 64
    p = export_qonnx(model, None, tmp_path / "t.onnx", batch_size=len(x))
    _compare(model.float(), p, x)


def test_nonuniform_hwgq_refused(tmp_path):
    with pytest.raises(ExportError, match="non-uniform HWGQ"):
        export_qonnx("tfc_w1a2_hwgqnu", None, tmp_path / "m.onnx")


def test_float_model_refused(tmp_path):
    with pytest.raises(ExportError, match="float"):
        export_qonnx("tfc_float", None, tmp_path / "m.onnx")


def test_stochastic_qnn_mlp_exports_deterministic_sign(tmp_path, digits_x):
    """qnn_mlp_stochastic (hidden layers shrunk): stochastic in training mode, but eval and
    export are the deterministic sign, so the export reproduces the float64 model."""
    from halfwave.training.models import QuantMLP, parse_name, with_hidden

    torch.manual_seed(0)
    model = QuantMLP(with_hidden(parse_name("qnn_mlp_stochastic"), (32, 32, 32)))
    x = torch.from_numpy(digits_x[:64])
    model.train()
    assert not torch.equal(model(x), model(x))  # stochastic draws (and dropout)
    model = randomise_bn(model, digits_x, 2)
    a = export_qonnx(model, None, tmp_path / "a.onnx", batch_size=len(digits_x))
    b = export_qonnx(model, None, tmp_path / "b.onnx", batch_size=len(digits_x))
    assert a.read_bytes() == b.read_bytes()
    ops = [n.op_type for n in onnx.load(a).graph.node]
    assert "Dropout" not in ops and ops.count("BipolarQuant") == 7  # 4 weights, 3 acts
    codes = _compare(model, a, digits_x)
    assert all(set(np.unique(c)) == {-1, 1} for c in codes[1:])
