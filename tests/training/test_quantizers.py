"""halfwave's Brevitas quantisers (HWGQ, sign, stochastic sign, binary and k-bit weights,
input) against the papers' formulas, and HWGQ's QONNX export handler."""

import math

import numpy as np
import pytest
import torch

from halfwave.training.brevitas_layers import QuantLinear, input_quant, make_act, quantize
from halfwave.training.brevitas_quant import HWGQReLU, SignAct, hard_sigmoid
from halfwave.training.quantizers import (
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
    q = HWGQReLU(bits).to(dtype)
    t = hwgq_table(bits)
    xs, want = [-1.0, -0.0, 0.0, 1e-30], [0, 0, 0, 1]
    for k, th in enumerate(t.thresholds):
        xs += [th, float(np.nextafter(np.float32(th), np.float32(9)))]
        want += [k, k + 1]  # exactly at t_k: below it; just above: next code
    x = torch.tensor(xs, dtype=dtype)
    assert q.hwgq.codes(x).tolist() == want
    assert torch.equal(q(x), torch.tensor(want, dtype=dtype) * t.step)


def test_hwgq_two_bit_levels_and_thresholds():
    """Cai et al.'s 2-bit uniform HWGQ: levels 0.538, 1.076, 1.614; thresholds 0, 0.807,
    1.345 (the midpoints), and the Brevitas layer's scale is the step."""
    q = HWGQReLU(bit_width=2).double()
    x = torch.tensor([-3.0, 0.0, 0.3, 0.80, 0.81, 1.34, 1.35, 5.0], dtype=torch.float64)
    assert q.hwgq.codes(x).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    levels = sorted(set(q(x).tolist()))
    assert [round(v, 3) for v in levels] == [0.0, 0.538, 1.076, 1.614]
    assert [round(v, 3) for v in q.hwgq.table.thresholds] == [0.0, 0.807, 1.345]
    assert float(q.act_quant.scale()) == hwgq_table(2).step
    _, codes, scale = quantize(q, x)
    assert codes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3] and scale == hwgq_table(2).step


@pytest.mark.parametrize(
    "mode,want",
    [
        ("clipped", [0, 0, 1, 1, 0, 0]),
        ("vanilla", [0, 0, 1, 1, 1, 1]),
        ("log_tailed", [0, 0, 1, 1, None, None]),
    ],
)
def test_hwgq_backward(mode, want):
    """Clipped ReLU: 1 on (0, q_max]; vanilla ReLU: 1 on x > 0; log-tailed: 1 / (x - tau)
    beyond q_max, tau = q_max - 1 (Cai et al., eqs. 12-14 as in the released code)."""
    q = HWGQReLU(2, backward=mode).double()
    qmax = q.hwgq.q_max
    x = torch.tensor(
        [-1.0, 0.0, 0.5, qmax, qmax + 0.5, qmax + 3.0], dtype=torch.float64, requires_grad=True
    )
    q(x).sum().backward()
    g = x.grad.tolist()
    tau = qmax - 1.0
    for i, w in enumerate(want):
        exp = 1.0 / (x[i].item() - tau) if w is None else w
        assert g[i] == pytest.approx(exp), (mode, i)


def test_hwgq_bad_backward():
    with pytest.raises(ValueError, match="HWGQ backward"):
        HWGQReLU(2, backward="tanh")


def test_sign_forward_and_hardtanh_ste():
    x = torch.tensor([-2.0, -1.0, -1e-9, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    y = SignAct()(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    y.sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 1, 0]


def test_stochastic_sign_mean_is_hard_sigmoid():
    """Training mode: P(+1) = clip((x + 1) / 2, 0, 1), so E[y] = 2p - 1 (Hubara et al.)."""
    act = SignAct(stochastic=True, seed=3).double().train()
    xs = torch.tensor([-1.5, -0.6, -0.2, 0.0, 0.3, 0.8, 2.0], dtype=torch.float64)
    n = 20000
    y = act(xs.repeat(n, 1))
    assert set(y.unique().tolist()) <= {-1.0, 1.0}
    mean = y.mean(0)
    want = 2 * hard_sigmoid(xs) - 1
    assert torch.allclose(mean, want, atol=4 / math.sqrt(n))  # 4 sigma at worst (p = 1/2)
    assert mean[0] == -1 and mean[-1] == 1  # saturated: deterministic


def test_stochastic_sign_seeded_and_deterministic_in_eval():
    x = torch.linspace(-1, 1, 101)
    a, b = SignAct(stochastic=True, seed=5).train(), SignAct(stochastic=True, seed=5).train()
    assert torch.equal(a(x), b(x))  # same seed, same draws
    a.eval()
    assert torch.equal(a(x), torch.where(x >= 0, 1.0, -1.0))
    assert torch.equal(a(x), a(x))
    g = x.clone().requires_grad_(True)
    b(g * 3).sum().backward()  # straight-through gradient as the deterministic sign
    assert torch.equal(g.grad, torch.where((g * 3).abs() <= 1, 3.0, 0.0))


def test_input_quant_round_half_even():
    x = torch.tensor([-1.0, 0.5, 1.5, 2.5, 16.0, 300.0], dtype=torch.float64)
    _, codes, scale = quantize(input_quant(True).double(), x)
    assert codes.tolist() == [0, 0, 2, 2, 16, 255] and scale == 1.0


def test_binary_weights_sign_scale_one_and_clipped():
    lin = QuantLinear(3, 2, bits=1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5, -0.25, 0.0], [-2.0, 1.0, 0.0]]))
    qw = lin.quant_weight()
    assert qw.value.tolist() == [[1, -1, 1], [-1, 1, 1]] and float(qw.scale) == 1.0
    assert lin.weight.min() >= -1  # Brevitas clips the latent weights in place


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_kbit_weights_power_of_two_scale(bits):
    n = 2 ** (bits - 1) - 1
    lin = QuantLinear(16, 4, bits=bits).double()
    qw = lin.quant_weight()
    scale = qw.scale.reshape(-1)
    assert scale.shape == (4,)
    for s in scale.tolist():
        assert math.log2(s).is_integer()
    codes = qw.value / qw.scale
    assert torch.equal(codes, torch.round(codes)) and codes.abs().max() <= n
    w = lin.weight.detach()
    assert torch.equal(codes, torch.clamp(torch.round(w / qw.scale), -n, n))


def test_uniform_relu_codes():
    act = make_act("relu", 2).double()
    s = float(act.act_quant.scale().detach())
    x = torch.tensor([-1.0, 0.5 * s, 1.5 * s, 2.5 * s, 10.0], dtype=torch.float64)
    _, codes, _ = quantize(act, x)
    assert codes.tolist() == [0, 0, 2, 2, 3]


def test_round_significant():
    assert round_significant(0.538) == pytest.approx(0.538, abs=1e-5)
    m, _ = math.frexp(round_significant(0.538))
    assert (m * 2**16).is_integer()
