"""Loading a QONNX file into a small read-only view of its graph.

Only protobuf parsing (onnx.load) touches the file: no pickle, no code execution.
External data is read only from files inside the model's folder. The model is validated
(validate.py) before qonnx's cleanup sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .errors import CompileError
from .validate import validate_model


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)


@dataclass
class OnnxGraph:
    """Nodes in graph order plus initializers, with producer/consumer lookup."""

    nodes: list[Node]
    consts: dict[str, np.ndarray]
    inputs: list[str]
    outputs: list[str]
    datatypes: dict[str, str]
    shapes: dict[str, list[int]]
    model: onnx.ModelProto

    def __post_init__(self) -> None:
        self._producer = {o: n for n in self.nodes for o in n.outputs}
        self._consumers: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                self._consumers.setdefault(i, []).append(n)

    def producer(self, tensor: str) -> Node | None:
        return self._producer.get(tensor)

    def consumers(self, tensor: str) -> list[Node]:
        return self._consumers.get(tensor, [])

    def const(self, tensor: str) -> np.ndarray | None:
        return self.consts.get(tensor)


def _attr_dict(node: onnx.NodeProto) -> dict:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}


def load_qonnx(path: Path | str, cleanup: bool = True) -> OnnxGraph:
    """Parse, validate and clean up a QONNX file; CompileError on anything unreadable."""
    model = read_model(path)
    if cleanup:
        model = _cleanup(model, Path(path))
    return _to_graph(model)


def read_model(path: Path | str) -> onnx.ModelProto:
    """Parse and validate (validate.py) a QONNX file: the one entry for every command
    that reads a model, so verify and sim refuse what compile refuses, in its words."""
    path = Path(path)
    if not path.is_file():
        raise CompileError(f"{path}: no such file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf decode errors have many types
        raise CompileError(
            f"{path}: not a readable ONNX file (truncated or corrupt?): {_first_line(exc)}"
        ) from None
    _load_external_data(model, path)
    validate_model(model)
    return model


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def _load_external_data(model: onnx.ModelProto, path: Path) -> None:
    """External tensors must live in files inside the model's folder."""
    from onnx import external_data_helper as ext

    folder = path.resolve().parent
    for t in ext._get_all_tensors(model):
        if not ext.uses_external_data(t):
            continue
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        target = (folder / loc).resolve()
        if not loc or Path(loc).is_absolute() or not target.is_relative_to(folder):
            raise CompileError(
                f"{path}: tensor '{t.name}' points to external data '{loc}' outside the "
                "model's folder"
            )
        if not target.is_file():
            raise CompileError(f"{path}: external data file '{loc}' of '{t.name}' is missing")
        try:
            ext.load_external_data_for_tensor(t, str(folder))
        except Exception as exc:
            raise CompileError(
                f"{path}: external data of '{t.name}' cannot be read ({_first_line(exc)})"
            ) from None
        t.data_location = onnx.TensorProto.DEFAULT
        del t.external_data[:]


def _cleanup(model: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    try:
        return cleanup_model(ModelWrapper(model)).model
    except Exception as exc:
        raise CompileError(
            f"{path}: qonnx cleanup failed ({type(exc).__name__}: {_first_line(exc)})"
        ) from None


def _to_graph(model: onnx.ModelProto) -> OnnxGraph:
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    init_names = set(consts)
    nodes = []
    for i, n in enumerate(g.node):
        if n.op_type == "Constant":
            value = _attr_dict(n).get("value")
            if value is not None:
                consts[n.output[0]] = numpy_helper.to_array(value)
                continue
        nodes.append(
            Node(
                n.name or f"{n.op_type}_{i}",
                n.op_type,
                list(n.input),
                list(n.output),
                _attr_dict(n),
            )
        )
    datatypes = {
        a.tensor_name: a.quant_parameter_tensor_names[0].value
        for a in g.quantization_annotation
        for _ in [0]
        if a.quant_parameter_tensor_names
    }
    shapes = {}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
    inputs = [i.name for i in g.input if i.name not in init_names]
    return OnnxGraph(nodes, consts, inputs, [o.name for o in g.output], datatypes, shapes, model)
