"""Residual and branching networks through the whole ladder.

The named models (issue 14) freshly initialised and calibrated (training does not change
what is checked): PyTorch f64 == QONNX f64 == golden == RTL (random stalls) == HLS at every
boundary. User-written stock Brevitas residual networks (both Add forms, identity and 1x1
shortcuts, global average pool, final QuantLinear) and a stock model with `2*x - 1`
pre-processing: QONNX f64 == golden == RTL at every boundary, and the RTL's output codes ==
the integers recovered from PyTorch float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from halfwave.flow import api
from tests import residual_nets as rn


def _exact(rep) -> dict:
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    return {c.dut: c for c in rep.comparisons if c.exact}


@pytest.mark.parametrize(
    "name",
    [
        # ~600 s on 2 loaded cores (a 53-node design built and simulated with stalls,
        # then HLS): the longest test of make test, which the issue puts in CI
        "ttq_resnet20",
        "hwgq_resnet18_tiny",
        "hwgq_googlenet_tiny",
    ],
)
def test_named_residual_model_bit_exact(tmp_path, name, sim_opts):
    from halfwave.training import calibrated_model, export_qonnx

    model = calibrated_model(name)
    onnx_path = export_qonnx(model, None, tmp_path / f"{name}.onnx")
    rep = api.verify_onnx(onnx_path, tmp_path / name, model.double(), n=4, stall=0.2,
                          hls=True, opts=sim_opts)  # fmt: skip
    exact = _exact(rep)
    df = api.compile(onnx_path, tmp_path / name)
    assert not df.is_chain() and {"Add", "Concat"} & {n.kind for n in df.nodes}
    assert exact["rtl"].frames == 4 and exact["rtl"].mismatched_frames == 0
    assert exact["rtl"].boundaries == len(df.nodes) + 1
    assert exact["qonnx-f64"].ref == "torch-f64"  # PyTorch f64 is the first rung
    for dut in ("qonnx-f64", "golden", "hls"):
        assert exact[dut].mismatched_frames == 0, dut


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_user_residual_net_bit_exact_in_rtl(tmp_path, seed, sim_opts):
    model = rn.random_residual_net(seed)
    path = rn.export_net(model, tmp_path / "res.onnx")
    x = rn.example_input(model, 6, seed + 1)
    rep = api.verify_onnx(path, tmp_path / "b", n=len(x), x=x, stall=0.2, opts=sim_opts)
    exact = _exact(rep)
    df = api.compile(path, tmp_path / "b")
    assert sum(n.kind == "Add" for n in df.nodes) == 3
    assert exact["rtl"].mismatched_frames == 0 and exact["rtl"].boundaries == len(df.nodes) + 1
    rtl = api.simulate(tmp_path / "b", x, "rtl", sim_opts)
    with torch.no_grad():
        y = model.double()(torch.from_numpy(x.astype(np.float64))).numpy()
    last = df.nodes[-1]
    from halfwave.flow.verify import recover_integers

    v, margin = recover_integers(y, last.out_scale, last.out_bias)
    assert margin < 1e-6 and np.array_equal(v, rtl.port)


def test_preprocessed_stock_model_bit_exact_in_rtl(tmp_path, sim_opts):
    model = rn.preprocessed_net(0)
    path = rn.export_net(model, tmp_path / "pre.onnx")
    x = rn.example_input(model, 6, 1)
    rep = api.verify_onnx(path, tmp_path / "b", n=len(x), x=x, stall=0.2, opts=sim_opts)
    exact = _exact(rep)
    assert exact["rtl"].mismatched_frames == 0
    df = api.compile(path, tmp_path / "b")
    assert df.input.preprocess is not None
    rtl = api.simulate(tmp_path / "b", x, "rtl", sim_opts)
    with torch.no_grad():
        y = model.double()(torch.from_numpy(x.astype(np.float64))).numpy()
    from halfwave.flow.verify import recover_integers

    v, margin = recover_integers(y, df.nodes[-1].out_scale, df.nodes[-1].out_bias)
    assert margin < 1e-6 and np.array_equal(v, rtl.port)
