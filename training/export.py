"""QONNX export of halfwave models by Brevitas (``brevitas.export.export_qonnx``).

The models are ``brevitas.nn`` modules; halfwave's own quantisers bring their export
handlers (HWGQ: brevitas_quant.py, TTQ/TWN: ternary.py), registered with Brevitas'
QONNXManager when those modules are imported. What the compiler then reads, per part:
- input:      Quant(x, scale 1, zeropt 0, bitwidth 8; signed 0, narrow 0, ROUND)
- weights:    BipolarQuant(W, 1) for binary weights; Quant(W, 2^-k, 0, bits; signed,
              narrow, ROUND) for k-bit ones (power-of-two scale per output channel);
              ternary: Quant(W, S, 0, 2; signed, narrow, ROUND), W the ternary weights,
              S elementwise (TTQ) or scalar (TWN); see ternary.py
- FC / conv:  Gemm (or MatMul) / Conv without bias; MaxPool; Flatten or Reshape
- BatchNorm:  BatchNormalization (statistics and float32 epsilon, unfolded)
- sign act:   BipolarQuant(x, 1)
- HWGQ k-bit: Neg -> MultiThreshold(sorted(-t_k), UINTk) -> Sub(N - count) -> Mul(step)
- QuantReLU:  Quant(x, scale, 0, k; signed 0, narrow 0, ROUND)
- head:       Gemm -> Mul(out_scale) -> Add(out_bias)
- residual:   Add(BatchNormalization output, shortcut) -> HWGQ; the shortcut is the
              block input (an HWGQ Mul or a MaxPool of one) or a second
              BatchNormalization (1x1 conv shortcut); see res_models.py
- inception:  Concat(axis 1) of four HWGQ Mul outputs (equal scales)
- global average pool: GlobalAveragePool (the exporter's ReduceMean over H and W with
              keepdims, rewritten), then Reshape to (N, C)
The model is exported in float32 and eval mode (dropout and stochastic binarization off);
its input is named ``global_in`` and its output ``global_out``.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from .brevitas_quant import HWGQExportError  # importing it registers the HWGQ handler
from .errors import TrainingError
from .models import build_model
from .train import load_checkpoint

EXPORT_OPSET = 18


class ExportError(TrainingError):
    """The model cannot be expressed in the QONNX forms halfwave's compiler accepts."""


def build_qonnx(model: nn.Module, batch_size: int = 1) -> onnx.ModelProto:
    """The QONNX ModelProto of ``model`` (not modified) for a fixed batch size."""
    from brevitas.export import export_qonnx as brevitas_export_qonnx

    spec = model.spec
    if spec.act == "float" or spec.wbits == 0:
        raise ExportError(f"{spec.name}: float models have no quantisers; nothing to export")
    m = copy.deepcopy(model).float().eval()
    x = torch.zeros(batch_size, *model.input_shape)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            proto = brevitas_export_qonnx(m, x, opset_version=EXPORT_OPSET, verbose=False)
    except HWGQExportError as e:
        raise ExportError(f"{spec.name}: {e} (train a model without _hwgqnu)") from None
    proto.graph.name = spec.name
    _global_average_pools(proto.graph)
    _rename(proto.graph, proto.graph.input[0].name, "global_in")
    _rename(proto.graph, proto.graph.output[0].name, "global_out")
    return proto


def _global_average_pools(graph: onnx.GraphProto) -> None:
    """Rewrite ReduceMean over the two spatial axes of an NCHW tensor with keepdims (what
    the exporter writes for ``AdaptiveAvgPool2d(1)``) as ONNX GlobalAveragePool, the same
    computation; other ReduceMeans are kept."""
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in graph.value_info}
    for i, node in enumerate(graph.node):
        if node.op_type != "ReduceMean" or len(node.input) != 2 or node.input[1] not in inits:
            continue
        if ranks.get(node.input[0]) != 4:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        axes = sorted(int(a) % 4 for a in inits[node.input[1]].reshape(-1))
        if axes != [2, 3] or attrs.get("keepdims", 1) != 1:
            continue
        gap = onnx.helper.make_node(
            "GlobalAveragePool", [node.input[0]], list(node.output), name=node.name
        )
        graph.node.remove(node)
        graph.node.insert(i, gap)
        if not any(node.input[1] in n.input for n in graph.node):
            graph.initializer.remove(next(t for t in graph.initializer if t.name == node.input[1]))


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Rename tensor ``old`` to ``new`` everywhere in the graph (inputs, outputs, nodes)."""
    for v in (*graph.input, *graph.output, *graph.value_info):
        if v.name == old:
            v.name = new
    for node in graph.node:
        node.input[:] = [new if t == old else t for t in node.input]
        node.output[:] = [new if t == old else t for t in node.output]


def export_qonnx(
    model_or_name: nn.Module | str,
    ckpt: Path | str | None,
    out: Path | str,
    batch_size: int = 1,
) -> Path:
    """Write the QONNX file of a model to ``out`` and return its path.

    ``model_or_name``: a model (its current parameters, or those of ``ckpt`` when given)
    or a model name (loaded from ``ckpt``; freshly initialised when ``ckpt`` is None)."""
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
