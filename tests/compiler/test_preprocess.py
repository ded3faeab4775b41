"""Float pre-processing before the input quantiser (`2*x - 1`, mean/std, NHWC->NCHW,
Flatten) in stock Brevitas models exported by brevitas.export.export_qonnx: compiled,
run on the host by the golden executor and by the deployment driver, bit-exact with
QONNX execution at every boundary; anything else between the input and the quantiser
refused in one sentence naming the node."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from brevitas_export import export_cache, export_eval  # tests/compiler helper
from onnx import TensorProto, helper, numpy_helper

from halfwave.compiler import ir
from halfwave.compiler.errors import CompileError
from halfwave.compiler.lower import lower
from halfwave.compiler.onnx_graph import load_qonnx
from halfwave.compiler.preprocess import PreOp, Preprocess
from halfwave.flow import api
from halfwave.flow import verify as ladder
from halfwave.flow.board import cosim, deploy
from halfwave.sim import golden

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class PreNet(torch.nn.Module):
    """Pre-processing, QuantIdentity, then QuantConv2d/BN/QuantReLU/MaxPool and a
    QuantLinear head (or, `fc`, QuantLinear layers on the flattened input)."""

    def __init__(self, kind: str):
        import brevitas.nn as qnn

        super().__init__()
        self.kind = kind
        act = dict(return_quant_tensor=True)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        self.q = qnn.QuantIdentity(bit_width=8, **act)
        if kind == "fc":
            self.body = torch.nn.Sequential(
                qnn.QuantLinear(48, 16, bias=True, weight_bit_width=4),
                torch.nn.BatchNorm1d(16),
                qnn.QuantReLU(bit_width=2, **act),
                qnn.QuantLinear(16, 5, bias=True, weight_bit_width=4),
            )
        else:
            self.body = torch.nn.Sequential(
                qnn.QuantConv2d(3, 6, 3, bias=False, weight_bit_width=4),
                torch.nn.BatchNorm2d(6),
                qnn.QuantReLU(bit_width=2, **act),
                torch.nn.MaxPool2d(2),
                torch.nn.Flatten(),
                qnn.QuantLinear(6 * 3 * 3, 5, bias=True, weight_bit_width=4),
            )

    def pre(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "nhwc":  # (N, H, W, C) images, normalised
            return (x.permute(0, 3, 1, 2) - self.mean) / self.std
        if self.kind == "meanstd":
            return (x - self.mean) / self.std
        if self.kind == "fc":  # (N, 3, 4, 4) -> 2x - 1 -> flattened
            return torch.flatten(2 * x - 1, 1)
        return 2 * x - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.q(self.pre(x)))


def in_shape(kind: str) -> tuple[int, ...]:
    return {"nhwc": (8, 8, 3), "fc": (3, 4, 4)}.get(kind, (3, 8, 8))


def export(kind: str, path, seed: int = 0):
    """The exported model and float32 images in [0, 1) (what it takes)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = PreNet(kind)
    x = torch.rand(64, *in_shape(kind), generator=gen)
    net.q.train()  # the input quantiser's scale from statistics of the real range
    with torch.no_grad():
        for _ in range(40):
            net.q(net.pre(x))
    return export_eval(net, x[:1], path, gen), x.numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_cache(tmp_path_factory, export)


OPS = {
    "affine": ["mul", "sub"],
    "meanstd": ["sub", "div"],
    "nhwc": ["transpose", "sub", "div"],
    "fc": ["mul", "sub"],  # the Flatten before the quantiser stays a stream layout
}


@pytest.mark.parametrize("kind", list(OPS))
def test_golden_equals_qonnx_at_every_boundary(kind, exported):
    path, x = exported(kind)
    df = lower(load_qonnx(path), kind)
    pre = df.input.preprocess
    assert [o.op for o in pre.ops] == OPS[kind]
    assert df.input.model_shape() == list(in_shape(kind))
    # the generated inputs (quantiser codes taken back through the ops) and real images
    for xs in (x, api.verification_inputs(df, 64)):
        ref = ladder.qonnx_rung(path, df, xs, float64=True)
        gold = ladder.golden_rung(df, xs)
        cmp = ladder.compare(ref, gold)
        assert cmp.boundaries == 1 + sum(ladder.boundary_of(n) is not None for n in df.nodes)
        assert cmp.mismatched_frames == 0, cmp.first
        assert ref.margin < 1e-6
        f32 = ladder.compare_float32(gold, ladder.qonnx_rung(path, df, xs, float64=False),
                                     ref.threshold_ulps)  # fmt: skip
        assert f32.ok, f32.line()
        for v in gold.values[:-1]:  # every boundary varies, the input codes both signs
            assert len(np.unique(v)) > 2
    assert gold.values[0].min() < 0 < gold.values[0].max()


def test_the_ops_run_in_the_models_order_in_float64(exported):
    """The host ops are the model's, op by op: (x - mean) / std in float64 on the
    model's float32 constants, not x * (1/std) - mean/std."""
    path, x = exported("meanstd")
    df = lower(load_qonnx(path))
    mean = np.float32(MEAN).astype(np.float64).reshape(1, 3, 1, 1)
    std = np.float32(STD).astype(np.float64).reshape(1, 3, 1, 1)
    want = (x.astype(np.float64) - mean) / std
    assert np.array_equal(df.input.preprocess.apply(x), want)
    codes = golden.quantize_input(df.input, x).reshape(len(x), 8, 8, 3)
    s = df.input.scale
    assert np.array_equal(codes, np.clip(np.round(want / s), -128, 127).transpose(0, 2, 3, 1))


def test_ir_round_trip_and_validation(exported, tmp_path):
    path, x = exported("nhwc")
    df = api.compile(path, tmp_path / "b")
    doc = json.loads((tmp_path / "b" / "dataflow.json").read_text())
    assert [o["op"] for o in doc["input"]["preprocess"]["ops"]] == OPS["nhwc"]
    back = ir.load(tmp_path / "b")
    assert np.array_equal(golden.execute(back, x)[-1], golden.execute(df, x)[-1])
    bad = [
        ({"op": "exp"}, "unknown op"),
        ({"op": "sub", "const": [1.0, float("nan")]}, "NaN or Inf"),
        ({"op": "div", "const": [0.0]}, "divides by a constant holding 0"),
        ({"op": "mul", "const": [[1.0, 2.0]]}, "does not broadcast"),
        ({"op": "reshape", "shape": [5]}, "reshapes"),
        ({"op": "transpose", "perm": [0, 0, 1]}, "not a permutation"),
    ]
    for op, words in bad:
        d = json.loads(json.dumps(doc))
        d["input"]["preprocess"]["ops"] = [op]
        (tmp_path / "b" / "dataflow.json").write_text(json.dumps(d))
        with pytest.raises(CompileError, match=words) as e:
            ir.load(tmp_path / "b")
        assert "\n" not in str(e.value)


def test_driver_preprocesses_like_golden(exported, tmp_path):
    """The deploy package's own driver file (what runs on the board) turns the model's
    float input into the same integer values as the golden executor."""
    path, x = exported("nhwc")
    build = tmp_path / "b"
    df = api.compile(path, build)
    pkg = deploy.write_package(build, tmp_path / "deploy", x=x[:8])
    drv = deploy.load_driver(pkg)
    acc = object.__new__(drv.Accelerator)  # no board: quantize reads meta.json only
    acc.meta = json.loads((pkg / "meta.json").read_text())
    assert np.array_equal(acc.quantize(x), golden.quantize_input(df.input, x))
    pre = acc.meta["input"]["preprocess"]
    assert np.array_equal(drv.preprocess(x, pre), df.input.preprocess.apply(x))


def test_driver_on_the_system_cosimulation(exported, tmp_path, sim_opts):
    """The driver's predict on NHWC images (transpose, mean/std on the host) through the
    AXI system co-simulation (DMA stalls): the board's integer outputs equal golden."""
    path, x = exported("nhwc")
    build = tmp_path / "b"
    df = api.compile(path, build)
    pkg = deploy.write_package(build, tmp_path / "deploy", board="pynq-z2", x=x[:10])
    drv = deploy.load_driver(pkg)
    ov = cosim.SimOverlay(build, opts=sim_opts.replace(stall_in=0.3, seed=5))
    with drv.Accelerator(pkg, overlay=ov, allocate=cosim.sim_allocate, batch=4) as acc:
        got = acc.predict_values(x[:10])
    ov.close()
    assert np.array_equal(got, golden.execute(df, x[:10])[-1])


def test_verify_in_rtl(exported, tmp_path, sim_opts):
    """The ladder to the RTL, stalls on both streams: qonnx-f64 = golden = rtl at every
    boundary, and the float32 QONNX run agrees but at thresholds."""
    path, _ = exported("meanstd")
    rep = api.verify_onnx(path, tmp_path / "b", n=6, rtl=True, stall=0.3, opts=sim_opts)
    assert rep.ok, "\n".join(rep.lines)
    assert rep.verdict.startswith("BIT-EXACT (qonnx-f64 = golden = rtl)")
    rtl = next(c for c in rep.comparisons if c.dut == "rtl")
    assert rtl.boundaries == len(ir.load(tmp_path / "b").nodes) + 1


# ---------------------------------------------------------------- refusals


def _graph(pre_nodes, inits, x_shape=(1, 4)):
    q = helper.make_node("Quant", ["p", "s", "z", "b"], ["q"], domain="qonnx.custom_op.general",
                         signed=1, narrow=0, rounding_mode="ROUND")  # fmt: skip
    w = numpy_helper.from_array(np.ones((4, 2), np.float32), "w")
    ws = helper.make_node("Quant", ["w", "s", "z", "b"], ["wq"], domain="qonnx.custom_op.general",
                          signed=1, narrow=0, rounding_mode="ROUND")  # fmt: skip
    mm = helper.make_node("MatMul", ["q", "wq"], ["y"], name="mm")
    consts = [numpy_helper.from_array(np.array(v, np.float32), n)
              for n, v in (("s", 0.5), ("z", 0.0), ("b", 4.0))] + inits  # fmt: skip
    g = helper.make_graph(
        [*pre_nodes, q, ws, mm], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [*consts, w],
    )  # fmt: skip
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def _compile(model, tmp_path):
    import onnx

    onnx.save(model, tmp_path / "m.onnx")
    return lower(load_qonnx(tmp_path / "m.onnx"))


def test_two_ops_compile(tmp_path):
    k = numpy_helper.from_array(np.float32([3.0]), "k")
    nodes = [helper.make_node("Sub", ["k", "x"], ["n"], name="sub"),
             helper.make_node("Neg", ["n"], ["p"], name="neg")]  # fmt: skip
    df = _compile(_graph(nodes, [k]), tmp_path)
    assert [(o.op, o.data_first) for o in df.input.preprocess.ops] == [("sub", False),
                                                                        ("neg", True)]  # fmt: skip
    x = np.float32([[0.3, 1.7, -2.2, 4.0]])
    assert np.array_equal(df.input.preprocess.apply(x), -(3.0 - x.astype(np.float64)))


@pytest.mark.parametrize(
    "nodes, words",
    [
        ([helper.make_node("Relu", ["x"], ["p"], name="relu0")],
         "node 'Relu_0': op 'Relu' between the model input and its first quantiser"),
        ([helper.make_node("Mul", ["x", "x"], ["p"], name="sq")],
         "node 'Mul_0': Mul between the model input and its first quantiser needs a constant"),
        ([helper.make_node("Relu", ["x"], ["r"], name="r"),
          helper.make_node("Add", ["x", "r"], ["p"], name="add0")],
         "tensor 'global_in' feeds 2 nodes \\(Relu_0, Add_0\\)"),
        ([helper.make_node("Div", ["k", "x"], ["p"], name="inv")],
         "node 'Div_0': Div of a constant by the model input"),
    ],
    ids=["relu", "square", "branch", "reciprocal"],
)  # fmt: skip
def test_unsupported_preprocessing_is_one_sentence(nodes, words, tmp_path):
    """(qonnx's cleanup names the nodes Op_k and the input global_in.)"""
    k = numpy_helper.from_array(np.float32([2.0]), "k")
    with pytest.raises(CompileError, match=words) as e:
        _compile(_graph(nodes, [k]), tmp_path)
    assert "\n" not in str(e.value)


def test_preprocess_invert_is_close():
    pre = Preprocess([2, 3], [PreOp("transpose", perm=[1, 0]), PreOp("mul", np.float64([2.0])),
                              PreOp("sub", np.float64([1.0]), data_first=False),
                              PreOp("reshape", shape=[6])])  # fmt: skip
    pre.check()
    y = np.random.default_rng(0).normal(size=(4, 6))
    assert np.allclose(pre.apply(pre.invert(y)), y)
