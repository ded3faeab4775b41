"""hw_avgpool: the integer part of an average pool (AveragePool, GlobalAveragePool):
per channel, the sum of the codes over KH x KW windows that do not overlap (stride >=
kernel), no padding, channels fastest.

The division by KH*KW never happens in hardware: the sums are integer values of scale
`s / (KH*KW)` (s: the pooled codes' scale), and the layer that reads them folds that
rational scale into its exact thresholds like any other input scale. What cannot be
exact is refused by the lowering (a quantiser straight after the pool, overlapping
windows, padding, a pool ending the network).

Sum-pool (hw_avgpool)
---------------------
One input beat per cycle, never a bubble, no per-frame overhead (each output beat leaves
while the last input beat of its window passes):

    cycles/frame = IH * IW * C/PE.

Latency (`avgpool_latency`): 2 cycles from the input beat (oy*SH+KH-1, ox*SW+KW-1, g)
to the output beat of window (oy, ox), channel group g.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datatypes import BIPOLAR, DataType
from ..memmap import Res, map_memory
from ..streams import StreamFormat, format_of, lane_width, signed_lanes
from .base import Boundary, Instance, PixelBlock, as_boundary, as_dtype
from .calibration import CAL
from .maxpool import MaxPool, maxpool_cycles_per_frame

__all__ = ["AvgPool", "avgpool_cycles_per_frame", "avgpool_latency", "sum_dtype"]

_AVGPOOL_LATENCY = 2


def sum_dtype(dt: DataType, n: int) -> DataType:
    """The datatype of a sum of n values of dt (BIPOLAR: -1/+1 each)."""
    return DataType.for_range(n * dt.min, n * dt.max)


@dataclass
class AvgPool(PixelBlock):
    """Sums of (IH, IW, C) pixels over KH x KW windows, stride SH >= KH, SW >= KW.
    `out_dtype` holds every sum; `boundary.scale` is the pooled codes' scale / (KH*KW)."""

    name: str
    C: int
    IH: int
    IW: int
    KH: int
    KW: int
    SH: int
    SW: int
    dtype: DataType
    out_dtype: DataType
    PE: int = 1  # lanes in and out; divides C
    boundary: Boundary | None = None
    source: str = ""
    kind: str = "AvgPool"
    rtl_module = "hw_avgpool"
    hls_header = "hw_avgpool.h"

    def __post_init__(self) -> None:
        self.dtype = as_dtype(self.dtype, self.name, "dtype")
        self.out_dtype = as_dtype(self.out_dtype, self.name, "out_dtype")
        self.boundary = as_boundary(self.boundary)

    def check(self) -> None:
        from ..errors import CompileError

        if self.PE < 1 or self.C % self.PE:
            raise CompileError(f"PE={self.PE} must divide the {self.C} channels", self.name)
        if min(self.KH, self.KW) < 1 or self.OH < 1 or self.OW < 1:
            raise CompileError("the pooling window exceeds the image", self.name)
        if self.SH < self.KH or self.SW < self.KW:
            raise CompileError(
                f"average-pool windows overlap (stride {self.SH}x{self.SW} below the window "
                f"{self.KH}x{self.KW}); hw_avgpool sums windows that do not overlap",
                self.name,
            )
        need = sum_dtype(self.dtype, self.KH * self.KW)
        if not (self.out_dtype.contains(need.min) and self.out_dtype.contains(need.max)):
            raise CompileError(
                f"out_dtype {self.out_dtype.name} cannot hold a sum of {self.KH * self.KW} "
                f"{self.dtype.name} values (needs {need.name})",
                self.name,
            )

    # geometry, stream formats of the input, lanes and their folding are max-pool's
    OH = MaxPool.OH
    OW = MaxPool.OW
    n_out = MaxPool.n_out
    in_lanes = MaxPool.in_lanes
    out_lanes = MaxPool.out_lanes
    in_format = MaxPool.in_format
    cycles_per_frame = MaxPool.cycles_per_frame
    with_lanes = MaxPool.with_lanes
    fold_row = MaxPool.fold_row
    fold_after = MaxPool.fold_after
    fold_options = MaxPool.fold_options
    fastest_cycles = MaxPool.fastest_cycles
    slowest_cycles = MaxPool.slowest_cycles

    @property
    def out_type(self) -> DataType:
        return self.out_dtype

    def out_format(self) -> StreamFormat:
        return format_of(self.out_dtype, self.PE, self.C)

    def first_out_vectors(self) -> int:
        """Pixels up to the last one of the first window."""
        return (self.KH - 1) * self.IW + self.KW

    def estimate(self, data: bool = True) -> Res:
        return estimate_avgpool(
            {"C": self.C, "IH": self.IH, "IW": self.IW, "KW": self.KW, "SW": self.SW,
             "PE": self.PE, "OUT_W": lane_width(self.out_dtype)}
        )  # fmt: skip

    def run(self, x: np.ndarray) -> np.ndarray:
        """Pixels (N, IH*IW*C) -> (N, OH*OW*C): the sum over each window (int64)."""
        n = len(x)
        img = np.asarray(x, dtype=np.int64).reshape(n, self.IH, self.IW, self.C)
        img = img[:, : self.OH * self.SH, : self.OW * self.SW]
        pad_h, pad_w = self.OH * self.SH - img.shape[1], self.OW * self.SW - img.shape[2]
        img = np.pad(img, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))  # rows past the image
        blocks = img.reshape(n, self.OH, self.SH, self.OW, self.SW, self.C)
        return blocks[:, :, : self.KH, :, : self.KW].sum(axis=(2, 4)).reshape(n, -1)

    def _params(self) -> tuple[tuple[str, int], ...]:
        return (
            ("C", self.C), ("IH", self.IH), ("IW", self.IW), ("KH", self.KH), ("KW", self.KW),
            ("SH", self.SH), ("SW", self.SW), ("PE", self.PE), ("W", lane_width(self.dtype)),
            ("SIGNED", int(signed_lanes(self.dtype))), ("BIPOLAR", int(self.dtype == BIPOLAR)),
            ("OUT_W", lane_width(self.out_dtype)),
        )  # fmt: skip

    def rtl(self) -> Instance:
        text = tuple((k, str(v)) for k, v in self._params())
        return Instance(self.rtl_module, self.name, text, rows=(6, 6))

    def hls(self, i: str, o: str) -> str:
        args = ", ".join(str(v) for _, v in self._params())
        return f"    hw_avgpool<{args}>({i}, {o});\n"


def estimate_avgpool(p: dict) -> Res:
    """hw_avgpool: a horizontal bank of C/PE words and a vertical bank of OW*C/PE words
    (registers when one word deep), PE*OUT_W bits each, read-modify-write through an
    adder per lane (one LUT per sum bit), with the next address read ahead."""
    c = CAL
    pe, w = p.get("PE", 1), p.get("OUT_W", 1)
    cf = p["C"] // pe
    ow = (p["IW"] - p["KW"]) // p["SW"] + 1
    dw = pe * w
    lut = c["pool_base"] + 2 * dw * (1 + c["pool_bit"])
    ff = c["pool_ff_base"] + c["pool_ff_bit"] * 3 * dw
    bram = lutram = 0.0
    kinds = []
    for depth in (cf, ow * cf):
        if depth <= 1:
            continue
        m = map_memory(depth, dw, write=True, read_sync=True, style="auto")
        bram += m.bram36
        lutram += m.lutram
        lut += m.lutram + c["rom_mux"] * m.mux_bits
        if m.kind == "logic":
            ff += depth * dw
        kinds.append(m.kind)
    return Res(lut=lut, lutram=lutram, ff=ff, bram36=bram, notes=[f"banks: {', '.join(kinds)}"])


def avgpool_cycles_per_frame(*, c: int, ih: int, iw: int, pe: int = 1, **_: object) -> int:
    """IH * IW * C/PE: one input beat per cycle, no per-frame overhead (as hw_maxpool)."""
    return maxpool_cycles_per_frame(c=c, ih=ih, iw=iw, pe=pe)


def avgpool_latency(**_params: object) -> int:
    """Cycles from a window's last input beat to its output beat (2 for every geometry)."""
    return _AVGPOOL_LATENCY
