"""Average pooling in stock Brevitas conv nets exported by brevitas.export.export_qonnx
(torch's AvgPool2d -> AveragePool, AdaptiveAvgPool2d(1) -> ReduceMean; and ONNX's
GlobalAveragePool): integer window sums in hw_avgpool, the division folded exactly into
the next layer's thresholds; golden == QONNX float64 at every boundary, and one net
through RTL and HLS. What cannot be exact is refused in one sentence naming the node."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from brevitas_export import export_cache, export_eval  # tests/compiler helper

from halfwave.compiler import ir
from halfwave.compiler.blocks.avgpool import sum_dtype
from halfwave.compiler.errors import CompileError
from halfwave.compiler.lower import lower
from halfwave.compiler.onnx_graph import load_qonnx
from halfwave.flow import api
from halfwave.flow import verify as ladder
from halfwave.sim import hls


def _net(kind: str) -> torch.nn.Sequential:
    import brevitas.nn as qnn
    from brevitas.quant import SignedBinaryActPerTensorConst as SignAct
    from brevitas.quant import SignedBinaryWeightPerTensorConst as Binary

    act = dict(return_quant_tensor=True)

    def block(cin: int, cout: int, k: int, bits: int = 2) -> list:
        return [qnn.QuantConv2d(cin, cout, k, bias=False, weight_bit_width=4),
                torch.nn.BatchNorm2d(cout), qnn.QuantReLU(bit_width=bits, **act)]  # fmt: skip

    head = [torch.nn.Flatten(), qnn.QuantLinear(8, 5, bias=True, weight_bit_width=4)]
    inp = [qnn.QuantIdentity(bit_width=8, **act)]
    layers = {
        # conv, 2x2 average pool, 1x1 conv, global average pool, QuantLinear
        "avg2_gap": [*inp, *block(3, 6, 3), torch.nn.AvgPool2d(2), *block(6, 8, 1, 3),
                     torch.nn.AdaptiveAvgPool2d(1), *head],
        "gap": [*inp, *block(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), *head],
        # 3x3 windows every 3 pixels on 8x8 (the last 2 rows/columns unused), then a max pool
        "avg3_max": [*inp, *block(3, 8, 1), torch.nn.AvgPool2d(3), torch.nn.MaxPool2d(2),
                     *head],
        # sign activations (+-1 codes) pooled, then binary weights (signsel on the sums)
        "bipolar": [*inp, qnn.QuantConv2d(3, 8, 3, bias=False, weight_bit_width=4),
                    torch.nn.BatchNorm2d(8), qnn.QuantIdentity(act_quant=SignAct, **act),
                    torch.nn.AvgPool2d(2),
                    qnn.QuantConv2d(8, 8, 1, bias=False, weight_quant=Binary),
                    torch.nn.BatchNorm2d(8), qnn.QuantReLU(bit_width=2, **act),
                    torch.nn.AdaptiveAvgPool2d(1), *head],
        # refused forms
        "quant_after": [*inp, *block(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1),
                        qnn.QuantIdentity(bit_width=4, **act), *head],
        "overlap": [*inp, *block(3, 8, 3), torch.nn.AvgPool2d(3, stride=1),
                    torch.nn.AdaptiveAvgPool2d(1), *head],
        "padded": [*inp, *block(3, 8, 3), torch.nn.AvgPool2d(2, padding=1),
                   torch.nn.AdaptiveAvgPool2d(1), *head],
        "inside": [*inp, qnn.QuantConv2d(3, 8, 3, bias=False, weight_bit_width=4),
                   torch.nn.AvgPool2d(2), torch.nn.BatchNorm2d(8),
                   qnn.QuantReLU(bit_width=2, **act), torch.nn.AdaptiveAvgPool2d(1), *head],
        "ends": [*inp, *block(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()],
    }[kind]  # fmt: skip
    return torch.nn.Sequential(*layers)


def export(kind: str, path, seed: int = 0):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(64, 3, 8, 8, generator=gen) * 2 - 1  # the input quantiser's range
    return export_eval(_net(kind), x[:1], path, gen), x.numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_cache(tmp_path_factory, export)


def _global_average_pool(path, out):
    """The same model with its ReduceMean over (H, W) written as GlobalAveragePool."""
    m = onnx.load(str(path))
    for i, n in enumerate(m.graph.node):
        if n.op_type == "ReduceMean":
            gap = onnx.helper.make_node("GlobalAveragePool", [n.input[0]], list(n.output),
                                        name=n.name)  # fmt: skip
            m.graph.node.remove(n)
            m.graph.node.insert(i, gap)
            for lst in (m.graph.initializer, m.graph.input):  # the axes, now unused
                for t in [t for t in lst if t.name == n.input[1]]:
                    lst.remove(t)
    onnx.save(m, str(out))
    return out


def _check_golden_equals_qonnx(path, x, name: str):
    df = lower(load_qonnx(path), name)
    ref = ladder.qonnx_rung(path, df, x, float64=True)
    gold = ladder.golden_rung(df, x)
    cmp = ladder.compare(ref, gold)
    assert cmp.boundaries == 1 + sum(ladder.boundary_of(n) is not None for n in df.nodes)
    assert cmp.mismatched_frames == 0, cmp.first
    assert ref.margin < 1e-6, ref.margin
    f32 = ladder.compare_float32(gold, ladder.qonnx_rung(path, df, x, float64=False),
                                 ref.threshold_ulps)  # fmt: skip
    assert f32.ok, f32.line()
    return df, gold


POOLS = {"avg2_gap": [(2, 2, 2, 2), (3, 3, 3, 3)], "gap": [(6, 6, 6, 6)],
         "avg3_max": [(3, 3, 3, 3)], "bipolar": [(2, 2, 2, 2), (3, 3, 3, 3)]}  # fmt: skip


@pytest.mark.parametrize("kind", list(POOLS))
def test_golden_equals_qonnx_at_every_boundary(kind, exported, tmp_path):
    path, x = exported(kind)
    df, gold = _check_golden_equals_qonnx(path, x, kind)
    pools = [n for n in df.nodes if isinstance(n, ir.AvgPool)]
    assert [(p.KH, p.KW, p.SH, p.SW) for p in pools] == POOLS[kind]
    for p in pools:  # sums of 2-bit (3-bit, +-1) codes, their scale the codes' / window
        i = df.nodes.index(p)
        assert p.out_dtype == sum_dtype(p.dtype, p.KH * p.KW)
        assert df.nodes[i + 1].in_dtype == p.out_dtype or isinstance(df.nodes[i + 1], ir.MaxPool)
        assert gold.values[i + 1].max() > p.dtype.max  # real sums, not codes
    if kind == "bipolar":  # sums of +-1 in [-4, 4], read by a binary-weight layer
        assert pools[0].dtype == "BIPOLAR" and pools[0].out_dtype == "INT4"
        assert gold.values[df.nodes.index(pools[0]) + 1].min() < 0
        assert [n.mode for n in df.mvus()] == ["mac", "signsel", "mac"]
    if "gap" in kind:  # the same model with ONNX's GlobalAveragePool
        gap = _global_average_pool(path, tmp_path / "gap.onnx")
        df2, gold2 = _check_golden_equals_qonnx(gap, x, kind)
        assert np.array_equal(gold2.values[-1], gold.values[-1])


def test_ir_round_trip(exported, tmp_path):
    path, x = exported("avg2_gap")
    df = api.compile(path, tmp_path / "b")
    back = ir.load(tmp_path / "b")
    assert [n.kind for n in back.nodes] == [n.kind for n in df.nodes]
    assert np.array_equal(api.simulate(tmp_path / "b", x).values[-1],
                          ladder.golden_rung(df, x).values[-1])  # fmt: skip


@pytest.mark.parametrize(
    "kind, words",
    [
        ("quant_after", r"node 'Quant_\d+': Quant right after ReduceMean 'ReduceMean_0' needs "
                        "thresholds on the window sums"),
        ("overlap", "node 'AveragePool_0': AveragePool windows overlap"),
        ("padded", r"node 'AveragePool_0': AveragePool padding \[1, 1, 1, 1\] is not supported"),
        ("inside", "node 'AveragePool_0': an average pool between a layer's matrix product and "
                   "its quantiser"),
        ("ends", "node 'ReduceMean_0': the network ends in ReduceMean"),
    ],
)  # fmt: skip
def test_inexact_forms_are_refused_in_one_sentence(kind, words, exported):
    path, _ = exported(kind)
    with pytest.raises(CompileError, match=words) as e:
        lower(load_qonnx(path))
    assert "\n" not in str(e.value)


def test_verify_in_rtl_and_hls(exported, tmp_path, sim_opts):
    """conv -> global average pool -> QuantLinear through the ladder: qonnx-f64 = golden
    = rtl (= hls where g++ and ap_int.h are there) at every boundary, under stalls."""
    path, _ = exported("gap")
    with_hls = hls.available()
    rep = api.verify_onnx(path, tmp_path / "b", n=6, rtl=True, stall=0.3, opts=sim_opts,
                          hls=with_hls)  # fmt: skip
    assert rep.ok, "\n".join(rep.lines)
    df = ir.load(tmp_path / "b")
    rtl = next(c for c in rep.comparisons if c.dut == "rtl")
    assert rtl.boundaries == len(df.nodes) + 1 and rtl.mismatched_frames == 0
    if with_hls:
        assert all(c.ok for c in rep.comparisons if c.dut == "hls")
