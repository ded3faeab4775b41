"""Yosys's memory mapping for xc7, emulated, and the resource vector `Res`.

``map_memory`` reproduces the choice of Yosys's ``memory_libmap`` for xc7
(brams_xc4v.txt and lutrams_xc5v.txt): every block-RAM and LUT-RAM geometry is costed
with Yosys's own formula (cell cost x replicas + mux/demux/emulation scores) and the
cheapest wins, unless soft logic (bits/16 for a ROM, bits for a RAM) is cheaper. This
makes BRAM36 counts exact, not fitted. ``rom_style`` attributes force block RAM or logic.
The block modules (compiler/blocks) cost their memories with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

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
