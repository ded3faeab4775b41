"""Ternary weights end to end: Brevitas' own symmetric ternary quantiser exported with
brevitas.export.export_qonnx, halfwave's two-scale form with random Wp/Wn whose ratio is
not a power of two, all-zero rows; QONNX float64 == golden == RTL in integer codes at
every boundary. The report's per-layer sparsity against the zeros of the ONNX weights."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import onnx
import pytest
from builders import FcBuilder
from onnx import numpy_helper

from halfwave.compiler.errors import CompileError
from halfwave.compiler.ir import MVU
from halfwave.flow import api


def _check_exact(rep, df, rtl=True):
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    exact = {c.dut: c for c in rep.comparisons if c.exact}
    assert exact["golden"].mismatched_frames == 0
    if rtl:
        assert exact["rtl"].mismatched_frames == 0
        assert exact["rtl"].boundaries == len(df.nodes) + 1


def test_brevitas_symmetric_ternary_is_bit_exact(brevitas_onnx, tmp_path):
    """QuantLinear(weight_quant=SignedTernaryWeightPerTensorConst) (constant scale 0.1,
    codes -1/0/+1), BatchNorm, uniform QuantReLU, a QuantIdentity input quantiser."""
    path, x = brevitas_onnx("ternary_relu")
    rep = api.verify_onnx(path, tmp_path / "build", x=x[:40], rtl=True, stall=0.3)
    df = api.compile(path, tmp_path / "build")
    _check_exact(rep, df)
    mvus = [n for n in df.nodes if isinstance(n, MVU)]
    assert [m.mode for m in mvus] == ["ternary"] * 3
    assert all(m.ternary == [1, 1] for m in mvus)
    assert df.input.dtype == "INT8"
    assert any(m.negated_rows for m in mvus)
    gold = api.simulate(tmp_path / "build", x, "golden").values
    for v in gold[1:-1]:  # the ReLU codes really vary
        assert len(np.unique(v)) > 2
    for m in mvus:  # the zeroed row, and Brevitas' threshold (|w| <= 0.05) gives zeros
        assert not m.weights[1].any()
        assert 0.1 < np.mean(m.weights == 0) < 0.9


class _ScaledFc(FcBuilder):
    """FcBuilder whose "ttq" layers take Wp, Wn from a list (one pair per layer)."""

    def __init__(self, n_in, seed, scales):
        super().__init__(n_in, seed)
        self.scales = list(scales)

    def ternary_weights(self, wt, kind, axis):
        wp, wn = self.scales.pop(0)
        t = 0.6 * np.abs(wt).mean()
        codes = np.where(wt > t, 1, np.where(wt < -t, -1, 0)).astype(np.float32)
        np.moveaxis(codes, axis, 0)[0] = 0  # an all-zero output row
        np.moveaxis(codes, axis, 0)[2] = np.abs(np.moveaxis(codes, axis, 0)[2])  # only +1/0
        scale = np.where(codes < 0, np.float32(wn), np.float32(wp)).astype(np.float32)
        ins = [self.const(codes * scale, "w"), self.const(scale), self.const(0.0),
               self.const(2.0)]  # fmt: skip
        return self.node("Quant", ins, "qonnx.custom_op.general", signed=1, narrow=1,
                         rounding_mode="ROUND")  # fmt: skip


def _random_scales(rng, layers):
    """(Wp, Wn) = (kp, kn) * 2^-f with 8-bit kp, kn whose ratio is not a power of two."""
    out = []
    while len(out) < layers:
        kp, kn = (int(v) for v in rng.integers(1, 256, 2))
        r = Fraction(kp, kn)
        if r.numerator & (r.numerator - 1) == 0 and r.denominator & (r.denominator - 1) == 0:
            continue
        f = int(rng.integers(4, 12))
        out.append((kp / 2**f, kn / 2**f))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_random_asymmetric_ternary_bit_exact_in_rtl(tmp_path, seed):
    """Random Wp/Wn per layer (e.g. 173/38), all-zero rows, rows of only +1 and 0 codes,
    negated rows (negative BatchNorm scales) swapping p and n; PE/SIMD not dividing."""
    rng = np.random.default_rng(seed)
    scales = _random_scales(rng, 3)
    b = _ScaledFc(40, seed, scales).quant_input(bits=3)
    b.linear(23, weights="ttq").batchnorm().hwgq()
    b.linear(17, weights="ttq").batchnorm().hwgq()
    b.linear(10, weights="ttq")
    path = b.save(tmp_path / "net.onnx")
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps({"mvu0": {"PE": 5, "SIMD": 7}, "mvu1": {"PE": 3, "SIMD": 4},
                                "mvu2": {"PE": 4, "SIMD": 6}}))  # fmt: skip
    rep = api.verify_onnx(path, tmp_path / "build", n=40, rtl=True, stall=0.3, folding=fold)
    df = api.compile(path, tmp_path / "build", folding=fold)
    _check_exact(rep, df)
    mvus = [n for n in df.nodes if isinstance(n, MVU)]
    for m, (wp, wn) in zip(mvus, scales, strict=True):
        r = Fraction(wp) / Fraction(wn)
        assert m.mode == "ternary" and m.ternary == [r.numerator, r.denominator]
        assert not m.weights[0].any()
    assert any(m.negated_rows for m in mvus)


def _onnx_zero_fractions(path) -> list[float]:
    """Zero fraction of every 2-bit weight Quant's (constant) input, in graph order."""
    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out = []
    for node in model.graph.node:
        if node.op_type == "Quant" and node.input[0] in inits and inits[node.input[3]] == 2:
            out.append(float(np.mean(inits[node.input[0]] == 0)))
    return out


def test_report_gives_sparsity_per_layer(tmp_path):
    """report.json: zero weights and sparsity of ternary (and k-bit) layers, none for
    bipolar ones; report.md: a "zero weights" column."""
    b = _ScaledFc(30, 3, [(0.75, 0.3125), (0.5, 0.5)]).quant_input(bits=4)
    b.linear(20, weights="ttq").batchnorm().hwgq()
    b.linear(16, weights="bipolar").batchnorm().hwgq()
    b.linear(8, weights="ttq")
    path = b.save(tmp_path / "net.onnx")
    api.compile(path, tmp_path / "build")
    report = json.loads((tmp_path / "build" / "report.json").read_text())
    mvus = [r for r in report["layers"] if r["kind"] == "MVU"]
    expected = _onnx_zero_fractions(path)
    assert len(expected) == 2
    tern = [r for r in mvus if r["mode"] == "ternary"]
    assert [r["sparsity"] for r in tern] == pytest.approx(expected, abs=0, rel=1e-12)
    for r in tern:
        assert r["zero_weights"] == round(r["sparsity"] * r["shape"][0] * r["shape"][1])
    assert tern[0]["ternary_weights"] == [12, 5]
    assert tern[1]["ternary_weights"] == [1, 1]
    (binary,) = [r for r in mvus if r["mode"] != "ternary"]
    assert "sparsity" not in binary
    md = (tmp_path / "build" / "report.md").read_text()
    assert "| zero weights |" in md
    assert f"| {100 * expected[0]:.1f}% |" in md


def test_unrepresentable_ternary_scales_are_refused(tmp_path):
    """Wp/Wn not a ratio of integers <= 4096 (unsnapped float scales), or two different
    scales for the +1 codes: one readable error naming the Quant node."""
    b = _ScaledFc(12, 0, [(0.7123, 0.3018)]).quant_input(bits=4)
    b.linear(6, weights="ttq")
    with pytest.raises(CompileError, match="not a ratio of small integers.*snap them"):
        api.compile(b.save(tmp_path / "a.onnx"), tmp_path / "a")
    b = _ScaledFc(12, 0, [(0.5, 0.25)]).quant_input(bits=4)
    b.linear(6, weights="ttq")
    q = next(n for n in b.nodes if n.op_type == "Quant" and n.input[0].startswith("w"))
    w = next(t for t in b.inits if t.name == q.input[0])
    s = next(t for t in b.inits if t.name == q.input[1])
    wa, sa = numpy_helper.to_array(w).copy(), numpy_helper.to_array(s).copy()
    i, j = np.argwhere(wa > 0)[0]
    wa[i, j], sa[i, j] = 0.75, 0.75  # a second +1 scale
    w.CopyFrom(numpy_helper.from_array(wa, w.name))
    s.CopyFrom(numpy_helper.from_array(sa, s.name))
    with pytest.raises(CompileError, match="one scale for all \\+1"):
        api.compile(b.save(tmp_path / "b.onnx"), tmp_path / "b")
