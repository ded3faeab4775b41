// hw_lanetree.v — sum of N lanes op(x, w) by carry-chain adders, as two numbers:
//     sa + sb = sum over lanes s of op(x_s, w_s)   (modulo 2^OUT_W)
// with op = x (OP 0), x XNOR w (OP 1, 1-bit lanes) or x AND w (OP 2: x if w else 0).
//
// Lane s is x[s*IN_W +: IN_W] (unsigned) and w[s]. The caller adds sa and sb (hw_mvu
// folds them into its accumulator's ternary adder), so the tree's last adder is saved.
// Structure: level 0 adds the lanes in pairs with the op folded in (one hw_lut62 per bit
// computes the op on both lanes, the propagate and the generate; a hw_carry chain for
// IN_W > 1; a 1-bit pair is one hw_lut62, sum and carry); every later level adds its
// numbers in threes with hw_tadd (one LUT per sum bit), until two numbers are left.
// Numbers of a level share one width: the bits of the level's largest value (3 times
// the level before, at most the whole sum), at most OUT_W. About IN_W/2 + 1 LUT per lane
// at IN_W = 2 (measured in bench/lanes.json).
// STRUCT = 0 (Verilator, ECP5; the default without the macro HW_XC7_LUT6) builds the same
// tree from behavioural sums.
// Pipelining: PIPE = 0: combinational (LATENCY 0; clk and en unused). PIPE = k > 0: the
// output of every k-th level and of the last level is registered (enable en):
//     LATENCY = ceil(LEVELS / k), LEVELS = 1 + the ternary levels (ceil(N/2) numbers
//     divided by 3, rounded up, until at most 2 are left)
// (hw_mvu's pc_latency and compiler/blocks/mvu.py lanetree_latency repeat this). No
// handshake: with en low every register holds.
`default_nettype none
module hw_lanetree #(
    parameter integer N      = 32,  // lanes (>= 1)
    parameter integer IN_W   = 1,   // bits of x per lane (1 with OP 1)
    parameter integer OP     = 1,   // 0: x; 1: x XNOR w; 2: x AND w
    parameter integer PIPE   = 0,   // register every PIPE levels and the last; 0: none
    parameter integer OUT_W  = $clog2(N * ((OP == 1) ? 1 : (1 << IN_W) - 1) + 1), // sum bits
`ifdef HW_XC7_LUT6
    parameter integer STRUCT = 1    // 1: hw_lut62 / hw_carry / hw_tadd structure
`else
    parameter integer STRUCT = 0    // 1: hw_lut62 / hw_carry / hw_tadd structure
`endif
) (
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                clk,  // unused with PIPE = 0
    input  wire                en,   // register enable (unused with PIPE = 0)
    input  wire [N*IN_W-1:0]   x,
    input  wire [N-1:0]        w,    // unused with OP 0
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [OUT_W-1:0]    sa,
    output wire [OUT_W-1:0]    sb
);
    initial begin
        if (N < 1) begin $display("ERROR: %m: N=%0d must be >= 1", N); $finish; end
        if (IN_W < 1 || IN_W > 16) begin $display("ERROR: %m: IN_W=%0d must be in 1..16", IN_W); $finish; end
        if (OP < 0 || OP > 2) begin $display("ERROR: %m: OP=%0d must be 0, 1 or 2", OP); $finish; end
        if (OP == 1 && IN_W != 1) begin $display("ERROR: %m: OP=1 (XNOR) needs IN_W=1, got %0d", IN_W); $finish; end
        if (PIPE < 0) begin $display("ERROR: %m: PIPE=%0d must be >= 0", PIPE); $finish; end
        if (OUT_W < 1) begin $display("ERROR: %m: OUT_W=%0d must be >= 1", OUT_W); $finish; end
    end

    localparam integer VMAX = (OP == 1) ? 1 : (1 << IN_W) - 1;  // largest lane value
    localparam integer TOP  = N * VMAX;                          // largest sum

    function integer nbits;  // bits of v >= 0 (at least 1)
        input integer v;
        integer b;
        begin
            b = 1;
            while ((v >> b) > 0) b = b + 1;
            nbits = b;
        end
    endfunction
    function integer lv_n;  // numbers of level l
        input integer l;
        integer i, n;
        begin
            n = (N + 1) / 2;
            for (i = 0; i < l; i = i + 1) n = (n + 2) / 3;
            lv_n = n;
        end
    endfunction
    function integer lv_w;  // bits of a number of level l
        input integer l;
        integer i, m, b;
        begin
            m = ((N > 1) ? 2 : 1) * VMAX;
            for (i = 0; i < l; i = i + 1) m = (3 * m > TOP) ? TOP : 3 * m;
            b = nbits(m);
            lv_w = (b < OUT_W) ? b : OUT_W;
        end
    endfunction
    function integer lv_count;  // levels
        input integer dummy;
        integer l;
        begin
            l = 0;
            while (lv_n(l) > 2) l = l + 1;
            lv_count = l + 1 + 0 * dummy;
        end
    endfunction
    function integer lv_off;  // offset of level l in the level bus
        input integer l;
        integer i, o;
        begin
            o = 0;
            for (i = 0; i < l; i = i + 1) o = o + lv_n(i) * lv_w(i);
            lv_off = o;
        end
    endfunction
    function opb;  // the op on one bit of x and its lane's w
        input xb, wb;
        opb = (OP == 1) ? ~(xb ^ wb) : (OP == 2) ? (xb & wb) : xb;
    endfunction
    // level 0 pair LUT on I0 = x1, I1 = w1, I2 = x2, I3 = w2 (bit j of lanes 1, 2):
    // o6 = v1 ^ v2; o5 = v1 & v2 (gen = 0: a 1-bit pair's carry) or v1 (gen = 1: the
    // chain's generate source)
    function [63:0] pair_init;
        input integer gen;
        integer idx;
        reg v1, v2;
        begin
            pair_init = 64'h0;
            for (idx = 0; idx < 32; idx = idx + 1) begin
                v1 = opb(idx[0], idx[1]);
                v2 = opb(idx[2], idx[3]);
                pair_init[idx]      = (gen != 0) ? v1 : (v1 & v2);
                pair_init[32 + idx] = v1 ^ v2;
            end
        end
    endfunction

    localparam integer NLV = lv_count(0);
    localparam integer BUS = lv_off(NLV);
    localparam integer N0  = lv_n(0);
    localparam integer W0  = lv_w(0);
    /* verilator lint_off UNUSEDPARAM */
    localparam integer LATENCY = (PIPE > 0) ? (NLV + PIPE - 1) / PIPE : 0; // documentation
    /* verilator lint_on UNUSEDPARAM */

    wire [BUS-1:0] lv;  // level l, number q at [lv_off(l) + q*lv_w(l) +: lv_w(l)]
    genvar l, q, j;
    generate
        // ---------------------------------------------------------- level 0: lane pairs
        wire [N0*W0-1:0] l0;
        for (q = 0; q < N0; q = q + 1) begin : g_pair
            wire [IN_W-1:0] x1 = x[(2*q)*IN_W +: IN_W];
            /* verilator lint_off UNUSEDSIGNAL */
            wire [IN_W-1:0] v1;  // the op on lane 1 (the structural pair folds its own)
            wire [IN_W:0]   pv;  // the pair's sum (upper bits unread when OUT_W is small)
            /* verilator lint_on UNUSEDSIGNAL */
            for (j = 0; j < IN_W; j = j + 1) begin : g_v1
                assign v1[j] = opb(x1[j], w[2*q]);
            end
            if (2*q + 1 >= N) begin : g_single
                assign pv = {1'b0, v1};
            end else begin : g_two
                wire [IN_W-1:0] x2 = x[(2*q+1)*IN_W +: IN_W];
                if (STRUCT == 0) begin : g_behav
                    wire [IN_W-1:0] v2;
                    for (j = 0; j < IN_W; j = j + 1) begin : g_v2
                        assign v2[j] = opb(x2[j], w[2*q+1]);
                    end
                    assign pv = {1'b0, v1} + {1'b0, v2};
                end else if (IN_W == 1) begin : g_bit
                    hw_lut62 #(.INIT(pair_init(0))) u_lut (
                        .i({1'b0, w[2*q+1], x2[0], w[2*q], x1[0]}), .o6(pv[0]), .o5(pv[1]));
                end else begin : g_chain
                    wire [IN_W-1:0] s, g;
                    for (j = 0; j < IN_W; j = j + 1) begin : g_lut
                        hw_lut62 #(.INIT(pair_init(1))) u_lut (
                            .i({1'b0, w[2*q+1], x2[j], w[2*q], x1[j]}), .o6(s[j]), .o5(g[j]));
                    end
                    hw_carry #(.W(IN_W)) u_cy (.s(s), .di(g), .ci(1'b0), .o(pv[IN_W-1:0]),
                                               .co(pv[IN_W]));
                end
            end
            assign l0[q*W0 +: W0] = pv[W0-1:0];
        end
        if (PIPE > 0 && (PIPE == 1 || NLV == 1)) begin : g_r0
            reg [N0*W0-1:0] r;
            always @(posedge clk) if (en) r <= l0;
            assign lv[0 +: N0*W0] = r;
        end else begin : g_c0
            assign lv[0 +: N0*W0] = l0;
        end

        // ---------------------------------------------------------- levels 1..: threes
        for (l = 1; l < NLV; l = l + 1) begin : g_lvl
            localparam integer NI = lv_n(l - 1);
            localparam integer WI = lv_w(l - 1);
            localparam integer IO = lv_off(l - 1);
            localparam integer NO = lv_n(l);
            localparam integer WO = lv_w(l);
            localparam integer OO = lv_off(l);
            localparam integer REG = (PIPE > 0 && ((l + 1) % PIPE == 0 || l == NLV - 1)) ? 1 : 0;
            wire [NO*WO-1:0] nxt;
            for (q = 0; q < NO; q = q + 1) begin : g_grp
                localparam integer CNT = (NI - 3*q < 3) ? NI - 3*q : 3;  // numbers in group
                // the group's numbers zero-extended to WO bits (upper bits of ext unread)
                /* verilator lint_off UNUSEDSIGNAL */
                wire [3*(WO+WI)-1:0] ext;
                /* verilator lint_on UNUSEDSIGNAL */
                for (j = 0; j < 3; j = j + 1) begin : g_ext
                    if (j < CNT) begin : g_num
                        assign ext[j*(WO+WI) +: WO+WI] = {{WO{1'b0}}, lv[IO + (3*q+j)*WI +: WI]};
                    end else begin : g_zero
                        assign ext[j*(WO+WI) +: WO+WI] = {(WO+WI){1'b0}};
                    end
                end
                wire [WO-1:0] a = ext[0 +: WO];
                if (CNT == 1) begin : g_pass
                    assign nxt[q*WO +: WO] = a;
                end else begin : g_add
                    wire [WO-1:0] b = ext[(WO+WI) +: WO];
                    wire [WO-1:0] c = ext[2*(WO+WI) +: WO];
                    hw_tadd #(.W(WO), .OW(WI), .STRUCT(STRUCT)) u_add (
                        .a(a), .a_en(1'b1), .b(b), .c(c), .sum(nxt[q*WO +: WO]));
                end
            end
            if (REG != 0) begin : g_reg
                reg [NO*WO-1:0] r;
                always @(posedge clk) if (en) r <= nxt;
                assign lv[OO +: NO*WO] = r;
            end else begin : g_comb
                assign lv[OO +: NO*WO] = nxt;
            end
        end

        // ---------------------------------------------------------- the last two numbers
        localparam integer NL = lv_n(NLV - 1);
        localparam integer WL = lv_w(NLV - 1);
        localparam integer OL = lv_off(NLV - 1);
        /* verilator lint_off UNUSEDSIGNAL */
        wire [OUT_W+WL-1:0] ea = {{OUT_W{1'b0}}, lv[OL +: WL]};
        wire [OUT_W+WL-1:0] eb = {{OUT_W{1'b0}}, (NL == 2) ? lv[OL + WL*(NL-1) +: WL] : {WL{1'b0}}};
        /* verilator lint_on UNUSEDSIGNAL */
        assign sa = ea[OUT_W-1:0];
        assign sb = eb[OUT_W-1:0];
    endgenerate
endmodule
`default_nettype wire
