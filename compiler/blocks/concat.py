"""hw_concat: channel concatenation of 2..8 image streams (NHWC, channels fastest): the
output vector of a pixel is input 0's C_0 elements, then input 1's, ..., each value
multiplied by its input's `mults[i]` (exact scale alignment; 1 when the scales agree).

Every input and the output have PE lanes (the lanes follow the producer; PE divides
every C_i). The block forwards the current input's beats and waits for the others,
so the FIFOs in front of them (the netlist's) absorb the skew.

Concat (hw_concat)
------------------
One beat per cycle: cycles/frame = vectors * sum_i C_i/PE.
Latency (`concat_latency`): 1 cycle from an input beat to its output beat.

Decided here (not in DAGSPEC): `run` (one input) is not defined, the golden model is
`run_inputs`; the RTL takes the per-input lists as packed parameters (CS, WS, MULTS,
SIGNED_MASK, BIPOLAR_MASK) and each input in a slot of PE*IN_W bits of in_data
(IN_W = the widest input lane; rtl_join_ports pads narrower ones with zeros); mults
must fit 16-bit two's complement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..datatypes import BIPOLAR, DataType
from ..memmap import Res
from ..streams import StreamFormat, format_of, lane_width, signed_lanes
from .base import MAX_LANES, Block, Boundary, Instance, as_boundary, as_dtype, divisors

__all__ = ["Concat", "concat_cycles_per_frame", "concat_latency", "estimate_concat"]

_CONCAT_LATENCY = 1
MAX_INPUTS = 8


def _values(dt: DataType) -> tuple[int, int]:
    return (-1, 1) if dt == BIPOLAR else (dt.min, dt.max)


def _field_hex(values: list[int], bits: int, n: int = MAX_INPUTS) -> str:
    """Verilog literal of `values` packed `bits` a field, value i at field i."""
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return f"{n * bits}'h{word:0{n * bits // 4}x}"


@dataclass
class Concat(Block):
    """Channel concat of len(channels) inputs, vectors pixels per frame."""

    name: str
    channels: list[int]
    vectors: int
    in_dtypes: list[DataType]
    mults: list[int]
    out_dtype: DataType
    PE: int = 1
    boundary: Boundary | None = None
    source: str = ""
    kind: str = "Concat"
    rtl_module = "hw_concat"
    hls_header = "hw_concat.h"
    lanes_from_producer = True

    def __post_init__(self) -> None:
        self.in_dtypes = [as_dtype(d, self.name, f"in_dtypes[{i}]")
                          for i, d in enumerate(self.in_dtypes)]  # fmt: skip
        self.out_dtype = as_dtype(self.out_dtype, self.name, "out_dtype")
        self.channels = [int(c) for c in self.channels]
        self.mults = [int(m) for m in self.mults]
        self.boundary = as_boundary(self.boundary)

    # ------------------------------------------------------------ parameters

    def check(self) -> None:
        from ..errors import CompileError

        k = len(self.channels)
        if not 2 <= k <= MAX_INPUTS:
            raise CompileError(f"{k} inputs; a Concat takes 2..{MAX_INPUTS}", self.name)
        if len(self.in_dtypes) != k or len(self.mults) != k:
            raise CompileError(
                f"channels, in_dtypes and mults need one entry per input ({k}, "
                f"{len(self.in_dtypes)}, {len(self.mults)})",
                self.name,
            )
        if min(self.channels) < 1 or max(self.channels) >= 1 << 16 or self.vectors < 1:
            raise CompileError(f"channels {self.channels} must be in 1..65535", self.name)
        if self.PE < 1 or any(c % self.PE for c in self.channels):
            raise CompileError(f"PE={self.PE} must divide every input's channels "
                               f"{self.channels}", self.name)  # fmt: skip
        if any(not -(1 << 15) <= m < 1 << 15 or m == 0 for m in self.mults):
            raise CompileError(f"mults {self.mults} must be non-zero 16-bit integers", self.name)
        lo, hi = self.value_range()
        if not (self.out_dtype.contains(lo) and self.out_dtype.contains(hi)):
            raise CompileError(
                f"out_dtype {self.out_dtype.name} cannot hold the values [{lo}, {hi}]", self.name
            )
        pairs = zip(self.in_dtypes, self.mults, strict=True)
        if self.out_dtype == BIPOLAR and any(d != BIPOLAR or m != 1 for d, m in pairs):
            raise CompileError("a BIPOLAR output needs BIPOLAR inputs with mults 1", self.name)

    def value_range(self) -> tuple[int, int]:
        ends = [v * m for d, m in zip(self.in_dtypes, self.mults, strict=True)
                for v in _values(d)]  # fmt: skip
        return min(ends), max(ends)

    # ------------------------------------------------------------ shape

    @property
    def C(self) -> int:
        return sum(self.channels)

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
    def in_dtype(self) -> DataType:
        """Input 0's datatype (reports; in_formats() has every input's)."""
        return self.in_dtypes[0]

    @property
    def out_type(self) -> DataType:
        return self.out_dtype

    @property
    def passthrough(self) -> bool:
        """Bipolar in and out: the bits are copied (OUT_W = 1), no widening."""
        return self.out_dtype == BIPOLAR

    @property
    def out_lane_bits(self) -> int:
        return lane_width(self.out_dtype)

    # ------------------------------------------------------------ streams and timing

    def input_count(self) -> int:
        return len(self.channels)

    def in_format(self) -> StreamFormat:
        return self.in_formats()[0]

    def in_formats(self) -> list[StreamFormat]:
        pairs = zip(self.in_dtypes, self.channels, strict=True)
        return [format_of(d, self.PE, c) for d, c in pairs]

    def out_format(self) -> StreamFormat:
        return format_of(self.out_dtype, self.PE, self.C)

    def vectors_in(self) -> int:
        return self.vectors

    def vectors_out(self) -> int:
        return self.vectors

    def cycles_per_frame(self) -> int:
        return concat_cycles_per_frame(channels=self.channels, vectors=self.vectors, pe=self.PE)

    # ------------------------------------------------------------ folding (lanes follow)

    def _lane_choices(self) -> list[int]:
        g = int(np.gcd.reduce(self.channels))
        return [d for d in divisors(g) if d <= MAX_LANES]

    def with_lanes(self, lanes: int) -> Concat:
        return replace(self, PE=lanes)

    def fold_row(self) -> dict:
        return {"PE": self.PE}

    def fold_after(self, lanes_before: int, target: int, spec: dict) -> Concat:
        """The largest divisor of every C_i not above the lanes before it (more if that
        misses the target); a folding file's "PE" must divide every C_i."""
        from ..errors import CompileError

        if "PE" in spec:
            pe = int(spec["PE"])
            if pe < 1 or any(c % pe for c in self.channels):
                raise CompileError(f"PE={pe} must divide every input's channels "
                                   f"{self.channels}", self.name)  # fmt: skip
            return replace(self, PE=pe)
        choices = self._lane_choices()
        node = replace(self, PE=max(d for d in choices if d <= max(1, lanes_before)))
        for d in choices:
            if d > node.PE and node.cycles_per_frame() > target:
                node = replace(self, PE=d)
        return node

    def fold_options(self, target: int, lane_choices: list[int] | None) -> list[tuple]:
        out = []
        for d in self._lane_choices():
            node = replace(self, PE=d)
            if node.cycles_per_frame() <= target:
                out.append((d, d, node))
        return out

    def fastest_cycles(self, lane_choices: list[int] | None) -> int:
        return self.with_lanes(max(self._lane_choices())).cycles_per_frame()

    def slowest_cycles(self) -> int:
        return self.with_lanes(1).cycles_per_frame()

    def report_row(self) -> dict:
        return {"shape": [self.vectors, self.C], "channels": list(self.channels),
                "mults": list(self.mults)}  # fmt: skip

    # ------------------------------------------------------------ golden

    def run_inputs(self, xs: list[np.ndarray]) -> np.ndarray:
        """Values of each input (N, vectors*C_i) -> (N, vectors*sum C_i)."""
        n = len(xs[0])
        parts = [np.asarray(x, np.int64).reshape(n, self.vectors, c) * m
                 for x, c, m in zip(xs, self.channels, self.mults, strict=True)]  # fmt: skip
        return np.concatenate(parts, axis=2).reshape(n, -1)

    # ------------------------------------------------------------ RTL

    @property
    def in_w(self) -> int:
        return max(lane_width(d) for d in self.in_dtypes)

    def _params(self) -> list[tuple[str, str]]:
        ws = [lane_width(d) for d in self.in_dtypes]
        sg = sum(1 << i for i, d in enumerate(self.in_dtypes) if signed_lanes(d))
        bp = 0 if self.passthrough else sum(1 << i for i, d in enumerate(self.in_dtypes)
                                            if d == BIPOLAR)  # fmt: skip
        return [
            ("N", str(len(self.channels))), ("PE", str(self.PE)), ("IN_W", str(self.in_w)),
            ("OUT_W", str(self.out_lane_bits)),
            ("CS", _field_hex(self.channels, 16)), ("WS", _field_hex(ws, 8)),
            ("MULTS", _field_hex(self.mults, 16)),
            ("SIGNED_MASK", f"8'h{sg:02x}"), ("BIPOLAR_MASK", f"8'h{bp:02x}"),
        ]  # fmt: skip

    def rtl(self) -> Instance:
        return Instance(self.rtl_module, self.name, tuple(self._params()), rows=(4, 3, 2))

    def rtl_join_ports(self, ins: list[str], o: str) -> list[str]:
        slots = []
        for i, f in reversed(list(enumerate(self.in_formats()))):
            pad = self.PE * self.in_w - f.bits
            slots.append(f"{{{pad}'d0, {ins[i]}_data}}" if pad else f"{ins[i]}_data")
        valid = ", ".join(f"{ins[i]}_valid" for i in reversed(range(len(ins))))
        ready = ", ".join(f"{ins[i]}_ready" for i in reversed(range(len(ins))))
        return [
            ".clk(clk), .rst(rst)",
            f".in_data({{{', '.join(slots)}}})",
            f".in_valid({{{valid}}}), .in_ready({{{ready}}})",
            f".out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready)",
        ]

    def rtl_ports(self, i: str, o: str) -> list[str]:
        from ..errors import CompileError

        raise CompileError("a Concat takes several input streams (rtl_join_ports)", self.name)

    # ------------------------------------------------------------ HLS

    def hls_join(self, ins: list[str], o: str) -> str:
        return f"    {self.name}_concat({', '.join(ins)}, {o});\n"

    def hls(self, i: str, o: str) -> str:
        from ..errors import CompileError

        raise CompileError("a Concat takes several input streams (hls_join)", self.name)

    def hls_headers(self) -> dict[str, str]:
        return {f"{self.name}_params.h": concat_params_header(self)}

    def hls_includes(self) -> list[str]:
        return [f"{self.name}_params.h"]

    # ------------------------------------------------------------ resources

    def estimate(self, data: bool = True) -> Res:
        return estimate_concat(self.channels, self.PE, [lane_width(d) for d in self.in_dtypes],
                               self.mults, self.out_lane_bits)  # fmt: skip


def concat_params_header(n: Concat) -> str:
    """<node>_params.h: the node's process, one hw_concat_part call per input per pixel."""
    guard = f"HALFWAVE_{n.name.upper()}_PARAMS_H"
    ow = n.out_lane_bits
    args, calls = [], []
    for i, (f, d, c, m) in enumerate(zip(n.in_formats(), n.in_dtypes, n.channels, n.mults,
                                         strict=True)):  # fmt: skip
        args.append(f"hls::stream<ap_uint<{f.bits}> >& in{i}")
        bp = int(d == BIPOLAR and not n.passthrough)
        calls.append(f"        halfwave::hw_concat_part<{c}, {n.PE}, {f.width}, "
                     f"{int(signed_lanes(d))}, {bp}, {m}, {ow}>(in{i}, out);")  # fmt: skip
    return "\n".join([
        f"// {n.name}_params.h — generated by halfwave; do not edit.",
        f"// Node '{n.name}' ({n.source or 'Concat'}): channel concat of {n.channels}, mults "
        f"{n.mults}, {n.vectors} pixel(s) per frame.",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        '#include "hw_concat.h"',
        "",
        f"static void {n.name}_concat({', '.join(args)},",
        f"                             hls::stream<ap_uint<{n.PE * ow}> >& out) {{",
        f"    for (int v = 0; v < {n.vectors}; v++) {{",
        *calls,
        "    }",
        "}",
        "",
        f"#endif  // {guard}",
        "",
    ])  # fmt: skip


def estimate_concat(channels: list[int], pe: int, ws: list[int], mults: list[int],
                    out_w: int) -> Res:  # fmt: skip
    """hw_concat: per output bit the input select (a LUT per three more inputs) and the
    2-entry output buffer's mux, constant multipliers (a shift-add of OUT_W bits per
    extra set bit), the select and beat counters (2 LUTs a bit). The narrower lanes'
    extension is wiring (ws unused)."""
    n = len(channels)
    dw = pe * out_w
    kw = max(1, (max(channels) // pe - 1).bit_length())
    lut = 8.0 + dw * (1 + -(-(n - 1) // 3)) + 2 * (kw + 3)
    for m in mults:
        lut += pe * out_w * max(0, bin(abs(m)).count("1") - 1)
    ff = 3 + kw + 2 * dw + 2
    return Res(lut=lut, ff=ff, notes=[f"{n} inputs; {len(ws)} lane widths"])


def concat_cycles_per_frame(*, channels: list[int], vectors: int, pe: int = 1, **_: object) -> int:
    """vectors * sum_i C_i/PE: one beat per cycle, no per-frame overhead."""
    return vectors * sum(c // pe for c in channels)


def concat_latency(**_params: object) -> int:
    """Cycles from an input beat to its output beat."""
    return _CONCAT_LATENCY
