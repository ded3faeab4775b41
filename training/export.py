"""QONNX export of halfwave models, built directly with onnx.helper.

The graph reproduces the float64 PyTorch model: every constant is float32-exact (see
quantizers.py), BatchNorm parameters are exported unfolded with the model's epsilon.

Emitted ops, per model part (float32 initializers; tensors NCHW in convolutional models):
- input:      Quant(global_in, scale 1, zeropt 0, bitwidth 8; signed 0, narrow 0, ROUND);
              global_in is (N, 64) for FC models, (N, 3, H, W) for convolutional ones
- weights:    BipolarQuant(W, alpha) for 1 bit, Quant(W, scale, 0, k; signed 1, narrow 1,
              ROUND) for k bits; W is (MH, MW) with scale (MH, 1) for FC layers, (OC, IC,
              KH, KW) with scale (OC, 1, 1, 1) for convolutions
- ternary:    Quant(W, S, 0, 2; signed 1, narrow 1, ROUND), W the ternary weights (values
              +Wp, 0, -Wn exactly); TTQ: S elementwise, the shape of W, Wp where the code
              is 0 or +1 and Wn where it is -1 (so S * clip(round(W / S), -1, 1) = W; Wp,
              Wn on one fixed-point grid, Wp/Wn = kp/kn); TWN: S the scalar alpha
- FC:         Gemm(x, Wq, transB=1)
- conv:       Conv(x, Wq; kernel_shape [KH, KW], strides [s, s], pads [p, p, p, p]
              (top, left, bottom, right), dilations [1, 1], group 1), no bias
- max pool:   MaxPool(x; kernel_shape [k, k], strides [s, s], pads [0, 0, 0, 0],
              ceil_mode 0), where the model pools: after the activation (CNV) or between
              Conv and BatchNormalization (HWGQ AlexNet conv1, conv2)
- flatten:    Flatten(x; axis 1) between the last conv block and the first FC layer
- BatchNorm:  BatchNormalization(x, gamma, beta, running_mean, running_var, epsilon)
- sign act:   BipolarQuant(x, 1.0)
- HWGQ k-bit: Neg -> MultiThreshold(thresholds (1, N) = sorted(-t_k), out_dtype UINTk,
              data_layout NC or NCHW) -> Sub(N - count) -> Mul(step); this is
              step * #(x > t_k)
- QuantReLU:  Quant(x, scale, 0, k; signed 0, narrow 0, ROUND)
- head:       Gemm -> Mul(out_scale (classes,)) -> Add(out_bias (classes,)) -> global_out
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from halfwave.compiler.errors import HalfwaveError

from .conv_models import QuantCNN
from .models import QuantMLP, build_model
from .quantizers import HWGQ, QuantConv2d, QuantLinear, SignAct, UniformReLU
from .ternary import TERNARY_LAYERS
from .train import load_checkpoint

OPSET = 13
QONNX_DOMAIN = "qonnx.custom_op.general"


class ExportError(HalfwaveError, ValueError):
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


def _quant_weights(g: _Graph, idx: int, wq: np.ndarray, scale: np.ndarray, bits: int) -> str:
    w = g.const(f"W{idx}", wq)
    s = g.const(f"W{idx}_scale", scale)
    z = g.const(f"W{idx}_zeropt", np.float32(0.0))
    b = g.const(f"W{idx}_bitwidth", np.float32(bits))
    return g.node("Quant", [w, s, z, b], wq.shape, signed=1, narrow=1, rounding_mode="ROUND")


def _ternary_weights(g: _Graph, lin, idx: int) -> str:
    w, s = lin.export_arrays()
    wq = _f32(w, f"layer {idx} ternary weights")
    scale = _f32(s, f"layer {idx} ternary scales")
    codes = np.clip(np.round(wq.astype(np.float64) / scale), -1, 1) * scale
    if not np.array_equal(codes, wq):  # what Quant computes must be the weights
        raise ExportError(f"layer {idx}: ternary weights are not scale * code")
    return _quant_weights(g, idx, wq, scale, 2)


def _weights(g: _Graph, lin: QuantLinear | QuantConv2d, idx: int) -> str:
    if isinstance(lin, TERNARY_LAYERS):
        return _ternary_weights(g, lin, idx)
    with torch.no_grad():
        codes, scale = lin.weight_codes_and_scale()
    codes = codes.double().numpy()
    ones = (1,) * (codes.ndim - 1)
    scale = _f32(scale.double().numpy().reshape(-1, *ones), f"layer {idx} weight scale")
    shape = codes.shape
    if lin.bits == 1:
        w = g.const(f"W{idx}", codes.astype(np.float32))  # +-1: sign(W) with W >= 0 -> +1
        s = g.const(f"W{idx}_scale", scale)
        return g.node("BipolarQuant", [w, s], shape)
    wq = _f32(codes * scale.astype(np.float64), f"layer {idx} quantised weights")
    return _quant_weights(g, idx, wq, scale, lin.bits)


def _activation(g: _Graph, act, x: str, width: int | tuple[int, ...], idx: int) -> str:
    """The activation ops; ``width``: channels of an (N, C) tensor or a full shape."""
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
            data_layout="NCHW" if isinstance(width, tuple) and len(width) == 4 else "NC",
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


def _input(g: _Graph, shape: int | tuple[int, ...]) -> str:
    ins = [
        g.const("in_scale", np.float32(1.0)),
        g.const("in_zeropt", np.float32(0.0)),
        g.const("in_bitwidth", np.float32(8.0)),
    ]
    return g.node("Quant", ["global_in", *ins], shape, signed=0, narrow=0, rounding_mode="ROUND")


def _batchnorm(g: _Graph, bn, x: str, shape: int | tuple[int, ...], i: int) -> str:
    bn_ins = [
        g.const(f"bn{i}_{k}", _f32(getattr(bn, k).detach().numpy(), f"bn{i} {k}"))
        for k in ("weight", "bias", "running_mean", "running_var")
    ]
    return g.node(
        "BatchNormalization",
        [x, *bn_ins],
        shape,
        epsilon=float(_f32(bn.eps, f"bn{i} epsilon")),
    )


def _dense(g: _Graph, m: QuantMLP | QuantCNN, x: str, first: int) -> str:
    """Hidden FC layers (numbered from ``first``) and the head; returns global_out."""
    for j, (lin, bn, act) in enumerate(zip(m.linears, m.bns, m.acts, strict=True)):
        i = first + j
        w = _weights(g, lin, i)
        x = g.node("Gemm", [x, w], lin.out_features, transB=1)
        x = _batchnorm(g, bn, x, lin.out_features, i)
        x = _activation(g, act, x, lin.out_features, i)
    w = _weights(g, m.out_linear, first + len(m.linears))
    x = g.node("Gemm", [x, w], m.out_linear.out_features, transB=1)
    x = g.node(
        "Mul",
        [x, g.const("out_scale", _f32(m.out_scale.detach().numpy(), "out_scale"))],
        m.out_linear.out_features,
    )
    return g.node(
        "Add",
        [x, g.const("out_bias", _f32(m.out_bias.detach().numpy(), "out_bias"))],
        m.out_linear.out_features,
        out="global_out",
    )


def _maxpool(g: _Graph, x: str, pool: tuple[int, int], shape: tuple[int, ...]) -> str:
    k, s = pool
    return g.node(
        "MaxPool", [x], shape, kernel_shape=[k, k], strides=[s, s], pads=[0, 0, 0, 0], ceil_mode=0
    )


def _convs(g: _Graph, m: QuantCNN, x: str) -> str:
    """The convolution blocks of ``m`` (layers numbered from 0) and the flatten."""
    n = g.batch
    h = m.input_shape[1]
    for i, (layer, conv, bn, act) in enumerate(
        zip(m.arch.convs, m.convs, m.conv_bns, m.conv_acts, strict=True)
    ):
        w = _weights(g, conv, i)
        h = conv.out_size(h)
        shape = (n, conv.out_channels, h, h)
        k, s, p = conv.kernel, conv.stride, conv.pad
        x = g.node(
            "Conv",
            [x, w],
            shape,
            kernel_shape=[k, k],
            strides=[s, s],
            pads=[p, p, p, p],
            dilations=[1, 1],
            group=1,
        )
        if layer.pool is not None:
            ph = (h - layer.pool[0]) // layer.pool[1] + 1
            pooled = (n, conv.out_channels, ph, ph)
        if layer.pool is not None and layer.pool_before_bn:
            x, shape = _maxpool(g, x, layer.pool, pooled), pooled
        x = _batchnorm(g, bn, x, shape, i)
        x = _activation(g, act, x, shape, i)
        if layer.pool is not None and not layer.pool_before_bn:
            x, shape = _maxpool(g, x, layer.pool, pooled), pooled
        h = shape[2]
        if shape[1:] != m.shapes[i]:
            raise ExportError(f"conv {i}: output shape {shape[1:]}, model says {m.shapes[i]}")
    return g.node("Flatten", [x], m.flat_features, axis=1)


def build_qonnx(model: QuantMLP | QuantCNN, batch_size: int = 1) -> onnx.ModelProto:
    """The QONNX ModelProto of ``model`` (not modified) for a fixed batch size."""
    spec = model.spec
    if spec.act == "float" or spec.wbits == 0:
        raise ExportError(f"{spec.name}: float models have no quantisers; nothing to export")
    m = copy.deepcopy(model).double().eval()
    g = _Graph(batch_size)
    if isinstance(m, QuantCNN):
        in_shape = (batch_size, *m.input_shape)
        x = _convs(g, m, _input(g, in_shape))
        _dense(g, m, x, len(m.convs))
    else:
        in_shape = (batch_size, 64)
        _dense(g, m, _input(g, 64), 0)
    classes = m.out_linear.out_features
    graph = helper.make_graph(
        g.nodes,
        spec.name,
        [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, list(in_shape))],
        [helper.make_tensor_value_info("global_out", TensorProto.FLOAT, [batch_size, classes])],
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
    model_or_name: QuantMLP | QuantCNN | str,
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
