"""The verification ladder's rules (sim/flow/verify.py), on small hand-made rungs: no
shared boundary fails, float32 disagreements pass only at a threshold, the verdict
names the rungs that ran."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from halfwave.flow import api
from halfwave.flow import verify as ladder


def _rung(name: str, *values) -> ladder.Rung:
    return ladder.Rung(name, [None if v is None else np.asarray(v) for v in values])


def test_no_shared_boundary_fails() -> None:
    a = _rung("golden", [[1, 2]], None)
    b = _rung("rtl", None, [[3]])
    c = ladder.compare(a, b)
    assert (c.boundaries, c.mismatched_frames, c.ok) == (0, 0, False)
    assert "FAIL: no boundary in common" in c.line()
    assert ladder.compare(a, _rung("x", [[1, 2]], None)).ok


def test_float32_disagreements_only_at_thresholds() -> None:
    ref = _rung("golden", [[0, 0]] * 3, [[1, 1]] * 3, [[5]] * 3)
    ulps = [None, np.array([[900.0, 3.0], [2.0, 900.0], [900.0, 900.0]]), None]
    # frame 0 differs at element 1 (3 ulps from a threshold), and downstream because of
    # it; frame 1 at element 0 (2 ulps)
    near = _rung("qonnx-f32", [[0, 0]] * 3, [[1, 0], [0, 1], [1, 1]], [[4], [5], [5]])
    c = ladder.compare_float32(ref, near, ulps)
    assert (c.mismatched_frames, c.unexplained, c.worst_ulps, c.ok) == (2, 0, 3.0, True)
    assert "each a float32 rounding at a threshold" in c.line()
    # frame 2 differs at an element 900 ulps from any threshold: a real disagreement
    far = _rung("qonnx-f32", [[0, 0]] * 3, [[1, 1], [1, 1], [0, 1]], [[5]] * 3)
    c = ladder.compare_float32(ref, far, ulps)
    assert (c.unexplained, c.ok) == (1, False)
    assert "boundary 1, frame 2: 900 ulps" in c.line()
    # a disagreement first seen where no quantiser rounds (the raw last layer)
    late = _rung("qonnx-f32", [[0, 0]] * 3, [[1, 1]] * 3, [[5], [5], [6]])
    c = ladder.compare_float32(ref, late, ulps)
    assert not c.ok and "no quantiser there" in c.why


def _quant_model(x: np.ndarray, scale: float, pool: bool, sub: bool = False):
    """x -> Quant(scale, 0, 2 bits, ROUND) [-> MaxPool 2x2] -> Mul(3) (or Sub(3, .), the
    data on the second input) as a qonnx model, executed in float64 by the ladder's own
    executor."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    const = [
        numpy_helper.from_array(np.array(v, dtype=np.float32), n)
        for n, v in (("s", scale), ("z", 0.0), ("b", 2.0), ("k", 3.0))
    ]
    nodes = [
        helper.make_node(
            "Quant",
            ["x", "s", "z", "b"],
            ["q"],
            domain="qonnx.custom_op.general",
            signed=0,
            narrow=0,
            rounding_mode="ROUND",
        ),  # fmt: skip
    ]
    last = "q"
    if pool:
        nodes.append(helper.make_node("MaxPool", ["q"], ["p"], kernel_shape=[2, 2], strides=[2, 2]))
        last = "p"
    nodes.append(helper.make_node("Sub", ["k", last], ["y"]) if sub
                 else helper.make_node("Mul", [last, "k"], ["y"]))  # fmt: skip
    out_shape = [1, 1, 1, 1] if pool else list(x.shape)
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], const,
    )  # fmt: skip
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    model = model.transform(InferShapes())
    m64 = ModelWrapper(ladder._as_float64(model.model))
    return m64, ladder._execute_float64(m64, x)


@pytest.mark.parametrize("sub", [False, True], ids=["mul", "sub-const-first"])
def test_threshold_ulps_of_a_quant_boundary(sub: bool) -> None:
    x = np.array([[0.26, 0.5, 0.75 + 2**-30, 1.2]])  # / 0.5: 0.52, 1.0, 1.5+, 2.4
    m, ctx = _quant_model(x, 0.5, pool=False, sub=sub)
    u = ladder.threshold_ulps(m, ctx, "y")
    q = x / 0.5
    want = np.abs(q - np.array([[0.5, 1.5, 1.5, 2.5]]))
    spacing = np.spacing(np.maximum(np.abs(q), 1.0).astype(np.float32)).astype(np.float64)
    spacing[0, 2] = np.spacing(np.float32(1.5))
    spacing[0, 3] = np.spacing(np.float32(2.5))
    np.testing.assert_allclose(u, want / spacing)
    assert u[0, 2] < 1 < u[0, 0]  # 2^-29 from the 1.5 step: below one float32 ulp


def test_threshold_ulps_through_a_max_pool() -> None:
    x = np.array([0.1, 0.74999999, 0.2, 0.3]).reshape(1, 1, 2, 2)  # pooled: 0.75 - 1e-8
    m, ctx = _quant_model(x, 0.5, pool=True)
    u = ladder.threshold_ulps(m, ctx, "y")
    assert u.shape == (1, 1, 1, 1)
    assert u.item() == (1.5 - 0.74999999 / 0.5) / np.spacing(np.float32(1.5))


def test_threshold_ulps_none_without_a_quantiser() -> None:
    m, ctx = _quant_model(np.ones((1, 2)), 0.5, pool=False)
    assert ladder.threshold_ulps(m, ctx, "x") is None


def test_verdict_names_the_rungs() -> None:
    rep = api.VerifyReport([], True, [], {}, ran=["qonnx-f64", "golden", "rtl"],
                           not_run=["torch-f64", "hls"])  # fmt: skip
    assert rep.verdict == "BIT-EXACT (qonnx-f64 = golden = rtl); not run: torch-f64, hls"
    rep = api.VerifyReport([], False, [], {}, ran=["golden", "rtl", "hls"])
    assert rep.verdict == "MISMATCH (golden = rtl = hls)"
