// hw_tadd.v — ternary adder on one carry chain: sum = (a_en ? a : 0) + b + c + CI,
// modulo 2^W, one LUT per sum bit.
//
// The operands' bits at and above OW are taken as 0 (the caller's operands are narrower
// than the sum: OW = W for two's complement operands, where every bit is read).
// Structure (STRUCT = 1, the default in the Xilinx flows: macro HW_XC7_LUT6): with
// S = a ^ b ^ c and K = maj(a, b, c), a + b + c = S + 2K, and bit k of that binary sum
// is taken on the carry chain (hw_carry) from one LUT6_2 (hw_lut62) per bit: o6 = the
// propagate S[k] ^ K[k-1], o5 = K[k] (routed to the next bit's LUT and, there, the
// chain's generate source). a_en is folded into the same LUT (an accumulator's clear).
// The bits above OW + 1 need no LUT: with OW < W, LUTs at bits 0..OW and the chain's
// carry out is bit OW + 1 (the sum of three OW-bit operands fits OW + 2 bits).
// STRUCT = 0 (Verilator, ECP5): the behavioural sum (Yosys's adders).
// Combinational, no latency.
`default_nettype none
module hw_tadd #(
    parameter integer W      = 8,   // sum bits (>= 1)
    parameter integer OW     = W,   // operand bits read (1..W)
    parameter integer CI     = 0,   // constant carry in (0 or 1)
`ifdef HW_XC7_LUT6
    parameter integer STRUCT = 1    // 1: hw_lut62 + hw_carry; 0: behavioural
`else
    parameter integer STRUCT = 0    // 1: hw_lut62 + hw_carry; 0: behavioural
`endif
) (
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [W-1:0] a,      // bits >= OW are not read
    input  wire         a_en,   // 0: a is taken as 0
    input  wire [W-1:0] b,
    input  wire [W-1:0] c,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [W-1:0] sum
);
    initial begin
        if (W < 1) begin $display("ERROR: %m: W=%0d must be >= 1", W); $finish; end
        if (OW < 1 || OW > W) begin $display("ERROR: %m: OW=%0d must be in 1..W=%0d", OW, W); $finish; end
        if (CI != 0 && CI != 1) begin $display("ERROR: %m: CI=%0d must be 0 or 1", CI); $finish; end
    end
    localparam integer P = (OW < W) ? OW + 1 : W;  // LUT bits
    localparam [W-1:0] MASK = {{(W-OW){1'b0}}, {OW{1'b1}}};
    localparam [0:0]   CIB  = CI[0:0];

    // o6 (upper half): (a & en) ^ b ^ c ^ k_in; o5: maj(a & en, b, c); inputs I0 = a,
    // I1 = b, I2 = c, I3 = k_in, I4 = en
    /* verilator lint_off UNUSEDSIGNAL */
    function [63:0] tadd_init;
        input integer dummy;  // (a function needs an input)
        integer idx;
        reg aa;
        begin
            tadd_init = 64'h0;
            for (idx = 0; idx < 32; idx = idx + 1) begin
                aa = idx[0] & idx[4];
                tadd_init[idx]      = (aa & idx[1]) | (aa & idx[2]) | (idx[1] & idx[2]);
                tadd_init[32 + idx] = aa ^ idx[1] ^ idx[2] ^ idx[3];
            end
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    genvar k;
    generate
        if (STRUCT != 0) begin : g_struct
            wire [P-1:0] s, kk, o;
            wire [P:0]   kin;  // k_in of bit k: K[k-1]
            wire         co;
            assign kin[0] = 1'b0;
            for (k = 0; k < P; k = k + 1) begin : g_bit
                wire ak = (k < OW) ? a[k] : 1'b0;
                wire bk = (k < OW) ? b[k] : 1'b0;
                wire ck = (k < OW) ? c[k] : 1'b0;
                hw_lut62 #(.INIT(tadd_init(0))) u_lut (
                    .i({a_en, kin[k], ck, bk, ak}), .o6(s[k]), .o5(kk[k]));
                assign kin[k+1] = kk[k];
            end
            hw_carry #(.W(P)) u_cy (.s(s), .di(kin[P-1:0]), .ci(CIB), .o(o), .co(co));
            assign sum[P-1:0] = o;
            if (P < W) begin : g_top
                assign sum[P] = co;
            end
            if (P + 1 < W) begin : g_zero
                assign sum[W-1:P+1] = {(W-P-1){1'b0}};
            end
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused = kin[P] ^ ((P < W) ? 1'b0 : co);
            /* verilator lint_on UNUSEDSIGNAL */
        end else begin : g_behav
            wire [W-1:0] am = a_en ? (a & MASK) : {W{1'b0}};
            assign sum = am + (b & MASK) + (c & MASK) + {{(W-1){1'b0}}, CIB};
        end
    endgenerate
endmodule
`default_nettype wire
