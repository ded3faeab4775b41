"""hw_mvu under Verilator against an integer numpy reference (W @ x, np.sum(acc >= T)).

Each parameter set builds one simulator and streams several vectors back to back twice:
without stalls (exact outputs and the cycle model: NF*SF cycles per vector, latency 4 + LT
(+ 1 with MEM_PIPE, + 1 with THR_PIPE, + 1 with a weight ROM in banks))
and with random stalls of probability 0.5 on both sides (exact outputs). Padding lanes of
the input and padding columns/rows of the weight memory hold random junk, so masking by
column index is checked too.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler.blocks.mvu import lanetree_latency, write_mvu_mem_files, write_swap_file
from halfwave.compiler.blocks.packing import write_rom_banks
from halfwave.compiler.codegen_rtl import block_sources
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
SRCS = [RTL / f for f in block_sources("hw_mvu")]
LATENCY = 4  # hw_mvu header: last input beat in cycle c -> output beat 0 valid at c+4+LT


@dataclass(frozen=True)
class Case:
    MW: int
    MH: int
    PE: int
    SIMD: int
    MODE: int  # 0 XNOR, 1 SIGNSEL, 2 MAC
    IN_W: int = 1
    IN_SIGNED: int = 0
    W_W: int = 1
    N_T: int = 0
    OUT_W: int = 1
    OUT_BIAS: int = 0
    acc_extra: int = 0  # accumulator bits beyond the minimum
    rom_style: str = "auto"
    vectors: int = 6
    seed: int = 0
    WP: int = 1  # MODE 3: weight of code +1, magnitude of code -1 (rows may swap them)
    WN: int = 1
    TREE_PIPE: int = 0  # lane tree registers every k levels (XNOR, unsigned SIGNSEL)
    THR_PIPE: int = 0  # 1: threshold compares registered before the count (+1 latency)
    MEM_PIPE: int = 0  # 1: memory reads registered once more (+1 latency)
    ROM_BANK: int = 0  # weight ROM in banks of this many words (+1 latency when deeper)
    tight_acc: bool = False  # ACC_W from the rows' actual extremes, as the compiler sizes it
    DSP_PACK: int = 1  # MODE 2: products per multiplier (2: hw_dsp_pair, rows in pairs)
    thr_style: str = "auto"  # THR_STYLE: the threshold ROM's RAM_STYLE


CASES = [
    # XNOR, raw popcounts, PE/SIMD dividing neither MH nor MW
    Case(MW=20, MH=10, PE=3, SIMD=6, MODE=0, seed=1),
    # XNOR + one threshold (BNN sign), PE = MH and SIMD = MW: one cycle per vector
    Case(MW=32, MH=8, PE=8, SIMD=32, MODE=0, N_T=1, OUT_W=1, rom_style="distributed", seed=2),
    # binary weights x unsigned 2-bit inputs, 3 thresholds -> unsigned 2-bit
    Case(MW=13, MH=9, PE=2, SIMD=5, MODE=1, IN_W=2, N_T=3, OUT_W=2, seed=3),
    # binary weights x signed 4-bit inputs, raw, PE = SIMD = 1
    Case(MW=7, MH=5, PE=1, SIMD=1, MODE=1, IN_W=4, IN_SIGNED=1, acc_extra=1, seed=4),
    # 8-bit MAC, signed inputs (first layer), raw
    Case(MW=11, MH=6, PE=4, SIMD=3, MODE=2, IN_W=8, IN_SIGNED=1, W_W=8, seed=5),
    # ternary (2-bit) weights x unsigned 3-bit, signed 2-bit output (bias -2), PE = MH
    Case(
        MW=18,
        MH=7,
        PE=7,
        SIMD=4,
        MODE=2,
        IN_W=3,
        W_W=2,
        N_T=3,
        OUT_W=2,
        OUT_BIAS=-2,
        acc_extra=2,
        rom_style="block",
        seed=6,
    ),
    # 1 x 1 matrix, 8 x 8 signed MAC: accumulator narrower than the product word
    Case(MW=1, MH=1, PE=1, SIMD=1, MODE=2, IN_W=8, IN_SIGNED=1, W_W=8, vectors=10, seed=7),
    # larger XNOR, 4 x 4 folds, thresholds with a wide output and bias
    Case(MW=64, MH=16, PE=4, SIMD=16, MODE=0, N_T=5, OUT_W=3, OUT_BIAS=1, seed=8),
    # ternary, asymmetric scales 5:3 (ratio not a power of two), rows swapped at random,
    # unsigned 2-bit inputs, thresholds; PE and SIMD divide neither dimension
    Case(
        MW=23, MH=11, PE=3, SIMD=5, MODE=3, IN_W=2, W_W=2, N_T=3, OUT_W=2, WP=5, WN=3, seed=9
    ),  # fmt: skip
    # ternary, symmetric (Brevitas 2-bit narrow), signed 4-bit inputs, raw accumulators
    Case(MW=9, MH=4, PE=4, SIMD=9, MODE=3, IN_W=4, IN_SIGNED=1, W_W=2, seed=10),
    # pipelined lane trees: XNOR registered every level, thresholds
    Case(MW=40, MH=6, PE=3, SIMD=20, MODE=0, N_T=2, OUT_W=2, TREE_PIPE=1, seed=11),
    # bit-plane SIGNSEL (binary weights x unsigned 3-bit), trees registered every 2 levels
    Case(MW=30, MH=8, PE=4, SIMD=14, MODE=1, IN_W=3, TREE_PIPE=2, seed=12),
    # one input beat per vector, four output beats (SF 1, NF 4): the buffered vector is
    # reread while the stream already holds the next one
    # ... with ACC_W sized by the actual weights (as the compiler does): the column term of
    # the bit planes (up to 48 here) exceeds the rows' range (6 bits)
    Case(MW=16, MH=8, PE=2, SIMD=16, MODE=1, IN_W=2, N_T=3, OUT_W=2, vectors=16, seed=59,
         tight_acc=True),  # fmt: skip
    Case(MW=12, MH=6, PE=2, SIMD=12, MODE=0, vectors=12, seed=14),
    # two 8-bit products per DSP48 (conv1's unsigned 8-bit pixels): PE odd, so the last
    # row has a multiplier of its own; MW and MH padded; thresholds
    Case(MW=11, MH=13, PE=5, SIMD=3, MODE=2, IN_W=8, W_W=8, N_T=3, OUT_W=2, DSP_PACK=2,
         seed=15),  # fmt: skip
    # ... signed 8-bit inputs, raw accumulators, extreme weights and inputs (see _setup)
    Case(MW=9, MH=8, PE=4, SIMD=9, MODE=2, IN_W=8, IN_SIGNED=1, W_W=8, DSP_PACK=2, seed=16),
    # ... narrow: 3-bit weights x unsigned 2-bit inputs
    Case(MW=7, MH=6, PE=6, SIMD=2, MODE=2, IN_W=2, W_W=3, DSP_PACK=2, seed=17),
    # the ECP5 timing options the compiler picks: compares registered, trees every 2
    # levels, one beat per vector (SF 1: the output buffer's credits at full rate)
    Case(MW=32, MH=12, PE=4, SIMD=32, MODE=1, IN_W=2, N_T=3, OUT_W=2, TREE_PIPE=2,
         THR_PIPE=1, MEM_PIPE=1, vectors=10, seed=15),  # fmt: skip
    # ... raw accumulators (THR_PIPE adds nothing there), SF 3, signed SIGNSEL
    Case(MW=9, MH=5, PE=5, SIMD=3, MODE=1, IN_W=3, IN_SIGNED=1, THR_PIPE=1, seed=16),
    # ... XNOR, thresholds, PE = MH
    Case(MW=24, MH=4, PE=4, SIMD=8, MODE=0, N_T=1, OUT_W=1, THR_PIPE=1, TREE_PIPE=1, MEM_PIPE=1,
         seed=17),  # fmt: skip
    # ... ternary with swapped rows behind the memory register, block ROM
    Case(MW=23, MH=11, PE=3, SIMD=5, MODE=3, IN_W=2, W_W=2, N_T=3, OUT_W=2, WP=5, WN=3,
         MEM_PIPE=1, THR_PIPE=1, rom_style="block", seed=18),  # fmt: skip
    # banked weight ROMs (the ECP5's deep ROMs): a short last bank, block RAM banks behind
    # the memory register, LUT banks with a ternary swap ROM beside them, one bank only
    Case(MW=40, MH=9, PE=1, SIMD=2, MODE=0, N_T=1, OUT_W=1, ROM_BANK=64, MEM_PIPE=1,
         TREE_PIPE=2, THR_PIPE=1, rom_style="block", vectors=4, seed=19),  # fmt: skip
    Case(MW=23, MH=11, PE=3, SIMD=1, MODE=3, IN_W=2, W_W=2, N_T=3, OUT_W=2, WP=5, WN=3,
         ROM_BANK=16, rom_style="distributed", seed=20),  # fmt: skip
    Case(MW=12, MH=6, PE=2, SIMD=3, MODE=1, IN_W=2, N_T=3, OUT_W=2, ROM_BANK=16, seed=21),
    # threshold ROM in block RAM (the optimiser's pick for a wide word under --minimise
    # lut), read after the address register; in LUTs (hw_lutrom) read a stage early
    Case(MW=16, MH=12, PE=3, SIMD=4, MODE=1, IN_W=2, N_T=3, OUT_W=2, thr_style="block",
         seed=22),  # fmt: skip
    Case(MW=16, MH=12, PE=3, SIMD=4, MODE=0, N_T=3, OUT_W=2, THR_PIPE=1,
         thr_style="distributed", seed=23),  # fmt: skip
]


def _signed_bits(lo: int, hi: int) -> int:
    b = 1
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return b


def _setup(c: Case, rng: np.random.Generator):
    """Random weights/inputs (junk in padding), reference accumulators, ACC_W, thresholds."""
    sf, nf = -(-c.MW // c.SIMD), -(-c.MH // c.PE)
    rows, cols = nf * c.PE, sf * c.SIMD
    if c.MODE == 0:
        w = rng.choice([-1, 1], (rows, cols))
        x = rng.choice([-1, 1], (c.vectors, cols))
        x_codes = (x > 0).astype(np.int64)
        lo, hi = 0, c.MW
    else:
        if c.MODE == 1:
            w, wmax = rng.choice([-1, 1], (rows, cols)), 1
        elif c.MODE == 3:
            codes = rng.choice([-1, 0, 1], (rows, cols), p=[0.35, 0.3, 0.35])
            codes[min(1, rows - 1)] = 0  # an all-zero row
            swap = rng.integers(0, 2, rows)
            wpos = np.where(swap, c.WN, c.WP)[:, None]
            wneg = np.where(swap, c.WP, c.WN)[:, None]
            w = np.where(codes > 0, wpos, np.where(codes < 0, -wneg, 0))
            wmax = max(c.WP, c.WN)
        else:
            wmax = 1 << (c.W_W - 1)
            w = rng.integers(-wmax, wmax, (rows, cols))
            if c.DSP_PACK == 2:  # signed extremes in both rows of a pair, and mixed
                w[0], w[1 % rows] = -wmax, wmax - 1
                w[2 % rows, ::2], w[3 % rows, 1::2] = -wmax, -wmax
        if c.IN_SIGNED:
            xlo, xhi = -(1 << (c.IN_W - 1)), (1 << (c.IN_W - 1)) - 1
        else:
            xlo, xhi = 0, (1 << c.IN_W) - 1
        x = rng.integers(xlo, xhi + 1, (c.vectors, cols))
        if c.DSP_PACK == 2:
            x[0], x[1] = xlo, xhi
        x_codes = x & ((1 << c.IN_W) - 1)
        bound = c.MW * wmax * max(-xlo, xhi)
        lo, hi = -bound, bound
    wv, xv = w[: c.MH, : c.MW], x[:, : c.MW]
    # reference: bipolar dot product -> popcount of agreements, or the plain product
    acc = (xv @ wv.T + c.MW) // 2 if c.MODE == 0 else xv @ wv.T
    if c.tight_acc:  # per-row extremes over the input range (the compiler's acc_lo/acc_hi)
        lo = int(np.minimum(wv * xlo, wv * xhi).sum(axis=1).min())
        hi = int(np.maximum(wv * xlo, wv * xhi).sum(axis=1).max()) + 1
    acc_w = _signed_bits(lo, hi) + c.acc_extra
    thr = None
    if c.N_T:
        pool = np.concatenate([acc.ravel(), rng.integers(lo, hi + 1, 16)])
        thr = np.sort(rng.choice(pool, (rows, c.N_T)), axis=1)
    return w, x_codes, acc, acc_w, thr


def _weight_file_values(c: Case, w: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """What the weight memory holds (ternary: 2-bit codes) and the ternary swap flags."""
    if c.MODE != 3:
        return w, None
    swap = np.array([(row > 0).any() and row[row > 0][0] != c.WP or (row < 0).any()
                     and -row[row < 0][0] != c.WN for row in w], dtype=np.int64)  # fmt: skip
    return np.sign(w), swap


def _params(c: Case, acc_w: int) -> dict[str, int | str]:
    return dict(
        MW=c.MW, MH=c.MH, PE=c.PE, SIMD=c.SIMD, MODE=c.MODE, IN_W=c.IN_W,
        IN_SIGNED=c.IN_SIGNED, W_W=c.W_W, ACC_W=acc_w, N_T=c.N_T, OUT_W=c.OUT_W,
        OUT_BIAS=c.OUT_BIAS, WEIGHT_FILE="mvu_weights.mem",
        THRESH_FILE="mvu_thresholds.mem" if c.N_T else "", ROM_STYLE=c.rom_style,
        **({"WP": c.WP, "WN": c.WN, "SWAP_FILE": "mvu_swap.mem"} if c.MODE == 3 else {}),
        **({"TREE_PIPE": c.TREE_PIPE} if c.TREE_PIPE else {}),
        **({"DSP_PACK": c.DSP_PACK} if c.DSP_PACK != 1 else {}),
        **({"THR_PIPE": c.THR_PIPE} if c.THR_PIPE else {}),
        **({"MEM_PIPE": c.MEM_PIPE} if c.MEM_PIPE else {}),
        **({"ROM_BANK": c.ROM_BANK} if c.ROM_BANK else {}),
        **({"THR_STYLE": c.thr_style} if c.thr_style != "auto" else {}),
    )  # fmt: skip


def latency(c: Case) -> int:
    """hw_mvu's latency: 4 + the memory read register (MEM_PIPE) + the lane trees'
    (XNOR and unsigned SIGNSEL only) + the compare register (THR_PIPE with thresholds)."""
    popc = c.MODE == 0 or (c.MODE == 1 and not c.IN_SIGNED)
    lt = lanetree_latency(c.SIMD, c.TREE_PIPE) if popc else 0
    banked = c.ROM_BANK and -(-c.MW // c.SIMD) * -(-c.MH // c.PE) > c.ROM_BANK
    return LATENCY + int(banked) + c.MEM_PIPE + lt + (1 if c.THR_PIPE and c.N_T else 0)


def _case_id(c: Case) -> str:
    return f"mode{c.MODE}-{c.MW}x{c.MH}-seed{c.seed}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_mvu_lint(case: Case) -> None:
    """Every tested parameter set is lint-clean under -Wall, not only the defaults."""
    _, _, _, acc_w, _ = _setup(case, np.random.default_rng(1000 + case.seed))
    lint_mvu(_params(case, acc_w))


def stimulus_and_expected(c: Case, x_codes, acc, acc_w: int, thr):
    """(output lane width, packed input beats, expected output codes or accumulators)."""
    lw = c.OUT_W if c.N_T else acc_w
    in_beats = vl.pack_lanes(vl.vectors_to_beats(x_codes, c.SIMD), c.IN_W)
    if c.N_T:
        counts = np.sum(acc[..., None] >= thr[None, : c.MH, :], axis=-1)
        expected = (counts + c.OUT_BIAS) & ((1 << c.OUT_W) - 1)
    else:
        expected = acc
    return lw, in_beats, expected


def lint_mvu(params: dict[str, int | str]) -> None:
    """verilator --lint-only -Wall on hw_mvu.v with these parameters; fails on any warning."""
    gargs = [f'-G{k}="{v}"' if isinstance(v, str) else f"-G{k}={v}" for k, v in params.items()]
    cmd = ["verilator", "--lint-only", "-Wall", *gargs, *map(str, SRCS)]
    proc = subprocess.run(cmd, env=vl.verilator_env(), capture_output=True, text=True)
    report = "\n".join(ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%"))
    assert proc.returncode == 0 and not report, f"{' '.join(cmd)}\n{report}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_mvu(case: Case, sim_cache: Path, tmp_path: Path) -> None:
    c = case
    rng = np.random.default_rng(1000 + c.seed)
    w, x_codes, acc, acc_w, thr = _setup(c, rng)
    sf, nf = -(-c.MW // c.SIMD), -(-c.MH // c.PE)
    params = _params(c, acc_w)
    where = f"case {asdict(c)} params {params}"

    # padding rows of the weight memory are junk too: write the full padded matrix
    wfile, swap = _weight_file_values(c, w)
    mems = write_mvu_mem_files(wfile, thr, c.PE, c.SIMD, c.W_W, acc_w, tmp_path / "mvu")
    banks = write_rom_banks(mems[0], c.ROM_BANK)
    banked = latency(c) > latency(replace(c, ROM_BANK=0))
    assert len(banks) == (-(-sf * nf // c.ROM_BANK) if banked else 0), where
    if swap is not None:
        write_swap_file(swap, c.PE, tmp_path / "mvu")
    binary = vl.build(SRCS, "hw_mvu", params, sim_cache)
    lw, in_beats, expected = stimulus_and_expected(c, x_codes, acc, acc_w, thr)

    for stall, seed in ((0.0, 1), (0.5, 2 + c.seed)):
        res = vl.run(
            binary, in_beats, c.SIMD * c.IN_W, c.PE * lw, c.vectors * nf, tmp_path,
            stall_in=stall, stall_out=stall, seed=seed,
        )  # fmt: skip
        lanes = vl.unpack_lanes(res.out, c.PE, lw, signed=not c.N_T)
        got = vl.beats_to_vectors(lanes, nf * c.PE)[:, : c.MH]
        assert np.array_equal(got, expected), f"{where} stall {stall}:\n{got}\n!=\n{expected}"
        if stall == 0.0:
            in_t = np.asarray(res.in_times).reshape(c.vectors, sf)
            out_t = np.asarray(res.out_times).reshape(c.vectors, nf)
            period = nf * sf
            assert set(np.diff(out_t, axis=0).ravel().tolist()) == {period}, where
            assert set(np.diff(in_t, axis=0).ravel().tolist()) == {period}, where
            assert set(np.diff(out_t, axis=1).ravel().tolist()) <= {sf}, where
            assert out_t[0, 0] - in_t[0, -1] == latency(c), where


def test_mvu_refuses_illegal_parameters(sim_cache: Path, tmp_path: Path) -> None:
    """SIMD > MW stops the simulation at time 0 with the parameter check's message."""
    params = dict(MW=4, MH=4, PE=2, SIMD=8, ACC_W=4)
    binary = vl.build(SRCS, "hw_mvu", params, sim_cache)
    beats = vl.pack_lanes(np.zeros((2, 8), np.int64), 1)
    with pytest.raises(vl.SimError, match=r"ERROR: \S*hw_mvu: SIMD=8 must be in 1\.\.MW=4"):
        vl.run(binary, beats, 8, 2 * 4, 2, tmp_path, max_idle=100)
