// hw_popcount.v — weighted population count by a compressor tree (LUT6 friendly).
//
// sum = sum over planes j (0..PLANES-1) of 2^j * popcount(plane j), truncated to OUT_W
// bits (the default OUT_W holds the full range). Plane j is in_bits[j*N +: N].
//
// Structure: a Wallace tree of bit columns (column c has weight 2^c; plane j starts as
// N bits in column j; columns >= OUT_W are dropped, they add 0 modulo 2^OUT_W). Each
// level takes every column of height h: h/6 groups of 6 bits (a 5-bit rest too) go
// through 6:3 compressors (three 6-input functions, one LUT6 each; count bit k lands in
// column c+k), a rest of 3 or 4 bits through one 3:2 compressor (full adder), and the
// rest passes on. Levels repeat until every column holds <= 2 bits; then one carry-chain
// adder of OUT_W bits adds the two rows. The compressors are boolean functions (no $add
// cells), so they map to LUTs rather than carry chains; about 2 LUTs per bit for a plain
// popcount under synth_xilinx (ABC remaps the tree), against 3.6 for hw_mvu's old tree.
//
// Pipelining: PIPE = 0: combinational (LATENCY 0; clk and en unused). PIPE = k > 0: the
// output of every k-th compressor level and the sum are registered (enable en), so the
// logic between registers spans at most k levels, and
//     LATENCY = ceil(LEVELS / k) cycles, LEVELS = compressor levels + 1 (the adder)
// (hw_mvu's pc_latency and compiler/blocks/mvu.py popcount_levels repeat the column
// recurrence). No handshake: the enclosing pipeline (hw_mvu) advances all its stages
// with one enable; with en low every register holds.
`default_nettype none
module hw_popcount #(
    parameter integer N      = 32,  // input bits per plane (>= 1)
    parameter integer PLANES = 1,   // planes; plane j has weight 2^j (1..16)
    parameter integer PIPE   = 0,   // register every PIPE levels and the output; 0: none
    parameter integer OUT_W  = $clog2(N * ((1 << PLANES) - 1) + 1) // sum bits (<= 32)
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
        if (OUT_W < 1 || OUT_W > 32) begin
            $display("ERROR: %m: OUT_W=%0d must be in 1..32", OUT_W);
            $finish;
        end
    end

    localparam integer HB = 32;  // bits of a column height in the constant functions
    localparam integer MC = 32;  // columns at most (OUT_W <= 32)

    // Grouping of a column of height h (at level l: the same rule at every level): n6
    // 6:3 compressors (the last one may take 5 bits), nfa 3:2 compressors, np bits
    // passed on.
    function integer n6of;
        input integer h, l;
        begin
            n6of = h / 6 + ((h % 6 == 5) ? 1 : 0) + 0 * l;
        end
    endfunction
    function integer nfaof;
        input integer h, l;
        begin
            nfaof = ((h % 6 == 3 || h % 6 == 4) ? 1 : 0) + 0 * l;
        end
    endfunction
    function integer npof;
        input integer h, l;
        begin
            npof = h - 6 * n6of(h, l) - 3 * nfaof(h, l);
            if (npof < 0) npof = 0;  // a 5-bit 6:3 group
        end
    endfunction
    // the column heights of level l, column c at [c*HB +: HB]
    function [MC*HB-1:0] heights;
        input integer l;
        integer i, c, h, h1, h2;
        reg [MC*HB-1:0] cur, nx;
        begin
            cur = {MC*HB{1'b0}};
            for (c = 0; c < OUT_W && c < PLANES; c = c + 1) cur[c*HB +: HB] = N;
            for (i = 0; i < l; i = i + 1) begin
                nx = {MC*HB{1'b0}};
                for (c = 0; c < OUT_W; c = c + 1) begin
                    h  = cur[c*HB +: HB];
                    h1 = (c >= 1) ? cur[(c-1)*HB +: HB] : 0;
                    h2 = (c >= 2) ? cur[(c-2)*HB +: HB] : 0;
                    nx[c*HB +: HB] = n6of(h, i) + nfaof(h, i) + npof(h, i)
                                   + n6of(h1, i) + nfaof(h1, i) + n6of(h2, i);
                end
                cur = nx;
            end
            heights = cur;
        end
    endfunction
    function integer colh;  // height of column c at level l (0 outside 0..OUT_W-1)
        input integer l, c;
        reg [MC*HB-1:0] hv;
        begin
            hv = heights(l);
            colh = (c >= 0 && c < OUT_W) ? hv[c*HB +: HB] : 0;
        end
    endfunction
    function integer loff;  // offset of column c within level l
        input integer l, c;
        integer i;
        begin
            loff = 0;
            for (i = 0; i < c; i = i + 1) loff = loff + colh(l, i);
        end
    endfunction
    function integer base;  // offset of level l in the level bus
        input integer l;
        integer i;
        begin
            base = 0;
            for (i = 0; i < l; i = i + 1) base = base + loff(i, OUT_W);
        end
    endfunction
    function integer lvl_count;  // compressor levels: until every column holds <= 2 bits
        input integer dummy;
        integer l, c, tall;
        begin
            l = 0;
            tall = 1;
            while (tall != 0) begin
                tall = 0;
                for (c = 0; c < OUT_W; c = c + 1) if (colh(l, c) > 2) tall = 1;
                if (tall != 0) l = l + 1;
            end
            lvl_count = l + 0 * dummy;
        end
    endfunction

    localparam integer NL      = lvl_count(0);       // compressor levels
    localparam integer LEVELS  = NL + 1;             // with the final adder
    localparam integer BUS     = base(NL + 1);       // all levels' bits
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
    function [1:0] cnt3;
        input [2:0] v;
        begin
            cnt3 = {(v[0] & v[1]) | (v[0] & v[2]) | (v[1] & v[2]), v[0] ^ v[1] ^ v[2]};
        end
    endfunction

    // the levels' bits: level l, column c, bit i at [base(l) + loff(l, c) + i]; one bus
    // for all levels (each level reads the one before: no loop, only Verilator's view)
    /* verilator lint_off UNOPTFLAT */
    wire [BUS-1:0] lv;
    /* verilator lint_on UNOPTFLAT */
    generate
        genvar c0, i0;
        for (c0 = 0; c0 < OUT_W; c0 = c0 + 1) begin : g_in
            for (i0 = 0; i0 < colh(0, c0); i0 = i0 + 1) begin : g_bit
                assign lv[loff(0, c0) + i0] = in_bits[c0*N + i0];
            end
        end
        if (PLANES > OUT_W) begin : g_unused  // planes of weight >= 2^OUT_W add 0
            /* verilator lint_off UNUSEDSIGNAL */
            wire [PLANES*N-1:0] unused = in_bits;
            /* verilator lint_on UNUSEDSIGNAL */
        end
    endgenerate

    genvar l, c, g, k;
    generate
        for (l = 0; l < NL; l = l + 1) begin : g_lvl
            localparam integer IB  = base(l);
            localparam integer OW2 = loff(l + 1, OUT_W);  // bits of the next level
            // register this level's output on every PIPE-th level
            localparam integer REG = (PIPE > 0 && (l + 1) % PIPE == 0) ? 1 : 0;
            wire [OW2-1:0] nxt;
            for (c = 0; c < OUT_W; c = c + 1) begin : g_col
                localparam integer H   = colh(l, c);
                localparam integer I0  = IB + loff(l, c);
                localparam integer N6  = n6of(H, l);
                localparam integer NFA = nfaof(H, l);
                localparam integer NP  = npof(H, l);
                localparam integer O0  = loff(l + 1, c);   // own outputs start here
                // where this column's carries land in columns c+1 and c+2
                localparam integer H1  = colh(l, c + 1);
                localparam integer H2  = colh(l, c + 2);
                localparam integer C1  = loff(l + 1, c + 1) + n6of(H1, l) + nfaof(H1, l)
                                       + npof(H1, l);
                localparam integer C2  = loff(l + 1, c + 2) + n6of(H2, l) + nfaof(H2, l)
                                       + npof(H2, l) + n6of(H1, l) + nfaof(H1, l);
                for (g = 0; g < N6; g = g + 1) begin : g_c6
                    wire [5:0] v;
                    for (k = 0; k < 6; k = k + 1) begin : g_v
                        if (g * 6 + k < H) begin : g_real
                            assign v[k] = lv[I0 + g*6 + k];
                        end else begin : g_pad
                            assign v[k] = 1'b0;
                        end
                    end
                    /* verilator lint_off UNUSEDSIGNAL */
                    /* verilator lint_off UNOPTFLAT */
                    wire [2:0] cnt = cnt6(v);  // bits beyond OUT_W are dropped
                    /* verilator lint_on UNOPTFLAT */
                    /* verilator lint_on UNUSEDSIGNAL */
                    assign nxt[O0 + g] = cnt[0];
                    if (c + 1 < OUT_W) begin : g_b1
                        assign nxt[C1 + g] = cnt[1];
                    end
                    if (c + 2 < OUT_W) begin : g_b2
                        assign nxt[C2 + g] = cnt[2];
                    end
                end
                for (g = 0; g < NFA; g = g + 1) begin : g_c3
                    /* verilator lint_off UNUSEDSIGNAL */
                    /* verilator lint_off UNOPTFLAT */
                    wire [1:0] cnt = cnt3(lv[I0 + N6*6 + g*3 +: 3]);
                    /* verilator lint_on UNOPTFLAT */
                    /* verilator lint_on UNUSEDSIGNAL */
                    assign nxt[O0 + N6 + g] = cnt[0];
                    if (c + 1 < OUT_W) begin : g_b1
                        assign nxt[C1 + N6 + g] = cnt[1];
                    end
                end
                for (g = 0; g < NP; g = g + 1) begin : g_pass
                    assign nxt[O0 + N6 + NFA + g] = lv[I0 + N6*6 + NFA*3 + g];
                end
            end
            if (REG != 0) begin : g_reg
                reg [OW2-1:0] q;
                always @(posedge clk) if (en) q <= nxt;
                assign lv[base(l + 1) +: OW2] = q;
            end else begin : g_comb
                assign lv[base(l + 1) +: OW2] = nxt;
            end
        end
    endgenerate

    // final adder: row r holds bit r of every column that has it
    localparam integer FB = base(NL);
    wire [OUT_W-1:0] row0, row1;
    generate
        for (c = 0; c < OUT_W; c = c + 1) begin : g_row
            localparam integer H = colh(NL, c);
            localparam integer O = FB + loff(NL, c);
            if (H >= 1) begin : g_r0
                assign row0[c] = lv[O];
            end else begin : g_z0
                assign row0[c] = 1'b0;
            end
            if (H >= 2) begin : g_r1
                assign row1[c] = lv[O + 1];
            end else begin : g_z1
                assign row1[c] = 1'b0;
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
