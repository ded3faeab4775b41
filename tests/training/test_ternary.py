"""Ternary weights (TTQ, TWN): gradient rules, thresholds, scale snapping, naming, model
size, and QONNX export reproducing the float64 PyTorch model at every boundary."""

import math
from fractions import Fraction

import numpy as np
import onnx
import pytest
import torch
from conftest import (
    conv_boundary_scales,
    qonnx_float64_boundaries,
    randomise_bn,
    randomise_conv_bn,
    to_codes,
)

from halfwave.training import (
    build_model,
    calibrated_model,
    export_qonnx,
    load_checkpoint,
    model_size,
    parse_name,
    snap_scales,
    ternary_report,
    train,
)
from halfwave.training.brevitas_layers import QuantConv2d, QuantLinear, act_scale
from halfwave.training.brevitas_quant import HWGQReLU as HWGQ
from halfwave.training.conv_models import QuantCNN
from halfwave.training.data import digits_images, random_images
from halfwave.training.quantizers import round_significant
from halfwave.training.ternary import TernaryConv2d, TernaryLinear


def _f32_exact(v: float) -> bool:
    return float(np.float32(v)) == v


# ------------------------------------------------------------------------- TTQ


def _ttq_layer(w, t=0.25, wp=0.75, wn=0.375):
    lin = TernaryLinear(w.shape[1], w.shape[0], "ttq", threshold=t).double()
    with torch.no_grad():
        lin.weight.copy_(w)
        lin.wp.fill_(wp)
        lin.wn.fill_(wn)
    return lin


def test_ttq_threshold_and_values():
    """delta = t * max|W| (here 0.25 * 2 = 0.5): |W| <= delta -> 0, W > delta -> +Wp,
    W < -delta -> -Wn; Wp, Wn are on the 8-bit grid (0.75 = 192 * 2^-8, 0.375 = 96 *
    2^-8 exactly)."""
    w = torch.tensor(
        [[2.0, 0.5, -0.5, np.nextafter(0.5, 1.0)], [-np.nextafter(0.5, 1.0), 0.0, -2.0, 0.1]],
        dtype=torch.float64,
    )
    lin = _ttq_layer(w)
    st = lin.ternary_state()
    assert st.delta == 0.5
    assert st.codes.tolist() == [[1, 0, 0, 1], [-1, 0, -1, 0]]
    assert (st.scales.kp, st.scales.kn, st.scales.frac_bits) == (192, 96, 8)
    assert lin.quant_weight().value.tolist() == [[0.75, 0, 0, 0.75], [-0.375, 0, -0.375, 0]]
    codes, scale = lin.weight_codes_and_scale()
    assert torch.equal(codes * scale, lin.quant_weight().value.detach())
    assert scale.tolist() == [[0.75, 0.75, 0.75, 0.75], [0.375, 0.75, 0.375, 0.75]]


def test_ttq_gradient_rules():
    """dL/dWp = sum of the upstream gradient over the positive region, dL/dWn = minus its
    sum over the negative region (W = -Wn there), latent weights get Wp*g, g, Wn*g."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(6, 20, generator=g, dtype=torch.float64)
    lin = _ttq_layer(w, t=0.3, wp=0.8125, wn=0.3046875)  # 208 and 78 * 2^-8
    up = torch.randn(6, 20, generator=g, dtype=torch.float64)
    lin.quant_weight().value.backward(up)
    delta = 0.3 * w.abs().max()
    pos, neg = w > delta, w < -delta
    assert pos.any() and neg.any() and (~pos & ~neg).any()
    assert lin.wp.grad.item() == pytest.approx(up[pos].sum().item(), rel=1e-12)
    assert lin.wn.grad.item() == pytest.approx(-up[neg].sum().item(), rel=1e-12)
    want = torch.where(pos, 0.8125 * up, torch.where(neg, 0.3046875 * up, up))
    assert torch.equal(lin.weight.grad, want)


def test_ttq_gradients_through_a_layer_match_autograd_of_the_formula():
    """The same rules seen through a Linear: compare with autograd on W = Wp*P - Wn*N
    (P, N constant masks), which differentiates Wp and Wn exactly."""
    g = torch.Generator().manual_seed(1)
    lin = TernaryLinear(12, 5, "ttq").double()
    x = torch.randn(7, 12, generator=g, dtype=torch.float64)
    target = torch.randn(7, 5, generator=g, dtype=torch.float64)
    ((lin(x) - target) ** 2).sum().backward()
    st = lin.ternary_state()
    wp = torch.tensor(st.scales.wp, dtype=torch.float64, requires_grad=True)
    wn = torch.tensor(st.scales.wn, dtype=torch.float64, requires_grad=True)
    pos, neg = (st.codes > 0).double(), (st.codes < 0).double()
    wq = (wp * pos - wn * neg).requires_grad_(True)
    wq.retain_grad()
    ((x @ wq.t() - target) ** 2).sum().backward()
    assert lin.wp.grad.item() == pytest.approx(wp.grad.item(), rel=1e-12)
    assert lin.wn.grad.item() == pytest.approx(wn.grad.item(), rel=1e-12)
    scale = pos * st.scales.wp + neg * st.scales.wn + (1 - pos - neg)
    torch.testing.assert_close(lin.weight.grad, wq.grad * scale, rtol=1e-12, atol=1e-15)


def test_ttq_init_threshold_and_positivity():
    torch.manual_seed(0)
    lin = TernaryLinear(64, 32, "ttq")
    w = lin.weight.detach().double()
    delta = 0.05 * w.abs().max()
    assert lin.wp.item() == pytest.approx(w[w > delta].mean().item(), rel=1e-6)
    assert lin.wn.item() == pytest.approx((-w[w < -delta]).mean().item(), rel=1e-6)
    lin.set_threshold(0.5)
    assert lin.ternary_state().delta == 0.5 * float(w.abs().max())
    with torch.no_grad():
        lin.wn.fill_(-3.0)
    lin.constrain()
    assert lin.wn.item() > 0 and lin.ternary_state().scales.kn >= 1
    with pytest.raises(ValueError, match="threshold"):
        TernaryLinear(4, 4, "ttq", threshold=1.5)


# ------------------------------------------------------------------------- TWN


def test_twn_threshold_alpha_and_ste():
    g = torch.Generator().manual_seed(2)
    conv = TernaryConv2d(3, 4, 3, method="twn").double()
    w = conv.weight.detach()
    st = conv.ternary_state()
    delta = 0.7 * w.abs().mean().item()
    assert st.delta == pytest.approx(delta, rel=1e-15)
    want_codes = (w > st.delta).long() - (w < -st.delta).long()
    assert torch.equal(st.codes, want_codes)
    alpha = w.abs()[want_codes != 0].mean().item()
    assert st.wp == pytest.approx(alpha, rel=1e-15)
    assert st.scales.wp == round_significant(alpha) and _f32_exact(st.scales.wp)
    assert st.scales.wp_error == pytest.approx(abs(st.scales.wp - alpha) / alpha)
    assert torch.equal(conv.quant_weight().value, want_codes.double() * st.scales.wp)
    up = torch.randn(w.shape, generator=g, dtype=torch.float64)
    conv.quant_weight().value.backward(up)
    assert torch.equal(conv.weight.grad, up)  # straight through


# ------------------------------------------------------------------------- snapping


@pytest.mark.parametrize("seed", range(4))
def test_snap_scales_exact_small_ratio_bounded_error(seed):
    rng = np.random.default_rng(seed)
    pairs = [(0.75, 0.375), (1.0, 1.0), (255.5 / 256, 0.5), (3e-3, 2.9e-3), (1e-4, 7.0)]
    pairs += [tuple(10.0 ** rng.uniform(-5, 1, size=2)) for _ in range(200)]
    for wp, wn in pairs:
        s = snap_scales(wp, wn)
        assert _f32_exact(s.wp) and _f32_exact(s.wn), (wp, wn)
        assert s.wp == math.ldexp(s.kp, -s.frac_bits) and s.wn == math.ldexp(s.kn, -s.frac_bits)
        assert 1 <= s.kp < 256 and 1 <= s.kn < 256 and max(s.kp, s.kn) >= 128
        assert Fraction(s.wp) / Fraction(s.wn) == Fraction(s.p, s.n)
        assert math.gcd(s.p, s.n) == 1 and max(s.p, s.n) < 256
        big, small = (s.wp_error, s.wn_error) if wp >= wn else (s.wn_error, s.wp_error)
        assert big <= 2**-8
        k_small = min(s.kp, s.kn)
        assert small <= 1 / (2 * k_small - 1) or k_small == 1  # below half a step: 1
        assert s.wp_error == abs(s.wp - wp) / wp and s.wn_error == abs(s.wn - wn) / wn


def test_snap_scales_rounding_up_drops_a_bit():
    s = snap_scales(255.75 / 256, 0.25)  # 255.75 rounds to 256 on the 8-bit grid
    assert (s.kp, s.kn, s.frac_bits) == (128, 32, 7) and s.wp == 1.0
    with pytest.raises(ValueError, match="positive"):
        snap_scales(0.0, 1.0)


def test_ternary_report_fields():
    torch.manual_seed(0)
    m = build_model("tfc_ttq_a2")
    rows = ternary_report(m)
    assert [r["layer"] for r in rows] == ["linears.0", "linears.1", "linears.2", "out_linear"]
    for r, lin in zip(rows, [*m.linears, m.out_linear], strict=True):
        st = lin.ternary_state()
        assert r["sparsity"] == float((st.codes == 0).double().mean())
        assert r["sparsity"] + r["positive"] + r["negative"] == pytest.approx(1.0)
        assert r["wp_snapped"] == st.scales.wp and r["ratio"] == f"{st.scales.p}/{st.scales.n}"
        assert r["wp_error"] <= 2**-7 and r["wn_error"] <= 2**-7
    twn = ternary_report(build_model("tfc_twn_a2"))
    assert all(r["method"] == "twn" and r["alpha_error"] < 2**-16 for r in twn)


# ------------------------------------------------------------------------- models


@pytest.mark.parametrize(
    "name,method", [("tfc_ttq_a2", "ttq"), ("tfc_twn_a2", "twn"), ("sfc_ttq_a3_relu", "ttq")]
)
def test_fc_names(name, method):
    spec = parse_name(name)
    assert (spec.wbits, spec.ternary) == (2, method)
    m = build_model(name)
    assert all(isinstance(x, TernaryLinear) for x in [*m.linears, m.out_linear])
    assert all(x.method == method for x in [*m.linears, m.out_linear])


@pytest.mark.parametrize("name,method", [("cnv_ttq_a2", "ttq"), ("cnv_twn_a2", "twn")])
def test_cnv_names(name, method):
    m = build_model(name)
    assert isinstance(m, QuantCNN) and all(isinstance(a, HWGQ) for a in m.activations())
    assert all(isinstance(c, TernaryConv2d) and c.method == method for c in m.convs)
    assert all(isinstance(x, TernaryLinear) for x in [*m.linears, m.out_linear])


def test_alexnet_ttq_names():
    spec = parse_name("hwgq_alexnet_ttq")
    assert (spec.topology, spec.ternary, spec.abits) == ("hwgq_alexnet", "ttq", 2)
    assert parse_name("hwgq_alexnet_tiny_twn").topology == "hwgq_alexnet_tiny"
    m = build_model("hwgq_alexnet_tiny_ttq")
    first, *rest = m.convs
    assert type(first) is QuantConv2d and first.bits == 8  # conv1 stays 8-bit
    assert type(m.out_linear) is QuantLinear and m.out_linear.bits == 8  # fc8 too
    assert all(isinstance(c, TernaryConv2d) for c in rest)
    assert all(isinstance(x, TernaryLinear) for x in m.linears)


@pytest.mark.parametrize(
    "bad", ["tfc_ttq_a1", "tfc_ttq", "tfc_ttqa2", "tfc_w1a2_ttq", "hwgq_alexnet_ttq_tiny"]
)
def test_bad_ternary_names(bad):
    with pytest.raises(ValueError, match="model name"):
        parse_name(bad)


def test_model_size():
    tern = model_size(build_model("tfc_ttq_a2"))
    n = 64 * 64 * 3 + 64 * 10
    assert tern["weights"] == n and tern["weight_bits"] == 2 * n
    assert tern["float_bits"] == 32 * n and tern["compression"] == 16.0
    assert [r["bits_per_weight"] for r in tern["layers"]] == [2] * 4
    assert model_size(build_model("tfc_w1a2"))["compression"] == 32.0
    assert model_size(build_model("tfc_float"))["compression"] == 1.0
    alex = model_size(build_model("hwgq_alexnet_tiny_ttq"))
    kinds = [r["kind"] for r in alex["layers"]]
    assert kinds == ["int8"] + ["ternary (ttq)"] * 6 + ["int8"]
    assert alex["weight_bits"] == sum(r["weights"] * r["bits_per_weight"] for r in alex["layers"])


def test_ttq_scale_learning_rate():
    """TTQ's Wp and Wn get their own Adam group, lr times their initial magnitude."""
    from halfwave.training.train import _param_groups

    torch.manual_seed(0)
    m = build_model("tfc_ttq_a2")
    groups = _param_groups(m, 0.01)
    layers = [*m.linears, m.out_linear]
    assert len(groups) == 1 + len(layers)
    assert sum(len(g["params"]) for g in groups) == len(list(m.parameters()))
    for g, lin in zip(groups[1:], layers, strict=True):
        assert g["params"][0] is lin.wp and g["params"][1] is lin.wn
        assert g["lr"] == pytest.approx(0.01 * (lin.wp.item() + lin.wn.item()) / 2)
    assert len(_param_groups(build_model("tfc_twn_a2"), 0.01)) == 1


@pytest.mark.slow
def test_full_alexnet_ttq_size():
    m = build_model("hwgq_alexnet_ttq")
    s = model_size(m)
    kinds = [r["kind"] for r in s["layers"]]
    assert kinds == ["int8"] + ["ternary (ttq)"] * 6 + ["int8"]
    assert s["weights"] == 62_367_776 and s["weight_bits"] == 149_520_640
    print(f"\nhwgq_alexnet_ttq: {s['weight_kib'] / 1024:.1f} MiB, {s['compression']:.1f}x")


def test_threshold_option_and_checkpoint(tmp_path):
    metrics = train("tfc_ttq_a2", tmp_path / "t.pt", epochs=1, progress=False)
    assert metrics["model_size"]["compression"] == 16.0
    assert len(metrics["ternary"]) == 4 and "sparsity" in metrics["ternary"][0]
    torch.manual_seed(0)
    m = build_model("tfc_ttq_a2", ternary_threshold=0.2)
    assert all(x.threshold == 0.2 for x in [*m.linears, m.out_linear])
    torch.save({"model": "tfc_ttq_a2", "state_dict": m.state_dict()}, tmp_path / "c.pt")
    back = load_checkpoint(tmp_path / "c.pt")
    assert back.linears[0].threshold == 0.2
    assert torch.equal(back.linears[0].quant_weight().value, m.linears[0].quant_weight().value)
    with pytest.raises(ValueError, match="ternary"):
        build_model("tfc_w1a2", ternary_threshold=0.1)


# ------------------------------------------------------------------------- export


def _skew_scales(model, seed):
    """Give every TTQ layer its own Wp/Wn ratio (0.2 .. 5) so that p != n is exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (TernaryLinear, TernaryConv2d)) and m.method == "ttq":
                m.wp.mul_(float(5.0 ** (2 * torch.rand((), generator=g) - 1)))
                m.wn.mul_(float(5.0 ** (2 * torch.rand((), generator=g) - 1)))
    return model


def _check_ternary_quant_nodes(path, model):
    """Every ternary layer is one Quant(W, S, 0, 2; signed, narrow, ROUND) whose S is
    elementwise (TTQ: Wp on codes 0/+1, Wn on -1) or a scalar (TWN), W = S * code."""
    m = onnx.load(path)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    quants = [
        n for n in m.graph.node if n.op_type == "Quant" and n.input[0] in inits and n.input[3]
    ]
    tern = [n for n in quants if inits[n.input[3]] == 2]
    layers = [x for x in model.modules() if isinstance(x, (TernaryLinear, TernaryConv2d))]
    assert len(tern) == len(layers)
    for node, lin in zip(tern, layers, strict=True):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs == {"signed": 1, "narrow": 1, "rounding_mode": b"ROUND"}
        w, s, z = inits[node.input[0]], inits[node.input[1]], inits[node.input[2]]
        assert w.dtype == s.dtype == np.float32 and z == 0
        st = lin.ternary_state()
        codes = st.codes.numpy()
        if lin.method == "ttq":
            assert s.shape == w.shape
            assert np.array_equal(s, np.where(codes < 0, st.scales.wn, st.scales.wp))
        else:
            assert s.shape == () and s == st.scales.wp
        assert np.array_equal(w / s, codes)


def _compare_f64(model, path, x, scales):
    ref = model.double().eval()
    out, codes = ref.forward_with_codes(torch.from_numpy(x).double())
    q_out, q_bounds = qonnx_float64_boundaries(path, x)
    q_codes = to_codes(q_bounds, scales)
    assert len(q_codes) == len(codes)
    for i, (a, b) in enumerate(zip(codes, q_codes, strict=True)):
        bad = np.argwhere(a != b)
        assert bad.size == 0, f"boundary {i}: {len(bad)} codes differ, first at {bad[0]}"
    np.testing.assert_allclose(q_out, out.numpy(), rtol=1e-12, atol=1e-12)
    return codes


@pytest.mark.parametrize("name,seed", [("tfc_ttq_a2", 0), ("tfc_twn_a2", 1), ("tfc_ttq_a3", 2)])
def test_fc_export_matches_float64(tmp_path, digits_x, name, seed):
    model = _skew_scales(calibrated_model(name, seed), seed)
    rng = np.random.default_rng(seed)
    x = np.concatenate([digits_x, rng.uniform(-2, 20, size=(64, 64)).astype(np.float32)])
    randomise_bn(model, digits_x, seed)
    p = export_qonnx(model, None, tmp_path / "m.onnx", batch_size=len(x))
    _check_ternary_quant_nodes(p, model)
    scales = [1.0] + [act_scale(a) for a in model.acts]
    codes = _compare_f64(model, p, x, scales)
    for c in codes[1:]:  # every level occurs at every hidden layer
        assert len(np.unique(c)) == 2**model.spec.abits


@pytest.mark.parametrize("name,seed", [("cnv_ttq_a2", 0), ("hwgq_alexnet_tiny_ttq", 1)])
def test_conv_export_matches_float64(tmp_path, name, seed):
    model = _skew_scales(calibrated_model(name, seed), seed)
    shape = model.input_shape
    x = random_images(6, shape, seed)
    if shape[1] == 32:
        x = np.concatenate([x, digits_images(32).x_test[:6].astype(np.float32)])
    randomise_conv_bn(model, x, seed)
    p = export_qonnx(model, None, tmp_path / "m.onnx", batch_size=len(x))
    _check_ternary_quant_nodes(p, model)
    codes = _compare_f64(model, p, x, conv_boundary_scales(model))
    for i, c in enumerate(codes[1:]):
        assert len(np.unique(c)) == 4, (i, np.unique(c))


@pytest.mark.slow
def test_cnv_twn_export_matches_float64(tmp_path):
    model = calibrated_model("cnv_twn_a2", 3)
    x = np.concatenate([random_images(6, (3, 32, 32), 3), digits_images(32).x_test[:6]])
    x = x.astype(np.float32)
    randomise_conv_bn(model, x, 3)
    p = export_qonnx(model, None, tmp_path / "m.onnx", batch_size=len(x))
    _check_ternary_quant_nodes(p, model)
    _compare_f64(model, p, x, conv_boundary_scales(model))


def test_compiles_and_verifies(tmp_path):
    """End to end through the compiler: the ternary Quant form is recognised (two scales,
    p/n from the snapped Wp/Wn) and every rung agrees (torch-f64, qonnx-f64, golden)."""
    api = pytest.importorskip("halfwave.flow.api")
    model = _skew_scales(calibrated_model("tfc_ttq_a2", 4), 4)
    p = export_qonnx(model, None, tmp_path / "m.onnx")
    report = api.verify_onnx(p, tmp_path / "build", model, n=8, rtl=False)
    assert report.ok, "\n".join(report.lines)
