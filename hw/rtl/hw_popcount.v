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
// Measured (synth_xilinx, registered inputs): 32 bits XNOR-ed in, 63 LUT; two planes of
// 32 AND-ed bits, 129-141 LUT (ABC remaps the tree).
//
// Pipelining: PIPE = 0: combinational (LATENCY 0; clk and en unused). PIPE = k > 0: the
// output of every k-th compressor level and the sum are registered (enable en), so the
// logic between registers spans at most k levels, and
//     LATENCY = ceil(LEVELS / k) cycles, LEVELS = compressor levels + 1 (the adder)
// (hw_mvu's pc_latency and compiler/blocks/mvu.py popcount_latency repeat this). No
// handshake: the enclosing pipeline (hw_mvu) advances all its stages with one enable;
// with en low every register holds.
`default_nettype none
module hw_popcount #(
    parameter integer N      = 32,  // input bits per plane (>= 1)
    parameter integer PLANES = 1,   // planes; plane j has weight 2^j (1..16)
    parameter integer PIPE   = 0,   // register every PIPE levels and the output; 0: none
    parameter integer OUT_W  = $clog2(N * ((1 << PLANES) - 1) + 1) // sum bits
) (
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                clk,       // unused with PIPE = 0
    input  wire                en,        // register enable (unused with PIPE = 0)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [PLANES*N-1:0] in_bits,   // plane j bit i at [j*N + i]
    output wire [OUT_W-1:0]    sum
);
    initial begin
        if (N < 1) begin $display("ERROR: %m: N=%0d must be >= 1", N); $finish; end
        if (PLANES < 1 || PLANES > 24) begin
            $display("ERROR: %m: PLANES=%0d must be in 1..24", PLANES);
            $finish;
        end
        if (PIPE < 0) begin $display("ERROR: %m: PIPE=%0d must be >= 0", PIPE); $finish; end
        if (OUT_W < 1) begin $display("ERROR: %m: OUT_W=%0d must be >= 1", OUT_W); $finish; end
    end

    // Level l has LN(l) bits in each of LP(l) planes; level 0 is the input. A level with
    // N > 3 uses 6:3 compressors, N = 3 3:2, N <= 2 is the last (the final adder).
    function integer lvl_np;  // level l: bits per plane (want_p = 0) or planes (1)
        input integer l, want_p;
        integer i, n, p, cw, kk, gg;
        begin
            n = N;
            p = PLANES;
            for (i = 0; i < l; i = i + 1) begin
                cw = (n > 3) ? 6 : 3;
                kk = (n > 3) ? 3 : 2;
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

    // the levels' bits: level l, plane j, bit i at [lvl_off(l) + j*lvl_n(l) + i]
    /* verilator lint_off UNUSEDSIGNAL */
    wire [BUS-1:0] lv;  // padding slots and planes beyond OUT_W are not read
    /* verilator lint_on UNUSEDSIGNAL */
    assign lv[N*PLANES-1:0] = in_bits;

    genvar l, j, g, k;
    generate
        for (l = 0; l < NL; l = l + 1) begin : g_lvl
            localparam integer LN    = lvl_n(l);
            localparam integer LP    = lvl_p(l);
            localparam integer IO    = lvl_off(l);
            localparam integer OO    = lvl_off(l + 1);
            localparam integer CW    = (LN > 3) ? 6 : 3;            // compressor inputs
            localparam integer K     = (LN > 3) ? 3 : 2;            // compressor outputs
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
                        wire [CW-1:0] v;
                        for (k = 0; k < CW; k = k + 1) begin : g_in
                            if (GG * CW + k < LN) begin : g_real
                                assign v[k] = lv[IO + SRC*LN + GG*CW + k];
                            end else begin : g_pad
                                assign v[k] = 1'b0;
                            end
                        end
                        /* verilator lint_off UNUSEDSIGNAL */
                        wire [2:0] c;  // bit 2 unused by a 3:2 compressor
                        /* verilator lint_on UNUSEDSIGNAL */
                        if (CW == 6) begin : g_c6
                            assign c = cnt6(v);
                        end else begin : g_c3
                            assign c = cnt3(v);
                        end
                        assign nxt[j*N2 + g] = c[KK];
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
