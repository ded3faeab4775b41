// hw_lut62.v — one LUT6_2 with I5 tied high: two functions of the same five inputs.
//
// o6 = INIT[32 + i], o5 = INIT[i] (i read as 0..31). Combinational, no latency. With the
// macro HW_XC7_LUT6 defined (the Xilinx 7-series Yosys flows) it is the unisim LUT6_2
// primitive: one LUT6 site with both outputs used (Vivado's "Slice LUTs" counts it once,
// and so does sim/flow/synth.py); Yosys never packs two functions into one LUT itself.
// Elsewhere it is the plain table lookup.
`default_nettype none
module hw_lut62 #(
    parameter [63:0] INIT = 64'h0  // bits 63..32: o6's table; bits 31..0: o5's table
) (
    input  wire [4:0] i,   // I4..I0
    output wire       o6,
    output wire       o5
);
`ifdef HW_XC7_LUT6
    LUT6_2 #(.INIT(INIT)) u_lut (
        .O6(o6), .O5(o5), .I0(i[0]), .I1(i[1]), .I2(i[2]), .I3(i[3]), .I4(i[4]), .I5(1'b1));
`else
    assign o6 = INIT[{1'b1, i}];
    assign o5 = INIT[{1'b0, i}];
`endif
endmodule
`default_nettype wire
