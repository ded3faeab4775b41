// fifo_tb.v — test wrapper: hw_fifo with its status appended to out_data.
// out_data = {max_level, level, data}, sampled with each output beat.
`default_nettype none
module fifo_tb #(
    parameter integer WIDTH     = 8,      // bits per beat
    parameter integer DEPTH     = 16,     // capacity in beats
    parameter [8*11-1:0] RAM_STYLE = "auto", // passed through to hw_fifo
    parameter integer OUT_REG   = 0,      // passed through to hw_fifo
    parameter integer LEVEL_W   = $clog2(DEPTH + 1) // status bits
) (
    input  wire                         clk,
    input  wire                         rst,
    // input stream
    input  wire [WIDTH-1:0]             in_data,
    input  wire                         in_valid,
    output wire                         in_ready,
    // output stream: {max_level, level, data}
    output wire [WIDTH+2*LEVEL_W-1:0]   out_data,
    output wire                         out_valid,
    input  wire                         out_ready
);
    hw_fifo #(.WIDTH(WIDTH), .DEPTH(DEPTH), .RAM_STYLE(RAM_STYLE), .OUT_REG(OUT_REG)) dut (
        .clk(clk), .rst(rst),
        .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready),
        .out_data(out_data[WIDTH-1:0]), .out_valid(out_valid), .out_ready(out_ready),
        .level(out_data[WIDTH +: LEVEL_W]), .max_level(out_data[WIDTH+LEVEL_W +: LEVEL_W])
    );
endmodule
`default_nettype wire
