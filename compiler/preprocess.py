"""Float pre-processing between the model input and its first quantiser, run on the host.

Published Brevitas models scale their input before the first quantiser (`2*x - 1`,
`(x - mean) / std`, a Flatten or a Transpose). Those ops have no integer form worth
building in hardware: the host runs them, then quantises. `Preprocess` is that list of
ops as plain data (the IR's `input.preprocess`, saved in dataflow.json and checked on
load); `apply` runs them in the model's op order, one numpy op per ONNX op, in float64 on
the model's constants (its float32 values, widened exactly), which is what the float64
QONNX execution and the float64 PyTorch model compute (the ladder's exact references).
The deployment driver (sim/flow/board/driver_template) repeats `apply` on the same JSON.

`from_graph` reads the ops off a QONNX graph; anything else between the input and the
quantiser is refused in one sentence naming the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .errors import CompileError

if TYPE_CHECKING:
    from .onnx_graph import Node, OnnxGraph

BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}
RESHAPES = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}
KINDS = ("add", "sub", "mul", "div", "neg", "reshape", "transpose")
SUPPORTED = "Add/Sub/Mul/Div by a constant, Neg, Reshape/Flatten/Squeeze/Unsqueeze, Transpose"


@dataclass
class PreOp:
    """One host op on the batch (N, ...) of frames."""

    op: str  # one of KINDS
    const: np.ndarray | None = None  # add/sub/mul/div: the operand, in ONNX broadcast shape
    data_first: bool = True  # sub: x - c (True) or c - x (False)
    shape: list[int] | None = None  # reshape: the per-frame shape after it
    perm: list[int] | None = None  # transpose: the per-frame axes (batch stays first)
    source: str = ""  # the ONNX node

    def run(self, x: np.ndarray) -> np.ndarray:
        c = self.const
        if self.op == "add":
            return x + c
        if self.op == "sub":
            return x - c if self.data_first else c - x
        if self.op == "mul":
            return x * c
        if self.op == "div":
            return x / c
        if self.op == "neg":
            return -x
        if self.op == "reshape":
            return x.reshape(len(x), *self.shape)
        return x.transpose(0, *(p + 1 for p in self.perm))

    def undo(self, y: np.ndarray) -> np.ndarray:
        """Approximately the x with run(x) == y (test inputs only, never bit-exact)."""
        c = self.const
        if self.op == "add":
            return y - c
        if self.op == "sub":
            return y + c if self.data_first else c - y
        if self.op == "mul":
            return y / np.where(c == 0, 1, c)
        if self.op == "div":
            return y * c
        if self.op == "neg":
            return -y
        raise AssertionError(self.op)  # shape ops are undone by Preprocess.invert

    def as_json(self) -> dict:
        d: dict = {"op": self.op, "source": self.source}
        if self.const is not None:
            d["const"] = self.const.tolist()
        if self.op == "sub":
            d["data_first"] = self.data_first
        if self.shape is not None:
            d["shape"] = list(self.shape)
        if self.perm is not None:
            d["perm"] = list(self.perm)
        return d


@dataclass
class Preprocess:
    """The host ops from the model input (per frame `in_shape`) to the quantiser's input."""

    in_shape: list[int]
    ops: list[PreOp] = field(default_factory=list)

    def shapes(self) -> list[list[int]]:
        """The per-frame shape before each op and after the last."""
        out = [list(self.in_shape)]
        for o in self.ops:
            s = out[-1]
            if o.op == "reshape":
                s = list(o.shape)
            elif o.op == "transpose":
                s = [s[p] for p in o.perm]
            out.append(s)
        return out

    def out_shape(self) -> list[int]:
        return self.shapes()[-1]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Model inputs (N, *in_shape) or (N, prod) -> the quantiser's input (N, *out_shape),
        float64, op by op in the model's order."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), *self.in_shape)
        for o in self.ops:
            x = o.run(x)
        return x

    def invert(self, y: np.ndarray) -> np.ndarray:
        """Inputs x with apply(x) close to y (to build verification inputs that cover the
        quantiser's range; float rounding makes it approximate)."""
        shapes = self.shapes()
        y = np.asarray(y, dtype=np.float64).reshape(len(y), *shapes[-1])
        for o, before in zip(reversed(self.ops), reversed(shapes[:-1]), strict=True):
            if o.op == "reshape":
                y = y.reshape(len(y), *before)
            elif o.op == "transpose":
                y = y.transpose(0, *(int(p) + 1 for p in np.argsort(o.perm)))
            else:
                y = o.undo(y)
        return y

    def check(self, where: str = "the input pre-processing") -> None:
        """Every op known, its fields of the right kind, constants finite and broadcasting
        without changing the tensor's shape, reshapes keeping the frame's size."""
        _check_shape(self.in_shape, f"{where}: in_shape")
        shape = list(self.in_shape)
        for i, o in enumerate(self.ops):
            at = f"{where}: op {i} ({o.op}{', node ' + repr(o.source) if o.source else ''})"
            if o.op not in KINDS:
                raise CompileError(f"{at}: unknown op (known: {', '.join(KINDS)})")
            if o.op in ("add", "sub", "mul", "div"):
                _check_const(o.const, shape, at)
                if o.op == "div" and np.any(o.const == 0):
                    raise CompileError(f"{at}: divides by a constant holding 0")
            elif o.const is not None:
                raise CompileError(f"{at}: takes no constant")
            if not isinstance(o.data_first, bool) or (o.op == "div" and not o.data_first):
                raise CompileError(f"{at}: data_first must be true or false (true for div)")
            if o.op == "reshape":
                _check_shape(o.shape, f"{at}: shape")
                if int(np.prod(o.shape)) != int(np.prod(shape)):
                    raise CompileError(
                        f"{at}: reshapes {shape} ({int(np.prod(shape))} values) to {o.shape}"
                    )
                shape = list(o.shape)
            elif o.op == "transpose":
                if not isinstance(o.perm, list) or sorted(o.perm) != list(range(len(shape))):
                    raise CompileError(f"{at}: perm {o.perm} is not a permutation of {shape}")
                shape = [shape[p] for p in o.perm]

    def as_json(self) -> dict:
        return {"in_shape": list(self.in_shape), "ops": [o.as_json() for o in self.ops]}

    @classmethod
    def from_json(cls, doc: object, where: str) -> Preprocess:
        """The IR's plain data -> Preprocess, checked; CompileError naming `where`."""
        if not isinstance(doc, dict) or not isinstance(doc.get("ops"), list):
            raise CompileError(f"{where}: preprocess must be an object with a list 'ops'")
        extra = sorted(set(doc) - {"in_shape", "ops"})
        if extra:
            raise CompileError(f"{where}: unknown preprocess fields {', '.join(extra)}")
        ops = []
        known = {"op", "const", "data_first", "shape", "perm", "source"}
        for i, d in enumerate(doc["ops"]):
            if not isinstance(d, dict) or sorted(set(d) - known):
                raise CompileError(f"{where}: preprocess op {i} is not an op object")
            const = d.get("const")
            if const is not None:
                try:
                    const = np.asarray(const, dtype=np.float64)
                except (TypeError, ValueError):
                    msg = f"{where}: preprocess op {i}: const is not numbers"
                    raise CompileError(msg) from None
            ops.append(PreOp(str(d.get("op")), const, d.get("data_first", True), d.get("shape"),
                             d.get("perm"), str(d.get("source", ""))))  # fmt: skip
        pre = cls(doc.get("in_shape"), ops)
        pre.check(f"{where}: preprocess")
        return pre


def _check_shape(shape: object, what: str) -> None:
    ok = isinstance(shape, list) and len(shape) >= 1
    if not ok or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise CompileError(f"{what} {shape!r} is not a list of positive integers")


def _check_const(c: np.ndarray | None, shape: list[int], at: str) -> None:
    if c is None or c.dtype.kind != "f" or c.size == 0:
        raise CompileError(f"{at}: needs a non-empty numeric constant")
    if not np.all(np.isfinite(c)):
        raise CompileError(f"{at}: the constant holds NaN or Inf")
    full = (1, *shape)
    try:
        same = np.broadcast_shapes(full, c.shape) == full
    except ValueError:
        same = False
    if not same:
        raise CompileError(
            f"{at}: a constant of shape {list(c.shape)} does not broadcast onto the "
            f"tensor {list(full)} without changing it"
        )


# ---------------------------------------------------------------- from the QONNX graph


def from_graph(graph: OnnxGraph, x: str) -> tuple[Preprocess | None, str]:
    """The ops from graph input `x` to the tensor its quantiser reads (returned with it).
    Reshapes right before the quantiser are left out (an elementwise quantiser commutes
    with them; the stream layout handles the flattening); None when nothing is left."""
    tensor, ops = x, []
    while True:
        consumers = list({id(c): c for c in graph.consumers(tensor)}.values())
        if len(consumers) > 1:
            raise CompileError(
                f"tensor '{tensor}' feeds {len(consumers)} nodes "
                f"({', '.join(c.name for c in consumers)}) before the input quantiser; the "
                "host pre-processing is a chain of ops with constant operands",
                consumers[0].name,
            )
        if not consumers or consumers[0].op in ("Quant", "BipolarQuant"):
            break
        node = consumers[0]
        if node.op not in BINARY and node.op not in RESHAPES | {"Neg", "Transpose"}:
            break
        ops.append(_op(graph, node, tensor, _frame_shape(graph, tensor, node)))
        tensor = node.outputs[0]
    while ops and ops[-1].op == "reshape":
        ops.pop()
    if not ops:
        return None, tensor
    pre = Preprocess(_frame_shape(graph, x, None), ops)
    pre.check(f"node '{ops[-1].source}'")
    return pre, tensor


def unsupported(node: Node) -> str:
    return (
        f"op '{node.op}' between the model input and its first quantiser is not supported "
        f"(the host pre-processing takes {SUPPORTED})"
    )


def _frame_shape(graph: OnnxGraph, tensor: str, node: Node | None) -> list[int]:
    shape = graph.shapes.get(tensor, [])
    if len(shape) < 2 or any(d <= 0 for d in shape):
        raise CompileError(
            f"the shape of '{tensor}' before the input quantiser is not known ({shape}); "
            "export the model with a fixed input shape",
            node.name if node else None,
        )
    return [int(d) for d in shape[1:]]


def _op(graph: OnnxGraph, node: Node, tensor: str, shape: list[int]) -> PreOp:
    if node.op in BINARY:
        if tensor not in node.inputs[:2]:
            raise CompileError(f"'{tensor}' enters {node.op} as a parameter", node.name)
        first = node.inputs[0] == tensor
        other = node.inputs[1] if first else node.inputs[0]
        c = graph.const(other)
        if c is None:
            raise CompileError(
                f"{node.op} between the model input and its first quantiser needs a constant "
                f"operand, but '{other}' is computed",
                node.name,
            )
        if node.op == "Div" and not first:
            raise CompileError("Div of a constant by the model input is not supported", node.name)
        c = np.asarray(c, dtype=np.float64)
        if node.op in ("Add", "Mul") and not first:
            first = True  # commutative: x + c == c + x bit for bit
        return PreOp(BINARY[node.op], c, first, source=node.name)
    if node.op == "Neg":
        return PreOp("neg", source=node.name)
    out = _frame_shape(graph, node.outputs[0], node)
    batch = graph.shapes.get(tensor, [0])[0]
    if graph.shapes.get(node.outputs[0], [0])[0] != batch:
        raise CompileError(f"{node.op} moves values across frames (the batch axis)", node.name)
    if node.op == "Transpose":
        perm = [int(p) for p in node.attrs.get("perm", [])]  # absent: all axes reversed
        if not perm or perm[0] != 0:
            raise CompileError("Transpose moves the batch axis", node.name)
        return PreOp("transpose", perm=[p - 1 for p in perm[1:]], source=node.name)
    if node.op == "Flatten" and int(node.attrs.get("axis", 1)) != 1:
        raise CompileError("Flatten with axis other than 1 mixes frames", node.name)
    return PreOp("reshape", shape=out, source=node.name)
