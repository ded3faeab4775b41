"""Model naming and the boundary codes of forward_with_codes."""

import numpy as np
import pytest
import torch

from halfwave.training import build_model, parse_name
from halfwave.training.quantizers import HWGQ, SignAct, UniformReLU


@pytest.mark.parametrize(
    "name,hidden,w,a,act",
    [
        ("tfc_w1a2", 64, 1, 2, HWGQ),
        ("sfc_w1a2", 256, 1, 2, HWGQ),
        ("lfc_w1a2", 1024, 1, 2, HWGQ),
        ("tfc_w1a1", 64, 1, 1, SignAct),
        ("sfc_w4a3", 256, 4, 3, HWGQ),
        ("tfc_w2a4_relu", 64, 2, 4, UniformReLU),
    ],
)
def test_names(name, hidden, w, a, act):
    m = build_model(name)
    assert [lin.out_features for lin in m.linears] == [hidden] * 3
    assert m.linears[0].in_features == 64 and m.out_linear.out_features == 10
    assert all(lin.bits == w for lin in m.linears) and m.spec.abits == a
    assert all(isinstance(x, act) for x in m.acts)
    assert not m.out_linear.per_channel


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
