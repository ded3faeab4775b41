// lane_repack_tb.v — test wrapper: hw_lane_repack with out_last as the top out_data bit.
`default_nettype none
module lane_repack_tb #(
    parameter integer IN_LANES  = 4,  // see hw_lane_repack
    parameter integer IN_LW     = 8,
    parameter integer OUT_LANES = 3,
    parameter integer OUT_LW    = 8,
    parameter integer COUNT     = 12,
    parameter integer SIGNED    = 0
) (
    input  wire                          clk,
    input  wire                          rst,
    // input stream
    input  wire [IN_LANES*IN_LW-1:0]     in_data,
    input  wire                          in_valid,
    output wire                          in_ready,
    // output stream: {out_last, lanes}
    output wire [OUT_LANES*OUT_LW:0]     out_data,
    output wire                          out_valid,
    input  wire                          out_ready
);
    hw_lane_repack #(
        .IN_LANES(IN_LANES), .IN_LW(IN_LW), .OUT_LANES(OUT_LANES), .OUT_LW(OUT_LW),
        .COUNT(COUNT), .SIGNED(SIGNED)
    ) dut (
        .clk(clk), .rst(rst),
        .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready),
        .out_data(out_data[OUT_LANES*OUT_LW-1:0]), .out_valid(out_valid),
        .out_ready(out_ready), .out_last(out_data[OUT_LANES*OUT_LW])
    );
endmodule
`default_nettype wire
