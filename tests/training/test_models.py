"""Model naming and the boundary codes of forward_with_codes."""

import numpy as np
import pytest
import torch
from brevitas.nn import QuantReLU

from halfwave.training import build_model, parse_name
from halfwave.training.brevitas_quant import HWGQReLU as HWGQ
from halfwave.training.brevitas_quant import SignAct
from halfwave.training.models import QuantMLP, default_loss


@pytest.mark.parametrize(
    "name,hidden,w,a,act",
    [
        ("tfc_w1a2", 64, 1, 2, HWGQ),
        ("sfc_w1a2", 256, 1, 2, HWGQ),
        ("lfc_w1a2", 1024, 1, 2, HWGQ),
        ("tfc_w1a1", 64, 1, 1, SignAct),
        ("sfc_w4a3", 256, 4, 3, HWGQ),
        ("tfc_w2a4_relu", 64, 2, 4, QuantReLU),
    ],
)
def test_names(name, hidden, w, a, act):
    m = build_model(name)
    assert [lin.out_features for lin in m.linears] == [hidden] * 3
    assert m.linears[0].in_features == 64 and m.out_linear.out_features == 10
    assert all(lin.bits == w for lin in m.linears) and m.spec.abits == a
    assert all(isinstance(x, act) for x in m.acts)
    assert not m.out_linear.per_channel


def test_layers_are_brevitas():
    import brevitas.nn as qnn

    m = build_model("tfc_w1a2")
    assert all(isinstance(lin, qnn.QuantLinear) for lin in (*m.linears, m.out_linear))
    assert isinstance(m.inp, qnn.QuantIdentity)


def test_qnn_mlp():
    """Hubara et al.'s MNIST MLP: 3 x 4096 binary units, dropout 0.2 in / 0.5 hidden,
    square hinge loss by default; the stochastic variant differs in training mode only."""
    m = build_model("qnn_mlp")
    assert isinstance(m, QuantMLP)
    assert [lin.out_features for lin in m.linears] == [4096] * 3
    assert all(lin.bits == 1 for lin in (*m.linears, m.out_linear))
    assert all(isinstance(a, SignAct) for a in m.acts)
    assert m.in_drop.p == 0.2 and all(d.p == 0.5 for d in m.drops)
    assert default_loss("qnn_mlp") == "square_hinge" and default_loss("tfc_w1a2") == "cross_entropy"
    torch.manual_seed(0)
    det, sto = build_model("qnn_mlp"), build_model("qnn_mlp_stochastic")
    sto.load_state_dict(det.state_dict())
    x = torch.randint(0, 17, (8, 64)).float()
    det.eval(), sto.eval()
    assert torch.equal(det(x), sto(x))
    assert sto.spec.stochastic and not det.spec.stochastic


def test_float_baseline():
    m = build_model("tfc_float")
    assert isinstance(m.acts[0], torch.nn.ReLU) and m.linears[0].bits == 0
    assert m(torch.zeros(2, 64)).shape == (2, 10)


@pytest.mark.parametrize("bad", ["tfc", "xfc_w1a2", "tfc_w9a2", "tfc_w1a1_relu", "TFC_w1a2"])
def test_bad_names(bad):
    with pytest.raises(ValueError, match="model name"):
        parse_name(bad)


@pytest.mark.parametrize(
    "name,lo,hi", [("tfc_w1a2", 0, 3), ("tfc_w1a1", -1, 1), ("tfc_w2a3_relu", 0, 7)]
)
def test_forward_with_codes(name, lo, hi):
    torch.manual_seed(0)
    m = build_model(name).double().eval()
    x = torch.randint(0, 17, (32, 64)).double()
    out, codes = m.forward_with_codes(x)
    assert torch.equal(out, m(x))
    assert len(codes) == 4
    assert codes[0].dtype == np.int64 and np.array_equal(codes[0], x.numpy().astype(np.int64))
    for c in codes[1:]:
        assert c.shape == (32, 64) and c.dtype == np.int64
        assert c.min() >= lo and c.max() <= hi
    if name == "tfc_w1a1":
        assert set(np.unique(codes[1])) <= {-1, 1}
