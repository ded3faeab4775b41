"""hw_add: the elementwise join of two streams (a residual Add), z = coef_a*a + coef_b*b
per channel with exact integer coefficients, then the channel's thresholds (out_base +
count, as an MVU) or z raw.

Both inputs carry the same `vectors` vectors of C elements, PE lanes a beat (the lanes
follow the producer; PE divides C). Channel c of a vector is lane c % PE of beat c // PE.
The block takes a beat only when both inputs have one, so the FIFOs in front of its
inputs (the netlist's) absorb the branches' skew.

Add (hw_add)
------------
One beat pair per cycle, never a bubble: cycles/frame = vectors * C/PE.
Latency (`add_latency`): 2 cycles from a beat pair to its output beat.

Memories: the coefficients are parameters (COEF_A, COEF_B) when every channel has the
same pair, else a ROM `<node>_coefs.mem` (C/PE words of PE*2*CW bits); thresholds, when
there are any, a ROM `<node>_thresholds.mem` laid out as hw_mvu's (C/PE words of
PE*N_T*ACC_W bits).

Decided here (not in DAGSPEC): `run` (one input) is not defined, the golden model is
`run_inputs`; ACC_W covers acc_lo..acc_hi+1 and every threshold, as MVU.acc_bits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..datatypes import BIPOLAR, DataType
from ..memmap import Res, map_memory
from ..streams import StreamFormat, format_of, lane_width, signed_lanes
from .base import (
    MAX_LANES,
    Block,
    Boundary,
    Instance,
    as_boundary,
    as_dtype,
    c_list,
    divisors,
    literal,
)
from .calibration import CAL
from .mvu import mvu_threshold_codes
from .packing import pack_words, twos

__all__ = ["Add", "add_cycles_per_frame", "add_latency", "estimate_add"]

_ADD_LATENCY = 2


def _values(dt: DataType) -> tuple[int, int]:
    return (-1, 1) if dt == BIPOLAR else (dt.min, dt.max)


@dataclass
class Add(Block):
    """z[c] = coef_a[c]*a[c] + coef_b[c]*b[c], then thresholds (or z raw)."""

    name: str
    C: int
    vectors: int
    a_dtype: DataType
    b_dtype: DataType
    coef_a: list[int]
    coef_b: list[int]
    acc_lo: int
    acc_hi: int
    out_dtype: DataType | None
    out_base: int = 0
    thresholds: np.ndarray | None = None
    PE: int = 1
    out_scale: list[float] | None = None
    out_bias: list[float] | None = None
    boundary: Boundary | None = None
    source: str = ""
    kind: str = "Add"
    rtl_module = "hw_add"
    hls_header = "hw_add.h"
    lanes_from_producer = True

    def __post_init__(self) -> None:
        self.a_dtype = as_dtype(self.a_dtype, self.name, "a_dtype")
        self.b_dtype = as_dtype(self.b_dtype, self.name, "b_dtype")
        if self.out_dtype is not None:
            self.out_dtype = as_dtype(self.out_dtype, self.name, "out_dtype")
        if self.thresholds is not None:
            self.thresholds = np.asarray(self.thresholds, dtype=np.int64)
        self.coef_a = [int(v) for v in self.coef_a]
        self.coef_b = [int(v) for v in self.coef_b]
        self.boundary = as_boundary(self.boundary)

    # ------------------------------------------------------------ parameters

    def check(self) -> None:
        from ..errors import CompileError

        if self.C < 1 or self.vectors < 1:
            raise CompileError(f"C={self.C} and vectors={self.vectors} must be >= 1", self.name)
        if self.PE < 1 or self.C % self.PE:
            raise CompileError(f"PE={self.PE} must divide the {self.C} channels", self.name)
        if len(self.coef_a) != self.C or len(self.coef_b) != self.C:
            raise CompileError(
                f"coef_a and coef_b need {self.C} entries (got {len(self.coef_a)} and "
                f"{len(self.coef_b)})",
                self.name,
            )
        lo, hi = self.z_range()
        if lo < self.acc_lo or hi > self.acc_hi:
            raise CompileError(
                f"the sum ranges over [{lo}, {hi}], outside acc_lo..acc_hi = "
                f"[{self.acc_lo}, {self.acc_hi}]",
                self.name,
            )
        t = self.thresholds
        if (t is None) != (self.out_dtype is None):
            raise CompileError("out_dtype and thresholds must be given together", self.name)
        if t is not None:
            if t.ndim != 2 or t.shape[0] != self.C or t.shape[1] < 1:
                raise CompileError(f"thresholds of shape {t.shape}, expected ({self.C}, N_T)",
                                   self.name)  # fmt: skip
            if (np.diff(t, axis=1) < 0).any():
                raise CompileError("thresholds must be ascending along each channel", self.name)
            n_t, dt = t.shape[1], self.out_dtype
            ok = n_t == 1 if dt == BIPOLAR else (
                dt.contains(self.out_base) and dt.contains(self.out_base + n_t))  # fmt: skip
            if not ok:
                raise CompileError(
                    f"{n_t} thresholds from out_base {self.out_base} do not fit {dt.name}",
                    self.name,
                )

    def z_range(self) -> tuple[int, int]:
        """The range of z over every channel and the inputs' ranges."""
        (al, ah), (bl, bh) = _values(self.a_dtype), _values(self.b_dtype)
        ca, cb = np.array(self.coef_a, np.int64), np.array(self.coef_b, np.int64)
        lo = np.minimum(ca * al, ca * ah) + np.minimum(cb * bl, cb * bh)
        hi = np.maximum(ca * al, ca * ah) + np.maximum(cb * bl, cb * bh)
        return int(lo.min()), int(hi.max())

    # ------------------------------------------------------------ shape

    @property
    def n_thresholds(self) -> int:
        return 0 if self.thresholds is None else int(self.thresholds.shape[1])

    @property
    def acc_bits(self) -> int:
        """Signed bits of z and the thresholds (thresholds may be acc_hi + 1)."""
        lo, hi = self.acc_lo, self.acc_hi + 1
        if self.thresholds is not None and self.thresholds.size:
            lo, hi = min(lo, int(self.thresholds.min())), max(hi, int(self.thresholds.max()))
        return max(2, DataType.smallest_int_holding(lo, hi).bits)

    @property
    def coef_bits(self) -> int:
        vals = self.coef_a + self.coef_b
        return max(2, DataType.smallest_int_holding(min(vals), max(vals)).bits)

    @property
    def constant_coefs(self) -> bool:
        return len(set(self.coef_a)) == 1 and len(set(self.coef_b)) == 1

    @property
    def in_dtype(self) -> DataType:
        """Input 0's datatype (reports; in_formats() has both)."""
        return self.a_dtype

    @property
    def out_type(self) -> DataType:
        if self.out_dtype is None:
            return DataType.smallest_int_holding(self.acc_lo, self.acc_hi)
        return self.out_dtype

    @property
    def out_lane_bits(self) -> int:
        return lane_width(self.out_dtype) if self.out_dtype is not None else 1

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

    # ------------------------------------------------------------ streams and timing

    def input_count(self) -> int:
        return 2

    def in_format(self) -> StreamFormat:
        return format_of(self.a_dtype, self.PE, self.C)

    def in_formats(self) -> list[StreamFormat]:
        return [format_of(self.a_dtype, self.PE, self.C), format_of(self.b_dtype, self.PE, self.C)]

    def out_format(self) -> StreamFormat:
        if self.out_dtype is None:
            return StreamFormat(self.PE, self.acc_bits, self.C, True)
        return format_of(self.out_dtype, self.PE, self.C)

    def vectors_in(self) -> int:
        return self.vectors

    def vectors_out(self) -> int:
        return self.vectors

    def cycles_per_frame(self) -> int:
        return add_cycles_per_frame(c=self.C, vectors=self.vectors, pe=self.PE)

    # ------------------------------------------------------------ folding (lanes follow)

    def with_lanes(self, lanes: int) -> Add:
        return replace(self, PE=lanes)

    def fold_row(self) -> dict:
        return {"PE": self.PE}

    def fold_after(self, lanes_before: int, target: int, spec: dict) -> Add:
        """The largest divisor of C not above the lanes before it (more if that misses
        the target); a folding file's "PE" must divide C."""
        from ..errors import CompileError

        if "PE" in spec:
            pe = int(spec["PE"])
            if pe < 1 or self.C % pe:
                raise CompileError(f"PE={pe} must divide the {self.C} channels", self.name)
            return replace(self, PE=pe)
        node = replace(self, PE=max(d for d in divisors(self.C) if d <= max(1, lanes_before)))
        for d in divisors(self.C):
            if d > node.PE and node.cycles_per_frame() > target:
                node = replace(self, PE=d)
        return node

    def fold_options(self, target: int, lane_choices: list[int] | None) -> list[tuple]:
        out = []
        for d in divisors(self.C):
            node = replace(self, PE=d)
            if d <= MAX_LANES and node.cycles_per_frame() <= target:
                out.append((d, d, node))
        return out

    def fastest_cycles(self, lane_choices: list[int] | None) -> int:
        pe = max(d for d in divisors(self.C) if d <= MAX_LANES)
        return self.with_lanes(pe).cycles_per_frame()

    def slowest_cycles(self) -> int:
        return self.with_lanes(1).cycles_per_frame()

    def report_row(self) -> dict:
        coefs = "constant" if self.constant_coefs else "per channel"
        return {"shape": [self.vectors, self.C], "channels": self.C, "coefs": coefs,
                "thresholds_per_channel": self.n_thresholds}  # fmt: skip

    # ------------------------------------------------------------ golden

    def run_inputs(self, xs: list[np.ndarray]) -> np.ndarray:
        """Values a, b (N, vectors*C) -> (N, vectors*C): thresholded codes, or z raw."""
        n = len(xs[0])
        a = np.asarray(xs[0], np.int64).reshape(n * self.vectors, self.C)
        b = np.asarray(xs[1], np.int64).reshape(n * self.vectors, self.C)
        z = np.array(self.coef_a, np.int64) * a + np.array(self.coef_b, np.int64) * b
        if self.thresholds is None:
            return z.reshape(n, -1)
        count = (z[:, :, None] >= self.thresholds[None]).sum(axis=-1)
        out = 2 * count - 1 if self.out_dtype == BIPOLAR else self.out_base + count
        return out.reshape(n, -1)

    # ------------------------------------------------------------ memories

    def coef_codes(self) -> np.ndarray:
        """(C/PE, PE*2) lane codes of the coefficient ROM: word g, lane 2l (2l+1) holds
        coef_a (coef_b) of channel g*PE+l, CW-bit two's complement."""
        pairs = np.stack([self.coef_a, self.coef_b], axis=1)  # (C, 2)
        return twos(pairs, self.coef_bits, "coefficients").reshape(self.C // self.PE, 2 * self.PE)

    def write_memories(self, rtl_dir: Path) -> None:
        rtl_dir = Path(rtl_dir)
        rtl_dir.mkdir(parents=True, exist_ok=True)
        if not self.constant_coefs:
            text = pack_words(self.coef_codes(), self.coef_bits)
            (rtl_dir / f"{self.name}_coefs.mem").write_text(text)
        if self.n_thresholds:
            codes = mvu_threshold_codes(self.thresholds, self.PE, self.acc_bits)
            (rtl_dir / f"{self.name}_thresholds.mem").write_text(pack_words(codes, self.acc_bits))

    def rom_style(self) -> str:
        bits = self.C * (2 * self.coef_bits + self.n_thresholds * self.acc_bits)
        return "auto" if bits <= 4096 else "block"

    # ------------------------------------------------------------ RTL

    def _params(self) -> list[tuple[str, int | str]]:
        a, b = self.a_dtype, self.b_dtype
        bias = 0 if self.out_dtype in (None, BIPOLAR) else self.out_base
        cfile = "" if self.constant_coefs else f"{self.name}_coefs.mem"
        tfile = f"{self.name}_thresholds.mem" if self.n_thresholds else ""
        return [
            ("C", self.C), ("PE", self.PE),
            ("A_W", lane_width(a)), ("A_SIGNED", int(signed_lanes(a))),
            ("A_BIPOLAR", int(a == BIPOLAR)),
            ("B_W", lane_width(b)), ("B_SIGNED", int(signed_lanes(b))),
            ("B_BIPOLAR", int(b == BIPOLAR)),
            ("ACC_W", self.acc_bits), ("CW", self.coef_bits),
            ("COEF_A", self.coef_a[0] if self.constant_coefs else 0),
            ("COEF_B", self.coef_b[0] if self.constant_coefs else 0),
            ("N_T", self.n_thresholds), ("OUT_W", self.out_lane_bits), ("OUT_BIAS", bias),
            ("COEF_FILE", cfile), ("THRESH_FILE", tfile), ("ROM_STYLE", self.rom_style()),
        ]  # fmt: skip

    def rtl(self) -> Instance:
        params = self._params()
        text = tuple((k, literal(v)) for k, v in params)
        files = tuple(str(v) for k, v in params if k.endswith("_FILE") and v)
        return Instance(self.rtl_module, self.name, text, rows=(2, 3, 3, 4, 3, 3), files=files)

    def rtl_join_ports(self, ins: list[str], o: str) -> list[str]:
        a, b = ins
        return [
            ".clk(clk), .rst(rst)",
            f".a_data({a}_data), .a_valid({a}_valid), .a_ready({a}_ready)",
            f".b_data({b}_data), .b_valid({b}_valid), .b_ready({b}_ready)",
            f".out_data({o}_data), .out_valid({o}_valid), .out_ready({o}_ready)",
        ]

    def rtl_ports(self, i: str, o: str) -> list[str]:
        from ..errors import CompileError

        raise CompileError("an Add takes two input streams (rtl_join_ports)", self.name)

    # ------------------------------------------------------------ HLS

    def hls_join(self, ins: list[str], o: str) -> str:
        p = dict(self._params())
        args = ", ".join(str(p[k]) for k in (
            "C", "PE", "A_W", "A_SIGNED", "A_BIPOLAR", "B_W", "B_SIGNED", "B_BIPOLAR",
            "ACC_W", "CW", "N_T", "OUT_W", "OUT_BIAS"))  # fmt: skip
        return (
            f"    hw_add<{args}, {self.vectors}>(\n"
            f"        {ins[0]}, {ins[1]}, {o}, {self.name}_coefs, {self.name}_thresholds);\n"
        )

    def hls(self, i: str, o: str) -> str:
        from ..errors import CompileError

        raise CompileError("an Add takes two input streams (hls_join)", self.name)

    def hls_headers(self) -> dict[str, str]:
        return {f"{self.name}_params.h": add_params_header(self)}

    def hls_includes(self) -> list[str]:
        return [f"{self.name}_params.h"]

    def hls_pragmas(self) -> list[str]:
        n = self.name
        return [
            f"#pragma HLS ARRAY_PARTITION variable={n}_coefs cyclic factor={self.PE} dim=1\n",
            f"#pragma HLS ARRAY_PARTITION variable={n}_thresholds cyclic factor={self.PE} dim=1\n",
        ]

    # ------------------------------------------------------------ resources

    def estimate(self, data: bool = True) -> Res:
        return estimate_add(dict(self._params()))


def add_params_header(n: Add) -> str:
    """<node>_params.h: the coefficients and thresholds of an Add as constants."""
    guard = f"HALFWAVE_{n.name.upper()}_PARAMS_H"
    nt1 = max(1, n.n_thresholds)
    coefs = [f"{{{a}, {b}}}" for a, b in zip(n.coef_a, n.coef_b, strict=True)]
    t = n.thresholds if n.thresholds is not None else np.zeros((n.C, 1), np.int64)
    rows = ["{" + ", ".join(str(int(v)) for v in row) + "}" for row in t]
    return "\n".join([
        f"// {n.name}_params.h — generated by halfwave; do not edit.",
        f"// Node '{n.name}' ({n.source or 'Add'}): z[c] = coefs[c][0]*a + coefs[c][1]*b, "
        f"{n.C} channels;",
        f"// thresholds[c][t]: threshold t (ascending) of channel c"
        f"{'' if n.n_thresholds else ' (z leaves raw: unused)'}.",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        '#include "hw_stream.h"',
        "",
        f"static const ap_int<{n.coef_bits}> {n.name}_coefs[{n.C}][2] = {{",
        "    " + c_list(coefs, "    ", 8),
        "};",
        f"static const ap_int<{n.acc_bits}> {n.name}_thresholds[{n.C}][{nt1}] = {{",
        "    " + c_list(rows, "    ", 4),
        "};",
        "",
        f"#endif  // {guard}",
        "",
    ])  # fmt: skip


def add_dsps(w: int, cw: int, acc_w: int) -> int:
    """DSP48E1 for one lane's product of a W-bit input (W+1 signed bits) and a CW-bit
    coefficient from the ROM: Yosys's mul2dsp rule, as mvu_dsps."""
    a, b = w + 1, cw
    if min(a, b) < 2 or min(a + b, acc_w) < 9:
        return 0
    big, small = max(a, b), min(a, b)
    return -(-big // 25) * -(-small // 18) if big > 25 or small > 18 else 1


def estimate_add(p: dict) -> Res:
    """hw_add: per lane two products (constant coefficients: a shift-add of ACC_W bits per
    extra set bit; from the ROM: a DSP when Yosys's mul2dsp takes it, else a soft
    multiplier of (W+1) x CW bits), an ACC_W-bit adder, N_T comparisons and a count
    (hw_mvu's constants); input registers and a 2-entry output buffer; the ROMs (in
    logic: hw_mvu's threshold-ROM constant per 64 bits, the read register moved to the
    address). Checked against Yosys: README of the report (joinblocks) figures."""
    c = CAL
    pe, acc, cw = p["PE"], p["ACC_W"], p["CW"]
    n_t, cf = p["N_T"], p["C"] // p["PE"]
    lw = p["OUT_W"] if n_t else acc
    lut = 10.0 + pe * acc  # counter, handshake; the final adder
    dsp = 0
    for w, k in ((p["A_W"], "COEF_A"), (p["B_W"], "COEF_B")):
        if not p["COEF_FILE"]:
            lut += pe * acc * max(0, bin(abs(int(p[k]))).count("1") - 1)  # extra shift-adds
        elif add_dsps(w, cw, acc):
            dsp += pe * add_dsps(w, cw, acc)
            lut += pe * c["dsp_lane"]
        else:
            lut += pe * c["mac_lane"] * (w + 1) * cw
    lut += pe * n_t * (c["thr_cmp"] * acc + c["thr_count"])
    ff = 2 + max(1, cf - 1).bit_length() + pe * (p["A_W"] + p["B_W"]) + 2 * pe * lw
    res = Res(lut=lut, ff=ff, dsp=dsp)
    notes = []
    for width, used in ((pe * 2 * cw, bool(p["COEF_FILE"])), (pe * n_t * acc, n_t > 0)):
        if not used:
            continue
        style = "block" if p.get("ROM_STYLE") == "block" else "auto"
        m = map_memory(cf, width, write=False, style=style)
        rom = m.lutram + c["rom_mux"] * m.mux_bits
        if m.kind == "logic":
            rom += c["thr_rom"] * cf * width / 64
        res = res + Res(lut=rom, lutram=m.lutram, bram36=m.bram36)
        notes.append(m.kind)
    res.notes = [f"roms: {', '.join(notes) or 'none'}"]
    return res


def add_cycles_per_frame(*, c: int, vectors: int, pe: int = 1, **_: object) -> int:
    """vectors * C/PE: one beat pair per cycle, no per-frame overhead."""
    return vectors * (c // pe)


def add_latency(**_params: object) -> int:
    """Cycles from a beat pair to its output beat."""
    return _ADD_LATENCY
