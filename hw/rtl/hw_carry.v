// hw_carry.v — a W-bit carry chain (the CARRY4 cascade of Xilinx 7-series).
//
// Bit k: o[k] = s[k] ^ c[k], c[k+1] = s[k] ? c[k] : di[k], c[0] = ci, co = c[W]: with s
// the propagate (a ^ b) and di a generate source (a, equal to b where s is 0) of each
// bit it is the adder a + b + ci. Combinational, no latency. With the macro HW_XC7_LUT6
// defined it is ceil(W/4) CARRY4 primitives (a LUT6_2 in front computes s and di, see
// hw_tadd); elsewhere the ripple above (only hw_tadd's STRUCT = 1 form reads it there).
`default_nettype none
module hw_carry #(
    parameter integer W = 4  // chain bits (>= 1)
) (
    input  wire [W-1:0] s,   // propagate of bit k
    input  wire [W-1:0] di,  // generate source of bit k (read where s[k] is 0)
    input  wire         ci,  // carry into bit 0
    output wire [W-1:0] o,   // sum bits
    output wire         co   // carry out of bit W-1
);
    initial begin
        if (W < 1) begin $display("ERROR: %m: W=%0d must be >= 1", W); $finish; end
    end
`ifdef HW_XC7_LUT6
    localparam integer NC = (W + 3) / 4;
    wire [4*NC-1:0] sp = {{(4*NC-W){1'b0}}, s};
    wire [4*NC-1:0] dp = {{(4*NC-W){1'b0}}, di};
    wire [4*NC-1:0] cy, ov;
    genvar c;
    generate
        for (c = 0; c < NC; c = c + 1) begin : g_c4
            CARRY4 u_c4 (.CO(cy[4*c +: 4]), .O(ov[4*c +: 4]),
                         .CI((c == 0) ? 1'b0 : cy[4*c-1]), .CYINIT((c == 0) ? ci : 1'b0),
                         .DI(dp[4*c +: 4]), .S(sp[4*c +: 4]));
        end
    endgenerate
    assign o  = ov[W-1:0];
    assign co = cy[W-1];
`else
    wire [W:0] c;
    assign c[0] = ci;
    genvar k;
    generate
        for (k = 0; k < W; k = k + 1) begin : g_bit
            assign c[k+1] = s[k] ? c[k] : di[k];
            assign o[k]   = s[k] ^ c[k];
        end
    endgenerate
    assign co = c[W];
`endif
endmodule
`default_nettype wire
