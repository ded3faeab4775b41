"""The dataflow IR: plain data, JSON-serialisable (dataflow.json + params/*.npy).

A Dataflow is the host-side input quantiser followed by a list of streaming nodes in
stream order. Large parameter arrays live in params/<node>_<name>.npy and are referenced
by file name, so dataflow.json stays small enough to read.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .datatypes import DataType

FORMAT = "halfwave-dataflow"
VERSION = 1


@dataclass
class InputQuant:
    """How the host turns the model's float input X into integer values."""

    shape: list[int]  # per frame, batch excluded (the model's own input shape)
    dtype: str  # datatype of the values (e.g. UINT8)
    kind: str  # "quant" (Quant node), "bipolar" (BipolarQuant) or "integer" (already int)
    scale: float = 1.0
    zero_point: float = 0.0
    rounding: str = "ROUND"
    tensor: str = ""  # ONNX tensor holding scale * value
    channels_last: bool = False  # image input: the host streams (C,H,W) as (H,W,C)


@dataclass
class Boundary:
    """Where a node's output values appear in the ONNX graph, as tensor = scale * value."""

    tensor: str
    scale: float = 1.0
    offset: float = 0.0
    chw: list[int] | None = None  # image tensor (C,H,W): the stream carries it as (H,W,C)


@dataclass
class MVU:
    name: str
    MW: int
    MH: int
    mode: str  # "xnor" | "signsel" | "mac" | "ternary"
    in_dtype: str
    weight_dtype: str
    acc_lo: int  # accumulator range in the hardware domain (popcount for xnor)
    acc_hi: int
    out_dtype: str | None  # None: raw accumulators leave the node
    out_base: int = 0  # value = out_base + threshold count (BIPOLAR: bit = count)
    PE: int = 1
    SIMD: int = 1
    weights: np.ndarray | None = None  # (MH, MW) int8/int16 values, rows already negated
    thresholds: np.ndarray | None = None  # (MH, N_T) int64, hardware domain, ascending
    negated_rows: list[int] = field(default_factory=list)
    out_scale: list[float] | None = None  # raw output: model output = acc*scale + bias
    out_bias: list[float] | None = None
    boundary: Boundary | None = None
    source: str = ""  # ONNX node the matmul came from
    vectors: int = 1  # input vectors per frame (OH*OW output pixels for a convolution)
    ternary: list[int] | None = None  # [p, n]: weights are p, 0, -n (rows may be negated)
    # weights in DDR: hw_mvu WEIGHT_SOURCE = "stream", fed by a weight stream port of the
    # top (w_<name>_tdata/...) instead of an on-chip ROM
    external: bool = False
    kind: str = "MVU"

    @property
    def n_thresholds(self) -> int:
        return 0 if self.thresholds is None else int(self.thresholds.shape[1])

    @property
    def NF(self) -> int:
        return -(-self.MH // self.PE)

    @property
    def SF(self) -> int:
        return -(-self.MW // self.SIMD)

    @property
    def out_type(self) -> DataType:
        if self.out_dtype is None:
            return DataType.smallest_int_holding(self.acc_lo, self.acc_hi)
        return DataType.parse(self.out_dtype)

    @property
    def acc_bits(self) -> int:
        """Signed bits for accumulators and thresholds (thresholds may be acc_hi + 1)."""
        lo, hi = self.acc_lo, self.acc_hi + 1
        if self.thresholds is not None and self.thresholds.size:
            lo, hi = min(lo, int(self.thresholds.min())), max(hi, int(self.thresholds.max()))
        return DataType.smallest_int_holding(lo, hi).bits

    @property
    def n_in(self) -> int:
        return self.MW

    @property
    def n_out(self) -> int:
        return self.MH

    @property
    def in_lanes(self) -> int:
        return self.SIMD

    @property
    def out_lanes(self) -> int:
        return self.PE

    def cycles_per_frame(self) -> int:
        return self.vectors * self.NF * self.SF

    @property
    def weight_word_bits(self) -> int:
        """Bits of one weight memory word (PE*SIMD lanes), one weight-stream beat."""
        w_w = 1 if self.weight_dtype == "BIPOLAR" else DataType.parse(self.weight_dtype).bits
        return self.PE * self.SIMD * w_w


@dataclass
class TopK:
    name: str
    N: int
    K: int
    in_dtype: str
    PE: int = 1
    kind: str = "TopK"

    @property
    def n_in(self) -> int:
        return self.N

    @property
    def n_out(self) -> int:
        return self.K

    @property
    def in_lanes(self) -> int:
        return self.PE

    @property
    def out_lanes(self) -> int:
        return 1

    @property
    def out_type(self) -> DataType:
        return DataType.uint(max(1, (self.N - 1).bit_length()))

    def cycles_per_frame(self) -> int:
        return self.N + (1 if self.K == self.N else 0)


@dataclass
class SlidingWindow:
    """im2col on a stream: (IH, IW, C) pixels in, OH*OW windows of (KH, KW, C) out.

    Window element (ky, kx, c) is at index (ky*KW + kx)*C + c, the column order of the
    convolution's MVU. Padding positions carry pad_value (the code of 0)."""

    name: str
    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    pads: list[int]  # top, left, bottom, right
    dtype: str
    pad_value: int = 0
    SIMD: int = 1  # lanes in and out; divides C
    kind: str = "SlidingWindow"

    @property
    def OH(self) -> int:
        return (self.IH + self.pads[0] + self.pads[2] - self.KH) // self.SH + 1

    @property
    def OW(self) -> int:
        return (self.IW + self.pads[1] + self.pads[3] - self.KW) // self.SW + 1

    @property
    def n_in(self) -> int:
        return self.C

    @property
    def n_out(self) -> int:
        return self.KH * self.KW * self.C

    @property
    def in_lanes(self) -> int:
        return self.SIMD

    @property
    def out_lanes(self) -> int:
        return self.SIMD

    @property
    def in_dtype(self) -> str:
        return self.dtype

    @property
    def out_type(self) -> DataType:
        return DataType.parse(self.dtype)

    def cycles_per_frame(self) -> int:
        from halfwave.hw.cycles import swg_cycles_per_frame

        return swg_cycles_per_frame(**{k.lower(): v for k, v in self.geometry().items()})

    def geometry(self) -> dict[str, int]:
        return {
            "C": self.C, "IH": self.IH, "IW": self.IW, "KH": self.KH, "KW": self.KW,
            "SH": self.SH, "SW": self.SW, "PAD_T": self.pads[0], "PAD_L": self.pads[1],
            "PAD_B": self.pads[2], "PAD_R": self.pads[3], "SIMD": self.SIMD,
        }  # fmt: skip


@dataclass
class MaxPool:
    """Max-pool of (IH, IW, C) pixels over KH x KW windows, stride SH x SW, no padding.
    Channels listed in min_channels take the minimum instead (pooling placed after a
    threshold stage whose step decreases in the pooled quantity)."""

    name: str
    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    dtype: str
    min_channels: list[int] = field(default_factory=list)
    PE: int = 1  # lanes in and out; divides C
    boundary: Boundary | None = None
    source: str = ""
    fused: bool = False  # the model pools before its quantiser (moved after the thresholds)
    kind: str = "MaxPool"

    @property
    def OH(self) -> int:
        return (self.IH - self.KH) // self.SH + 1

    @property
    def OW(self) -> int:
        return (self.IW - self.KW) // self.SW + 1

    @property
    def n_in(self) -> int:
        return self.C

    @property
    def n_out(self) -> int:
        return self.C

    @property
    def in_lanes(self) -> int:
        return self.PE

    @property
    def out_lanes(self) -> int:
        return self.PE

    @property
    def in_dtype(self) -> str:
        return self.dtype

    @property
    def out_type(self) -> DataType:
        return DataType.parse(self.dtype)

    def cycles_per_frame(self) -> int:
        from halfwave.hw.cycles import maxpool_cycles_per_frame

        return maxpool_cycles_per_frame(c=self.C, ih=self.IH, iw=self.IW, pe=self.PE)


Node = MVU | TopK | SlidingWindow | MaxPool


@dataclass
class Dataflow:
    model: str
    input: InputQuant
    nodes: list[Node]
    output_tensor: str = ""  # the ONNX graph output the last node reproduces
    # depth of the FIFO in front of each node, by node name (fifos.size_fifos; a node
    # missing here gets the analysis's depth)
    fifo_depth: dict[str, int] = field(default_factory=dict)

    def mvus(self) -> list[MVU]:
        return [n for n in self.nodes if isinstance(n, MVU)]


_ARRAYS = ("weights", "thresholds")


def save(df: Dataflow, build: Path) -> Path:
    """Write dataflow.json and params/*.npy (deterministic bytes)."""
    params = build / "params"
    params.mkdir(parents=True, exist_ok=True)
    nodes = []
    for n in df.nodes:
        d = asdict(n)
        for key in _ARRAYS:
            arr = d.get(key)
            if isinstance(arr, np.ndarray):
                fname = f"{n.name}_{key}.npy"
                np.save(params / fname, arr, allow_pickle=False)
                d[key] = f"params/{fname}"
        nodes.append(d)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "model": df.model,
        "input": asdict(df.input),
        "output_tensor": df.output_tensor,
        "nodes": nodes,
    }
    if df.fifo_depth:
        doc["fifo_depth"] = df.fifo_depth
    path = build / "dataflow.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def load(build: Path) -> Dataflow:
    path = Path(build) / "dataflow.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a halfwave build (no dataflow.json)")
    doc = json.loads(path.read_text())
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise ValueError(f"{path}: not a {FORMAT} v{VERSION} file")
    nodes: list[Node] = []
    for d in doc["nodes"]:
        for key in _ARRAYS:
            if isinstance(d.get(key), str):
                d[key] = np.load(Path(build) / d[key], allow_pickle=False)
        kind = d.pop("kind")
        if kind == "MVU":
            d["boundary"] = Boundary(**d["boundary"]) if d.get("boundary") else None
            nodes.append(MVU(**d))
        elif kind == "TopK":
            nodes.append(TopK(**d))
        elif kind == "SlidingWindow":
            nodes.append(SlidingWindow(**d))
        elif kind == "MaxPool":
            d["boundary"] = Boundary(**d["boundary"]) if d.get("boundary") else None
            nodes.append(MaxPool(**d))
        else:
            raise ValueError(f"{path}: unknown node kind '{kind}'")
    return Dataflow(
        doc["model"],
        InputQuant(**doc["input"]),
        nodes,
        doc.get("output_tensor", ""),
        {str(k): int(v) for k, v in doc.get("fifo_depth", {}).items()},
    )
