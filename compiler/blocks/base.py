"""The interface every block kind implements (one module per kind in this package).

A block is one hardware module of the dataflow: a layer (MVU, sliding window, max-pool,
top-k), or what the netlist places between layers (FIFO, lane repacker, the weight port
of a DMA). Its module holds everything the compiler knows about it: parameters and
their check, stream formats, cycle model, FIFO-depth rule, resource estimate, memory
images, golden execution, RTL instance and HLS call. The generic code (netlist, RTL and
HLS back ends, estimator, optimiser, reports, golden executor) asks the block; it never
dispatches on its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..datatypes import DataType
from ..memmap import Res

if TYPE_CHECKING:
    from ..streams import StreamFormat

MIN_FIFO_DEPTH = 4  # beats: a FIFO that only decouples producer and consumer
MAX_LANES = 256  # hw_lane_repack takes 1..256 lanes a side: the cap on every PE and SIMD


@dataclass
class Boundary:
    """Where a node's output values appear in the ONNX graph, as tensor = scale * value."""

    tensor: str
    scale: float = 1.0
    offset: float = 0.0
    chw: list[int] | None = None  # image tensor (C,H,W): the stream carries it as (H,W,C)


def as_dtype(value: object, node: str, field: str) -> DataType:
    """A datatype field of node `node` as a DataType (CompileError naming the node)."""
    from ..errors import CompileError

    try:
        return DataType.parse(value)  # type: ignore[arg-type]
    except ValueError:
        msg = f"{field} {value!r} is not a datatype (BIPOLAR, UINTk, INTk)"
        raise CompileError(msg, node) from None


def as_boundary(value: object) -> Boundary | None:
    if isinstance(value, dict):
        return Boundary(**value)
    return value  # type: ignore[return-value]


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def c_list(items: list[str], indent: str, per_line: int) -> str:
    """C++ initialiser items, `per_line` a line."""
    rows = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return (",\n" + indent).join(rows)


@dataclass(frozen=True)
class Instance:
    """An RTL instance: module, instance name, parameters as Verilog literal text (in
    source order) and the memory files it reads. `rows`: how many parameters go on each
    line of the generated text; `inline`: the first row follows `#(`."""

    module: str
    name: str
    params: tuple[tuple[str, str], ...]
    rows: tuple[int, ...] = ()
    inline: bool = False
    files: tuple[str, ...] = ()

    def param(self, key: str, default: int | str | None = None) -> int | str | None:
        for k, v in self.params:
            if k == key:
                return verilog_value(v)
        return default

    def values(self) -> dict[str, int | str]:
        return {k: verilog_value(v) for k, v in self.params}

    def render(self, ports: list[str]) -> str:
        """The instance as Verilog text, `ports` one line each (already joined inside)."""
        items = [f".{k}({v})" for k, v in self.params]
        rows, i = [], 0
        for n in self.rows or (len(items),):
            rows.append(", ".join(items[i : i + n]))
            i += n
        sep = ",\n        "
        conns = sep.join(ports)
        if self.inline:
            head = f"    {self.module} #({sep.join(rows)}) {self.name} ("
        else:
            head = f"    {self.module} #(\n        {sep.join(rows)}\n    ) {self.name} ("
        return f"{head}\n        {conns}\n    );\n"


def verilog_value(text: str) -> int | str:
    """The value of a parameter literal: "str", 12, -2, 8'h1f, 4'b0101."""
    import re

    text = text.strip()
    if text.startswith('"'):
        return text.strip('"')
    m = re.fullmatch(r"(\d+)?'([sS])?([hdbo])([0-9a-fA-F_xz]+)", text)
    if m:
        return int(m.group(4).replace("_", ""), {"h": 16, "d": 10, "b": 2, "o": 8}[m.group(3)])
    return int(text)


def stream_ports(i: str, o: str) -> list[str]:
    """Port lines of a block with one input and one output stream (wire prefixes i, o)."""
    return [
        ".clk(clk), .rst(rst)",
        f".in_data({i}_data), .in_valid({i}_valid), .in_ready({i}_ready)",
        f".out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready)",
    ]


def literal(v: int | str) -> str:
    return f'"{v}"' if isinstance(v, str) else str(v)


class Block:
    """Base of every block kind. Layer blocks (the IR's nodes) implement all of it;
    structural blocks (FIFO, repacker, weight port) the RTL, HLS and estimate parts."""

    name: str
    kind: str
    rtl_module: ClassVar[str] = ""  # hw/rtl/<rtl_module>.v
    hls_header: ClassVar[str] = ""  # hw/hls/<hls_header>
    # this block's lanes are set by its consumer (a SlidingWindow takes its MVU's SIMD)
    lanes_from_consumer: ClassVar[bool] = False
    # this block's lanes are set by its producer (a TopK takes the lanes before it)
    lanes_from_producer: ClassVar[bool] = False
    # the default folding picks this block's lanes for the target (`fold`): MVUs
    folds_to_target: ClassVar[bool] = False

    # ------------------------------------------------------------ parameters

    def check(self) -> None:
        """Raise CompileError (one sentence naming the node) on illegal parameters."""

    # ------------------------------------------------------------ streams and timing

    def in_format(self) -> StreamFormat:
        raise NotImplementedError(type(self).__name__)

    def out_format(self) -> StreamFormat:
        raise NotImplementedError(type(self).__name__)

    def vectors_in(self) -> int:
        """Stream vectors (pixels, windows) the block takes per frame."""
        return 1

    def vectors_out(self) -> int:
        return 1

    def cycles_per_frame(self) -> int:
        """Exact steady-state cycles per frame at full rate."""
        raise NotImplementedError(type(self).__name__)

    def fifo_depth(self) -> int:
        """The analysis's depth (beats) of the FIFO in front of this block."""
        return MIN_FIFO_DEPTH

    def first_out_vectors(self) -> int:
        """Input vectors the block takes before its first output vector: its delay on a
        branch, which a join's other inputs buffer (compiler/fifos.py)."""
        return 1

    def out_dtype_name(self) -> str:
        """The datatype name of the output stream for simulator descriptions."""
        return self.out_type.name  # type: ignore[attr-defined]

    # ------------------------------------------------------------ folding

    def with_lanes(self, lanes: int) -> Block:
        """This block with `lanes` lanes in (the folding of a lane-following block)."""
        return self

    def consumer_lane_choices(self) -> list[int] | None:
        """Lane counts the next block may take (None: any)."""
        return None

    def fold_row(self) -> dict:
        """The folding columns of the optimiser's layer table."""
        return {}

    def fold(self, target: int, spec: dict, lane_choices: list[int] | None) -> Block:
        """The default folding of a block that folds to `target` on its own (`spec`: its
        folding-file entry); others return themselves."""
        return self

    def fold_after(self, lanes_before: int, target: int, spec: dict) -> Block:
        """The default folding of a block that follows the lanes before it."""
        return self

    def report_row(self) -> dict:
        """report.json's columns of this block beyond the common ones."""
        return {}

    def fold_options(self, target: int, lane_choices: list[int] | None) -> list[tuple]:
        """Foldings meeting `target` cycles per frame: (lanes in, lanes out, block)."""
        return [(self.in_lanes, self.out_lanes, self)]  # type: ignore[attr-defined]

    def fastest_cycles(self, lane_choices: list[int] | None) -> int:
        """Fewest cycles per frame of any folding (every lane count at its largest)."""
        return self.cycles_per_frame()

    def slowest_cycles(self) -> int:
        """Cycles per frame of the most folded block (one lane)."""
        return self.cycles_per_frame()

    # ------------------------------------------------------------ resources

    def estimate(self, data: bool = True) -> Res:
        """Resources of this block's instance as generated (data: look at memory
        contents, e.g. constant bits)."""
        return Res(notes=[f"{self.rtl_module}: no model"])

    def fold_estimate(self) -> Res:
        """The optimiser's quick estimate of the block (parameters only)."""
        return self.estimate(data=False)

    # ------------------------------------------------------------ golden, RTL, HLS

    def run(self, x: np.ndarray) -> np.ndarray:
        """Golden integer execution: values (N, in per frame) -> (N, out per frame)."""
        raise NotImplementedError(type(self).__name__)

    def rtl(self) -> Instance:
        raise NotImplementedError(type(self).__name__)

    def rtl_ports(self, i: str, o: str) -> list[str]:
        return stream_ports(i, o)

    def write_memories(self, rtl_dir: Path) -> None:
        """Write the memory files the RTL instance reads (none by default)."""

    def hls(self, i: str, o: str) -> str:
        """The process call in halfwave_top (input stream i, output stream o)."""
        raise NotImplementedError(type(self).__name__)

    def hls_headers(self) -> dict[str, str]:
        """Parameter headers of the HLS call: relative path -> text."""
        return {}

    def hls_includes(self) -> list[str]:
        """Headers top.cpp includes for this block's parameters."""
        return []

    def hls_pragmas(self) -> list[str]:
        return []

    def hls_max_bits(self) -> int:
        """The widest ap_uint this block's HLS code uses beyond its streams."""
        return 0

    # ------------------------------------------------------------ joins (DAG)
    # A join (Add, Concat) takes several input streams; every other layer takes one.
    # Its inputs are the producers listed in Dataflow.inputs, in this order.

    def input_count(self) -> int:
        """How many input streams the block takes."""
        return 1

    def in_formats(self) -> list[StreamFormat]:
        """The format of each input stream, in input order."""
        return [self.in_format()]

    def run_inputs(self, xs: list[np.ndarray]) -> np.ndarray:
        """Golden execution on every input's values (N, per frame), in input order."""
        return self.run(xs[0])

    def rtl_join_ports(self, ins: list[str], o: str) -> list[str]:
        """Port lines of the instance, input streams on wires `ins` (in order)."""
        return self.rtl_ports(ins[0], o)

    def hls_join(self, ins: list[str], o: str) -> str:
        """The process call in halfwave_top, input streams `ins` (in order)."""
        return self.hls(ins[0], o)


class PixelBlock(Block):
    """A block on an image stream: (IH, IW, C) pixels of `dtype` in, OH x OW pixels (or
    windows) out, the datatype unchanged (sliding window, max-pool). Its dataclass
    declares C, IH, IW, KH, KW, SH, SW, dtype and the properties OH, OW, n_out."""

    @property
    def n_in(self) -> int:
        return self.C  # type: ignore[attr-defined]

    @property
    def in_dtype(self) -> DataType:
        return self.dtype  # type: ignore[attr-defined]

    @property
    def out_type(self) -> DataType:
        return self.dtype  # type: ignore[attr-defined]

    def vectors_in(self) -> int:
        return self.IH * self.IW  # type: ignore[attr-defined]

    def vectors_out(self) -> int:
        return self.OH * self.OW  # type: ignore[attr-defined]

    def report_row(self) -> dict:
        return {
            "shape": [self.IH, self.IW, self.C],  # type: ignore[attr-defined]
            "window": [self.KH, self.KW, self.SH, self.SW],  # type: ignore[attr-defined]
            "out_shape": [self.OH, self.OW, self.n_out],  # type: ignore[attr-defined]
        }
