// hw_popcount.v — weighted population count by a compressor tree (LUT6 friendly).
//
// sum = sum over planes j (0..PLANES-1) of 2^j * popcount(plane j), truncated to OUT_W
// bits (the default OUT_W holds the full range). Plane j is in_bits[j*N +: N].
//
// Structure: a chain of compressor levels (sizes from constant functions). A level
// with N > 3 bits per plane splits every plane into groups of 6 bits and replaces each
// group by its 3-bit count (a 6:3 compressor: three 6-input functions, one LUT6 each);
// bit k of the count of plane j goes to plane j+k of the next level, so the bits per
// plane roughly halve while the planes grow by 2. A level with N = 3 uses 3:2
// compressors (full adders). The last level (N <= 2) adds its two rows with one
// carry-chain adder of OUT_W bits. The compressors are boolean functions (no $add
// cells: LUTs, not carry chains); constant-zero padding bits are removed by synthesis.
//
// Operand folding: OP = 1 (XNOR) or 2 (AND) counts op(in_bits plane j, w) instead of
// in_bits: bit i of every plane is combined with w[i]. With N >= 3 the op is folded into
// the first level, which then takes 3:2 compressors over three (bit, w) pairs (six
// inputs: one LUT6 per output bit), so a lane's op costs no LUT of its own. The level
// recurrence is the plain one with level 0 forced to 3:2.
//
// Every compressor output is one hw_lut6 (the LUT6 primitive in the Xilinx Yosys flows:
// ABC9 would otherwise remap the tree for delay, at more LUTs). Measured (synth_xilinx,
// final adder included): 32 lanes XNOR-ed with w, 54 LUT (OP = 1; 63 with the XNOR in
// front of the behavioural tree, 72 with the op folded but left to ABC9); two planes of
// 32 lanes AND-ed with w, 108 LUT (OP = 2; about 130 with the AND in front).
//
// Pipelining: PIPE = 0: combinational (LATENCY 0; clk and en unused). PIPE = k > 0: the
// output of every k-th compressor level and the sum are registered (enable en), so the
// logic between registers spans at most k levels, and
//     LATENCY = ceil(LEVELS / k) cycles, LEVELS = compressor levels + 1 (the adder)
// (compiler/blocks/mvu.py popcount_latency repeats this). No handshake: the enclosing
// pipeline advances all its stages with one enable (hw_mvu's trees are hw_lanetree now);
// with en low every register holds.
`default_nettype none
module hw_popcount #(
    parameter integer N      = 32,  // input bits per plane (>= 1)
    parameter integer PLANES = 1,   // planes; plane j has weight 2^j (1..16)
    parameter integer PIPE   = 0,   // register every PIPE levels and the output; 0: none
    parameter integer OP     = 0,   // 0: count in_bits; 1: in_bits XNOR w; 2: in_bits AND w
    parameter integer OUT_W  = $clog2(N * ((1 << PLANES) - 1) + 1) // sum bits
) (
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                clk,       // unused with PIPE = 0
    input  wire                en,        // register enable (unused with PIPE = 0)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [PLANES*N-1:0] in_bits,   // plane j bit i at [j*N + i]
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [N-1:0]        w,         // second operand of bit i of every plane (OP > 0)
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [OUT_W-1:0]    sum
);
    initial begin
        if (N < 1) begin $display("ERROR: %m: N=%0d must be >= 1", N); $finish; end
        if (PLANES < 1 || PLANES > 24) begin
            $display("ERROR: %m: PLANES=%0d must be in 1..24", PLANES);
            $finish;
        end
        if (PIPE < 0) begin $display("ERROR: %m: PIPE=%0d must be >= 0", PIPE); $finish; end
        if (OP < 0 || OP > 2) begin $display("ERROR: %m: OP=%0d must be 0, 1 or 2", OP); $finish; end
        if (OUT_W < 1) begin $display("ERROR: %m: OUT_W=%0d must be >= 1", OUT_W); $finish; end
    end

    // the op is folded into the first compressor level when there is one (N >= 3)
    localparam integer FOLD = (OP != 0 && N >= 3) ? 1 : 0;

    // Level l has LN(l) bits in each of LP(l) planes; level 0 is the input. A level with
    // N > 3 uses 6:3 compressors, N = 3 3:2, N <= 2 is the last (the final adder).
    function integer lvl_np;  // level l: bits per plane (want_p = 0) or planes (1)
        input integer l, want_p;
        integer i, n, p, cw, kk, gg;
        begin
            n = N;
            p = PLANES;
            for (i = 0; i < l; i = i + 1) begin
                cw = (n > 3 && !(i == 0 && FOLD != 0)) ? 6 : 3;
                kk = (cw == 6) ? 3 : 2;
                gg = (n + cw - 1) / cw;
                n = gg * ((kk < p) ? kk : p);
                p = p + kk - 1;
            end
            lvl_np = (want_p != 0) ? p : n;
        end
    endfunction
    function integer lvl_n;  // bits per plane of level l
        input integer l;
        lvl_n = lvl_np(l, 0);
    endfunction
    function integer lvl_p;  // planes of level l
        input integer l;
        lvl_p = lvl_np(l, 1);
    endfunction
    function integer lvl_count;  // compressor levels before the final adder
        input integer dummy;
        integer l;
        begin
            l = 0;
            while (lvl_n(l) > 2) l = l + 1;
            lvl_count = l + 0 * dummy;
        end
    endfunction
    function integer lvl_off;  // offset of level l in the level bus
        input integer l;
        integer i, o;
        begin
            o = 0;
            for (i = 0; i < l; i = i + 1) o = o + lvl_n(i) * lvl_p(i);
            lvl_off = o;
        end
    endfunction

    localparam integer NL      = lvl_count(0);       // compressor levels
    localparam integer LEVELS  = NL + 1;             // with the final adder
    localparam integer BUS     = lvl_off(NL + 1);    // all levels' bits
    /* verilator lint_off UNUSEDPARAM */
    localparam integer LATENCY = (PIPE > 0) ? (LEVELS + PIPE - 1) / PIPE : 0; // documentation
    /* verilator lint_on UNUSEDPARAM */

    // 6:3 and 3:2 counts as boolean functions (no $add cells: LUT logic, not carry chains)
    function [2:0] cnt6;
        input [5:0] v;
        reg sa, ca, sb, cb, c0;
        begin
            sa = v[0] ^ v[1] ^ v[2];
            ca = (v[0] & v[1]) | (v[0] & v[2]) | (v[1] & v[2]);
            sb = v[3] ^ v[4] ^ v[5];
            cb = (v[3] & v[4]) | (v[3] & v[5]) | (v[4] & v[5]);
            c0 = sa & sb;
            cnt6 = {(ca & cb) | (ca & c0) | (cb & c0), ca ^ cb ^ c0, sa ^ sb};
        end
    endfunction
    function [2:0] cnt3;
        input [2:0] v;
        begin
            cnt3 = {1'b0, (v[0] & v[1]) | (v[0] & v[2]) | (v[1] & v[2]), v[0] ^ v[1] ^ v[2]};
        end
    endfunction

    // op(a, b) of OP, on one bit
    function opb;
        input a, b;
        opb = (OP == 1) ? ~(a ^ b) : (OP == 2) ? (a & b) : a;
    endfunction
    // truth table of bit kk of a compressor (cw = 6: 6:3, 3: 3:2) over its first rl
    // inputs; with opl the inputs are (bit, w) pairs, bit of pair k at input 2k
    /* verilator lint_off UNUSEDSIGNAL */
    function [63:0] lut_init;  // (kk is 0..2: its upper bits are not read)
        input integer cw, kk, opl, rl;
        integer idx, k;
        reg [5:0] v;
        reg [2:0] c;
        begin
            lut_init = 64'h0;
            for (idx = 0; idx < 64; idx = idx + 1) begin
                v = 6'b0;
                for (k = 0; k < 6; k = k + 1) begin
                    if (opl != 0 && k < rl) v[k] = opb(idx[2*k], idx[2*k + 1]);
                    else if (opl == 0 && k < rl) v[k] = idx[k];
                end
                c = (cw == 6) ? cnt6(v) : cnt3(v[2:0]);
                lut_init[idx] = c[kk[1:0]];
            end
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    // the levels' bits: level l, plane j, bit i at [lvl_off(l) + j*lvl_n(l) + i]
    /* verilator lint_off UNUSEDSIGNAL */
    wire [BUS-1:0] lv;  // padding slots and planes beyond OUT_W are not read
    /* verilator lint_on UNUSEDSIGNAL */
    genvar l, j, g, k;
    generate
        if (FOLD != 0 || OP == 0) begin : g_raw  // the first level applies the op
            assign lv[N*PLANES-1:0] = in_bits;
        end else begin : g_op  // N <= 2: no compressor level, the op goes in front
            for (j = 0; j < PLANES; j = j + 1) begin : g_p
                for (k = 0; k < N; k = k + 1) begin : g_b
                    assign lv[j*N + k] = opb(in_bits[j*N + k], w[k]);
                end
            end
        end
    endgenerate

    generate
        for (l = 0; l < NL; l = l + 1) begin : g_lvl
            localparam integer LN    = lvl_n(l);
            localparam integer LP    = lvl_p(l);
            localparam integer IO    = lvl_off(l);
            localparam integer OO    = lvl_off(l + 1);
            localparam integer OPL   = (l == 0 && FOLD != 0) ? 1 : 0; // op folded here
            localparam integer CW    = (LN > 3 && OPL == 0) ? 6 : 3; // compressor inputs
            localparam integer K     = (CW == 6) ? 3 : 2;            // compressor outputs
            localparam integer G     = (LN + CW - 1) / CW;          // groups per plane
            localparam integer N2    = lvl_n(l + 1);
            localparam integer P2    = lvl_p(l + 1);
            // register this level's output on every PIPE-th level
            localparam integer REG   = (PIPE > 0 && (l + 1) % PIPE == 0) ? 1 : 0;
            wire [P2*N2-1:0] nxt;  // the next level's planes (unused slots stay 0)
            for (j = 0; j < P2; j = j + 1) begin : g_plane
                for (g = 0; g < N2; g = g + 1) begin : g_slot
                    // slot s*G+g of new plane j holds bit KK = s + KMIN of group GG of
                    // old plane j-KK
                    localparam integer KMIN = (j - LP + 1 > 0) ? j - LP + 1 : 0;
                    localparam integer KK   = g / G + KMIN;
                    localparam integer SRC  = j - KK;
                    localparam integer GG   = g % G;
                    if (KK < K && KK <= j) begin : g_bit
                        // RL inputs of the group are real (the rest are padding: 0);
                        // with the op folded, input 2k is the bit of lane k, 2k+1 its w
                        localparam integer RL = (LN - GG*CW < CW) ? LN - GG*CW : CW;
                        /* verilator lint_off UNUSEDSIGNAL */
                        wire [5:0] li;  // a wire or a constant reads part of it
                        /* verilator lint_on UNUSEDSIGNAL */
                        for (k = 0; k < 6; k = k + 1) begin : g_in
                            if (OPL != 0 && k / 2 < RL) begin : g_op
                                if (k % 2 == 0) begin : g_x
                                    assign li[k] = lv[IO + SRC*LN + GG*CW + k/2];
                                end else begin : g_w
                                    assign li[k] = w[GG*CW + k/2];
                                end
                            end else if (OPL == 0 && k < RL) begin : g_real
                                assign li[k] = lv[IO + SRC*LN + GG*CW + k];
                            end else begin : g_pad
                                assign li[k] = 1'b0;
                            end
                        end
                        if ((1 << KK) > RL) begin : g_zero  // the count is < 2^KK
                            assign nxt[j*N2 + g] = 1'b0;
                        end else if (RL == 1 && OPL == 0) begin : g_wire
                            assign nxt[j*N2 + g] = li[0];
                        end else begin : g_lut
                            hw_lut6 #(.INIT(lut_init(CW, KK, OPL, RL))) u_lut (
                                .i(li), .o(nxt[j*N2 + g]));
                        end
                    end else begin : g_empty
                        assign nxt[j*N2 + g] = 1'b0;
                    end
                end
            end
            if (REG != 0) begin : g_reg
                reg [P2*N2-1:0] q;
                always @(posedge clk) if (en) q <= nxt;
                assign lv[OO +: P2*N2] = q;
            end else begin : g_comb
                assign lv[OO +: P2*N2] = nxt;
            end
        end
    endgenerate

    // final adder: row r holds bit r of every plane at that plane's weight (planes of
    // weight >= 2^OUT_W add 0 modulo 2^OUT_W)
    localparam integer FN = lvl_n(NL);
    localparam integer FP = lvl_p(NL);
    localparam integer FO = lvl_off(NL);
    localparam integer RW = (FP < OUT_W) ? FP : OUT_W;
    wire [OUT_W-1:0] row0, row1;
    generate
        for (j = 0; j < OUT_W; j = j + 1) begin : g_row
            if (j < RW) begin : g_bit
                assign row0[j] = lv[FO + j*FN];
                assign row1[j] = (FN > 1) ? lv[FO + j*FN + FN - 1] : 1'b0;
            end else begin : g_zero
                assign row0[j] = 1'b0;
                assign row1[j] = 1'b0;
            end
        end
    endgenerate
    wire [OUT_W-1:0] total = row0 + row1;
    generate
        if (PIPE > 0) begin : g_oreg
            reg [OUT_W-1:0] q;
            always @(posedge clk) if (en) q <= total;
            assign sum = q;
        end else begin : g_ocomb
            assign sum = total;
        end
    endgenerate
endmodule
`default_nettype wire
