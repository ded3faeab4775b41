"""Import validation (compiler/validate.py) and the edge-following walker: each rule
refused on the smallest model that breaks it, in one sentence naming the node or tensor."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from builders import ConvBuilder, FcBuilder
from onnx import helper, numpy_helper

from halfwave.compiler.errors import CompileError
from halfwave.compiler.lower import lower
from halfwave.compiler.onnx_graph import _to_graph, load_qonnx
from halfwave.flow.cli import main


def _fc(tmp_path) -> onnx.ModelProto:
    b = FcBuilder(6, 0).quant_input().linear(4).batchnorm().hwgq().linear(3)
    return onnx.load(str(b.save(tmp_path / "fc.onnx")))


def _conv(tmp_path) -> onnx.ModelProto:
    b = ConvBuilder((2, 5, 5), 0).quant_input(bits=2).conv(3, 3).hwgq().flatten().linear(2)
    return onnx.load(str(b.save(tmp_path / "conv.onnx")))


def _node(m: onnx.ModelProto, op: str, k: int = 0) -> onnx.NodeProto:
    return [n for n in m.graph.node if n.op_type == op][k]


def _init(m: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in m.graph.initializer if t.name == name)


def _set(m: onnx.ModelProto, name: str, arr) -> None:
    _init(m, name).CopyFrom(numpy_helper.from_array(np.asarray(arr), name))


def _attr(node: onnx.NodeProto, key: str, value) -> None:
    for i, a in enumerate(node.attribute):
        if a.name == key:
            if value is None:
                del node.attribute[i]
            else:
                a.CopyFrom(helper.make_attribute(key, value, attr_type=a.type))
            return
    node.attribute.append(helper.make_attribute(key, value))


def _refused(tmp_path, m: onnx.ModelProto, match: str, walk: bool = False) -> str:
    path = tmp_path / "bad.onnx"
    onnx.save(m, str(path))
    with pytest.raises(CompileError, match=match) as info:
        graph = load_qonnx(path)
        if walk:
            lower(graph)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 400, msg
    return msg


def test_good_models_pass(tmp_path):
    for m in (_fc(tmp_path), _conv(tmp_path)):
        onnx.save(m, str(tmp_path / "ok.onnx"))
        lower(load_qonnx(tmp_path / "ok.onnx"))


# ---------------------------------------------------------------- edges


def test_dangling_input(tmp_path):
    m = _fc(tmp_path)
    _node(m, "MatMul", 1).input[0] = "does_not_exist"
    msg = _refused(tmp_path, m, "'does_not_exist' is produced by no node")
    assert msg.startswith("node 'MatMul_")


def test_cycle(tmp_path):
    m = _fc(tmp_path)
    first, last = _node(m, "Quant"), _node(m, "MatMul", 1)
    first.input[0] = last.output[0]
    _refused(tmp_path, m, "the graph has a cycle")


def test_out_of_topological_order(tmp_path):
    m = _fc(tmp_path)
    nodes = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend([nodes[2], nodes[0], nodes[1], *nodes[3:]])
    _refused(tmp_path, m, "read before the node that produces it")


def test_tensor_produced_twice(tmp_path):
    m = _fc(tmp_path)
    _node(m, "BatchNormalization").output[0] = _node(m, "MatMul").output[0]
    _refused(tmp_path, m, "produced twice")


def test_graph_output_not_produced(tmp_path):
    m = _fc(tmp_path)
    m.graph.output[0].name = "nowhere"
    _refused(tmp_path, m, "graph output 'nowhere' is produced by no node")


# ---------------------------------------------------------------- constants


def test_initialiser_of_wrong_dtype(tmp_path):
    m = _fc(tmp_path)
    w = _node(m, "BipolarQuant").input[0]
    _set(m, w, numpy_helper.to_array(_init(m, w)).astype(np.float64))
    _refused(tmp_path, m, f"constant '{w}' is float64, not the model's float type")


@pytest.mark.parametrize(
    ("where", "value", "what"),
    [("weights", np.nan, "NaN"), ("scale", np.inf, "Inf"), ("zero point", -np.inf, "Inf"),
     ("bn mean", np.nan, "NaN")],
)  # fmt: skip
def test_nonfinite_constants(tmp_path, where, value, what):
    m = _fc(tmp_path)
    tensor = {
        "weights": _node(m, "BipolarQuant").input[0],
        "scale": _node(m, "Quant").input[1],
        "zero point": _node(m, "Quant").input[2],
        "bn mean": _node(m, "BatchNormalization").input[3],
    }[where]
    arr = numpy_helper.to_array(_init(m, tensor)).copy()
    arr.reshape(-1)[0] = value
    _set(m, tensor, arr)
    _refused(tmp_path, m, f"constant '{tensor}' holds {what}")


def test_batchnorm_parameters_of_different_lengths(tmp_path):
    m = _fc(tmp_path)
    _set(m, _node(m, "BatchNormalization").input[2], np.zeros(5, np.float32))
    _refused(tmp_path, m, "must be 1-D of one length")


def test_weight_scale_that_does_not_fit(tmp_path):
    m = _fc(tmp_path)
    _set(m, _node(m, "BipolarQuant").input[1], np.ones((1, 7), np.float32))
    _refused(tmp_path, m, r"the scale of shape \[1, 7\] does not fit the tensor \[6, 4\]")


def test_matmul_shapes_that_do_not_fit(tmp_path):
    m = _fc(tmp_path)
    q = _node(m, "BipolarQuant", 1)
    _set(m, q.input[0], np.ones((5, 3), np.float32))
    _set(m, q.input[1], np.ones((1, 3), np.float32))
    _refused(tmp_path, m, "inputs do not fit together")


# ---------------------------------------------------------------- attributes


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [("strides", [0, 1], "strides"), ("pads", [0, -1, 0, 0], "pads"),
     ("dilations", [0, 0], "dilations"), ("group", 0, "group=0"),
     ("kernel_shape", [2, 2], r"kernel_shape \[2, 2\] does not match"),
     ("kernel_shape", [0, 3], "positive")],
)  # fmt: skip
def test_conv_attributes(tmp_path, key, value, match):
    m = _conv(tmp_path)
    conv = _node(m, "Conv")
    if key == "kernel_shape" and value == [2, 2]:  # weights as constant: kernel is checked
        q = _node(m, "BipolarQuant")
        conv.input[1] = q.input[0]
    _attr(conv, key, value)
    _refused(tmp_path, m, match)


def test_flatten_axis(tmp_path):
    m = _conv(tmp_path)
    _attr(_node(m, "Flatten"), "axis", 99)
    _refused(tmp_path, m, "axis=99")


@pytest.mark.parametrize("eps", [0.0, -1e-3, float("nan")])
def test_batchnorm_epsilon_positive(tmp_path, eps):
    m = _fc(tmp_path)
    _attr(_node(m, "BatchNormalization"), "epsilon", eps)
    _refused(tmp_path, m, "epsilon=")


def test_batchnorm_variance_plus_epsilon_positive(tmp_path):
    m = _fc(tmp_path)
    var = _node(m, "BatchNormalization").input[4]
    _set(m, var, np.array([1.0, -1.0, 2.0, 3.0], np.float32))
    _refused(tmp_path, m, "variance \\+ epsilon is not positive in channel 1")


@pytest.mark.parametrize(
    ("bits", "signed", "narrow", "match"),
    [(0.0, 0, 0, "bit width 0 is not an integer"), (2.5, 0, 0, "bit width 2.5"),
     (40.0, 0, 0, "bit width 40"), (1.0, 1, 1, "signed narrow 1-bit"),
     (8.0, 2, 0, "signed=2 must be 0 or 1"), (8.0, 0, None, "needs the attribute 'narrow'")],
)  # fmt: skip
def test_quantiser_bits_and_flags(tmp_path, bits, signed, narrow, match):
    m = _fc(tmp_path)
    q = _node(m, "Quant")
    _set(m, q.input[3], np.float32(bits))
    _attr(q, "signed", signed)
    _attr(q, "narrow", narrow)
    _refused(tmp_path, m, match)


def test_quantiser_rounding_mode_and_zero_scale(tmp_path):
    m = _fc(tmp_path)
    _attr(_node(m, "Quant"), "rounding_mode", "SIDEWAYS")
    _refused(tmp_path, m, "rounding_mode 'SIDEWAYS'")
    m = _fc(tmp_path)
    _set(m, _node(m, "Quant").input[1], np.float32(0))
    _refused(tmp_path, m, "scale .* is zero")


def test_multithreshold_out_dtype(tmp_path):
    m = _fc(tmp_path)
    _attr(_node(m, "MultiThreshold"), "out_dtype", "FLOAT99")
    _refused(tmp_path, m, "out_dtype 'FLOAT99' is not an integer datatype")


def test_gemm_alpha_zero(tmp_path):
    b = FcBuilder(4, 0).quant_input()
    x = b.cur
    w = b.node("BipolarQuant", [b.const(np.ones((3, 4))), b.const(1.0)], "qonnx.custom_op.general")
    b.node("Gemm", [x, w], alpha=0.0, transB=1)
    b.n = 3
    _refused(tmp_path, onnx.load(str(b.save(tmp_path / "g.onnx"))), "alpha=0")


# ---------------------------------------------------------------- opsets and domains


def test_unknown_domain_and_ops(tmp_path):
    m = _fc(tmp_path)
    _node(m, "Neg").domain = "com.example"
    _refused(tmp_path, m, "custom-op domain 'com.example' of op 'Neg' is unknown")
    m = _fc(tmp_path)
    _node(m, "Neg").op_type = "Frobnicate"
    _refused(tmp_path, m, "'Frobnicate' is not an ONNX operator of opset 13")
    m = _fc(tmp_path)
    _node(m, "MultiThreshold").op_type = "Frobnicate"
    _refused(tmp_path, m, "'Frobnicate' is not a known op of domain 'qonnx.custom_op.general'")


def test_unknown_opset(tmp_path):
    m = _fc(tmp_path)
    next(o for o in m.opset_import if o.domain == "").version = 99
    _refused(tmp_path, m, "opset 99")


# ---------------------------------------------------------------- external data


def test_external_data_outside_the_model_folder(tmp_path):
    m = _fc(tmp_path)
    t = _init(m, _node(m, "BipolarQuant").input[0])
    (tmp_path / "secret.bin").write_bytes(t.raw_data or numpy_helper.to_array(t).tobytes())
    t.ClearField("float_data")
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    t.external_data.add(key="location", value="../secret.bin")
    sub = tmp_path / "model"
    sub.mkdir()
    onnx.save(m, str(sub / "m.onnx"))
    with pytest.raises(CompileError, match="outside the model's folder"):
        load_qonnx(sub / "m.onnx")
    t.external_data[0].value = "secret.bin"  # inside the folder: read as usual
    (sub / "secret.bin").write_bytes((tmp_path / "secret.bin").read_bytes())
    onnx.save(m, str(sub / "m.onnx"))
    lower(load_qonnx(sub / "m.onnx"))


# ---------------------------------------------------------------- the walker follows edges


def test_chain_must_end_at_the_graph_output(tmp_path):
    """A graph whose output is the input quantiser's tensor, with the layers hanging off
    it: the walker reaches a dead end that is not the output."""
    m = _fc(tmp_path)
    m.graph.output[0].name = _node(m, "Quant").output[0]
    m.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 6
    _refused(tmp_path, m, "ends at tensor .*, not at the graph output", walk=True)


def test_swapped_inputs_are_not_taken_for_data(tmp_path):
    """The model input reaches the input quantiser as its scale. Import validation
    refuses it (shapes); the walker on its own (no validation) must not take the
    tensor for the quantised data either."""
    m = _fc(tmp_path)
    q = _node(m, "Quant")
    q.input[0], q.input[1] = q.input[1], q.input[0]
    _refused(tmp_path, m, "inputs do not fit together", walk=True)
    with pytest.raises(CompileError, match="'global_in' enters Quant as a parameter"):
        lower(_to_graph(m))
    m = _fc(tmp_path)
    mm = _node(m, "MatMul", 1)
    mm.input[0], mm.input[1] = mm.input[1], mm.input[0]
    with pytest.raises(CompileError, match="enters MatMul as a parameter"):
        lower(_to_graph(m))


def test_verify_and_sim_give_the_compilers_sentence(tmp_path, capsys):
    m = _fc(tmp_path)
    _node(m, "MatMul", 1).input[0] = "does_not_exist"
    path = tmp_path / "bad.onnx"
    onnx.save(m, str(path))
    assert main(["verify", str(path), "--no-rtl", "--no-hls", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "produced by no node" in err and len(err.strip().splitlines()) == 1
