"""hw_maxpool: streaming max-pool on integer codes (KH x KW windows, stride SH x SW, no
padding, channels fastest); listed channels take the minimum instead.

Max-pool (hw_maxpool)
---------------------
One input beat per cycle, never a bubble, and no per-frame overhead: the horizontal and
vertical partial results are updated as beats arrive and each output beat leaves while
its window's last input beat passes. Hence exactly

    cycles/frame = IH * IW * C/PE.

Latency (`maxpool_latency`): 2 cycles from the input beat (oy*SH+KH-1, ox*SW+KW-1, g)
to the output beat of window (oy, ox), channel group g.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..datatypes import DataType
from ..memmap import Res, map_memory
from ..streams import StreamFormat, format_of, lane_width, signed_lanes
from .base import MAX_LANES, Boundary, Instance, PixelBlock, as_boundary, as_dtype, c_list, divisors
from .calibration import CAL

__all__ = ["MaxPool", "estimate_maxpool", "maxpool_cycles_per_frame", "maxpool_latency"]

_MAXPOOL_LATENCY = 2


@dataclass
class MaxPool(PixelBlock):
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
    dtype: DataType
    min_channels: list[int] = field(default_factory=list)
    PE: int = 1  # lanes in and out; divides C
    boundary: Boundary | None = None
    source: str = ""
    fused: bool = False  # the model pools before its quantiser (moved after the thresholds)
    # hw_maxpool RAM_STYLE of its banks: "auto" (Yosys's choice), or "distributed" on the
    # ECP5 (compiler/pipeline.py): a bank is read, pooled and written back in one cycle,
    # too short for a block RAM's clock-to-output there
    ram_style: str = "auto"
    kind: str = "MaxPool"
    rtl_module = "hw_maxpool"
    hls_header = "hw_maxpool.h"

    def __post_init__(self) -> None:
        self.dtype = as_dtype(self.dtype, self.name, "dtype")
        self.boundary = as_boundary(self.boundary)

    def check(self) -> None:
        from ..errors import CompileError

        if self.PE < 1 or self.C % self.PE:
            raise CompileError(f"PE={self.PE} must divide the {self.C} channels", self.name)
        if self.OH < 1 or self.OW < 1:
            raise CompileError("the pooling window exceeds the image", self.name)

    @property
    def OH(self) -> int:
        return (self.IH - self.KH) // self.SH + 1

    @property
    def OW(self) -> int:
        return (self.IW - self.KW) // self.SW + 1

    @property
    def n_out(self) -> int:
        return self.C

    @property
    def in_lanes(self) -> int:
        return self.PE

    @property
    def out_lanes(self) -> int:
        return self.PE

    def in_format(self) -> StreamFormat:
        return format_of(self.dtype, self.PE, self.C)

    def out_format(self) -> StreamFormat:
        return format_of(self.dtype, self.PE, self.C)

    def cycles_per_frame(self) -> int:
        return maxpool_cycles_per_frame(c=self.C, ih=self.IH, iw=self.IW, pe=self.PE)

    def first_out_vectors(self) -> int:
        """Pixels up to the last one of the first window."""
        return (self.KH - 1) * self.IW + self.KW

    def with_lanes(self, lanes: int) -> MaxPool:
        return replace(self, PE=lanes)

    def fold_row(self) -> dict:
        return {"PE": self.PE}

    def fold_after(self, lanes_before: int, target: int, spec: dict) -> MaxPool:
        """The largest divisor of the channels not above the lanes before it (more if
        that misses the target); a folding file's "PE" must divide the channels."""
        from ..errors import CompileError

        if "PE" in spec:
            pe = int(spec["PE"])
            if pe < 1 or self.C % pe:
                raise CompileError(f"PE={pe} must divide the {self.C} channels", self.name)
            return replace(self, PE=pe)
        fits = [d for d in divisors(self.C) if d <= max(1, lanes_before)]
        pool = replace(self, PE=max(fits))
        for d in divisors(self.C):
            if d > pool.PE and pool.cycles_per_frame() > target:
                pool = replace(self, PE=d)
        return pool

    def fold_options(self, target: int, lane_choices: list[int] | None) -> list[tuple]:
        out = []
        for d in divisors(self.C):
            mp = replace(self, PE=d)
            if d <= MAX_LANES and mp.cycles_per_frame() <= target:
                out.append((d, d, mp))
        return out

    def fastest_cycles(self, lane_choices: list[int] | None) -> int:
        pe = max(d for d in divisors(self.C) if d <= MAX_LANES)
        return self.with_lanes(pe).cycles_per_frame()

    def slowest_cycles(self) -> int:
        return self.with_lanes(1).cycles_per_frame()

    def estimate(self, data: bool = True) -> Res:
        return estimate_maxpool(
            {"C": self.C, "IH": self.IH, "IW": self.IW, "KH": self.KH, "KW": self.KW,
             "SH": self.SH, "SW": self.SW, "PE": self.PE, "W": lane_width(self.dtype),
             "RAM_STYLE": self.ram_style}
        )  # fmt: skip

    def run(self, x: np.ndarray) -> np.ndarray:
        """Pixels (N, IH*IW*C) -> (N, OH*OW*C): max over each window (min for min_channels)."""
        n = len(x)
        img = x.reshape(n, self.IH, self.IW, self.C)
        win = np.lib.stride_tricks.sliding_window_view(img, (self.KH, self.KW), axis=(1, 2))
        win = win[:, :: self.SH, :: self.SW][:, : self.OH, : self.OW]  # (N, OH, OW, C, KH, KW)
        out = win.max(axis=(-2, -1))
        if self.min_channels:
            ch = np.asarray(self.min_channels)
            out[..., ch] = win[..., ch, :, :].min(axis=(-2, -1))
        return out.reshape(n, -1)

    def rtl(self) -> Instance:
        mask = sum(1 << c for c in self.min_channels)
        params = (
            ("C", self.C), ("IH", self.IH), ("IW", self.IW), ("KH", self.KH), ("KW", self.KW),
            ("SH", self.SH), ("SW", self.SW), ("PE", self.PE), ("W", lane_width(self.dtype)),
            ("SIGNED", int(signed_lanes(self.dtype))), ("MIN_MASK", f"{self.C}'h{mask:x}"),
        )  # fmt: skip
        text = tuple((k, str(v)) for k, v in params)
        if self.ram_style != "auto":
            text += (("RAM_STYLE", f'"{self.ram_style}"'),)
        return Instance(self.rtl_module, self.name, text, rows=(6, 4, len(text) - 10))

    def bank_bits(self) -> int:
        """Bits of its largest bank (a vertical one: OW*C/PE words of PE lanes)."""
        return max(1, self.OW) * self.C * lane_width(self.dtype)

    def hls(self, i: str, o: str) -> str:
        dt = self.dtype
        return (
            f"    hw_maxpool<{self.C}, {self.IH}, {self.IW}, {self.KH}, {self.KW}, {self.SH}, "
            f"{self.SW}, {self.PE}, {lane_width(dt)}, {int(signed_lanes(dt))}>({i}, {o}, "
            f"{self.name}_min_channels);\n"
        )

    def hls_headers(self) -> dict[str, str]:
        return {f"{self.name}_params.h": maxpool_params_header(self)}

    def hls_includes(self) -> list[str]:
        return [f"{self.name}_params.h"]

    def hls_pragmas(self) -> list[str]:
        return [
            f"#pragma HLS ARRAY_PARTITION variable={self.name}_min_channels cyclic "
            f"factor={self.PE} dim=1\n"
        ]


def maxpool_params_header(n: MaxPool) -> str:
    guard = f"HALFWAVE_{n.name.upper()}_PARAMS_H"
    mins = set(n.min_channels)
    flags = [("1" if c in mins else "0") for c in range(n.C)]
    return "\n".join(
        [
            f"// {n.name}_params.h — generated by halfwave; do not edit.",
            f"// Node '{n.name}': {n.KH}x{n.KW} max-pool, stride {n.SH}x{n.SW}, {n.C} channels; "
            "1 = the channel pools with min.",
            f"#ifndef {guard}",
            f"#define {guard}",
            "",
            f"static const bool {n.name}_min_channels[{n.C}] = {{",
            "    " + c_list(flags, "    ", 32),
            "};",
            "",
            f"#endif  // {guard}",
            "",
        ]
    )


def estimate_maxpool(p: dict) -> Res:
    """hw_maxpool: NH = ceil(KW/SW) horizontal banks of C/PE words and NV = ceil(KH/SH)
    vertical banks of OW*C/PE words (registers when one word deep), PE*W bits each,
    read-modify-write with the next address read ahead."""
    c = CAL
    pe, w = p.get("PE", 1), p.get("W", 1)
    cf = p["C"] // pe
    ow = (p["IW"] - p["KW"]) // p["SW"] + 1
    nh = -(-p["KW"] // p["SW"])
    nv = -(-p["KH"] // p["SH"])
    dw = pe * w
    style = str(p.get("RAM_STYLE", "auto"))
    st = {"distributed": "distributed", "block": "block"}.get(style, "auto")
    lut = c["pool_base"] + c["pool_bit"] * (nh + nv) * dw
    ff = c["pool_ff_base"] + c["pool_ff_bit"] * (nh + nv + 2) * dw
    bram = lutram = 0.0
    kinds = []
    for banks, depth in ((nh, cf), (nv, ow * cf)):
        if depth <= 1:
            continue
        m = map_memory(depth, dw, write=True, read_sync=True, style=st)
        bram += banks * m.bram36
        lutram += banks * m.lutram
        lut += banks * (m.lutram + c["rom_mux"] * m.mux_bits)
        if m.kind == "logic":
            ff += banks * depth * dw
        kinds.append(m.kind)
    return Res(lut=lut, lutram=lutram, ff=ff, bram36=bram, notes=[f"banks: {', '.join(kinds)}"])


# ---------------------------------------------------------------- cycle model


def maxpool_cycles_per_frame(*, c: int, ih: int, iw: int, pe: int = 1, **_untimed: object) -> int:
    """IH * IW * C/PE: one input beat per cycle, no per-frame overhead."""
    if pe < 1 or c % pe:
        raise ValueError(f"PE {pe} must divide C {c}")
    return ih * iw * (c // pe)


def maxpool_latency(**_params: object) -> int:
    """Cycles from a window's last input beat to its output beat (2 for every geometry)."""
    return _MAXPOOL_LATENCY
