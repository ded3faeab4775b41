"""hw_mvu: matrix-vector unit (a fully connected layer, or a convolution per window).

MH x MW weights, PE rows and SIMD columns per cycle (NF = ceil(MH/PE) row folds of
SF = ceil(MW/SIMD) beats), optional per-row thresholds turning accumulators into output
codes. Modes: xnor (bipolar x bipolar, popcount), signsel (bipolar weights, integer
inputs), mac (integer x integer) and ternary (codes -1/0/+1 scaled by p and n). Weights
sit in an on-chip ROM or, `external`, come from DDR through a weight port.

Memory files (layouts in ARCHITECTURE.md, "Memory files"): vectorised numpy, so a
1024 x 1024 layer packs in well under a second. Values follow the integer-code
convention: bipolar/binary weights are -1/+1 (stored as bit 0/1), wider weights and
thresholds are two's complement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..datatypes import DataType
from ..memmap import MemMap, Res, map_memory
from ..streams import StreamFormat, format_of, lane_width, signed_lanes
from .base import (
    MAX_LANES,
    Block,
    Boundary,
    Instance,
    as_boundary,
    as_dtype,
    c_list,
    stream_ports,
)
from .calibration import CAL, clog2
from .packing import (
    pack_words,
    pack_words_bytes,
    rom_bank_files,
    twos,
    varying_bits,
    write_rom_banks,
)
from .weight_port import WeightPort, dma_word_bytes

# MVU.weight_rom values; the deepest weight memory the optimiser also prices in LUTs
ROM_CHOICES = ("auto", "block", "distributed")
THR_BLOCK_BITS = 72  # narrowest threshold word the optimiser prices in block RAM
LUT_ROM_DEPTH = 128


class Mode(StrEnum):
    """How an MVU multiplies: its hw_mvu MODE parameter is `code`."""

    XNOR = "xnor"  # bipolar x bipolar: XNOR and popcount
    SIGNSEL = "signsel"  # bipolar weights x integer inputs: conditional negation
    MAC = "mac"  # integer x integer
    TERNARY = "ternary"  # codes -1/0/+1 with integer scales p, n

    @property
    def code(self) -> int:
        return list(Mode).index(self)


@dataclass
class MVU(Block):
    name: str
    MW: int
    MH: int
    mode: Mode
    in_dtype: DataType
    weight_dtype: DataType
    acc_lo: int  # accumulator range in the hardware domain (popcount for xnor)
    acc_hi: int
    out_dtype: DataType | None  # None: raw accumulators leave the node
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
    # external only: input vectors per weight pass (hw_mvu BATCH): each streamed weight
    # word serves `batch` consecutive vectors (frames of an FC layer, pixels of a conv)
    batch: int = 1
    # MAC (8-bit) lanes: products per multiplier (hw_mvu DSP_PACK): 1, one DSP48 a lane
    # (where Yosys's mul2dsp takes the product), or 2, rows in pairs sharing the input
    # lane, two products per DSP48E1 (hw_dsp_pair; needs dsp_pair_fits); the optimiser
    # picks the cheaper that fits (Optimiser._best_mac)
    dsp_pack: int = 1
    # on-chip weight memory: "auto" (rom_style's size rule), or the optimiser's pick,
    # "block" or "distributed" (LUTs): a shallow, wide weight word fills few of a BRAM36's
    # 512 words (cnv's conv2 at PE 32 x SIMD 64: 18 words of 2,048 bits, 28.5 BRAM36 for
    # 36,864 bits), where one LUT a bit holds it (Optimiser: fold_options)
    weight_rom: str = "auto"
    # threshold memory (hw_mvu THR_STYLE): "auto" (Yosys's choice: a NF-word ROM is LUTs),
    # or the optimiser's pick, "block" where a wide word (PE*N_T*ACC_W bits) costs more
    # LUTs than the block RAM it fills (Optimiser: fold_options, thr_options)
    thr_rom: str = "auto"
    # pipeline registers for the target's timing (compiler/pipeline.py): hw_mvu TREE_PIPE
    # (popcount trees registered every k levels; 0: none), THR_PIPE (compares
    # registered before their count) and MEM_PIPE; each adds latency, never cycles per
    # frame
    tree_pipe: int = 0
    thr_pipe: int = 0
    mem_pipe: int = 0  # hw_mvu MEM_PIPE: the weight/input memory reads registered again
    # > 0: the size rule's bound, the largest weight ROM (bits) in LUTs (else 4,096;
    # compiler/pipeline.py: the ECP5, whose block RAM's clock-to-output is most of a cycle)
    lut_rom_bits: int = 0
    # > 0: the weight ROM in banks of this many words when deeper (hw_mvu ROM_BANK: each
    # bank's word registered next to it before the mux, one cycle more latency)
    rom_bank: int = 0
    kind: str = "MVU"
    rtl_module = "hw_mvu"
    hls_header = "hw_mvu.h"
    folds_to_target = True

    def __post_init__(self) -> None:
        from ..errors import CompileError

        try:
            self.mode = Mode(self.mode)
        except ValueError:
            modes = ", ".join(m.value for m in Mode)
            raise CompileError(f"mode {self.mode!r} is not one of {modes}", self.name) from None
        self.in_dtype = as_dtype(self.in_dtype, self.name, "in_dtype")
        self.weight_dtype = as_dtype(self.weight_dtype, self.name, "weight_dtype")
        if self.out_dtype is not None:
            self.out_dtype = as_dtype(self.out_dtype, self.name, "out_dtype")
        self.boundary = as_boundary(self.boundary)

    def check(self) -> None:
        from ..errors import CompileError

        if not (1 <= self.PE <= self.MH and 1 <= self.SIMD <= self.MW):
            raise CompileError(
                f"folding PE={self.PE}, SIMD={self.SIMD} outside 1..MH={self.MH}, 1..MW={self.MW}",
                self.name,
            )
        if self.weights is not None and tuple(self.weights.shape) != (self.MH, self.MW):
            raise CompileError(
                f"weights of shape {tuple(self.weights.shape)}, expected ({self.MH}, {self.MW})",
                self.name,
            )
        if self.thresholds is not None and self.thresholds.shape[0] != self.MH:
            raise CompileError(f"thresholds need {self.MH} rows", self.name)
        if self.mode == Mode.TERNARY and not self.ternary:
            raise CompileError("ternary MVU without integer scales [p, n]", self.name)
        if not isinstance(self.batch, int) or self.batch < 1:
            raise CompileError(f"batch must be a whole number >= 1, got {self.batch!r}", self.name)
        if self.weight_rom not in ROM_CHOICES:
            raise CompileError(
                f"weight_rom must be one of {', '.join(ROM_CHOICES)}, got {self.weight_rom!r}",
                self.name,
            )
        if self.thr_rom not in ROM_CHOICES:
            raise CompileError(
                f"thr_rom must be one of {', '.join(ROM_CHOICES)}, got {self.thr_rom!r}",
                self.name,
            )
        if self.dsp_pack not in (1, 2):
            raise CompileError(f"dsp_pack must be 1 or 2, got {self.dsp_pack!r}", self.name)
        if self.dsp_pack == 2 and not (
            self.mode == Mode.MAC and dsp_pair_fits(self.w_bits, lane_width(self.in_dtype))
        ):
            raise CompileError(
                f"dsp_pack=2 needs a MAC layer whose two products fit one DSP48E1 "
                f"(2*W_W + IN_W <= 24 bits, IN_W <= 17); this one is {self.mode.value} with "
                f"W_W={self.w_bits}, IN_W={lane_width(self.in_dtype)}",
                self.name,
            )
        if self.batch > 1 and not self.external:
            raise CompileError(
                f'batch={self.batch} needs the weights in DDR ("external": true)', self.name
            )

    # ------------------------------------------------------------ shape

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
        return self.out_dtype

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

    @property
    def w_bits(self) -> int:
        """Bits of one weight lane (W_W)."""
        return lane_width(self.weight_dtype)

    @property
    def weight_word_bits(self) -> int:
        """Bits of one weight memory word (PE*SIMD lanes), one weight-stream beat."""
        return self.PE * self.SIMD * self.w_bits

    @property
    def out_lane_bits(self) -> int:
        """OUT_W: bits of an output code lane (1 for raw accumulators, unused there)."""
        return lane_width(self.out_dtype) if self.out_dtype is not None else 1

    # ------------------------------------------------------------ streams and timing

    def in_format(self) -> StreamFormat:
        return format_of(self.in_dtype, self.SIMD, self.MW)

    def out_format(self) -> StreamFormat:
        if self.out_dtype is None:
            return StreamFormat(self.PE, self.acc_bits, self.MH, True)
        return format_of(self.out_dtype, self.PE, self.MH)

    def vectors_in(self) -> int:
        return self.vectors

    def vectors_out(self) -> int:
        return self.vectors

    def cycles_per_frame(self) -> int:
        return self.vectors * self.NF * self.SF

    def fifo_depth(self) -> int:
        """SF beats (+2): the MVU reads its input only during row fold 0 and then computes
        NF-1 more folds, so the producer prepares the next vector meanwhile."""
        return self.SF + 2

    # ------------------------------------------------------------ folding

    def fold_row(self) -> dict:
        row = {"PE": self.PE, "SIMD": self.SIMD, "macs": self.MH * self.MW * self.vectors}
        if self.mode == Mode.MAC:
            row["multipliers"] = self.multipliers()
        return row

    def multipliers(self) -> str:
        """How a MAC layer's products are built (the optimiser's choice), in words."""
        dsp = mvu_dsps(mvu_shape(self, None, data=False))
        lanes = self.PE * self.SIMD
        if self.dsp_pack == 2:
            return f"two products per DSP48E1: {dsp} DSP for {lanes} lanes"
        if dsp:
            return f"one DSP48 per lane: {dsp} DSP"
        return f"LUT multipliers: {lanes} lanes (products below DSP size)"

    def pack_options(self) -> list[int]:
        """The hw_mvu DSP_PACK values this layer can take: 2 (two products per DSP48E1)
        besides 1 where its products go to DSPs at all and two of them fit one."""
        if self.mode != Mode.MAC or self.PE < 2:
            return [1]
        plain = mvu_dsps(mvu_shape(replace(self, dsp_pack=1), None, data=False))
        fits = dsp_pair_fits(self.w_bits, lane_width(self.in_dtype))
        return [1, 2] if plain and fits else [1]

    def report_row(self) -> dict:
        row = {
            "shape": [self.MH, self.MW],
            "mode": self.mode.value,
            "weight_dtype": self.weight_dtype.name,
            "SIMD": self.SIMD,
            "acc_bits": self.acc_bits,
            "thresholds_per_row": self.n_thresholds,
            "negated_rows": len(self.negated_rows),
            "weight_bits": self.MH * self.MW * self.w_bits,
            "threshold_bits": self.MH * self.n_thresholds * self.acc_bits,
            **self.weight_sparsity(),
        }
        if self.external:  # weights in DDR: what its stream moves (blocks/weight_port.py)
            ws = self.weight_port().describe()
            row["external"] = True
            row["batch"] = self.batch
            row["weight_stream"] = {
                k: ws[k]
                for k in ("port", "width", "word_bytes", "ddr_word_bytes", "words_per_pass",
                          "passes_per_frame", "bytes_per_frame")
            }  # fmt: skip
        return row

    def weight_sparsity(self) -> dict:
        """Zero weights of an MVU whose weights can be 0 (ternary, k-bit): their count and
        fraction ("sparsity"); ternary layers also give their integer weights [p, n].
        Bipolar weights (xnor, signsel) have no zeros and no entry."""
        if self.weight_dtype == "BIPOLAR" or self.weights is None:
            return {}
        zeros = int(np.count_nonzero(self.weights == 0))
        out = {"zero_weights": zeros, "sparsity": zeros / self.weights.size}
        if self.ternary is not None:
            out["ternary_weights"] = list(self.ternary)
        return out

    def fold(self, target: int, spec: dict, lane_choices: list[int] | None) -> MVU:
        """The fewest lanes (PE*SIMD) meeting `target` cycles per frame; `spec` (a
        folding file's entry) may fix PE, SIMD and "external"; `lane_choices` restricts
        SIMD (a convolution's SIMD divides its input channels)."""
        from ..errors import CompileError

        per_vector = max(1, target // self.vectors)
        pe, simd = cheapest_folding(self.MH, self.MW, per_vector, lane_choices)
        pe, simd = int(spec.get("PE", pe)), int(spec.get("SIMD", simd))
        external = spec.get("external", self.external)
        if not isinstance(external, bool):
            raise CompileError(f'"external" must be true or false, got {external!r}', self.name)
        batch = spec.get("batch", self.batch if external else 1)
        pack = spec.get("dsp_pack", self.dsp_pack)
        rom = spec.get("weight_rom", self.weight_rom)
        thr = spec.get("thr_rom", self.thr_rom)
        folded = replace(self, PE=pe, SIMD=simd, external=external, batch=batch, dsp_pack=pack,
                         weight_rom=rom, thr_rom=thr)  # fmt: skip
        folded.check()
        if lane_choices is not None and simd not in lane_choices:
            c = max(lane_choices)
            raise CompileError(
                f"SIMD={simd} must divide the {c} input channels of this convolution "
                f"(choose one of {lane_choices})",
                self.name,
            )
        return folded

    def fold_options(self, target: int, lane_choices: list[int] | None) -> list[tuple]:
        """Every folding meeting `target`, a MAC layer's in each of its multiplier forms
        (pack_options), each in its weight and threshold memory forms (rom_options,
        thr_options): the optimiser keeps the cheapest at its resource weights."""
        out = []
        for pe, simd in self.fold_candidates(target, lane_choices):
            b = replace(self, PE=pe, SIMD=simd, dsp_pack=1, weight_rom="auto", thr_rom="auto")
            out += [
                (simd, pe, replace(b, dsp_pack=k, weight_rom=r, thr_rom=t))
                for k in b.pack_options()
                for r in b.rom_options()
                for t in b.thr_options()
            ]
        return out

    def thr_options(self) -> list[str]:
        """The threshold memory forms worth pricing: block RAM beside Yosys's choice where
        that is LUTs and the word spans at least THR_BLOCK_BITS (a narrower one fills a
        block RAM for a few LUTs)."""
        if self.n_thresholds == 0 or self.NF <= 1 or self.external:
            return ["auto"]
        word = self.PE * self.n_thresholds * self.acc_bits
        if word < THR_BLOCK_BITS:
            return ["auto"]
        if map_memory(self.NF, word, write=False).kind == "block":
            return ["auto"]
        return ["auto", "block"]

    def rom_options(self) -> list[str]:
        """The weight memory forms worth pricing: block RAM and LUTs for an on-chip
        memory above the size rule that is at most LUT_ROM_DEPTH words deep (deeper
        ones cost a LUT a bit per 64 words and a mux), else the size rule's."""
        if self.external or self.rom_style() == "distributed":
            return ["auto"]
        if self.NF * self.SF > LUT_ROM_DEPTH:
            return ["auto"]
        return ["block", "distributed"]

    def fold_candidates(self, target: int, choices: list[int] | None) -> list[tuple[int, int]]:
        """(PE, SIMD) with at most `target` cycles per frame: for every row fold count the
        smallest PE, with the smallest SIMD that meets the target and, when that SIMD pads
        the last beat, the larger ones up to the first divisor of MW (`choices` restricts
        SIMD; an external MVU's word fills its DMA beat where it can)."""
        per_vector = target // max(1, self.vectors)
        if per_vector < 1:
            return []
        simds = sorted(choices) if choices else fold_lanes(self.MW)
        simds = [s for s in simds if s <= MAX_LANES]
        out = []
        for pe in (p for p in fold_lanes(self.MH) if p <= MAX_LANES):
            nf = -(-self.MH // pe)
            if nf > per_vector:
                continue
            sf_max = per_vector // nf
            fits = [s for s in simds if -(-self.MW // s) <= sf_max]
            simd = fits[0] if fits else None
            if simd is not None and self.external:
                simd = self._dma_aligned_simd(pe, simd, choices)
            if simd is not None:
                out.append((pe, simd))
            if simd is not None and not self.external and self.MW % simd:
                # a padded last beat costs weight-ROM bits: the next SIMDs up to the first
                # divisor of MW may be cheaper (popcount lanes cost nearly the same)
                nxt = next((s for s in fits if s > simd and self.MW % s == 0), None)
                out += [(pe, s) for s in fits if simd < s <= (nxt or 0)]
        if self.external:  # words that fill their DMA beat, where any PE allows one
            w_w = self.w_bits
            exact = [(p, s) for p, s in out if 8 * dma_word_bytes(p * s * w_w) == p * s * w_w]
            out = exact or out
        return out

    def _dma_aligned_simd(self, pe: int, simd: int, choices: list[int] | None) -> int | None:
        """An external MVU's weight word (PE*SIMD*W_W bits) is one beat of its weight DMA,
        whose stream is 8 * 2^k bits wide (multiples of 1024 beyond): the smallest SIMD >=
        simd whose word fills its beat exactly, so that no DDR bandwidth carries padding;
        else the smallest whose word is whole bytes (None when neither is within the lane
        limit). The DDR traffic is counted padded either way (dma_word_bytes)."""
        w_w = self.w_bits
        usable = [s for s in range(simd, min(self.MW, MAX_LANES) + 1)
                  if choices is None or s in choices]  # fmt: skip
        exact = (s for s in usable if 8 * dma_word_bytes(pe * s * w_w) == pe * s * w_w)
        whole = (s for s in usable if pe * s * w_w % 8 == 0)
        return next(exact, None) or next(whole, None)

    def fastest_cycles(self, lane_choices: list[int] | None) -> int:
        choices = lane_choices or range(1, self.MW + 1)
        simd = max(s for s in choices if s <= MAX_LANES)
        pe = min(self.MH, MAX_LANES)
        return self.vectors * -(-self.MH // pe) * -(-self.MW // simd)

    def slowest_cycles(self) -> int:
        return self.vectors * self.MH * self.MW

    # ------------------------------------------------------------ memories

    def memory_values(self) -> np.ndarray:
        """What the weight memory holds: the weights, or the codes of a ternary layer
        (whose negated rows then swap p and n, see hw_mvu MODE 3)."""
        return np.sign(self.weights) if self.mode == Mode.TERNARY else self.weights

    def rom_style(self) -> str:
        """The optimiser's pick (weight_rom), else: small weight memories go to LUTs, the
        rest to block RAM (`lut_rom_bits` moves the bound)."""
        if self.weight_rom != "auto":
            return self.weight_rom
        bound = self.lut_rom_bits or 4096
        return "distributed" if self.MH * self.MW * self.w_bits <= bound else "block"

    def swap_rows(self) -> np.ndarray:
        """(MH,) flags: the rows of a ternary MVU that take (WN, WP) (negated rows)."""
        if self.mode != Mode.TERNARY:
            return np.zeros(self.MH, dtype=bool)
        return np.isin(np.arange(self.MH), self.negated_rows)

    def write_memories(self, rtl_dir: Path) -> None:
        # the .mem file is written for external MVUs too (the HLS C simulation reads it)
        path = Path(rtl_dir) / self.name
        values = self.memory_values()
        write_mvu_mem_files(
            values, self.thresholds, self.PE, self.SIMD, self.w_bits, self.acc_bits, path
        )
        if self.external:  # one pass of its weight stream, what a DMA reads from DDR
            write_mvu_weight_stream(values, self.PE, self.SIMD, self.w_bits, path)
        else:
            write_rom_banks(path.with_name(path.name + "_weights.mem"), self.rom_bank)
        if self.mode == Mode.TERNARY:
            write_swap_file(self.swap_rows(), self.PE, path)

    def weight_port(self) -> WeightPort:
        return WeightPort(
            self.name, self.weight_word_bits, self.NF * self.SF, self.vectors, self.batch
        )

    # ------------------------------------------------------------ resources

    def estimate(self, data: bool = True) -> Res:
        return estimate_mvu(mvu_shape(self, self.rtl().values(), data))

    def fold_estimate(self) -> Res:
        """Parameters only, OUT_W taken as 1 (the optimiser's long-standing model)."""
        return estimate_mvu(mvu_shape(self, None, data=False))

    # ------------------------------------------------------------ golden

    def run(self, x: np.ndarray) -> np.ndarray:
        """Values (N, vectors*MW) -> values (N, vectors*MH); raw accumulators when the
        node has no thresholds. XNOR accumulators are popcounts: (dot + MW) / 2."""
        n = len(x)
        return self._run_vectors(x.reshape(n * self.vectors, self.MW)).reshape(n, -1)

    def _run_vectors(self, x: np.ndarray) -> np.ndarray:
        acc = _matmul(x, self.weights)
        if self.mode == Mode.XNOR:
            acc = (acc + self.MW) // 2
        if self.thresholds is None:
            return acc
        count = (acc[:, :, None] >= self.thresholds[None, :, :]).sum(axis=-1)
        if self.out_dtype == "BIPOLAR":
            return 2 * count - 1
        return self.out_base + count

    # ------------------------------------------------------------ RTL

    def rtl(self) -> Instance:
        in_dt = self.in_dtype
        bias = 0 if self.out_dtype in (None, "BIPOLAR") else self.out_base
        wfile = "" if self.external else f"{self.name}_weights.mem"
        params = [
            ("MW", self.MW), ("MH", self.MH), ("PE", self.PE), ("SIMD", self.SIMD),
            ("MODE", self.mode.code),
            ("IN_W", lane_width(in_dt)), ("IN_SIGNED", int(signed_lanes(in_dt))),
            ("W_W", self.w_bits), ("ACC_W", self.acc_bits), ("N_T", self.n_thresholds),
            ("OUT_W", self.out_lane_bits), ("OUT_BIAS", bias),
            ("WEIGHT_FILE", wfile), ("THRESH_FILE", f"{self.name}_thresholds.mem"),
            ("ROM_STYLE", self.rom_style()),
        ]  # fmt: skip
        rows = [5, 2, 3, 2, 2, 1]
        files = [f for f in (wfile,) if f]
        if wfile and self.rom_bank:
            files += [p.name for p in rom_bank_files(wfile, self.NF * self.SF, self.rom_bank)]
        if self.n_thresholds:
            files.append(f"{self.name}_thresholds.mem")
        if self.mode == Mode.TERNARY:
            p, q = self.ternary
            params += [("WP", p), ("WN", q), ("SWAP_FILE", f"{self.name}_swap.mem")]
            rows.append(3)
            files.append(f"{self.name}_swap.mem")
        if self.external:
            params.append(("WEIGHT_SOURCE", "stream"))
            rows.append(1)
        if self.batch > 1:
            params.append(("BATCH", self.batch))
            rows[-1] += 1
        if self.dsp_pack != 1:
            params.append(("DSP_PACK", self.dsp_pack))
            rows.append(1)
        if self.thr_rom != "auto" and self.n_thresholds:
            params.append(("THR_STYLE", self.thr_rom))
            rows.append(1)
        bank = 0 if self.external else self.rom_bank
        pipe = (("TREE_PIPE", self.tree_pipe), ("THR_PIPE", self.thr_pipe),
                ("MEM_PIPE", self.mem_pipe), ("ROM_BANK", bank))  # fmt: skip
        pipe = [(k, v) for k, v in pipe if v]
        if pipe:
            params += pipe
            rows.append(len(pipe))
        text = tuple((k, f'"{v}"' if isinstance(v, str) else str(v)) for k, v in params)
        return Instance(self.rtl_module, self.name, text, tuple(rows), files=tuple(files))

    def rtl_ports(self, i: str, o: str) -> list[str]:
        if self.external:
            w = self.weight_port().port
            wports = f".w_data({w}data), .w_valid({w}valid), .w_ready({w}ready)"
        else:
            wports = f".w_data({self.weight_word_bits}'d0), .w_valid(1'b0), .w_ready()"
        return [*stream_ports(i, o), wports]

    # ------------------------------------------------------------ HLS

    def ternary_scales(self) -> tuple[int, int]:
        """Integer scales (p, n) of a ternary MVU: acc = p*sum(x | w=+1) - n*sum(x | w=-1)."""
        from ..errors import CompileError

        if not self.ternary:
            raise CompileError("HLS back end: ternary MVU without integer scales", self.name)
        return int(self.ternary[0]), int(self.ternary[1])

    def hls(self, i: str, o: str) -> str:
        in_dt = self.in_dtype
        bias = 0 if self.out_dtype in (None, "BIPOLAR") else self.out_base
        extra = ""
        if self.mode == Mode.TERNARY:
            wp, wn = self.ternary_scales()
            extra = f", {wp}, {wn}"
        return (
            f"    hw_mvu<{self.MW}, {self.MH}, {self.PE}, {self.SIMD}, {self.mode.code}, "
            f"{lane_width(in_dt)}, {int(signed_lanes(in_dt))}, {self.w_bits}, {self.acc_bits}, "
            f"{self.n_thresholds}, {self.out_lane_bits}, {bias}, {self.vectors}{extra}>(\n"
            f"        {i}, {o}, {self.name}_weights, {self.name}_thresholds, {self.name}_swap);\n"
        )

    def hls_headers(self) -> dict[str, str]:
        return {
            f"{self.name}_params.h": mvu_params_header(self),
            f"params/{self.name}.h": mvu_values_header(self),
        }

    def hls_includes(self) -> list[str]:
        return [f"{self.name}_params.h"]

    def hls_pragmas(self) -> list[str]:
        n = self.name
        style = "lutram" if self.rom_style() == "distributed" else "bram"
        return [
            f"#pragma HLS ARRAY_PARTITION variable={n}_weights complete dim=1\n",
            f"#pragma HLS BIND_STORAGE variable={n}_weights type=rom_1p impl={style}\n",
            f"#pragma HLS ARRAY_PARTITION variable={n}_thresholds complete dim=1\n",
            f"#pragma HLS ARRAY_PARTITION variable={n}_thresholds complete dim=3\n",
            f"#pragma HLS ARRAY_PARTITION variable={n}_swap complete dim=1\n",
        ]

    def hls_max_bits(self) -> int:
        return self.SIMD * self.w_bits


def cheapest_folding(
    mh: int, mw: int, target_cycles: int, simd_choices: list[int] | None = None
) -> tuple[int, int]:
    """Fewest lanes (PE*SIMD) with ceil(MH/PE)*ceil(MW/SIMD) <= target; ties: fewer cycles.
    simd_choices restricts SIMD (a convolution's SIMD must divide its input channels)."""
    simds = [v for v in (simd_choices or range(1, mw + 1)) if v <= MAX_LANES] or [1]
    best = None
    for pe in range(1, min(mh, MAX_LANES) + 1):
        nf = -(-mh // pe)
        if nf > target_cycles:
            continue
        sf_max = target_cycles // nf
        fitting = [s for s in simds if -(-mw // s) <= sf_max]
        if not fitting:
            continue
        simd = min(fitting)
        key = (pe * simd, nf * -(-mw // simd), pe)
        if best is None or key < best[0]:
            best = (key, pe, simd)
    if best is None:  # the target is out of reach: the most parallel folding allowed
        return min(mh, MAX_LANES), max(simds)
    return best[1], best[2]


def fold_lanes(n: int) -> list[int]:
    """Smallest lane count for every distinct fold count ceil(n/lanes), ascending lanes."""
    out, lanes = [], 1
    while lanes <= n:
        folds = -(-n // lanes)
        out.append(lanes)
        lanes = -(-n // (folds - 1)) if folds > 1 else n + 1
    return out


def _matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer x @ w.T (float64 BLAS when every partial sum fits in 2^52)."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).max(initial=0)) * w.shape[1]
    if bound < 2.0**52:
        return np.rint(x.astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w.T.astype(np.int64)


# ---------------------------------------------------------------- memory images


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def mvu_weight_codes(weights: np.ndarray, pe: int, simd: int, w_w: int) -> np.ndarray:
    """(NF*SF, PE*SIMD) lane codes of the MVU weight memory: address nf*SF+sf, lane
    p*SIMD+s holds the weight of row nf*PE+p, column sf*SIMD+s (padding holds 0).
    ``w_w == 1``: weights must be -1/+1 (stored as 0/1); otherwise signed two's complement."""
    w = np.asarray(weights, dtype=np.int64)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D (MH, MW) matrix, got shape {w.shape}")
    mh, mw = w.shape
    if not (1 <= pe <= mh and 1 <= simd <= mw):
        raise ValueError(f"PE={pe} must be in 1..MH={mh} and SIMD={simd} in 1..MW={mw}")
    if w_w == 1:
        if not np.isin(w, (-1, 1)).all():
            raise ValueError("1-bit weights must be -1 or +1")
        codes = (w > 0).astype(np.uint64)
    else:
        codes = twos(w, w_w, "weights")
    nf, sf = _cdiv(mh, pe), _cdiv(mw, simd)
    padded = np.zeros((nf * pe, sf * simd), dtype=np.uint64)
    padded[:mh, :mw] = codes
    lanes = padded.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3)
    return lanes.reshape(nf * sf, pe * simd)


def mvu_threshold_codes(thresholds: np.ndarray, pe: int, acc_w: int) -> np.ndarray:
    """(NF, PE*N_T) lane codes of the threshold memory: address nf, lane p*N_T+t holds
    threshold t (ascending) of row nf*PE+p, ACC_W-bit two's complement."""
    t = np.asarray(thresholds, dtype=np.int64)
    if t.ndim != 2:
        raise ValueError(f"thresholds must be a 2-D (MH, N_T) array, got shape {t.shape}")
    if t.shape[1] > 1 and (np.diff(t, axis=1) < 0).any():
        raise ValueError("thresholds must be ascending along each row")
    mh, n_t = t.shape
    nf = _cdiv(mh, pe)
    padded = np.zeros((nf * pe, n_t), dtype=np.uint64)
    padded[:mh] = twos(t, acc_w, "thresholds")
    return padded.reshape(nf, pe * n_t)


def write_mvu_mem_files(
    weights: np.ndarray,
    thresholds: np.ndarray | None,
    pe: int,
    simd: int,
    w_w: int,
    acc_w: int,
    path: str | Path,
) -> tuple[Path, Path | None]:
    """Write ``<path>_weights.mem`` and, when there are thresholds (shape (MH, N_T) with
    N_T > 0), ``<path>_thresholds.mem`` for hw_mvu; returns the two paths (the second is
    None without thresholds). ``weights`` is (MH, MW) integer values."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wfile = path.with_name(path.name + "_weights.mem")
    wfile.write_text(pack_words(mvu_weight_codes(weights, pe, simd, w_w), w_w))
    tfile = None
    if thresholds is not None and np.asarray(thresholds).size:
        if np.asarray(thresholds).shape[0] != np.asarray(weights).shape[0]:
            raise ValueError("thresholds need one row per weight row")
        tfile = path.with_name(path.name + "_thresholds.mem")
        tfile.write_text(pack_words(mvu_threshold_codes(thresholds, pe, acc_w), acc_w))
    return wfile, tfile


def write_mvu_weight_stream(
    weights: np.ndarray, pe: int, simd: int, w_w: int, path: str | Path
) -> Path:
    """``<path>_wstream.bin``: the words of ``<path>_weights.mem`` (same lanes, same
    order: nf*SF + sf) as `pack_words_bytes` binary, one pass of an external weight
    stream (hw_mvu WEIGHT_SOURCE = "stream")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bfile = path.with_name(path.name + "_wstream.bin")
    bfile.write_bytes(pack_words_bytes(mvu_weight_codes(weights, pe, simd, w_w), w_w))
    return bfile


def mvu_swap_codes(swap: np.ndarray, pe: int) -> np.ndarray:
    """Per-row swap flags (MH,) of a ternary MVU -> (NF, PE) bits, padding rows 0."""
    swap = np.asarray(swap, dtype=np.int64).reshape(-1)
    nf = _cdiv(len(swap), pe)
    padded = np.zeros(nf * pe, dtype=np.int64)
    padded[: len(swap)] = swap != 0
    return padded.reshape(nf, pe)


def write_swap_file(swap: np.ndarray, pe: int, path: str | Path) -> Path:
    """``<path>_swap.mem`` for a MODE 3 (ternary) hw_mvu: word nf, bit p = row nf*PE+p
    uses (WN, WP) for codes (+1, -1) instead of (WP, WN)."""
    path = Path(path)
    sfile = path.with_name(path.name + "_swap.mem")
    sfile.write_text(pack_words(mvu_swap_codes(swap, pe), 1))
    return sfile


# ---------------------------------------------------------------- resource model


def lanetree_levels(n: int) -> list[int]:
    """hw_lanetree's levels as their count of numbers: the lane pairs (ceil(n/2)), then
    groups of three (ceil(k/3)) until at most two numbers are left."""
    levels = [-(-n // 2)]
    while levels[-1] > 2:
        levels.append(-(-levels[-1] // 3))
    return levels


def lanetree_latency(n: int, pipe: int) -> int:
    """hw_lanetree's LATENCY: ceil(LEVELS / PIPE) cycles; 0 when PIPE = 0."""
    return -(-len(lanetree_levels(n)) // pipe) if pipe > 0 else 0


def lanetree_luts(n: int, in_w: int, op: int, out_w: int) -> int:
    """LUTs of one hw_lanetree, counted structurally: in_w per lane pair (1 for a 1-bit
    pair), the op of an odd last lane (in_w LUTs; none with OP 0), and per group of two
    or three numbers one LUT per sum bit up to the operands' bits + 1 (hw_tadd)."""
    vmax = 1 if op == 1 else (1 << in_w) - 1
    top = n * vmax
    luts = (n // 2) * in_w + (n % 2) * (in_w if op else 0)
    m, count = (2 if n > 1 else 1) * vmax, -(-n // 2)
    w_in = min(out_w, m.bit_length())
    while count > 2:
        groups, full = -(-count // 3), count // 3
        m = min(3 * m, top)
        w_out = min(out_w, m.bit_length())
        adds = full + (count % 3 == 2)  # a group of one passes through
        luts += adds * min(w_out, w_in + 1)
        count, w_in = groups, w_out
    return luts


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
    THR_STYLE: str = "auto"  # the threshold ROM's
    thr_width: int | None = None  # non-constant threshold word bits (None: all)
    w_width: int | None = None  # non-constant weight word bits (None: all)
    WMAX: int = 1  # MODE 3 (ternary): max(WP, WN), the largest weight magnitude
    WEIGHT_SOURCE: str = "rom"  # "stream": weights from DDR, no weight memory
    BATCH: int = 1  # vectors per streamed weight word (batch buffers when > 1)
    DSP_PACK: int = 1  # MODE 2: products per multiplier (2: hw_dsp_pair)

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
            tstyle = {"block": "block", "distributed": "logic"}.get(s.THR_STYLE, "auto")
            mems["thresholds"] = map_memory(s.NF, tword, write=False, style=tstyle)
    if s.BATCH > 1:  # two banks of B vectors in, two of B results out (hw_mvu BATCH)
        # the B accumulator sets (two asynchronous reads): Yosys keeps 2 sets in flip-flops
        for what in ("inbuf", "reorder", "accumulators")[: 3 if s.BATCH > 2 else 2]:
            d, w = _mem_depth(s, what), _mem_width(s, what)
            mems[what] = map_memory(d, w, write=True, read_sync=what != "accumulators")
    elif s.NF > 1:
        mems["inbuf"] = map_memory(s.SF, s.SIMD * s.IN_W, write=True, shared_addr=True)
    return mems


def dsp_pair_fits(w_w: int, in_w: int) -> bool:
    """Two w_w x in_w-bit products fit one DSP48E1 (hw_dsp_pair): A = w_lo + w_hi*2^K
    with K = w_w + in_w must be 25-bit signed (w_w + K <= 24) and x 18-bit signed."""
    return w_w >= 2 and 2 * w_w + in_w <= 24 and in_w + 1 <= 18


def mvu_dsps(s: MvuShape) -> int:
    """DSP48E1 per hw_mvu: one per MAC lane when Yosys's mul2dsp takes the multiplier;
    with DSP_PACK 2 one per pair of rows and lane (an odd last row: one per lane)."""
    if s.MODE != 2:
        return 0
    if s.DSP_PACK == 2:
        return -(-s.PE // 2) * s.SIMD
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
    "mvu_base", "pe", "acc", "obuf", "xnor_tree", "popc_tree", "bitplane_sub", "arith_tree",
    "signsel_lane", "mac_lane",
    "thr_cmp", "thr_count", "thr_const", "in_mux", "rom_logic", "thr_rom", "rom_mux", "dsp_lane",
    "dsp_pair", "ternary_tree", "ternary_thr",
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
    if s.MODE == 0:  # hw_lanetree trees (XNOR folded in), their last add the accumulator's
        # ternary adder (hw_tadd: one LUT per bit)
        f["popc_tree"] = pe * (lanetree_luts(simd, 1, 1, acc) + acc)
    elif s.MODE == 1 and not s.IN_SIGNED:  # bit planes: PE trees and accumulators, the
        # shared C (its tree and adder), 2*S - C
        f["popc_tree"] = pe * (lanetree_luts(simd, s.IN_W, 2, acc - 1) + acc)
        f["popc_tree"] += lanetree_luts(simd, s.IN_W, 0, acc) + acc
        f["bitplane_sub"] = pe * acc
    else:
        f["arith_tree"] = pe * (simd - 1) * acc
        if s.MODE == 1:
            f["signsel_lane"] = pe * simd * (s.IN_W + 1)
        elif s.MODE == 3:  # a select of x*WP, 0, -x*WN: sign-select widened by the scale
            f["signsel_lane"] = pe * simd * (s.IN_W + s.WMAX.bit_length())
            f["ternary_tree"] = f["arith_tree"]
        elif dsp == 0:
            f["mac_lane"] = pe * simd * s.W_W * (s.IN_W + 1)
        else:
            f["dsp_lane"] = pe * simd
            if s.DSP_PACK == 2:  # hw_dsp_pair: A's high part, the split product
                f["dsp_pair"] = (pe // 2) * simd
    if s.N_T > 0 and s.NF > 1:
        f["thr_cmp"] = pe * s.N_T * acc
        f["thr_count"] = pe * s.N_T
    elif s.N_T > 0:  # one threshold word: comparisons with constants
        f["thr_const"] = pe * s.N_T * acc
        if s.MODE == 3:
            f["ternary_thr"] = f["thr_const"]
    if s.NF > 1:
        f["in_mux"] = simd * s.IN_W
    mems = mvu_memories(s)
    for what, m in mems.items():
        f["rom_mux"] += m.mux_bits
        if m.kind == "logic" and what == "weights":
            f["rom_logic"] += lut_rom_luts(_mem_depth(s, what), _mem_width(s, what))
        elif m.kind == "logic" and what == "thresholds":
            f["thr_rom"] += _mem_depth(s, what) * _mem_width(s, what) / 64.0
    return f, mems


def lut_rom_luts(depth: int, width: int) -> float:
    """LUTs of an hw_lutrom on xc7 by Yosys: each bit a function of the address alone, a
    LUT6 per 64 words (MUXF7/F8 join up to 256 words, LUTs beyond); up to 4 words most
    bits are an address bit or a constant."""
    if depth <= 1:
        return 0.0
    if depth <= 4:
        return 0.1 * width
    per_bit = -(-depth // 64) + max(0, -(-depth // 256) - 1)
    return float(per_bit * width)


def _mem_width(s: MvuShape, what: str) -> int:
    if what == "weights":
        return s.PE * s.SIMD * s.W_W if s.w_width is None else s.w_width
    if what == "thresholds":
        return s.PE * s.N_T * s.ACC_W if s.thr_width is None else s.thr_width
    if what == "reorder":
        return s.PE * (s.OUT_W if s.N_T > 0 else s.ACC_W)
    if what == "accumulators":
        return s.PE * s.ACC_W
    return s.SIMD * s.IN_W


def _mem_depth(s: MvuShape, what: str) -> int:
    if s.BATCH > 1:  # hw_mvu BATCH: two banks in and out, one accumulator set a vector
        two = {"inbuf": 2 * s.BATCH * s.SF, "reorder": 2 * s.BATCH * s.NF}
        if what in two or what == "accumulators":
            return two.get(what, s.BATCH)
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
        clog2(s.SF) + clog2(s.NF) + clog2(s.NF * s.SF) + 8  # counters, valid/flags
        + s.SIMD * s.IN_W  # s1_in
        + pe * _psum_bits(s) + pe * acc  # s2_psum, acc
        + 2 * pe * lw + 3  # output buffer
    )  # fmt: skip
    if s.WEIGHT_SOURCE == "stream":
        ff += s.PE * s.SIMD * s.W_W  # the register taking the stream's word
    if s.BATCH > 1:  # batch counters and bank pointers, in and out; the reorder read's valid
        ff += 3 * clog2(s.BATCH) + 2 * clog2(2 * s.BATCH * s.SF) + 3 * clog2(2 * s.BATCH * s.NF)
        ff += 10
        if s.BATCH <= 2:  # two sets of flip-flops and a 2:1 select per read port
            ff += 2 * pe * acc
            lut += 2 * pe * acc
    bram = lutram = 0.0
    notes = []
    for what, m in mems.items():
        notes.append(f"{what}: {m.kind}{' ' + m.cell if m.cell else ''}")
        bram += m.bram36
        copies = 2 if what == "accumulators" else 1  # two read ports: two LUTRAM copies
        lutram += copies * m.lutram
        lut += copies * m.lutram
        width = _mem_width(s, what)
        if what == "thresholds":
            # s1_nf, s2_nf and the read register (inside the RAMB for block RAM; for a
            # ROM of at most 4 words in logic Yosys keeps the address register instead)
            ff += 2 * clog2(s.NF)
            if m.kind == "logic":
                ff += clog2(s.NF) if s.NF <= 4 else width
        elif m.kind != "block":
            ff += width  # the read register (the weight address counts with another enable)
            if m.kind == "logic" and what == "inbuf":
                ff += _mem_depth(s, what) * width
    return Res(lut=lut, lutram=lutram, ff=ff, bram36=bram, dsp=mvu_dsps(s), notes=notes)


def mvu_shape(n: MVU, params: dict | None = None, data: bool = True) -> MvuShape:
    """hw_mvu's parameters for node n (from top.v's instance when given) and, with
    `data`, the non-constant bits of its threshold memory."""
    in_dt = n.in_dtype
    p = params or {}
    style = str(p.get("ROM_STYLE", n.rom_style()))
    source = str(p.get("WEIGHT_SOURCE", "stream" if n.external else "rom"))
    thr_w = w_w = None
    if data and n.thresholds is not None and n.thresholds.size and n.NF > 1:
        thr_w = varying_bits(mvu_threshold_codes(n.thresholds, n.PE, n.acc_bits), n.acc_bits)
    if data and n.weights is not None and n.NF * n.SF <= 4 and source == "rom":
        wb = n.w_bits
        w_w = varying_bits(mvu_weight_codes(n.memory_values(), n.PE, n.SIMD, wb), wb)
    return MvuShape(
        MW=n.MW, MH=n.MH, PE=n.PE, SIMD=n.SIMD,
        MODE=n.mode.code, WMAX=max(n.ternary) if n.mode == Mode.TERNARY else 1,
        IN_W=lane_width(in_dt), IN_SIGNED=int(signed_lanes(in_dt)),
        W_W=n.w_bits, ACC_W=n.acc_bits,
        N_T=n.n_thresholds, OUT_W=int(p.get("OUT_W", 1)), ROM_STYLE=style,
        THR_STYLE=str(p.get("THR_STYLE", n.thr_rom)),
        thr_width=thr_w, w_width=w_w, WEIGHT_SOURCE=source, BATCH=int(p.get("BATCH", n.batch)),
        DSP_PACK=int(p.get("DSP_PACK", n.dsp_pack)),
    )  # fmt: skip


# ---------------------------------------------------------------- HLS parameters


def mvu_weight_lanes(n: MVU) -> np.ndarray:
    """(PE, NF*SF, SIMD) weight lane codes: the memory-file layout (of what the RTL weight
    memory holds: codes for a ternary layer) with the PE lanes of each word split out
    (weights[p][addr] holds lanes p*SIMD .. p*SIMD+SIMD-1)."""
    codes = mvu_weight_codes(n.memory_values(), n.PE, n.SIMD, n.w_bits)
    return codes.reshape(n.NF * n.SF, n.PE, n.SIMD).transpose(1, 0, 2)


def mvu_threshold_values(n: MVU) -> np.ndarray:
    """(PE, NF, N_T) signed thresholds in the memory-file lane order (row nf*PE+p; padding
    rows hold 0)."""
    codes = mvu_threshold_codes(n.thresholds, n.PE, n.acc_bits).astype(np.int64)
    codes = codes.reshape(n.NF, n.PE, n.n_thresholds).transpose(1, 0, 2)
    half = 1 << (n.acc_bits - 1)
    return np.where(codes >= half, codes - (1 << n.acc_bits), codes)


def mvu_swap_flags(n: MVU) -> np.ndarray:
    """(PE, NF) ternary swap flags (negated rows; all 0 in the other modes), memory-file
    order."""
    return mvu_swap_codes(n.swap_rows(), n.PE).T


def _word_literals(codes: np.ndarray, width: int) -> list[str]:
    """C++ initialisers of packed words: codes (..., lanes) -> one literal per word."""
    lanes = codes.shape[-1]
    bits = lanes * width
    hexes = pack_words(codes.reshape(-1, lanes), width).split()
    if bits <= 32:
        return [f"0x{h}" for h in hexes]
    if bits <= 64:
        return [f"0x{h}ULL" for h in hexes]
    return [f'ap_uint<{bits}>("0x{h}", 16)' for h in hexes]


def _nt1(n: MVU) -> int:
    return max(1, n.n_thresholds)


def mvu_params_header(n: MVU) -> str:
    """<node>_params.h: the parameter arrays of an MVU. Vitis HLS (and halfwave's check of
    the literals) includes params/<node>.h, the values as constants; halfwave's g++ C
    simulation (HALFWAVE_PARAMS_FROM_MEM) reads the same words from the RTL memory files
    at start instead, so a large layer compiles in seconds and a retrained network of
    the same shapes reuses the simulator binary."""
    w_w = n.w_bits
    guard = f"HALFWAVE_{n.name.upper()}_PARAMS_H"
    w_decl = f"ap_uint<{n.SIMD * w_w}> {n.name}_weights[{n.PE}][{n.NF * n.SF}]"
    t_decl = f"ap_int<{n.acc_bits}> {n.name}_thresholds[{n.PE}][{n.NF}][{_nt1(n)}]"
    t_file = f'"{n.name}_thresholds.mem"' if n.n_thresholds else "0"
    s_file = f'"{n.name}_swap.mem"' if n.mode == Mode.TERNARY else "0"
    s_decl = f"bool {n.name}_swap[{n.PE}][{n.NF}]"
    bits = {1: " (bit 1 = +1, 0 = -1)"}.get(w_w, " (two's complement)")
    if n.mode == Mode.TERNARY:
        wp, wn = n.ternary_scales()
        bits = f" (code +1, 0, -1; weight +{wp}, 0, -{wn}: WP={wp}, WN={wn})"
    return f"""// {n.name}_params.h — generated by halfwave; do not edit.
// Node '{n.name}' ({n.source or "MVU"}): {n.MH} x {n.MW}, mode {n.mode}, PE={n.PE}, \
SIMD={n.SIMD}, {n.vectors} vector(s) per frame.
// {n.name}_weights[p][nf*SF + sf] (NF={n.NF}, SF={n.SF}): {n.SIMD} lanes of {w_w} bit(s),
// lane s = weight of row nf*{n.PE}+p, column sf*{n.SIMD}+s{bits}.
// {n.name}_thresholds[p][nf][t]: threshold t (ascending) of row nf*{n.PE}+p, signed
// accumulator domain{"" if n.n_thresholds else " (raw accumulators leave the node: unused)"}.
// {n.name}_swap[p][nf]: ternary layers: row nf*{n.PE}+p takes (WN, WP) for codes (+1, -1).
#ifndef {guard}
#define {guard}

#include "hw_stream.h"

#ifdef HALFWAVE_PARAMS_FROM_MEM
#include "hw_csim_io.h"
static {w_decl};
static {t_decl};
static {s_decl};
static const bool {n.name}_loaded = halfwave::load_mvu_mem("{n.name}_weights.mem", {t_file},
    {s_file}, {n.name}_weights, {n.name}_thresholds, {n.name}_swap);
#else
#include "params/{n.name}.h"
#endif

#endif  // {guard}
"""


def mvu_values_header(n: MVU) -> str:
    """params/<node>.h: the weights and thresholds of an MVU as C++ constants."""
    w_w = n.w_bits
    lanes = mvu_weight_lanes(n)
    per_line = max(1, 96 // (len(_word_literals(lanes[:1, :1], w_w)[0]) + 2))
    rows = []
    for p in range(n.PE):
        lits = _word_literals(lanes[p], w_w)
        rows.append(f"    {{  // p = {p}: rows {p}, {p + n.PE}, ...\n        "
                    + c_list(lits, "        ", per_line) + "\n    }")  # fmt: skip
    text = [
        f"// params/{n.name}.h — generated by halfwave; do not edit. Layout: ../{n.name}_params.h",
        f"static const ap_uint<{n.SIMD * w_w}> {n.name}_weights[{n.PE}][{n.NF * n.SF}] = {{",
        ",\n".join(rows),
        "};",
    ]
    if n.n_thresholds:
        thr = mvu_threshold_values(n)
        trows = []
        for p in range(n.PE):
            body = ",\n        ".join(
                "{" + ", ".join(str(int(v)) for v in thr[p, nf]) + "}" for nf in range(n.NF)
            )
            trows.append(f"    {{  // p = {p}\n        {body}\n    }}")
        text += [
            f"static const ap_int<{n.acc_bits}> {n.name}_thresholds[{n.PE}][{n.NF}]"
            f"[{n.n_thresholds}] = {{",
            ",\n".join(trows),
            "};",
        ]
    else:
        text.append(
            f"static const ap_int<{n.acc_bits}> {n.name}_thresholds[{n.PE}][{n.NF}][1] = {{}};"
        )
    flags = mvu_swap_flags(n)
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in flags[p]) + "}" for p in range(n.PE))
    text += [f"static const bool {n.name}_swap[{n.PE}][{n.NF}] = {{", rows, "};"]
    return "\n".join(text) + "\n"
