"""Lowering: a cleaned-up QONNX graph of a feed-forward network -> Dataflow IR.

The graph is walked as a DAG from the input quantiser (_Walk): every tensor reached
carries a descriptor (quantised codes `Quantized`, raw MVU accumulators through their
exact affine map `lower_join.Raw`, or requantised codes `lower_join.Mapped`) and the IR
node producing it; nodes are emitted in a topological order, `Dataflow.inputs` names the
producers of a node that does not take the node before it, and a join (Add/Concat of
streams) is lowered once all its inputs are there (lower_join: exact integer forms).
Along a path: per layer a matmul or convolution, the per-channel affine ops that follow
it (bias, scales, BatchNorm, in any order with at most one MaxPool among them), an
optional Relu/Clip and a quantiser (Quant, BipolarQuant or MultiThreshold, then scalar
affine ops). Each layer becomes one MVU node (after a SlidingWindow node for a
convolution) whose integer thresholds reproduce the quantiser exactly
(thresholds.derive_thresholds); a MaxPool inside the layer becomes a MaxPool node on the
quantised codes after it (see _fused_pool); a MaxPool between layers pools codes
directly (padded: a 1x1 SlidingWindow pads with the smallest code first). A layer ending
at an Add of two streams, and a last layer without quantiser, output accumulators.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from . import preprocess
from .blocks.avgpool import AvgPool, sum_dtype
from .datatypes import BIPOLAR, DataType
from .errors import CompileError
from .exact import Affine, exact
from .ir import INPUT, MVU, Boundary, Dataflow, InputQuant, MaxPool, SlidingWindow, TopK
from .lower_conv import (
    Window,
    flatten_columns,
    im2col_columns,
    pool_window,
    sliding_window,
    window_of,
)
from .lower_join import Mapped, Raw, concat_scale, fold_add
from .onnx_graph import Node, OnnxGraph
from .thresholds import Step, derive_thresholds

SHAPE_OPS = {"Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze"}
AFFINE_OPS = {"Add", "Sub", "Mul", "Div", "Neg", "BatchNormalization"}
QUANT_OPS = {"Quant", "BipolarQuant", "MultiThreshold"}
CLIP_OPS = {"Relu", "Clip"}
MATMUL_OPS = {"MatMul", "Gemm"}
AVGPOOL_OPS = {"AveragePool", "GlobalAveragePool", "ReduceMean"}  # ReduceMean over H, W


@dataclass
class Quantized:
    """A tensor in the graph that equals scale * value with integer values."""

    tensor: str
    scale: Fraction
    dtype: DataType
    chw: tuple[int, int, int] | None = None  # image (C, H, W); None: a flat vector


def lower(graph: OnnxGraph, model_name: str = "model") -> Dataflow:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise CompileError(
            f"the graph has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
            "halfwave compiles single-input single-output networks"
        )
    inq, cur = _input_quantizer(graph, graph.inputs[0])
    walk = _Walk(graph)
    walk.push(cur, INPUT)
    while walk.queue:
        desc, src = walk.queue.pop(0)
        walk.step(desc, src)
    if not walk.nodes or not any(isinstance(n, MVU) for n in walk.nodes):
        raise CompileError("the graph has no matrix-vector layer")
    if walk.pending:
        name = next(iter(walk.pending))
        raise CompileError("not every input of this join is reachable from the model input", name)
    if walk.end is None:
        raise CompileError(f"no branch of the graph reaches the graph output '{graph.outputs[0]}'")
    if walk.end != walk.nodes[-1].name:
        raise CompileError(
            f"the graph output '{graph.outputs[0]}' is not the last node reached "
            f"(node '{walk.nodes[-1].name}' comes after it)"
        )
    inputs = {k: v for k, v in walk.inputs.items()}
    return Dataflow(model_name, inq, walk.nodes, graph.outputs[0], inputs=inputs)


JOIN_OPS = {"Add", "Concat"}


class _Walk:
    """The graph as a DAG: each tensor reached carries a descriptor (Quantized codes, Raw
    accumulators) and the IR node producing it; nodes are emitted in a topological order,
    a join once all its inputs are there."""

    def __init__(self, graph: OnnxGraph):
        self.graph = graph
        self.nodes: list = []
        self.inputs: dict[str, list[str]] = {}
        self.queue: list = []
        self.pending: dict[str, dict[int, tuple]] = {}
        self.end: str | None = None

    def push(self, desc, src: str) -> None:
        self.queue.append((desc, src))

    def emit(self, new: list, srcs: list[str]) -> str:
        prev = self.nodes[-1].name if self.nodes else INPUT
        if srcs != [prev]:
            self.inputs[new[0].name] = list(srcs)
        self.nodes += new
        return new[-1].name

    def is_join(self, node: Node) -> bool:
        if node.op == "Concat":
            return True
        return node.op == "Add" and all(self.graph.const(t) is None for t in node.inputs[:2])

    def step(self, desc, src: str) -> None:
        graph = self.graph
        tensor = _skip_shape_ops(graph, desc.tensor)
        consumers = graph.consumers(tensor)
        if isinstance(desc, Mapped) and not all(
            n.op == "Add" and self.is_join(n) for n in consumers
        ):
            desc, src = self.materialise(desc, src)  # only an Add folds a requantiser
        if not consumers:
            _ends_at_output(graph, tensor)
            self.end = src
            return
        for node in consumers:
            if node.op in SHAPE_OPS:
                self.push(_retensor(desc, node.outputs[0]), src)
            elif self.is_join(node):
                self.arrive(node, tensor, desc, src)
            else:
                self.lower_op(node, tensor, desc, src)

    def arrive(self, node: Node, tensor: str, desc, src: str) -> None:
        got = self.pending.setdefault(node.name, {})
        for i, t in enumerate(node.inputs):
            if t == tensor and i not in got:
                got[i] = (desc, src)
        if len(got) == len(node.inputs):
            del self.pending[node.name]
            parts = [got[i] for i in range(len(node.inputs))]
            if node.op == "Concat":
                parts = [self.materialise(*p) if isinstance(p[0], Mapped) else p for p in parts]
                out_desc, new = _concat(self.graph, node, [p[0] for p in parts],
                                        f"concat{len(self.nodes)}")  # fmt: skip
            else:
                out_desc, new = self.add(node, parts)
            self.push(out_desc, self.emit([new], [p[1] for p in parts]))

    def materialise(self, desc: Mapped, src: str) -> tuple[Quantized, str]:
        """Requantised codes as a stream of their own (an identity MVU)."""
        mvu, qd = _requant_layer(self.graph, desc, f"mvu{len(self.nodes)}")
        return qd, self.emit([mvu], [src])

    def add(self, node: Node, parts: list[tuple]) -> tuple:
        """An Add; a requantised input that no integer form D*a + N*b folds becomes a
        stream of its own first (an identity MVU with the requantiser's thresholds)."""
        try:
            return _add(self.graph, node, parts[0][0], parts[1][0], f"add{len(self.nodes)}")
        except CompileError:
            if not any(isinstance(p[0], Mapped) for p in parts):
                raise
        for i, (desc, src) in enumerate(parts):
            if isinstance(desc, Mapped):
                parts[i] = self.materialise(desc, src)
        return _add(self.graph, node, parts[0][0], parts[1][0], f"add{len(self.nodes)}")

    def lower_op(self, node: Node, tensor: str, desc, src: str) -> None:
        graph = self.graph
        if isinstance(desc, Raw):
            raise CompileError(
                f"the raw accumulators '{desc.tensor}' feed {node.op}; halfwave adds them to "
                "another stream only (Add, then a quantiser)",
                node.name,
            )
        if isinstance(desc, Mapped):
            raise CompileError(
                f"requantised codes '{desc.tensor}' (a quantiser on an already quantised "
                f"tensor) feed {node.op}; halfwave folds a requantisation only into an Add",
                node.name,
            )
        _is_data_input(node, tensor)
        k = len(self.nodes)
        if node.op in QUANT_OPS and desc.scale > 0:
            self.push(_requant(graph, node, desc), src)
            return
        if node.op in MATMUL_OPS or node.op == "Conv":
            if desc.scale == 0:  # the raw output layer
                raise CompileError("a layer follows an unquantised layer output", node.name)
            layer, out = _lower_layer(graph, node, desc, k)
        elif node.op == "MaxPool":
            layer, out = _pool_on_codes(graph, node, desc, k)
        elif node.op in AVGPOOL_OPS:
            pool, out = _avg_pool(graph, node, desc, f"avgpool{k}")
            layer = [pool]
        elif node.op in ("TopK", "ArgMax") and self.nodes and src == self.nodes[-1].name:
            prod = self.nodes[-1]
            if not isinstance(prod, MVU):
                raise CompileError(_unsupported(node), node.name)
            self.nodes.append(_lower_topk(graph, node, prod))
            self.end = self.nodes[-1].name
            return
        else:
            raise CompileError(_unsupported(node), node.name)
        self.push(out, self.emit(layer, [src]))


def _retensor(desc, tensor: str):
    return replace(desc, tensor=tensor)


def _ends_at_output(graph: OnnxGraph, tensor: str) -> None:
    """The walk along the edges must end at the graph's output: anything else means a
    part of the graph the chain never reached."""
    if tensor != graph.outputs[0]:
        raise CompileError(
            f"the chain of layers ends at tensor '{tensor}', not at the graph output "
            f"'{graph.outputs[0]}'"
        )


def _is_data_input(node: Node, tensor: str) -> None:
    """The chain's tensor must enter a layer op as its data input (input 0), not as a
    weight, scale or bias (binary affine ops take it on either side)."""
    if node.op in AFFINE_OPS - {"BatchNormalization"}:
        if tensor in node.inputs[:2]:
            return
    elif node.inputs and node.inputs[0] == tensor and tensor not in node.inputs[1:]:
        return
    raise CompileError(
        f"tensor '{tensor}' enters {node.op} as a parameter, not as its data", node.name
    )


def _unsupported(node: Node) -> str:
    return (
        f"op '{node.op}' is not supported here (halfwave lowers MatMul/Gemm/Conv, MaxPool, "
        "AveragePool/GlobalAveragePool of quantised codes, "
        "per-channel Add/Sub/Mul/Div/BatchNormalization, Relu/Clip, "
        "Quant/BipolarQuant/MultiThreshold, Flatten/Reshape, TopK)"
    )


def _only_consumer(graph: OnnxGraph, tensor: str) -> Node:
    consumers = graph.consumers(tensor)
    if len(consumers) != 1:
        names = ", ".join(c.name for c in consumers)
        raise CompileError(
            f"tensor '{tensor}' feeds {len(consumers)} nodes ({names}); halfwave branches "
            "quantised tensors only (quantise it before the branch)",
            consumers[0].name,
        )
    return consumers[0]


def _skip_shape_ops(graph: OnnxGraph, tensor: str) -> str:
    while True:
        consumers = graph.consumers(tensor)
        if len(consumers) != 1 or consumers[0].op not in SHAPE_OPS:
            return tensor
        tensor = consumers[0].outputs[0]


def _scalar(graph: OnnxGraph, node: Node, idx: int, what: str) -> Fraction:
    arr = _const_input(graph, node, idx, what)
    if arr.size != 1:
        raise CompileError(
            f"{what} must be one value per tensor, got shape {list(arr.shape)}", node.name
        )
    return exact(arr.reshape(-1)[0])


def _const_input(graph: OnnxGraph, node: Node, idx: int, what: str) -> np.ndarray:
    if idx >= len(node.inputs) or not node.inputs[idx]:
        raise CompileError(f"missing {what}", node.name)
    arr = graph.const(node.inputs[idx])
    if arr is None:
        raise CompileError(f"{what} ('{node.inputs[idx]}') is not a constant", node.name)
    return np.asarray(arr)


# ---------------------------------------------------------------- input quantiser


def _input_quantizer(graph: OnnxGraph, x: str) -> tuple[InputQuant, Quantized]:
    inq, cur = _input_quantizer_flat(graph, x)
    if len(inq.shape) == 3:
        inq.channels_last = True
        cur.chw = (int(inq.shape[0]), int(inq.shape[1]), int(inq.shape[2]))
    elif len(inq.shape) not in (1,):
        raise CompileError(
            f"the model input '{x}' has shape {inq.shape} per frame; halfwave takes vectors "
            "(N, F) or images (N, C, H, W)"
        )
    return inq, cur


def _input_quantizer_flat(graph: OnnxGraph, x: str) -> tuple[InputQuant, Quantized]:
    shape = [d for d in graph.shapes.get(x, [])[1:]]
    dt_name = graph.datatypes.get(x, "FLOAT32")
    if dt_name not in ("FLOAT32", "FLOAT16", ""):
        dt = DataType.parse(dt_name)
        return InputQuant(shape, dt.name, "integer", tensor=x), Quantized(x, Fraction(1), dt)
    pre, qin = preprocess.from_graph(graph, x)
    if pre is not None:
        shape = pre.out_shape()
    consumers = graph.consumers(_skip_shape_ops(graph, qin))
    if len(consumers) == 1 and consumers[0].op not in QUANT_OPS | MATMUL_OPS | {"Conv"}:
        raise CompileError(preprocess.unsupported(consumers[0]), consumers[0].name)
    if len(consumers) != 1 or consumers[0].op not in ("Quant", "BipolarQuant"):
        raise CompileError(
            f"the model input '{x}' is float and not quantised by a Quant/BipolarQuant node; "
            "add an input quantiser (e.g. Brevitas QuantIdentity)"
        )
    q = consumers[0]
    _is_data_input(q, _skip_shape_ops(graph, qin))
    scale = _scalar(graph, q, 1, "the input quantiser's scale")
    if q.op == "BipolarQuant":
        return (
            InputQuant(
                shape, "BIPOLAR", "bipolar", float(scale), tensor=q.outputs[0], preprocess=pre
            ),  # fmt: skip
            Quantized(q.outputs[0], scale, BIPOLAR),
        )
    dt, zp = _quant_datatype(graph, q)
    if zp != 0:
        raise CompileError("the input quantiser has a non-zero zero point", q.name)
    inq = InputQuant(
        shape,
        dt.name,
        "quant",
        float(scale),
        0.0,
        q.attrs.get("rounding_mode", "ROUND").upper(),
        q.outputs[0],
        preprocess=pre,
    )
    return inq, Quantized(q.outputs[0], scale, dt)


def _quant_datatype(graph: OnnxGraph, q: Node) -> tuple[DataType, Fraction]:
    bits = _scalar(graph, q, 3, "the bit width")
    if bits.denominator != 1 or not 1 <= bits <= 16:
        raise CompileError(f"bit width {float(bits)} is not an integer in 1..16", q.name)
    zp = _scalar(graph, q, 2, "the zero point")
    signed, narrow = bool(q.attrs.get("signed", 1)), bool(q.attrs.get("narrow", 0))
    if int(bits) == 1 and signed:
        return BIPOLAR, zp
    if signed:
        return DataType.int(int(bits), narrow), zp
    if narrow:
        raise CompileError("unsigned narrow-range Quant is not supported", q.name)
    return DataType.uint(int(bits)), zp


# ---------------------------------------------------------------- weights


@dataclass
class Weights:
    values: np.ndarray  # (MH, MW) int64
    scale: list[Fraction]  # per row
    dtype: DataType
    ternary: tuple[int, int] | None = None  # (p, n): values are p, 0 or -n


def _weights(
    graph: OnnxGraph, mm: Node, chw: tuple[int, int, int] | None
) -> tuple[Weights, Fraction | None]:
    """Integer weights (MH, MW) in stream column order, per-row scales, the Gemm alpha."""
    values, scale, dt, q, transpose = _quantized_weights(graph, mm)
    tern, sigma = None, None
    if dt == TERNARY_CODES:
        values, sigma, tern = _ternary_weights(values, scale, q)
    if mm.op == "Conv":
        if values.ndim != 4:
            raise CompileError(f"Conv weights must be 4-D, got {list(values.shape)}", mm.name)
        row_scale = _row_scales(scale, values.shape[0], q.name, sigma)
        return Weights(im2col_columns(values), row_scale, dt, tern), None
    # orient as (MH, MW): MatMul weights are (MW, MH); Gemm transB=1 gives (MH, MW)
    trans_b = mm.op == "Gemm" and bool(mm.attrs.get("transB", 0))
    if values.ndim != 2:
        raise CompileError(f"weights must be 2-D, got shape {list(values.shape)}", mm.name)
    if trans_b == transpose:
        values = values.T
        scale = scale.T if scale.size > 1 else scale
    row_scale = _row_scales(scale, values.shape[0], q.name, sigma)
    if chw is not None:
        if values.shape[1] != chw[0] * chw[1] * chw[2]:
            raise CompileError(
                f"weights have {values.shape[1]} columns but the flattened image "
                f"{list(chw)} has {chw[0] * chw[1] * chw[2]} values",
                mm.name,
            )
        values = flatten_columns(values, chw)
    alpha = None
    if mm.op == "Gemm":
        if mm.attrs.get("transA", 0):
            raise CompileError("Gemm with transA=1 is not supported", mm.name)
        alpha = exact(mm.attrs.get("alpha", 1.0))
    return Weights(values, row_scale, dt, tern), alpha


TERNARY_CODES = DataType.int(2, True)  # narrow INT2: -1, 0, +1
MAX_TERNARY_RATIO = 1 << 12


def _ternary_weights(codes: np.ndarray, scale: np.ndarray, q: Node):
    """Ternary codes (-1, 0, +1) with a per-tensor/per-row scale (symmetric ternary, e.g.
    Brevitas 2-bit narrow: p = n = 1), or with an elementwise scale of two values, Wp on
    the +1 codes and Wn on the -1 codes (halfwave's TTQ form): then Wp/Wn = p/n in lowest
    terms, the integer weights are p, 0, -n and the common scale Wp/p = Wn/n."""
    if scale.size == 1 or _is_per_row(scale):
        return codes, None, (1, 1)
    pos, neg = np.unique(scale[codes > 0]), np.unique(scale[codes < 0])
    if len(pos) > 1 or len(neg) > 1:
        raise CompileError(
            "ternary weights with an elementwise scale must use one scale for all +1 "
            "codes (Wp) and one for all -1 codes (Wn) per layer",
            q.name,
        )
    wp = exact(pos[0]) if len(pos) else exact(neg[0])
    wn = exact(neg[0]) if len(neg) else wp
    if wp <= 0 or wn <= 0:
        raise CompileError("ternary scales Wp and Wn must be positive", q.name)
    ratio = wp / wn
    p, n = ratio.numerator, ratio.denominator
    if max(p, n) > MAX_TERNARY_RATIO:
        raise CompileError(
            f"ternary scales Wp={float(wp)!r}, Wn={float(wn)!r} are not a ratio of small "
            f"integers (p/n = {p}/{n}); snap them to a fixed-point grid so that the "
            "hardware can use them exactly",
            q.name,
        )
    values = np.where(codes > 0, p, np.where(codes < 0, -n, 0)).astype(np.int64)
    return values, wp / p, (p, n)


def _is_per_row(scale: np.ndarray) -> bool:
    rows = scale.reshape(scale.shape[0], -1)
    return bool(np.all(rows == rows[:, :1]))


def _quantized_weights(graph: OnnxGraph, mm: Node):
    """The integer weight tensor feeding mm (as stored), its scale broadcast to the same
    shape (or one value), its datatype, the quantiser node, and whether a Transpose sits
    between them."""
    w_tensor = mm.inputs[1]
    if graph.const(w_tensor) is not None:
        raise CompileError(
            "weights are float, not quantised; export them through a "
            "quantised weight layer (Quant/BipolarQuant)",
            mm.name,
        )
    q = graph.producer(w_tensor)
    transpose = False
    if q is not None and q.op == "Transpose":
        transpose, q = True, graph.producer(q.inputs[0])
    if q is None or q.op not in ("Quant", "BipolarQuant"):
        raise CompileError(
            f"weights '{w_tensor}' do not come from a Quant/BipolarQuant node on a constant",
            mm.name,
        )
    w = graph.const(q.inputs[0])
    if w is None:
        raise CompileError("quantised weights are not constant", q.name)
    scale = _const_input(graph, q, 1, "the weight scale").astype(np.float32)
    w = w.astype(np.float32)
    if q.op == "BipolarQuant":
        values, dt = np.where(w >= 0, 1, -1).astype(np.int64), BIPOLAR
    else:
        dt, zp = _quant_datatype(graph, q)
        if zp != 0:
            raise CompileError("weights with a non-zero zero point are not supported", q.name)
        if dt == BIPOLAR:
            values = np.where(w / scale >= 0, 1, -1).astype(np.int64)
        else:
            mode = q.attrs.get("rounding_mode", "ROUND").upper()
            if mode not in ("ROUND", "HALF_EVEN"):
                raise CompileError(f"weight rounding mode {mode} is not supported", q.name)
            values = np.clip(np.round(w / scale), dt.min, dt.max).astype(np.int64)
    if scale.size > 1:
        try:
            scale = np.broadcast_to(scale, w.shape)
        except ValueError:
            raise CompileError(
                f"weight scale of shape {list(scale.shape)} does not broadcast to the "
                f"weights {list(w.shape)}",
                q.name,
            ) from None
    return values, scale, dt, q, transpose


def _row_scales(
    scale: np.ndarray, mh: int, name: str, exact_scale: Fraction | None = None
) -> list[Fraction]:
    if exact_scale is not None:
        return [exact_scale] * mh
    if scale.size == 1:
        return [exact(scale.reshape(-1)[0])] * mh
    per_row = scale.reshape(mh, -1)
    if not np.all(per_row == per_row[:, :1]):
        raise CompileError("weight scales must be per output channel or per tensor", name)
    return [exact(v) for v in per_row[:, 0]]


# ---------------------------------------------------------------- per-channel affine chain


def _per_channel(arr: np.ndarray, mh: int, node: Node, what: str) -> list[Fraction]:
    a = np.asarray(arr, dtype=np.float64)
    if a.size == 1:
        return [exact(a.reshape(-1)[0])] * mh
    if a.size == mh and max(a.shape) == mh:
        return [exact(v) for v in a.reshape(-1)]
    raise CompileError(
        f"{what} of shape {list(a.shape)} is neither per-tensor nor per output channel ({mh})",
        node.name,
    )


def _other_const(graph: OnnxGraph, node: Node, tensor: str) -> tuple[np.ndarray, bool]:
    """The constant operand of a binary op and whether the data tensor is the first input."""
    first = node.inputs[0] == tensor
    other = node.inputs[1] if first else node.inputs[0]
    arr = graph.const(other)
    if arr is None:
        raise CompileError(f"{node.op} with two non-constant inputs is not supported", node.name)
    return arr, first


def _apply_affine(graph: OnnxGraph, node: Node, tensor: str, aff: list[Affine]) -> list[Affine]:
    mh = len(aff)
    if node.op == "Neg":
        return [a.mul(Fraction(-1)) for a in aff]
    if node.op == "BatchNormalization":
        gamma, beta, mean, var = (
            _per_channel(_const_input(graph, node, i, n), mh, node, n)
            for i, n in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var"))
        )
        eps = exact(np.float32(node.attrs.get("epsilon", 1e-5)))
        out = [
            a.batchnorm(g, b, m, v + eps)
            for a, g, b, m, v in zip(aff, gamma, beta, mean, var, strict=True)
        ]
        if any(o is None for o in out):
            raise CompileError(
                "only one BatchNormalization per layer is supported "
                "(or its variance + epsilon is not positive)",
                node.name,
            )
        return out
    arr, first = _other_const(graph, node, tensor)
    k = _per_channel(arr, mh, node, f"the {node.op} operand")
    if node.op == "Add":
        return [a.add(v) for a, v in zip(aff, k, strict=True)]
    if node.op == "Sub":
        if first:
            return [a.add(-v) for a, v in zip(aff, k, strict=True)]
        return [a.mul(Fraction(-1)).add(v) for a, v in zip(aff, k, strict=True)]
    if node.op == "Mul":
        return [a.mul(v) for a, v in zip(aff, k, strict=True)]
    if not first or any(v == 0 for v in k):
        raise CompileError("Div must divide the data by a non-zero constant", node.name)
    return [a.mul(1 / v) for a, v in zip(aff, k, strict=True)]


# ---------------------------------------------------------------- quantisers


@dataclass
class QuantStep:
    """Quantiser output f = p*count + q with count = #steps passed (per channel)."""

    steps: list[list[Step]]
    p: Fraction
    q: Fraction
    bipolar: bool


def _quantizer(graph: OnnxGraph, node: Node, mh: int) -> QuantStep:
    if node.op == "BipolarQuant":
        s = _scalar(graph, node, 1, "the activation scale (per tensor)")
        return QuantStep([[Step(Fraction(0))]] * mh, 2 * s, -s, True)
    if node.op == "MultiThreshold":
        thr = _const_input(graph, node, 1, "thresholds").astype(np.float64)
        if thr.ndim != 2 or thr.shape[0] not in (1, mh):
            raise CompileError(
                f"thresholds of shape {list(thr.shape)} do not match {mh} channels", node.name
            )
        rows = np.broadcast_to(thr, (mh, thr.shape[1]))
        steps = [[Step(exact(t)) for t in row] for row in rows]
        scale = exact(np.float32(node.attrs.get("out_scale", 1.0)))
        bias = exact(np.float32(node.attrs.get("out_bias", 0.0)))
        return QuantStep(steps, scale, bias, False)
    s = _scalar(graph, node, 1, "the activation scale (per tensor)")
    if s <= 0:
        raise CompileError("the activation scale must be positive", node.name)
    dt, zp = _quant_datatype(graph, node)
    if zp != 0:
        raise CompileError("activations with a non-zero zero point are not supported", node.name)
    if dt == BIPOLAR:
        return QuantStep([[Step(Fraction(0))]] * mh, 2 * s, -s, True)
    mode = node.attrs.get("rounding_mode", "ROUND").upper()
    steps = [_uniform_step(k, s, mode, node) for k in range(dt.min + 1, dt.max + 1)]
    return QuantStep([steps] * mh, s, s * dt.min, False)


def _uniform_step(k: int, s: Fraction, mode: str, node: Node) -> Step:
    """Decision 'round(y/s) >= k' for the quantiser's rounding mode."""
    if mode in ("ROUND", "HALF_EVEN"):  # ties to even: k - 0.5 rounds up iff k is even
        return Step((k - Fraction(1, 2)) * s, strict=(k % 2 != 0))
    if mode == "FLOOR":
        return Step(k * s)
    if mode == "CEIL":
        return Step((k - 1) * s, strict=True)
    raise CompileError(f"rounding mode {mode} is not supported", node.name)


# ---------------------------------------------------------------- one layer


def _lower_layer(graph: OnnxGraph, mm: Node, inp: Quantized, index: int):
    """One matmul/conv with everything up to its quantiser -> [SlidingWindow], MVU,
    [MaxPool], and the Quantized tensor after it."""
    name = f"mvu{index}"
    w, alpha = _weights(graph, mm, inp.chw if mm.op != "Conv" else None)
    mh = w.values.shape[0]
    mode = _mode(inp.dtype, w.dtype, mm, w.ternary is not None)
    front, out_chw, vectors = _conv_front(mm, inp, w, index)
    aff = [Affine(inp.scale * s * (alpha if alpha is not None else 1)) for s in w.scale]
    if len(mm.inputs) > 2 and mm.inputs[2]:
        bias = _gemm_bias(graph, mm, mh)
        beta = exact(mm.attrs.get("beta", 1.0)) if mm.op == "Gemm" else Fraction(1)
        aff = [a.add(beta * b) for a, b in zip(aff, bias, strict=True)]
    tensor = mm.outputs[0]
    clip_lo, clip_hi = None, None
    pool: tuple[Node, Window, list[int], tuple[int, int, int]] | None = None
    while True:
        consumers = graph.consumers(tensor)
        ended = not consumers or (len(consumers) == 1 and consumers[0].op in ("TopK", "ArgMax"))
        if ended:
            if clip_lo is not None or clip_hi is not None or pool is not None:
                raise CompileError("the network ends in an unquantised Relu/Clip/MaxPool", mm.name)
            mvu = _raw_layer(name, mm, w, mode, inp, aff, tensor)
            mvu.vectors, mvu.boundary.chw = vectors, _list(out_chw)
            return [*front, mvu], Quantized(tensor, Fraction(0), BIPOLAR, out_chw)
        node = _only_consumer(graph, tensor)
        if node.op == "Add" and all(graph.const(t) is None for t in node.inputs[:2]):
            if clip_lo is not None or clip_hi is not None or pool is not None:
                raise CompileError(
                    "a Relu/Clip/MaxPool between a layer's matrix product and an Add of two "
                    "streams is not supported (quantise the branch first)",
                    node.name,
                )
            mvu = _raw_layer(name, mm, w, mode, inp, aff, tensor)
            mvu.vectors, mvu.boundary.chw = vectors, _list(out_chw)
            return [*front, mvu], _raw_desc(mvu, aff, tensor, out_chw)
        _is_data_input(node, tensor)
        unclipped = clip_lo is None and clip_hi is None
        if node.op in AFFINE_OPS and unclipped:
            aff = _apply_affine(graph, node, tensor, aff)
        elif node.op == "MaxPool" and unclipped and pool is None and out_chw is not None:
            win = pool_window(node, out_chw)
            pool = (node, win, [_slope_sign(a) for a in aff], out_chw)
            out_chw = (out_chw[0], *win.out_hw(out_chw[1], out_chw[2]))
        elif node.op in CLIP_OPS and unclipped:
            clip_lo, clip_hi = _clip_bounds(graph, node)
        elif node.op in QUANT_OPS:
            break
        elif node.op in AVGPOOL_OPS:
            raise CompileError(
                "an average pool between a layer's matrix product and its quantiser is not "
                "supported (its sums would need thresholds of their own); pool the "
                "quantised activations instead",
                node.name,
            )
        elif node.op in MATMUL_OPS or node.op == "Conv":
            raise CompileError(
                "two matrix products without a quantiser between them; the "
                "activation feeding this layer must be quantised",
                node.name,
            )
        else:
            raise CompileError(_unsupported(node), node.name)
        tensor = node.outputs[0]
    qs = _quantizer(graph, node, mh)
    steps = [[s.through_clip(clip_lo, clip_hi) for s in ch] for ch in qs.steps]
    p, q, tensor = qs.p, qs.q, node.outputs[0]
    tensor, p, q = _post_affine(graph, tensor, p, q)
    mvu, cur = _thresholded_layer(name, mm, w, mode, inp, aff, steps, p, q, qs.bipolar, tensor)
    mvu.vectors = vectors
    cur.chw = out_chw
    if pool is None:
        mvu.boundary.chw = _list(out_chw)
        return [*front, mvu], cur
    boundary, mvu.boundary = mvu.boundary, None
    boundary.chw = _list(out_chw)
    return [*front, mvu, _fused_pool(f"pool{index}", pool, mvu, boundary, cur)], cur


def _list(chw: tuple[int, int, int] | None) -> list[int] | None:
    return None if chw is None else [int(v) for v in chw]


def _conv_front(mm: Node, inp: Quantized, w: Weights, index: int):
    """For a Conv: the SlidingWindow node, the output (C, H, W) and pixels per frame."""
    if mm.op != "Conv":
        return [], None, 1
    if inp.chw is None:
        raise CompileError("a Conv needs an image input (N, C, H, W)", mm.name)
    if int(mm.attrs.get("group", 1)) != 1:
        raise CompileError("grouped convolutions are not supported (group must be 1)", mm.name)
    c = inp.chw[0]
    mw = w.values.shape[1]
    if mw % c:
        raise CompileError(f"weights have {mw} columns, not a multiple of {c} channels", mm.name)
    k = mw // c
    kernel = mm.attrs.get("kernel_shape")
    if kernel is None:
        raise CompileError("Conv without kernel_shape is not supported", mm.name)
    win = window_of(mm, tuple(int(v) for v in kernel), inp.chw)
    if win.KH * win.KW != k:
        raise CompileError(f"kernel {win.KH}x{win.KW} does not match the weights", mm.name)
    swg = sliding_window(f"swg{index}", win, inp.chw, inp.dtype, mm)
    oh, ow = win.out_hw(inp.chw[1], inp.chw[2])
    return [swg], (w.values.shape[0], oh, ow), oh * ow


def _slope_sign(a: Affine) -> int:
    return (a.a > 0) - (a.a < 0)


def _fused_pool(name: str, pool, mvu: MVU, boundary: Boundary, cur: Quantized) -> MaxPool:
    """A MaxPool between the matmul and the quantiser, moved after the thresholds.

    code = G(acc) is increasing in the hardware accumulator (negated rows count -acc), and
    the pool takes the max of y = A(acc) = slope*acc + ... So per channel the code of the
    pooled y is the max of the codes when G and A run the same way in acc, the min when
    they run opposite ways: min iff (row negated) != (slope < 0)."""
    node, win, slopes, (c, h, w) = pool
    neg = set(mvu.negated_rows)
    mins = [ch for ch, sl in enumerate(slopes) if (ch in neg) != (sl < 0) and sl != 0]
    return MaxPool(
        name,
        C=c,
        IH=h,
        IW=w,
        KH=win.KH,
        KW=win.KW,
        SH=win.SH,
        SW=win.SW,
        dtype=cur.dtype.name,
        min_channels=mins,
        boundary=boundary,
        source=node.name,
        fused=True,
    )


def _pool_on_codes(graph: OnnxGraph, node: Node, cur: Quantized, index: int):
    """A MaxPool on a quantised tensor (scale > 0): the max of the codes. Padding: a
    1x1 SlidingWindow pads the image with the datatype's smallest code first (ONNX pads
    with -inf; every window holds an image value, so the max is the same)."""
    if cur.chw is None:
        raise CompileError("MaxPool needs an image input (N, C, H, W)", node.name)
    if cur.scale <= 0:
        raise CompileError("MaxPool of an unquantised or negatively scaled tensor", node.name)
    win = pool_window(node, cur.chw, pads_ok=True)
    c, h, w = cur.chw
    oh, ow = win.out_hw(h, w)
    front = []
    if any(win.pads):
        if cur.dtype == BIPOLAR:
            raise CompileError("MaxPool padding of bipolar codes is not supported", node.name)
        t, left, b, r = win.pads
        front = [SlidingWindow(
            f"pad{index}", C=c, IH=h, IW=w, KH=1, KW=1, SH=1, SW=1, pads=list(win.pads),
            dtype=cur.dtype.name, pad_value=cur.dtype.min,
        )]  # fmt: skip
        h, w = h + t + b, w + left + r
    out = Quantized(node.outputs[0], cur.scale, cur.dtype, (c, oh, ow))
    pool = MaxPool(
        f"pool{index}",
        C=c,
        IH=h,
        IW=w,
        KH=win.KH,
        KW=win.KW,
        SH=win.SH,
        SW=win.SW,
        dtype=cur.dtype.name,
        boundary=Boundary(node.outputs[0], float(cur.scale), chw=[c, oh, ow]),
        source=node.name,
    )
    return [*front, pool], out


def _avg_pool(graph: OnnxGraph, node: Node, cur: Quantized, name: str):
    """An AveragePool/GlobalAveragePool of quantised codes: hw_avgpool sums each window
    in integers; the division by the window size becomes the sums' scale (a rational),
    which the layer reading them folds exactly into its thresholds."""
    if cur.chw is None:
        raise CompileError(f"{node.op} needs an image input (N, C, H, W)", node.name)
    if cur.scale == 0:
        raise CompileError(f"{node.op} of an unquantised layer output is not supported", node.name)
    c, h, w = cur.chw
    win = Window(h, w, h, w, (0, 0, 0, 0))
    if node.op == "ReduceMean":  # torch's AdaptiveAvgPool2d(1) / x.mean((2, 3))
        _global_mean_axes(graph, node)
    elif node.op == "AveragePool":
        win = window_of(node, None, cur.chw)
        if any(win.pads):
            raise CompileError(
                f"AveragePool padding {list(win.pads)} is not supported (unpadded windows only)",
                node.name,
            )
        if node.attrs.get("ceil_mode", 0) and ((h - win.KH) % win.SH or (w - win.KW) % win.SW):
            raise CompileError(
                "AveragePool ceil_mode=1 with a partial last window is not supported", node.name
            )
    oh, ow = win.out_hw(h, w)
    # one window row (column): any stride >= the image gives it, and hw_avgpool's banks
    # stay one window wide
    sh, sw = (win.SH if oh > 1 else h), (win.SW if ow > 1 else w)
    if sh < win.KH or sw < win.KW:
        raise CompileError(
            f"AveragePool windows overlap (kernel {win.KH}x{win.KW}, stride "
            f"{win.SH}x{win.SW}); halfwave sums windows that do not overlap",
            node.name,
        )
    n = win.KH * win.KW
    scale, dt = cur.scale / n, sum_dtype(cur.dtype, n)
    _sums_feed_a_layer(graph, node)
    pool = AvgPool(
        name, C=c, IH=h, IW=w, KH=win.KH, KW=win.KW, SH=sh, SW=sw, dtype=cur.dtype.name,
        out_dtype=dt.name, boundary=Boundary(node.outputs[0], float(scale), chw=[c, oh, ow]),
        source=node.name,
    )  # fmt: skip
    return pool, Quantized(node.outputs[0], scale, dt, (c, oh, ow))


def _global_mean_axes(graph: OnnxGraph, node: Node) -> None:
    """A ReduceMean is a global average pool when it averages H and W of (N, C, H, W)."""
    axes = node.attrs.get("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        axes = _const_input(graph, node, 1, "the axes").reshape(-1).tolist()
    if sorted(int(a) % 4 for a in axes or []) != [2, 3]:
        raise CompileError(
            f"ReduceMean over axes {axes} is not a global average pool (axes 2 and 3 of "
            "an (N, C, H, W) image)",
            node.name,
        )


def _sums_feed_a_layer(graph: OnnxGraph, node: Node) -> None:
    """The division is exact only where a layer's thresholds absorb it: a MatMul/Gemm/Conv,
    or an Add of two streams (its thresholds fold the sums' scale like any input scale)."""
    after = _skip_shape_ops(graph, node.outputs[0])
    nxt = graph.consumers(after)
    if not nxt:
        raise CompileError(
            f"the network ends in {node.op}; its division by the window size needs a layer "
            "after it (MatMul/Gemm/Conv) whose thresholds absorb it exactly",
            node.name,
        )
    for c in nxt:
        join = c.op == "Add" and all(graph.const(t) is None for t in c.inputs[:2])
        if c.op in QUANT_OPS | AFFINE_OPS | CLIP_OPS and not join:
            raise CompileError(
                f"{c.op} right after {node.op} '{node.name}' needs thresholds on the window "
                "sums, which halfwave has no block for; feed the pool into a "
                "MatMul/Gemm/Conv or an Add of two streams (their thresholds absorb the "
                "division exactly)",
                c.name,
            )


def _gemm_bias(graph: OnnxGraph, mm: Node, mh: int) -> list[Fraction]:
    arr = graph.const(mm.inputs[2])
    if arr is None:
        q = graph.producer(mm.inputs[2])
        raise CompileError(
            "the Gemm bias is not a constant (quantised biases are not supported yet)",
            q.name if q else mm.name,
        )
    return _per_channel(arr, mh, mm, "the Gemm bias")


def _clip_bounds(graph: OnnxGraph, node: Node) -> tuple[Fraction | None, Fraction | None]:
    if node.op == "Relu":
        return Fraction(0), None
    lo = graph.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
    hi = graph.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    lo = lo if lo is not None else node.attrs.get("min")
    hi = hi if hi is not None else node.attrs.get("max")
    return (
        exact(np.asarray(lo).item()) if lo is not None else None,
        exact(np.asarray(hi).item()) if hi is not None else None,
    )


def _post_affine(graph: OnnxGraph, tensor: str, p: Fraction, q: Fraction):
    """Fold scalar Add/Sub/Mul/Div/Neg after a quantiser into f = p*count + q."""
    while True:
        consumers = graph.consumers(tensor)
        if len(consumers) != 1 or consumers[0].op not in AFFINE_OPS - {"BatchNormalization"}:
            return tensor, p, q
        node = consumers[0]
        if node.op == "Add" and all(graph.const(t) is None for t in node.inputs[:2]):
            return tensor, p, q  # a join
        if node.op == "Neg":
            p, q = -p, -q
        else:
            arr, first = _other_const(graph, node, tensor)
            k = _scalar_const(arr, node)
            if node.op == "Add":
                q += k
            elif node.op == "Sub":
                p, q = (p, q - k) if first else (-p, k - q)
            elif node.op == "Mul":
                p, q = p * k, q * k
            elif first and k != 0:
                p, q = p / k, q / k
            else:
                raise CompileError("Div must divide the data by a non-zero constant", node.name)
        tensor = node.outputs[0]


def _scalar_const(arr: np.ndarray, node: Node) -> Fraction:
    if arr.size != 1:
        raise CompileError(f"per-channel {node.op} after a quantiser is not supported", node.name)
    return exact(np.asarray(arr).reshape(-1)[0])


def _mode(in_dt: DataType, w_dt: DataType, mm: Node, ternary: bool = False) -> str:
    if ternary:
        if in_dt == BIPOLAR:
            raise CompileError("bipolar inputs with ternary weights are not supported", mm.name)
        return "ternary"
    if w_dt == BIPOLAR:
        return "xnor" if in_dt == BIPOLAR else "signsel"
    if in_dt == BIPOLAR:
        raise CompileError("bipolar inputs with multi-bit weights are not supported", mm.name)
    return "mac"


def _acc_range(w: np.ndarray, dt: DataType, mode: str) -> tuple[int, int]:
    """Accumulator range (dot-product domain) covering every row and its negation."""
    if mode == "xnor":
        n = w.shape[1]
        return -n, n
    lo_x, hi_x = dt.min, dt.max
    lo = np.minimum(w * lo_x, w * hi_x).sum(axis=1)
    hi = np.maximum(w * lo_x, w * hi_x).sum(axis=1)
    return int(min(lo.min(), -hi.max())), int(max(hi.max(), -lo.min()))


def _hw_weight_dtype(values: np.ndarray, declared: DataType) -> DataType:
    if declared in (BIPOLAR, TERNARY_CODES):  # ternary: the memory holds the codes
        return declared
    lo, hi = int(values.min()), int(values.max())
    if declared.contains(lo) and declared.contains(hi):
        return declared
    return DataType.smallest_int_holding(lo, hi)


def _thresholded_layer(name, mm, w, mode, inp, aff, steps, p, q, bipolar, tensor):
    if p == 0:
        raise CompileError("the quantiser output scale is zero", mm.name)
    n = len(steps[0])
    if p < 0:  # value decreases with the count: count the complementary decisions
        steps = [[s.complement_on_negated() for s in ch] for ch in steps]
        aff = [a.mul(Fraction(-1)) for a in aff]
        q, p = q + p * n, -p
    scale, base, out_dt = _code_map(p, q, n, bipolar, mm.name)
    lo, hi = _acc_range(w.values, inp.dtype, mode)
    thr, neg = derive_thresholds(aff, steps, lo, hi)
    values = np.where(neg[:, None], -w.values, w.values)
    if mode == "xnor":
        thr = -((-(thr + w.values.shape[1])) // 2)  # popcount domain: ceil((T + MW) / 2)
        lo, hi = 0, w.values.shape[1]
    mvu = MVU(
        name,
        MW=w.values.shape[1],
        MH=w.values.shape[0],
        mode=mode,
        in_dtype=inp.dtype.name,
        weight_dtype=_hw_weight_dtype(values, w.dtype).name,
        acc_lo=lo,
        acc_hi=hi,
        out_dtype=out_dt.name,
        out_base=base,
        weights=values.astype(np.int16),
        thresholds=thr,
        negated_rows=[int(i) for i in np.flatnonzero(neg)],
        boundary=Boundary(tensor, float(scale)),
        source=mm.name,
        ternary=list(w.ternary) if w.ternary else None,
    )
    return mvu, Quantized(tensor, scale, out_dt)


def _code_map(p: Fraction, q: Fraction, n: int, bipolar: bool, where: str):
    """Output value p*count + q (p > 0) as (scale, out_base, out_dtype) of the codes."""
    if bipolar:
        scale = p / 2
        if q != -scale:
            raise CompileError("a bipolar activation followed by an offset is not supported", where)
        return scale, -1, BIPOLAR
    base_q = q / p
    if base_q.denominator != 1:
        raise CompileError(
            "the activation's output offset is not a multiple of its scale, "
            "so its values are not integers",
            where,
        )
    base = int(base_q)
    return p, base, DataType.for_range(base, base + n)


def _raw_desc(mvu: MVU, aff: list[Affine], tensor: str, chw) -> Raw:
    """The raw accumulators in the hardware domain with their exact map (XNOR: popcount p,
    dot = 2p - MW)."""
    if mvu.mode == "xnor":
        mw = mvu.MW
        aff = [Affine(2 * a.a, a.b - a.a * mw, a.c, a.d) for a in aff]
    return Raw(tensor, list(aff), mvu.acc_lo, mvu.acc_hi, mvu.out_type, chw)


def _raw_layer(name, mm, w, mode, inp, aff, tensor) -> MVU:
    mw = w.values.shape[1]
    scale, bias = zip(*(a.scale_and_bias() for a in aff), strict=True)
    scale, bias = list(scale), list(bias)
    lo, hi = _acc_range(w.values, inp.dtype, mode)
    if mode == "xnor":  # y = s*(2p - MW) + o
        bias = [o - s * mw for s, o in zip(scale, bias, strict=True)]
        scale = [2 * s for s in scale]
        lo, hi = 0, mw
    return MVU(
        name,
        MW=mw,
        MH=w.values.shape[0],
        mode=mode,
        in_dtype=inp.dtype.name,
        weight_dtype=w.dtype.name,
        acc_lo=lo,
        acc_hi=hi,
        out_dtype=None,
        weights=w.values.astype(np.int16),
        out_scale=scale,
        out_bias=bias,
        boundary=Boundary(tensor),
        source=mm.name,
        ternary=list(w.ternary) if w.ternary else None,
    )


def _lower_topk(graph: OnnxGraph, node: Node, last: MVU) -> TopK:
    if last.out_dtype is not None:
        raise CompileError("TopK must follow the last (unquantised) layer", node.name)
    if node.op == "TopK":
        k = int(_const_input(graph, node, 1, "K").reshape(-1)[0])
        if not node.attrs.get("largest", 1):
            raise CompileError("TopK with largest=0 is not supported", node.name)
    else:
        k = 1
    return make_topk(last, k, node.name)


def make_topk(last: MVU, k: int, where: str = "topk") -> TopK:
    """A TopK on accumulators is exact only when the output map is the same increasing
    affine map for every class (then the order of outputs is the order of accumulators)."""
    if last.out_scale is None or last.out_bias is None:
        raise CompileError("TopK needs a last layer with raw accumulator outputs", where)
    if len(set(last.out_scale)) != 1 or len(set(last.out_bias)) != 1 or last.out_scale[0] <= 0:
        raise CompileError(
            "TopK on hardware accumulators needs the same positive output scale "
            "and bias for every class (per-channel scales would reorder them)",
            where,
        )
    if not 1 <= k <= last.MH:
        raise CompileError(f"K={k} is not in 1..{last.MH}", where)
    return TopK("topk", N=last.MH, K=k, in_dtype=last.out_type.name)


# ---------------------------------------------------------------- joins


def _add(graph: OnnxGraph, node: Node, da, db, name: str):
    """An Add of two streams, then an optional Relu/Clip and a quantiser -> one Add node
    whose integer coefficients and thresholds decide every step exactly (lower_join)."""
    from .blocks.add import Add  # joinblocks' block

    (c, vectors, chw), other = _join_shape(graph, da, node), _join_shape(graph, db, node)
    if (c, vectors) != other[:2]:
        raise CompileError(
            f"the Add inputs have different shapes ({c}x{vectors} and {other[0]}x{other[1]} "
            "channels x pixels); broadcasting Adds of two streams are not supported",
            node.name,
        )
    for d in (da, db):
        if isinstance(d, Quantized) and d.scale <= 0:
            raise CompileError("an Add input is not a positively scaled quantised tensor",
                               node.name)  # fmt: skip
    tensor, clip_lo, clip_hi, negated = node.outputs[0], None, None, False
    while True:
        nxt = graph.consumers(tensor)
        op = nxt[0] if len(nxt) == 1 else None
        if (
            op is not None
            and op.op in CLIP_OPS
            and clip_lo is None
            and clip_hi is None
            and not negated
        ):
            clip_lo, clip_hi = _clip_bounds(graph, op)
            tensor = op.outputs[0]
        elif op is not None and op.op == "Neg" and not negated:
            negated, tensor = True, op.outputs[0]  # Brevitas' HWGQ export: Neg -> MultiThreshold
        elif op is not None and op.op in QUANT_OPS:
            break
        else:
            raise CompileError(
                "the output of an Add of two streams must go (through an optional "
                "Relu/Clip and Neg) into one quantiser (Quant/BipolarQuant/MultiThreshold); "
                "hw_add folds the sum exactly into that quantiser's thresholds",
                node.name,
            )
    qs = _quantizer(graph, op, c)
    p, q, qsteps = qs.p, qs.q, qs.steps
    if negated:
        # count(-y >= t) = N_T - count(y > -t): decide on y, and fold the complement into
        # the value map (value = p*count + q = -p*count_y + q + p*N_T)
        n_t = len(qsteps[0])
        qsteps = [[s.complement_on_negated() for s in reversed(ch)] for ch in qsteps]
        p, q = -p, q + p * n_t
    steps = [[s.through_clip(clip_lo, clip_hi) for s in ch] for ch in qsteps]
    tensor, p, q = _post_affine(graph, op.outputs[0], p, q)
    if p <= 0:
        raise CompileError("a negative output scale after an Add is not supported", op.name)
    scale, base, out_dt = _code_map(p, q, len(steps[0]), qs.bipolar, op.name)
    fits, swapped = fold_add(da, db, steps, node.name)
    ca, cb = [f.coef_a for f in fits], [f.coef_b for f in fits]
    if swapped:
        ca, cb = cb, ca
    thr = np.array([sorted(f.thresholds) for f in fits], dtype=np.int64)
    a_dt, b_dt = _stream_dtype(da), _stream_dtype(db)
    lo, hi = _z_range(ca, a_dt, cb, b_dt)
    add = Add(
        name, C=c, vectors=vectors, a_dtype=a_dt, b_dtype=b_dt, coef_a=ca, coef_b=cb,
        acc_lo=lo, acc_hi=hi, out_dtype=out_dt, out_base=base, thresholds=thr,
        boundary=Boundary(tensor, float(scale), chw=_list(chw)), source=node.name,
    )  # fmt: skip
    return Quantized(tensor, scale, out_dt, chw), add


def _requant(graph: OnnxGraph, node: Node, desc: Quantized) -> Mapped:
    """A quantiser on quantised codes: the model value of each code, exactly (the steps
    decided on y = scale * x by exact comparison, then the output's affine map)."""
    qs = _quantizer(graph, node, 1)
    tensor, p, q = _post_affine(graph, node.outputs[0], qs.p, qs.q)
    dt = desc.dtype
    codes = (-1, 1) if dt == BIPOLAR else range(dt.min, dt.max + 1)
    aff = Affine(desc.scale)
    table = {x: p * sum(s.passed(aff, x) for s in qs.steps[0]) + q for x in codes}
    return Mapped(tensor, table, dt, desc.chw, desc, (node, qs, p, q))


def _requant_layer(graph: OnnxGraph, m: Mapped, name: str) -> tuple[MVU, Quantized]:
    """A requantiser as a stream of its own: an MVU with identity weights (acc = x) and
    the quantiser's exact thresholds on x."""
    node, qs, p, q = m.quant
    base: Quantized = m.base
    if base.dtype == BIPOLAR:
        raise CompileError("a quantiser on bipolar codes feeding an Add is not supported",
                           node.name)  # fmt: skip
    c, vectors, chw = _join_shape(graph, base, node)
    w = Weights(np.eye(c, dtype=np.int64), [Fraction(1)] * c, DataType.int(2))
    aff = [Affine(base.scale)] * c
    mvu, cur = _thresholded_layer(name, node, w, "mac", base, aff, [qs.steps[0]] * c, p, q,
                                  qs.bipolar, m.tensor)  # fmt: skip
    mvu.vectors, mvu.boundary.chw, cur.chw = vectors, _list(chw), chw
    return mvu, cur


def _stream_dtype(desc) -> DataType:
    return desc.dtype


def _z_range(ca: list[int], a_dt: DataType, cb: list[int], b_dt: DataType) -> tuple[int, int]:
    def rng(dt: DataType) -> tuple[int, int]:
        return (-1, 1) if dt == BIPOLAR else (dt.min, dt.max)

    (al, ah), (bl, bh) = rng(a_dt), rng(b_dt)
    lo = min(min(x * al, x * ah) + min(y * bl, y * bh) for x, y in zip(ca, cb, strict=True))
    hi = max(max(x * al, x * ah) + max(y * bl, y * bh) for x, y in zip(ca, cb, strict=True))
    return int(lo), int(hi)


def _join_shape(graph: OnnxGraph, desc, node: Node) -> tuple[int, int, tuple | None]:
    """(channels, pixels per frame, image chw) of a join input."""
    if desc.chw is not None:
        c, h, w = desc.chw
        return c, h * w, desc.chw
    if isinstance(desc, Raw):
        return len(desc.aff), 1, None
    shape = graph.shapes.get(desc.tensor, [])[1:]
    if not shape or min(shape) < 1:
        raise CompileError(f"the shape of '{desc.tensor}' is unknown", node.name)
    return int(np.prod(shape)), 1, None


def _concat(graph: OnnxGraph, node: Node, descs: list, name: str):
    """A channel Concat of quantised branches: values aligned to one scale by integer
    multipliers (exact), else refused."""
    from .blocks.concat import Concat  # joinblocks' block

    if any(isinstance(d, Raw) or d.scale <= 0 for d in descs):
        raise CompileError("Concat inputs must be quantised (positive scales)", node.name)
    shapes = [_join_shape(graph, d, node) for d in descs]
    image = descs[0].chw is not None
    axis = int(node.attrs.get("axis", 1))
    if axis % (4 if image else 2) != 1:
        raise CompileError(f"Concat along axis {axis} is not supported (channels only)",
                           node.name)  # fmt: skip
    if len({s[1] for s in shapes}) != 1 or (image and len({d.chw[1:] for d in descs}) != 1):
        raise CompileError("the Concat inputs have different image sizes", node.name)
    scale, mults = concat_scale([d.scale for d in descs], node.name)
    lo = min(
        m * (-1 if d.dtype == BIPOLAR else d.dtype.min) for m, d in zip(mults, descs, strict=True)
    )
    hi = max(
        m * (1 if d.dtype == BIPOLAR else d.dtype.max) for m, d in zip(mults, descs, strict=True)
    )
    if all(d.dtype == BIPOLAR for d in descs) and set(mults) == {1}:
        out_dt = BIPOLAR
    else:
        out_dt = DataType.for_range(lo, hi)
    chans = [s[0] for s in shapes]
    chw = (sum(chans), *descs[0].chw[1:]) if image else None
    tensor = node.outputs[0]
    cat = Concat(
        name, channels=chans, vectors=shapes[0][1], in_dtypes=[d.dtype for d in descs],
        mults=mults, out_dtype=out_dt, boundary=Boundary(tensor, float(scale), chw=_list(chw)),
        source=node.name,
    )  # fmt: skip
    return Quantized(tensor, scale, out_dt, chw), cat
