"""The dataflow IR: typed in memory, JSON on disk (dataflow.json + params/*.npy).

A Dataflow is the host-side input quantiser followed by a list of streaming nodes in
stream order. The nodes are the layer blocks of compiler/blocks (MVU, TopK,
SlidingWindow, MaxPool, AvgPool); their datatype fields are DataType objects and an
MVU's mode a `Mode`, written to the file by name. The input quantiser may carry the
host's float pre-processing (compiler/preprocess.py). Large parameter arrays live in
params/<node>_<name>.npy and are referenced by file name, so dataflow.json stays small
enough to read. `load` checks every node and names the node it rejects.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path

import numpy as np

from .blocks import (
    LAYER_KINDS,
    MVU,
    AvgPool,
    Block,
    Boundary,
    MaxPool,
    Mode,
    SlidingWindow,
    TopK,
)
from .blocks.base import as_dtype
from .datatypes import DataType
from .errors import CompileError
from .preprocess import Preprocess

__all__ = [
    "INPUT", "MVU", "AvgPool", "Boundary", "Dataflow", "InputQuant", "MaxPool", "Mode", "Node",
    "SlidingWindow", "TopK", "load", "save",
]  # fmt: skip

INPUT = "@input"  # the producer name of the input quantiser in Dataflow.inputs
FORMAT = "halfwave-dataflow"
VERSION = 1  # names in the file are unchanged by the typed IR


@dataclass
class InputQuant:
    """How the host turns the model's float input X into integer values."""

    shape: list[int]  # per frame, batch excluded (the model's own input shape)
    dtype: DataType  # datatype of the values (e.g. UINT8)
    kind: str  # "quant" (Quant node), "bipolar" (BipolarQuant) or "integer" (already int)
    scale: float = 1.0
    zero_point: float = 0.0
    rounding: str = "ROUND"
    tensor: str = ""  # ONNX tensor holding scale * value
    channels_last: bool = False  # image input: the host streams (C,H,W) as (H,W,C)
    # float ops the host runs on the model input before quantising (`shape` is then the
    # shape they produce, `preprocess.in_shape` the model's own input shape)
    preprocess: Preprocess | None = None

    def __post_init__(self) -> None:
        self.dtype = as_dtype(self.dtype, "input", "dtype")

    def model_shape(self) -> list[int]:
        """The per-frame shape of what the model takes (X, batch excluded)."""
        return list(self.preprocess.in_shape) if self.preprocess else list(self.shape)


Node = MVU | TopK | SlidingWindow | MaxPool | AvgPool


@dataclass
class Dataflow:
    model: str
    input: InputQuant
    nodes: list[Node]
    output_tensor: str = ""  # the ONNX graph output the last node reproduces
    # depth of the FIFO in front of each node, by node name (fifos.size_fifos; a node
    # missing here gets the analysis's depth)
    fifo_depth: dict[str, int] = field(default_factory=dict)
    # the producers of a node that does not simply take the node before it (a join, a
    # branch starting from an earlier node): node name -> producer names in input
    # order, INPUT for the input quantiser. Nodes are in a topological order; the last
    # node is the output. A node whose output feeds several nodes is forked by the
    # netlist.
    inputs: dict[str, list[str]] = field(default_factory=dict)
    # hw_fifo OUT_REG on every FIFO: its words leave from registers (compiler/pipeline.py
    # sets it for the ECP5, where a block RAM's clock-to-output takes most of a cycle)
    fifo_out_reg: bool = False

    def mvus(self) -> list[MVU]:
        return [n for n in self.nodes if isinstance(n, MVU)]

    def sources(self, k: int) -> list[str]:
        """The producers of node k (names, INPUT for the input quantiser)."""
        name = self.nodes[k].name
        if name in self.inputs:
            return list(self.inputs[name])
        return [self.nodes[k - 1].name if k else INPUT]

    def consumers(self) -> dict[str, list[str]]:
        """Producer name (INPUT included) -> the nodes taking its output, in order."""
        out: dict[str, list[str]] = {INPUT: []}
        for k, n in enumerate(self.nodes):
            out.setdefault(n.name, [])
            for src in self.sources(k):
                out.setdefault(src, []).append(n.name)
        return out

    def is_chain(self) -> bool:
        return all(self.sources(k) == [self.nodes[k - 1].name if k else INPUT]
                   for k in range(len(self.nodes)))  # fmt: skip

    def check_graph(self, where: str = "dataflow") -> None:
        """Every producer named exists earlier, joins get as many inputs as they take,
        every node but the last feeds something (CompileError naming the node)."""
        seen = {INPUT}
        for k, n in enumerate(self.nodes):
            srcs = self.sources(k)
            unknown = [s for s in srcs if s not in seen]
            if unknown:
                raise CompileError(f"{where}: input {unknown[0]!r} is not an earlier node", n.name)
            if len(srcs) != n.input_count():
                raise CompileError(
                    f"{where}: {len(srcs)} inputs given, the block takes {n.input_count()}", n.name
                )
            seen.add(n.name)
        unknown = sorted(set(self.inputs) - {n.name for n in self.nodes})
        if unknown:
            raise CompileError(f"{where}: inputs given for unknown node {unknown[0]!r}")
        used = self.consumers()
        idle = [n.name for n in self.nodes[:-1] if not used.get(n.name)]
        if idle:
            raise CompileError(f"{where}: the node's output feeds nothing", idle[0])


_ARRAYS = ("weights", "thresholds")


def _plain(value: object) -> object:
    """JSON form of an IR value: datatypes and modes by name."""
    if isinstance(value, DataType):
        return value.name
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _as_dict(obj: object) -> dict:
    """asdict, keeping DataType objects (not recursed into) for _plain."""
    return {f.name: (getattr(obj, f.name) if isinstance(getattr(obj, f.name), DataType)
                     else asdict(getattr(obj, f.name)) if isinstance(getattr(obj, f.name), Boundary)
                     else getattr(obj, f.name))
            for f in fields(obj)}  # fmt: skip


def save(df: Dataflow, build: Path) -> Path:
    """Write dataflow.json and params/*.npy (deterministic bytes)."""
    params = build / "params"
    params.mkdir(parents=True, exist_ok=True)
    nodes = []
    for n in df.nodes:
        d = _as_dict(n)
        for key in _ARRAYS:
            arr = d.get(key)
            if isinstance(arr, np.ndarray):
                fname = f"{n.name}_{key}.npy"
                np.save(params / fname, arr, allow_pickle=False)
                d[key] = f"params/{fname}"
        nodes.append(_plain(d))
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "model": df.model,
        "input": _input_json(df.input),
        "output_tensor": df.output_tensor,
        "nodes": nodes,
    }
    if df.fifo_depth:
        doc["fifo_depth"] = df.fifo_depth
    if df.inputs:
        doc["inputs"] = df.inputs
    if df.fifo_out_reg:
        doc["fifo_out_reg"] = True
    path = build / "dataflow.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def _input_json(inq: InputQuant) -> dict:
    d = {f.name: getattr(inq, f.name) for f in fields(inq) if f.name != "preprocess"}
    if inq.preprocess is not None:
        d["preprocess"] = inq.preprocess.as_json()
    return _plain(d)


def _input(d: object, path: Path) -> InputQuant:
    if not isinstance(d, dict):
        raise CompileError(f"{path}: 'input' is not an object")
    d = dict(d)
    if "preprocess" in d:
        d["preprocess"] = Preprocess.from_json(d["preprocess"], str(path))
    try:
        inq = InputQuant(**d)
    except TypeError as exc:
        raise CompileError(f"{path}: bad input quantiser ({exc})") from None
    pre = inq.preprocess
    if pre is not None and [int(v) for v in pre.out_shape()] != [int(v) for v in inq.shape]:
        raise CompileError(
            f"{path}: the pre-processing produces shape {pre.out_shape()}, the input "
            f"quantiser takes {inq.shape}"
        )
    return inq


def _node(d: dict, build: Path, path: Path) -> Block:
    name = d.get("name", "?")
    kind = d.pop("kind", None)
    cls = LAYER_KINDS.get(kind)
    if cls is None:
        raise CompileError(f"{path}: unknown node kind {kind!r}", name)
    known = {f.name for f in fields(cls)}
    extra = sorted(set(d) - known)
    if extra:
        raise CompileError(f"{path}: unknown {kind} fields {', '.join(extra)}", name)
    for key in _ARRAYS:
        if isinstance(d.get(key), str):
            f = Path(build) / d[key]
            if not f.is_file():
                raise CompileError(f"{path}: {key} file {d[key]} is missing", name)
            d[key] = np.load(f, allow_pickle=False)
    for f in fields(cls):
        v = d.get(f.name)
        if f.type == "int" and f.name in d and (not isinstance(v, int) or isinstance(v, bool)):
            raise CompileError(f"{path}: field {f.name}={v!r} is not an integer", name)
        if f.type == "str" and f.name in d and not isinstance(v, str):
            raise CompileError(f"{path}: field {f.name}={v!r} is not text", name)
    try:
        node = cls(**d)
    except TypeError as exc:
        raise CompileError(f"{path}: bad {kind} node ({exc})", name) from None
    node.check()
    return node


def load(build: Path) -> Dataflow:
    path = Path(build) / "dataflow.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a halfwave build (no dataflow.json)")
    doc = json.loads(path.read_text())
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise ValueError(f"{path}: not a {FORMAT} v{VERSION} file")
    nodes = [_node(dict(d), Path(build), path) for d in doc["nodes"]]
    df = Dataflow(
        doc["model"],
        _input(doc["input"], path),
        nodes,
        doc.get("output_tensor", ""),
        {str(k): int(v) for k, v in doc.get("fifo_depth", {}).items()},
        _inputs(doc.get("inputs", {}), path),
        bool(doc.get("fifo_out_reg", False)),
    )
    df.check_graph(str(path))
    return df


def _inputs(d: object, path: Path) -> dict[str, list[str]]:
    ok = isinstance(d, dict) and all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in d.values()
    )
    if not ok:
        raise CompileError(f"{path}: 'inputs' is not a map of node name to producer names")
    return {str(k): list(v) for k, v in d.items()}
