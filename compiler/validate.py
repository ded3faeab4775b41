"""Import validation: a QONNX model is checked before any cleanup or lowering.

Bad input must never crash the compiler and never build wrong hardware, so everything a
later stage would trust is checked here, on the file's own node and tensor names:

- opsets: the standard domain's version is one onnx knows; every custom-op domain is
  imported and known (qonnx's), every standard op exists in that opset;
- edges: every node input is a graph input, an initialiser or the output of an earlier
  node (a cycle or a list out of topological order is named); each tensor has one
  producer; every graph output is produced;
- constants: decodable; floating constants of the model's float type, finite (NaN/Inf in
  weights, scales, zero points, BatchNorm parameters, thresholds are refused);
- per op: input counts, attribute types and ranges (kernel, strides, pads, dilations,
  group, axis, epsilon > 0), quantiser bit widths and signed/narrow flags, BatchNorm
  variance + epsilon > 0, parameter shapes that fit their consumer.

Each refusal is one CompileError sentence naming the node or tensor and what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from .errors import CompileError

QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas")
STANDARD_DOMAINS = ("", "ai.onnx")
QUANT_ARITY = {"Quant": 4, "BipolarQuant": 2, "MultiThreshold": 2}
ROUNDING_MODES = ("ROUND", "HALF_EVEN", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN")
MAX_BITS = 32
INT_INPUTS = {  # (op, input index) that hold integers (shapes, axes, K), not data
    ("Reshape", 1),
    ("TopK", 1),
    ("Squeeze", 1),
    ("Unsqueeze", 1),
    ("Expand", 1),
    ("Tile", 1),
    ("Pad", 1),
}
FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16)
FLOAT_OPS = {  # every input is float data of the model's type (ONNX type constraints)
    "Quant", "BipolarQuant", "MultiThreshold", "Conv", "Gemm", "MatMul", "Add", "Sub",
    "Mul", "Div", "BatchNormalization", "Clip", "Relu", "MaxPool", "Neg", "AveragePool",
    "GlobalAveragePool",
}  # fmt: skip
CONSTANT_ATTRS = {"value_float": np.float32, "value_floats": np.float32,
                  "value_int": np.int64, "value_ints": np.int64}  # fmt: skip


def _type_name(elem: int) -> str:
    return TensorProto.DataType.Name(elem).lower()


def node_names(graph: onnx.GraphProto) -> list[str]:
    """Display names of the nodes: the file's name, or op_index like onnx_graph."""
    return [n.name or f"{n.op_type}_{i}" for i, n in enumerate(graph.node)]


def validate_model(model: onnx.ModelProto) -> None:
    """Refuse (CompileError) a model that later stages could not lower faithfully."""
    g = model.graph
    if not g.node:
        raise CompileError("the ONNX graph has no nodes")
    names = node_names(g)
    _check_opsets(model, names)
    consts = _constants(g, names)
    _check_declared(g, consts)
    _check_edges(g, consts, names)
    float_type = _float_type(g)
    for node, name in zip(g.node, names, strict=True):
        _check_node(node, name, consts, float_type)
    _check_shapes(model, names)


# ---------------------------------------------------------------- opsets and ops


def _check_opsets(model: onnx.ModelProto, names: list[str]) -> None:
    opsets = {o.domain: o.version for o in model.opset_import}
    std = opsets.get("", opsets.get("ai.onnx"))
    newest = onnx.defs.onnx_opset_version()
    if std is not None and not 1 <= std <= newest:
        raise CompileError(
            f"the model imports ONNX opset {std}; this onnx knows opsets 1..{newest}"
        )
    for node, name in zip(model.graph.node, names, strict=True):
        if node.domain in STANDARD_DOMAINS:
            _check_standard_op(node, name, std or newest)
        elif node.domain in QONNX_DOMAINS:
            _check_qonnx_op(node, name)
        else:
            raise CompileError(
                f"custom-op domain '{node.domain}' of op '{node.op_type}' is unknown "
                f"(halfwave reads the standard domain and {QONNX_DOMAINS[0]})",
                name,
            )


def _check_standard_op(node: onnx.NodeProto, name: str, version: int) -> None:
    try:
        schema = onnx.defs.get_schema(node.op_type, version, "")
    except (onnx.defs.SchemaError, TypeError):  # TypeError: op_type not valid UTF-8
        raise CompileError(
            f"op '{node.op_type}' is not an ONNX operator of opset {version}", name
        ) from None
    n_in = len(node.input)
    if not schema.min_input <= n_in <= schema.max_input:
        raise CompileError(
            f"{node.op_type} takes {schema.min_input}..{schema.max_input} inputs, got {n_in}",
            name,
        )
    if not schema.min_output <= len(node.output) <= schema.max_output or not node.output[0]:
        raise CompileError(f"{node.op_type} has {len(node.output)} outputs", name)
    for a in node.attribute:
        spec = schema.attributes.get(a.name)
        if spec is None:
            raise CompileError(f"{node.op_type} has no attribute '{a.name}'", name)
        if a.type != spec.type:
            raise CompileError(
                f"attribute '{a.name}' has type {AttributeProto.AttributeType.Name(a.type)}, "
                f"not {AttributeProto.AttributeType.Name(spec.type)}",
                name,
            )
    present = {a.name for a in node.attribute}
    for key, spec in schema.attributes.items():
        if spec.required and key not in present:
            raise CompileError(f"{node.op_type} needs the attribute '{key}'", name)


def _check_qonnx_op(node: onnx.NodeProto, name: str) -> None:
    arity = QUANT_ARITY.get(node.op_type)
    if arity is None:
        from qonnx.custom_op.registry import getCustomOp

        try:
            getCustomOp(node)
        except Exception:
            raise CompileError(
                f"op '{node.op_type}' is not a known op of domain '{node.domain}'", name
            ) from None
        return
    if len(node.input) != arity or len(node.output) != 1 or not node.output[0]:
        raise CompileError(
            f"{node.op_type} takes {arity} inputs and one output, got "
            f"{len(node.input)} and {len(node.output)}",
            name,
        )


# ---------------------------------------------------------------- constants and edges


def _constants(g: onnx.GraphProto, names: list[str]) -> dict[str, np.ndarray]:
    consts: dict[str, np.ndarray] = {}
    for t in g.initializer:
        consts[t.name] = _decode(t, f"initialiser '{t.name}'")
    for node, name in zip(g.node, names, strict=True):
        if node.op_type == "Constant" and node.domain in STANDARD_DOMAINS and node.output:
            consts[node.output[0]] = _constant_value(node, name)
    return consts


def _constant_value(node: onnx.NodeProto, name: str) -> np.ndarray:
    for a in node.attribute:
        if a.name == "value" and a.type == AttributeProto.TENSOR:
            return _decode(a.t, f"the value of Constant '{name}'")
        if a.name in CONSTANT_ATTRS:
            return np.asarray(helper.get_attribute_value(a), dtype=CONSTANT_ATTRS[a.name])
    raise CompileError("a Constant node without a numeric value", name)


def _decode(t: TensorProto, what: str) -> np.ndarray:
    if t.data_location == TensorProto.EXTERNAL and not t.raw_data:
        raise CompileError(f"{what}: its external data was not loaded")
    try:
        arr = numpy_helper.to_array(t)
    except Exception as exc:
        raise CompileError(
            f"{what} cannot be decoded ({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    if arr.dtype == object:
        raise CompileError(f"{what} holds {_type_name(t.data_type)} values, not numbers")
    return arr


def _check_declared(g: onnx.GraphProto, consts: dict[str, np.ndarray]) -> None:
    """An initialiser also listed as a graph input must match what that input declares."""
    for vi in g.input:
        arr = consts.get(vi.name)
        tt = vi.type.tensor_type
        if arr is None or not tt.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        fits = len(dims) == arr.ndim
        if not fits or any(d is not None and d != n for d, n in zip(dims, arr.shape, strict=True)):
            raise CompileError(
                f"initialiser '{vi.name}' has shape {list(arr.shape)} but the graph declares "
                f"{[d if d is not None else '?' for d in dims]} for it"
            )
        declared = helper.tensor_dtype_to_np_dtype(tt.elem_type) if tt.elem_type else arr.dtype
        if declared != arr.dtype:
            raise CompileError(
                f"initialiser '{vi.name}' is {arr.dtype} but the graph declares {declared}"
            )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _check_edges(g: onnx.GraphProto, consts: dict, names: list[str]) -> None:
    """Defined inputs, one producer per tensor, no cycle, topological order."""
    inputs = {i.name for i in g.input}
    available = inputs | set(consts)
    producer: dict[str, str] = {}
    for node, name in zip(g.node, names, strict=True):
        for o in node.output:
            fixed = o in inputs or (o in consts and node.op_type != "Constant")
            if o and (o in producer or fixed):
                raise CompileError(f"tensor '{o}' is produced twice", name)
            producer[o] = name
    for node, name in zip(g.node, names, strict=True):
        for i in node.input:
            if i and i not in available:
                if i in producer:
                    _order_error(g, names, consts)
                raise CompileError(
                    f"input '{i}' is produced by no node, graph input or initialiser", name
                )
        available.update(o for o in node.output if o)
    for o in g.output:
        if o.name not in available:
            raise CompileError(f"graph output '{o.name}' is produced by no node")


def _order_error(g: onnx.GraphProto, names: list[str], consts: dict) -> None:
    """The graph reads a tensor before its producer: a cycle, or a list out of order."""
    known = {i.name for i in g.input} | set(consts)
    pending = list(range(len(g.node)))
    while True:
        ready = [k for k in pending if all(not i or i in known for i in g.node[k].input)]
        if not ready:
            break
        for k in ready:
            known.update(g.node[k].output)
        pending = [k for k in pending if k not in ready]
    if pending:
        cycle = ", ".join(names[k] for k in pending[:6])
        raise CompileError(f"the graph has a cycle (through nodes {cycle})")
    for node, name in zip(g.node, names, strict=True):
        seen = {i.name for i in g.input} | set(consts)
        for k in range(len(g.node)):
            if g.node[k] is node:
                break
            seen.update(g.node[k].output)
        late = next((i for i in node.input if i and i not in seen), None)
        if late is not None:
            raise CompileError(
                f"input '{late}' is read before the node that produces it (ONNX lists "
                "nodes in topological order)",
                name,
            )


def _float_type(g: onnx.GraphProto) -> int:
    for i in g.input:
        elem = i.type.tensor_type.elem_type
        if elem in FLOAT_TYPES:
            return elem
    return TensorProto.FLOAT


# ---------------------------------------------------------------- one node


def _check_node(node: onnx.NodeProto, name: str, consts: dict, float_type: int) -> None:
    for k, i in enumerate(node.input):
        if i in consts:
            _check_const_operand(node, name, k, i, consts[i], float_type)
    check = NODE_CHECKS.get(node.op_type)
    if check is not None:
        check(node, name, _attrs(node, name), consts)


def _check_const_operand(node, name: str, k: int, tensor: str, arr, float_type: int) -> None:
    if (node.op_type, k) in INT_INPUTS:
        if arr.dtype.kind not in "iu":
            raise CompileError(f"input '{tensor}' must hold integers, not {arr.dtype}", name)
        return
    if arr.dtype.kind != "f" and node.op_type not in FLOAT_OPS:
        return  # another op's integer operand: the lowering says whether it supports it
    want = helper.tensor_dtype_to_np_dtype(float_type)
    if arr.dtype != want and node.op_type in FLOAT_OPS:
        raise CompileError(
            f"constant '{tensor}' is {arr.dtype}, not the model's float type {want}", name
        )
    if not np.all(np.isfinite(arr)) and not (node.op_type == "Clip" and not np.isnan(arr).any()):
        bad = "NaN" if np.isnan(arr).any() else "Inf"
        raise CompileError(f"constant '{tensor}' holds {bad}", name)


def _attrs(node: onnx.NodeProto, name: str) -> dict:
    out = {}
    for a in node.attribute:
        try:
            v = helper.get_attribute_value(a)
        except Exception:
            raise CompileError(f"attribute '{a.name}' cannot be read", name) from None
        if isinstance(v, bytes):
            try:
                v = v.decode()
            except UnicodeDecodeError:
                raise CompileError(f"attribute '{a.name}' is not text", name) from None
        out[a.name] = v
    return out


def _int_flag(attrs: dict, key: str, name: str, required: bool = False) -> None:
    if key not in attrs:
        if required:
            raise CompileError(f"the quantiser needs the attribute '{key}' (0 or 1)", name)
        return
    if not isinstance(attrs[key], int) or attrs[key] not in (0, 1):
        raise CompileError(f"attribute {key}={attrs[key]!r} must be 0 or 1", name)


def _finite_float(attrs: dict, key: str, name: str, positive: bool = False) -> None:
    if key not in attrs:
        return
    v = attrs[key]
    if not isinstance(v, float | int) or not np.isfinite(v) or (positive and v <= 0):
        need = "a finite positive number" if positive else "a finite number"
        raise CompileError(f"attribute {key}={v!r} must be {need}", name)


def _const(consts: dict, node: onnx.NodeProto, k: int) -> np.ndarray | None:
    return consts.get(node.input[k]) if k < len(node.input) and node.input[k] else None


def _check_quant(node, name: str, attrs: dict, consts: dict) -> None:
    _int_flag(attrs, "signed", name, required=True)
    _int_flag(attrs, "narrow", name, required=True)
    mode = attrs.get("rounding_mode", "ROUND")
    if not isinstance(mode, str) or mode.upper() not in ROUNDING_MODES:
        raise CompileError(
            f"rounding_mode {mode!r} is not one of {', '.join(ROUNDING_MODES)}", name
        )
    _check_scale(node, name, consts)
    bits = _const(consts, node, 3)
    if bits is not None:
        if bits.size != 1:
            raise CompileError(
                f"the bit width must be one value, got shape {list(bits.shape)}", name
            )
        b = float(bits.reshape(-1)[0])
        if b != int(b) or not 1 <= b <= MAX_BITS:
            raise CompileError(f"bit width {b:g} is not an integer in 1..{MAX_BITS}", name)
        if b == 1 and attrs["signed"] and attrs["narrow"]:
            raise CompileError("a signed narrow 1-bit quantiser has no levels", name)
    zp, x = _const(consts, node, 2), _const(consts, node, 0)
    if zp is not None and x is not None:
        _broadcasts(zp, x, "the zero point", name)


def _check_scale(node, name: str, consts: dict) -> None:
    scale, x = _const(consts, node, 1), _const(consts, node, 0)
    if scale is None:
        return
    if scale.size == 0 or np.any(scale == 0):
        raise CompileError(f"the scale '{node.input[1]}' is zero or empty", name)
    if x is not None:
        _broadcasts(scale, x, "the scale", name)


def _broadcasts(p: np.ndarray, x: np.ndarray, what: str, name: str) -> None:
    try:
        out = np.broadcast_shapes(p.shape, x.shape)
    except ValueError:
        out = None
    if out != x.shape:
        raise CompileError(
            f"{what} of shape {list(p.shape)} does not fit the tensor {list(x.shape)}", name
        )


def _check_bipolar(node, name: str, attrs: dict, consts: dict) -> None:
    _check_scale(node, name, consts)


def _check_multithreshold(node, name: str, attrs: dict, consts: dict) -> None:
    from .datatypes import DataType

    odt = attrs.get("out_dtype")
    try:
        DataType.parse(odt if isinstance(odt, str) else "")
    except ValueError:
        raise CompileError(f"out_dtype {odt!r} is not an integer datatype", name) from None
    _finite_float(attrs, "out_scale", name)
    _finite_float(attrs, "out_bias", name)
    layout = attrs.get("data_layout", "NCHW")
    if layout not in ("NC", "NCHW", "NHWC", "NCW", "NWC", ""):
        raise CompileError(f"data_layout {layout!r} is not NC, NCHW or NHWC", name)
    thr = _const(consts, node, 1)
    if thr is not None and (thr.ndim != 2 or thr.size == 0):
        raise CompileError(f"thresholds must be 2-D (channels, steps), got {list(thr.shape)}", name)


def _check_batchnorm(node, name: str, attrs: dict, consts: dict) -> None:
    _finite_float(attrs, "epsilon", name, positive=True)
    params = [_const(consts, node, k) for k in range(1, 5)]
    shapes = {tuple(p.shape) for p in params if p is not None}
    if len(shapes) > 1 or any(len(s) != 1 for s in shapes):
        raise CompileError(
            f"scale, bias, mean and variance must be 1-D of one length, got "
            f"{[list(p.shape) for p in params if p is not None]}",
            name,
        )
    var = params[3]
    if var is not None:
        eps = Fraction(float(np.float32(attrs.get("epsilon", 1e-5))))
        bad = [c for c, v in enumerate(var.reshape(-1)) if Fraction(float(v)) + eps <= 0]
        if bad:
            raise CompileError(
                f"variance + epsilon is not positive in channel {bad[0]} "
                f"(variance {float(var.reshape(-1)[bad[0]])!r})",
                name,
            )


def _check_window(node, name: str, attrs: dict, consts: dict) -> None:
    """Conv and MaxPool geometry."""
    kernel = attrs.get("kernel_shape")
    w = _const(consts, node, 1) if node.op_type == "Conv" else None
    pool = node.op_type in ("MaxPool", "AveragePool")
    if kernel is None and pool:
        raise CompileError(f"{node.op_type} needs kernel_shape", name)
    if kernel is not None and (not kernel or min(kernel) < 1):
        raise CompileError(f"kernel_shape {list(kernel)} must be positive sizes", name)
    dims = len(kernel) if kernel else None
    for key, low in (("strides", 1), ("dilations", 1)):
        v = attrs.get(key)
        if v is not None and (min(v, default=0) < low or (dims and len(v) != dims)):
            raise CompileError(f"{key} {list(v)} must be {dims or ''} values >= {low}", name)
    pads = attrs.get("pads")
    if pads is not None and (min(pads, default=0) < 0 or (dims and len(pads) != 2 * dims)):
        raise CompileError(f"pads {list(pads)} must be {2 * (dims or 0)} values >= 0", name)
    if pads is not None and kernel is not None and pool:
        if any(p >= k for p, k in zip(pads, list(kernel) * 2, strict=False)):
            raise CompileError(f"pads {list(pads)} must be smaller than the kernel", name)
    group = attrs.get("group", 1)
    if node.op_type == "Conv" and group < 1:
        raise CompileError(f"group={group} must be >= 1", name)
    for key in ("ceil_mode", "storage_order", "count_include_pad"):
        _int_flag(attrs, key, name)
    mode = attrs.get("auto_pad", "NOTSET")
    if mode not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise CompileError(
            f"auto_pad {mode!r} is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", name
        )
    if w is not None and kernel is not None and list(w.shape[2:]) != list(kernel):
        raise CompileError(
            f"kernel_shape {list(kernel)} does not match weights {list(w.shape)}", name
        )


def _check_gemm(node, name: str, attrs: dict, consts: dict) -> None:
    for key in ("transA", "transB"):
        _int_flag(attrs, key, name)
    _finite_float(attrs, "alpha", name)
    _finite_float(attrs, "beta", name)
    if attrs.get("alpha", 1.0) == 0:
        raise CompileError("alpha=0 makes the product zero for every input", name)


def _check_axis(node, name: str, attrs: dict, consts: dict) -> None:
    axis = attrs.get("axis")
    if axis is not None and not -8 <= axis <= 8:
        raise CompileError(f"axis={axis} is out of range", name)


def _check_topk(node, name: str, attrs: dict, consts: dict) -> None:
    _check_axis(node, name, attrs, consts)
    for key in ("largest", "sorted"):
        _int_flag(attrs, key, name)
    k = _const(consts, node, 1)
    if k is not None and (k.size != 1 or int(k.reshape(-1)[0]) < 1):
        raise CompileError(
            f"K must be one positive integer, got {k.reshape(-1)[:4].tolist()}", name
        )


def _check_clip(node, name: str, attrs: dict, consts: dict) -> None:
    lo, hi = _const(consts, node, 1), _const(consts, node, 2)
    for v, what in ((lo, "min"), (hi, "max")):
        if v is not None and v.size != 1:
            raise CompileError(f"Clip {what} must be one value, got {list(v.shape)}", name)
    if lo is not None and hi is not None and float(lo.reshape(-1)[0]) > float(hi.reshape(-1)[0]):
        raise CompileError("Clip min is above its max", name)


def _check_reshape(node, name: str, attrs: dict, consts: dict) -> None:
    shape = _const(consts, node, 1)
    if shape is not None and (shape.ndim != 1 or np.sum(shape == -1) > 1 or np.any(shape < -1)):
        raise CompileError(f"Reshape shape {shape.tolist()} is not a valid target shape", name)


# ---------------------------------------------------------------- shapes


def _check_shapes(model: onnx.ModelProto, names: list[str]) -> None:
    """Every standard op's inputs fit together (onnx's own shape and type inference of
    the node, on the shapes qonnx infers for the whole graph, custom ops included)."""
    from onnx import shape_inference
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    del bare.graph.value_info[:]  # infer afresh: a stale declaration names no node
    try:
        inferred = ModelWrapper(bare).transform(InferShapes()).model
    except Exception as exc:
        raise CompileError(
            f"shapes cannot be inferred ({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    g = inferred.graph
    types = {v.name: v.type for v in [*g.input, *g.output, *g.value_info]}
    inits = {t.name: t for t in g.initializer}
    for t in g.initializer:
        types[t.name] = helper.make_tensor_type_proto(t.data_type, list(t.dims))
    opsets = {o.domain: o.version for o in model.opset_import}
    version = opsets.get("", opsets.get("ai.onnx", onnx.defs.onnx_opset_version()))
    for node, name in zip(model.graph.node, names, strict=True):
        ins = [i for i in node.input if i]
        if node.domain not in STANDARD_DOMAINS or not all(_known(types.get(i)) for i in ins):
            continue
        schema = onnx.defs.get_schema(node.op_type, version, "")
        try:
            shape_inference.infer_node_outputs(
                schema, node, {i: types[i] for i in ins}, {i: inits[i] for i in ins if i in inits}
            )
        except Exception as exc:
            shapes = ", ".join(f"'{i}' {_dims(types[i])}" for i in ins)
            raise CompileError(
                f"its inputs do not fit together ({shapes}): {_first_line(exc)}", name
            ) from None


def _known(t: onnx.TypeProto | None) -> bool:
    if t is None or not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return False
    return all(d.HasField("dim_value") for d in t.tensor_type.shape.dim)


def _dims(t: onnx.TypeProto) -> list[int]:
    return [d.dim_value for d in t.tensor_type.shape.dim]


Check = Callable[[onnx.NodeProto, str, dict, dict], None]
NODE_CHECKS: dict[str, Check] = {
    "Quant": _check_quant,
    "BipolarQuant": _check_bipolar,
    "MultiThreshold": _check_multithreshold,
    "BatchNormalization": _check_batchnorm,
    "Conv": _check_window,
    "MaxPool": _check_window,
    "AveragePool": _check_window,
    "Gemm": _check_gemm,
    "Flatten": _check_axis,
    "Softmax": _check_axis,
    "ArgMax": _check_axis,
    "TopK": _check_topk,
    "Clip": _check_clip,
    "Reshape": _check_reshape,
}
