// hw_lut6.v — one 6-input lookup table: o = INIT[i] (bit i of INIT, i read as 0..63).
//
// Combinational, no latency. With the macro HW_XC7_LUT6 defined (the Xilinx 7-series
// Yosys flows of sim/flow/synth.py and the lane bench) it is the unisim LUT6 primitive,
// which synth_xilinx keeps as one LUT: compressor trees built from it keep their shape
// instead of being remapped by ABC9's delay-driven mapping (more LUTs, measured in
// hw_popcount). Elsewhere (Verilator, ECP5, other tools) it is the plain table lookup.
`default_nettype none
module hw_lut6 #(
    parameter [63:0] INIT = 64'h0  // truth table: bit k is the output for i = k
) (
    input  wire [5:0] i,  // table index (I5..I0 of LUT6)
    output wire       o
);
`ifdef HW_XC7_LUT6
    LUT6 #(.INIT(INIT)) u_lut (
        .O(o), .I0(i[0]), .I1(i[1]), .I2(i[2]), .I3(i[3]), .I4(i[4]), .I5(i[5]));
`else
    assign o = INIT[i];
`endif
endmodule
`default_nettype wire
