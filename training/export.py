"""QONNX export of halfwave models, built directly with onnx.helper.

The graph reproduces the float64 PyTorch model: every constant is float32-exact (see
quantizers.py), BatchNorm parameters are exported unfolded with the model's epsilon.

Emitted ops, per model part:
- input:      Quant(global_in, scale 1, zeropt 0, bitwidth 8; signed 0, narrow 0, ROUND)
- weights:    BipolarQuant(W, alpha (MH,1)) for 1 bit, Quant(W, scale (MH,1), 0, k;
              signed 1, narrow 1, ROUND) for k bits; then Gemm(x, Wq, transB=1)
- BatchNorm:  BatchNormalization(x, gamma, beta, running_mean, running_var, epsilon)
- sign act:   BipolarQuant(x, 1.0)
- HWGQ k-bit: Neg -> MultiThreshold(thresholds (1, N) = sorted(-t_k), out_dtype UINTk,
              data_layout NC) -> Sub(N - count) -> Mul(step); this is step * #(x > t_k)
- QuantReLU:  Quant(x, scale, 0, k; signed 0, narrow 0, ROUND)
- head:       Gemm -> Mul(out_scale (10,)) -> Add(out_bias (10,)) -> global_out
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .models import QuantMLP, build_model
from .quantizers import HWGQ, QuantLinear, SignAct, UniformReLU
from .train import load_checkpoint

OPSET = 13
QONNX_DOMAIN = "qonnx.custom_op.general"


class ExportError(ValueError):
    """The model cannot be expressed in the QONNX forms halfwave's compiler accepts."""


def _f32(a, what: str) -> np.ndarray:
    """float64 array -> float32, refusing any value that float32 cannot hold exactly."""
    a64 = np.asarray(a, dtype=np.float64)
    a32 = a64.astype(np.float32)
    if not np.array_equal(a32.astype(np.float64), a64):
        raise ExportError(f"{what}: values are not exactly representable in float32")
    return a32


class _Graph:
    def __init__(self, batch: int):
        self.batch = batch
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.vinfo: list[onnx.ValueInfoProto] = []
        self.counts: dict[str, int] = {}

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs, width, out: str | None = None, **attrs) -> str:
        """Add a node; ``width``: channels of a (batch, width) output, or a full shape."""
        i = self.counts.get(op, 0)
        self.counts[op] = i + 1
        name = f"{op}_{i}"
        out = out or f"{name}_out0"
        domain = QONNX_DOMAIN if op in ("Quant", "BipolarQuant", "MultiThreshold") else ""
        self.nodes.append(
            helper.make_node(op, list(inputs), [out], name=name, domain=domain, **attrs)
        )
        shape = list(width) if isinstance(width, tuple) else [self.batch, width]
        if out != "global_out":
            self.vinfo.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, shape))
        return out


def _weights(g: _Graph, lin: QuantLinear, idx: int) -> str:
    with torch.no_grad():
        codes, scale = lin.weight_codes_and_scale()
    codes = codes.double().numpy()
    scale = _f32(scale.double().numpy().reshape(-1, 1), f"layer {idx} weight scale")
    mh, mw = codes.shape
    if lin.bits == 1:
        w = g.const(f"W{idx}", codes.astype(np.float32))  # +-1: sign(W) with W >= 0 -> +1
        s = g.const(f"W{idx}_scale", scale)
        return g.node("BipolarQuant", [w, s], (mh, mw))
    wq = _f32(codes * scale.astype(np.float64), f"layer {idx} quantised weights")
    w = g.const(f"W{idx}", wq)
    s = g.const(f"W{idx}_scale", scale)
    z = g.const(f"W{idx}_zeropt", np.float32(0.0))
    b = g.const(f"W{idx}_bitwidth", np.float32(lin.bits))
    return g.node("Quant", [w, s, z, b], (mh, mw), signed=1, narrow=1, rounding_mode="ROUND")


def _activation(g: _Graph, act, x: str, width: int, idx: int) -> str:
    if isinstance(act, SignAct):
        return g.node("BipolarQuant", [x, g.const(f"act{idx}_scale", np.float32(1.0))], width)
    if isinstance(act, HWGQ):
        if not act.uniform:
            raise ExportError(
                f"activation {idx}: non-uniform HWGQ has no integer code scale; halfwave's "
                f"hardware path supports uniform HWGQ only (train a model without _hwgqnu)"
            )
        t = act.thresholds.double().numpy()
        n = len(t)
        neg = g.node("Neg", [x], width)
        thr = g.const(f"act{idx}_thresholds", _f32(np.sort(-t).reshape(1, n), "thresholds"))
        cnt = g.node(
            "MultiThreshold",
            [neg, thr],
            width,
            out_dtype=f"UINT{act.bits}",
            data_layout="NC",
            out_scale=1.0,
            out_bias=0.0,
        )
        code = g.node("Sub", [g.const(f"act{idx}_n", np.float32(n)), cnt], width)
        return g.node("Mul", [code, g.const(f"act{idx}_step", _f32(act.step, "step"))], width)
    if isinstance(act, UniformReLU):
        s = _f32(float(act.scale(torch.float64).detach()), f"activation {idx} scale")
        ins = [
            x,
            g.const(f"act{idx}_scale", s),
            g.const(f"act{idx}_zeropt", np.float32(0)),
            g.const(f"act{idx}_bitwidth", np.float32(act.bits)),
        ]
        return g.node("Quant", ins, width, signed=0, narrow=0, rounding_mode="ROUND")
    raise ExportError(f"activation {idx}: {type(act).__name__} has no QONNX form here")


def build_qonnx(model: QuantMLP, batch_size: int = 1) -> onnx.ModelProto:
    """The QONNX ModelProto of ``model`` (not modified) for a fixed batch size."""
    spec = model.spec
    if spec.act == "float" or spec.wbits == 0:
        raise ExportError(f"{spec.name}: float models have no quantisers; nothing to export")
    m = copy.deepcopy(model).double().eval()
    g = _Graph(batch_size)
    ins = [
        g.const("in_scale", np.float32(1.0)),
        g.const("in_zeropt", np.float32(0.0)),
        g.const("in_bitwidth", np.float32(8.0)),
    ]
    x = g.node("Quant", ["global_in", *ins], 64, signed=0, narrow=0, rounding_mode="ROUND")
    for i, (lin, bn, act) in enumerate(zip(m.linears, m.bns, m.acts, strict=True)):
        w = _weights(g, lin, i)
        x = g.node("Gemm", [x, w], lin.out_features, transB=1)
        bn_ins = [
            g.const(f"bn{i}_{k}", _f32(getattr(bn, k).detach().numpy(), f"bn{i} {k}"))
            for k in ("weight", "bias", "running_mean", "running_var")
        ]
        x = g.node(
            "BatchNormalization",
            [x, *bn_ins],
            lin.out_features,
            epsilon=float(_f32(bn.eps, f"bn{i} epsilon")),
        )
        x = _activation(g, act, x, lin.out_features, i)
    w = _weights(g, m.out_linear, len(m.linears))
    x = g.node("Gemm", [x, w], m.out_linear.out_features, transB=1)
    x = g.node(
        "Mul",
        [x, g.const("out_scale", _f32(m.out_scale.detach().numpy(), "out_scale"))],
        m.out_linear.out_features,
    )
    g.node(
        "Add",
        [x, g.const("out_bias", _f32(m.out_bias.detach().numpy(), "out_bias"))],
        m.out_linear.out_features,
        out="global_out",
    )
    graph = helper.make_graph(
        g.nodes,
        spec.name,
        [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [batch_size, 64])],
        [helper.make_tensor_value_info("global_out", TensorProto.FLOAT, [batch_size, 10])],
        initializer=g.inits,
        value_info=g.vinfo,
    )
    proto = helper.make_model(
        graph,
        producer_name="halfwave.training",
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(QONNX_DOMAIN, 1)],
    )
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    return proto


def export_qonnx(
    model_or_name: QuantMLP | str,
    ckpt: Path | str | None,
    out: Path | str,
    batch_size: int = 1,
) -> Path:
    """Write the QONNX file of a model to ``out`` and return its path.

    ``model_or_name``: a model (its current parameters, or those of ``ckpt`` when given)
    or a model name (loaded from ``ckpt``; freshly initialised when ``ckpt`` is None).
    The same parameters always give byte-identical files."""
    if isinstance(model_or_name, str):
        if ckpt is not None:
            model = load_checkpoint(ckpt, name=model_or_name)
        else:
            model = build_model(model_or_name).eval()
    else:
        model = model_or_name
        if ckpt is not None:
            model = copy.deepcopy(model)
            model.load_state_dict(load_checkpoint(ckpt, name=model.name).state_dict())
    proto = build_qonnx(model, batch_size)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(proto.SerializeToString(deterministic=True))
    return out
