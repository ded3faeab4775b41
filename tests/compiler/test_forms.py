"""QONNX forms our exporter and other tools emit: HWGQ as Neg/MultiThreshold/Sub/Mul,
per-channel MultiThreshold with a signed offset, BipolarQuant activations."""

import numpy as np
import pytest
from builders import FcBuilder

from halfwave.compiler.lower import lower
from halfwave.compiler.onnx_graph import load_qonnx
from halfwave.flow import verify as ladder


def _check(path, n_in, seed=0, n=400, scale=16):
    df = lower(load_qonnx(path))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, scale + 1, (n, n_in)).astype(np.float32)
    ref = ladder.qonnx_rung(path, df, x, float64=True)
    gold = ladder.golden_rung(df, x)
    c = ladder.compare(ref, gold)
    assert c.mismatched_frames == 0, c.first
    return df, gold


@pytest.mark.parametrize("seed", [0, 1])
def test_hwgq_multithreshold_form(tmp_path, seed):
    b = FcBuilder(64, seed).quant_input()
    b.linear(33).batchnorm().hwgq().linear(21, per_channel=False).batchnorm().hwgq()
    b.linear(10, per_channel=False)
    df, gold = _check(b.save(tmp_path / "h.onnx"), 64, seed)
    assert [n.out_dtype for n in df.nodes] == ["UINT2", "UINT2", None]
    assert set(np.unique(gold.values[1])) == {0, 1, 2, 3}


def test_hwgq_without_batchnorm_ties_at_zero(tmp_path):
    """No BN: y = acc * scale, so acc == 0 hits HWGQ's threshold 0 exactly (-> code 0)."""
    b = FcBuilder(16, 3).quant_input(bits=2)
    b.linear(40).hwgq().linear(10)
    df, gold = _check(b.save(tmp_path / "z.onnx"), 16, scale=3)
    acc = gold.values[0] @ df.nodes[0].weights.T.astype(np.int64)
    assert (acc == 0).any()
    assert np.all(gold.values[1][acc == 0] == 0)


def test_per_channel_multithreshold_signed(tmp_path):
    b = FcBuilder(20, 4).quant_input(bits=4)
    b.linear(12).multithreshold(out_bias=-2.0).linear(8, per_channel=False)
    df, _ = _check(b.save(tmp_path / "m.onnx"), 20, scale=15)
    assert df.nodes[0].out_base == -2 and df.nodes[0].out_dtype == "INT2"


def test_bipolar_activations_and_output_affine(tmp_path):
    b = FcBuilder(30, 5).quant_input(bits=5)
    b.linear(25).batchnorm().bipolar_act().linear(14).batchnorm().bipolar_act()
    b.linear(10).op("Mul", np.float32(0.5)).op("Add", np.linspace(-1, 1, 10, dtype=np.float32))
    df, _ = _check(b.save(tmp_path / "b.onnx"), 30, scale=31)
    assert [n.mode for n in df.nodes] == ["signsel", "xnor", "xnor"]
