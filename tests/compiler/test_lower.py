"""Lowering Brevitas-exported QONNX: the golden executor of the IR reproduces QONNX
execution (float64) exactly at every layer boundary."""

import numpy as np
import pytest

from halfwave.compiler.lower import lower
from halfwave.compiler.onnx_graph import load_qonnx
from halfwave.flow import verify as ladder

KINDS = ["w1a2_relu", "w4a2_signed", "w1a1", "pow2_ties"]


@pytest.mark.parametrize("kind", KINDS)
def test_golden_equals_qonnx_execution(kind, brevitas_onnx):
    path, x = brevitas_onnx(kind)
    df = lower(load_qonnx(path), kind)
    ref = ladder.qonnx_rung(path, df, x, float64=True)
    gold = ladder.golden_rung(df, x)
    cmp = ladder.compare(ref, gold)
    assert cmp.boundaries == len(df.nodes) + 1
    assert cmp.mismatched_frames == 0, cmp.first
    assert ref.margin < 1e-6
    # the activations really vary: not a trivially constant network
    for v in gold.values[1:-1]:
        assert len(np.unique(v)) > 1


def test_modes_and_datatypes(brevitas_onnx):
    df = lower(load_qonnx(brevitas_onnx("w1a1")[0]))
    assert [n.mode for n in df.nodes] == ["xnor", "xnor", "xnor"]
    assert df.input.dtype == "BIPOLAR"
    assert df.nodes[0].out_dtype == "BIPOLAR" and df.nodes[-1].out_dtype is None
    df = lower(load_qonnx(brevitas_onnx("w4a2_signed")[0]))
    assert [n.mode for n in df.nodes] == ["mac", "signsel", "mac"]
    assert df.nodes[0].out_dtype == "INT2" and df.nodes[0].out_base == -1
    assert df.nodes[1].out_dtype == "INT3"


def test_negative_batchnorm_rows_are_negated(brevitas_onnx):
    df = lower(load_qonnx(brevitas_onnx("w1a2_relu")[0]))
    assert len(df.nodes[0].negated_rows) > 0


def test_ties_occur_and_match(brevitas_onnx):
    """With power-of-two scales some accumulators land exactly on a rounding tie."""
    path, x = brevitas_onnx("pow2_ties")
    df = lower(load_qonnx(path))
    vals = ladder.golden_rung(df, x).values
    n0 = df.nodes[0]
    acc = vals[0] @ n0.weights.T.astype(np.int64)
    # some accumulator sits exactly on a threshold, i.e. on a rounding tie of the model
    assert (acc[:, :, None] == n0.thresholds[None]).any()
