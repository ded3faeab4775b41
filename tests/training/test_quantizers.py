"""HWGQ, sign and weight quantisers against direct formulas."""

import math

import numpy as np
import pytest
import torch

from halfwave.training.quantizers import (
    HWGQ,
    InputQuant,
    QuantLinear,
    SignAct,
    UniformReLU,
    _BinaryFn,
    hwgq_table,
    lloyd_nonuniform_levels,
    lloyd_uniform_step,
    round_significant,
)


def test_lloyd_uniform_steps():
    assert lloyd_uniform_step(1) == pytest.approx(math.sqrt(2 / math.pi), abs=1e-12)
    assert round(lloyd_uniform_step(1), 3) == 0.798
    assert math.floor(lloyd_uniform_step(2) * 1000) / 1000 == 0.538
    assert lloyd_uniform_step(2) == pytest.approx(0.538, abs=1e-3)


def test_two_bit_table_matches_released_constants():
    t = hwgq_table(2)
    assert round(t.step, 3) == 0.538
    assert [round(v, 3) for v in t.levels] == [0.538, 1.076, 1.614]
    assert [round(v, 3) for v in t.thresholds] == [0.0, 0.807, 1.345]
    assert round(hwgq_table(1).levels[0], 2) == 0.80


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
@pytest.mark.parametrize("uniform", [True, False])
def test_tables_float32_exact_and_consistent(bits, uniform):
    t = hwgq_table(bits, uniform)
    n = 2**bits - 1
    assert len(t.levels) == n and len(t.thresholds) == n
    for v in (*t.levels, *t.thresholds):
        assert float(np.float32(v)) == v
    assert t.thresholds[0] == 0.0
    assert list(t.thresholds) == sorted(t.thresholds)
    if uniform:
        assert t.levels == tuple(k * t.step for k in range(1, n + 1))
        assert t.thresholds[1:] == tuple((k + 0.5) * t.step for k in range(1, n))
        for k in range(256):  # code * step exact in float32
            assert float(np.float32(k * t.step)) == k * t.step


def test_nonuniform_levels_are_conditional_means():
    q = lloyd_nonuniform_levels(2)
    assert q[0] < q[1] < q[2]
    assert lloyd_nonuniform_levels(1)[0] == pytest.approx(math.sqrt(2 / math.pi))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bits", [1, 2, 3])
def test_hwgq_forward_ties(dtype, bits):
    q = HWGQ(bits).to(dtype)
    t = hwgq_table(bits)
    xs, want = [-1.0, -0.0, 0.0, 1e-30], [0, 0, 0, 1]
    for k, th in enumerate(t.thresholds):
        xs += [th, float(np.nextafter(np.float32(th), np.float32(9)))]
        want += [k, k + 1]  # exactly at t_k: below it; just above: next code
    x = torch.tensor(xs, dtype=dtype)
    codes = q.codes(x)
    assert codes.tolist() == want
    assert torch.equal(q(x), torch.tensor(want, dtype=dtype) * t.step)


def test_hwgq_two_bit_values():
    q = HWGQ(2).double()
    x = torch.tensor([-3.0, 0.0, 0.3, 0.80, 0.81, 1.34, 1.35, 5.0], dtype=torch.float64)
    assert q.codes(x).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize(
    "mode,want",
    [
        ("clipped", [0, 0, 1, 1, 0, 0]),
        ("relu", [0, 0, 1, 1, 1, 1]),
        ("log_tailed", [0, 0, 1, 1, None, None]),
    ],
)
def test_hwgq_backward(mode, want):
    q = HWGQ(2, backward=mode).double()
    qmax = q.q_max
    x = torch.tensor(
        [-1.0, 0.0, 0.5, qmax, qmax + 0.5, qmax + 3.0], dtype=torch.float64, requires_grad=True
    )
    q(x).sum().backward()
    g = x.grad.tolist()
    tau = qmax - 1.0
    for i, w in enumerate(want):
        exp = 1.0 / (x[i].item() - tau) if w is None else w
        assert g[i] == pytest.approx(exp), (mode, i)


def test_sign_forward_and_hardtanh_ste():
    x = torch.tensor([-2.0, -1.0, -1e-9, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    y = SignAct()(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    y.sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 1, 0]


def test_input_quant_round_half_even():
    x = torch.tensor([-1.0, 0.5, 1.5, 2.5, 16.0, 300.0], dtype=torch.float64)
    _, codes, scale = InputQuant().quantize(x)
    assert codes.tolist() == [0, 0, 2, 2, 16, 255] and scale == 1.0


def test_binary_weights_per_channel():
    lin = QuantLinear(3, 2, bits=1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5, -0.25, 0.0], [-2.0, 1.0, 0.0]]))
    codes, alpha = lin.weight_codes_and_scale()
    assert codes.tolist() == [[1, -1, 1], [-1, 1, 1]]
    assert alpha.flatten().tolist() == [float(np.float32(0.75 / 3)), 1.0]
    w = lin.weight.detach().clone().requires_grad_(True)
    _BinaryFn.apply(w).sum().backward()
    assert w.grad.tolist() == [[1, 1, 1], [0, 1, 1]]  # |W| > 1: clipped STE
    per_tensor = QuantLinear(3, 2, bits=1, per_channel=False)
    with torch.no_grad():
        per_tensor.weight.copy_(torch.tensor([[1.0, -1.0, 1.0], [-1.0, 0.5, 0.5]]))
    _, a = per_tensor.weight_codes_and_scale()
    assert a.flatten().tolist() == [float(np.float32(5 / 6))] * 2


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_kbit_weights(bits):
    n = 2 ** (bits - 1) - 1
    lin = QuantLinear(16, 4, bits=bits).double()
    codes, scale = lin.weight_codes_and_scale()
    assert codes.abs().max() <= n
    assert torch.equal(codes, torch.round(codes))
    for s in scale.flatten().tolist():
        assert float(np.float32(s)) == s
    w = lin.weight.detach()
    assert torch.equal(codes, torch.clamp(torch.round(w / scale), -n, n))


def test_uniform_relu_codes():
    act = UniformReLU(2).double()
    s = float(act.scale().detach())
    x = torch.tensor([-1.0, 0.5 * s, 1.5 * s, 2.5 * s, 10.0], dtype=torch.float64)
    _, codes, _ = act.quantize(x)
    assert codes.tolist() == [0, 0, 2, 2, 3]


def test_round_significant():
    assert round_significant(0.538) == pytest.approx(0.538, abs=1e-5)
    m, _ = math.frexp(round_significant(0.538))
    assert (m * 2**16).is_integer()
