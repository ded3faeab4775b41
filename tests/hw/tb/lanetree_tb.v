// lanetree_tb.v — test wrapper: hw_lanetree as a stream block.
// Input beat: N lanes of IN_W bits (lane s at [s*IN_W +: IN_W]) followed by the N bits
// of w; output beat: sa + sb modulo 2^OUT_W. The tree's registers advance with one
// enable, en = out_ready || !out_valid, and a valid bit travels beside them through LAT
// registers: LAT must equal the tree's LATENCY (from compiler/blocks/mvu.py), or the
// sums misalign with their valid bits. STRUCT = 1 simulates the Xilinx structure
// (hw_lut62 tables, hw_carry chains) through those modules' plain models.
`default_nettype none
module lanetree_tb #(
    parameter integer N      = 32,  // lanes
    parameter integer IN_W   = 1,   // bits per lane
    parameter integer OP     = 1,   // hw_lanetree's OP
    parameter integer PIPE   = 0,   // hw_lanetree's PIPE
    parameter integer LAT    = 0,   // hw_lanetree's LATENCY for these parameters
    parameter integer OUT_W  = 6,   // sum bits
    parameter integer STRUCT = 0    // hw_lanetree's STRUCT
) (
    input  wire                  clk,
    input  wire                  rst,
    // input stream
    input  wire [N*IN_W+N-1:0]   in_data,
    input  wire                  in_valid,
    output wire                  in_ready,
    // output stream
    output wire [OUT_W-1:0]      out_data,
    output wire                  out_valid,
    input  wire                  out_ready
);
    wire [LAT:0] v;
    wire         en = out_ready || !v[LAT];
    assign v[0]      = in_valid;
    assign in_ready  = en;
    assign out_valid = v[LAT];
    genvar i;
    generate
        for (i = 0; i < LAT; i = i + 1) begin : g_v
            reg q;
            always @(posedge clk) begin
                if (rst) q <= 1'b0;
                else if (en) q <= v[i];
            end
            assign v[i+1] = q;
        end
    endgenerate
    wire [OUT_W-1:0] sa, sb;
    hw_lanetree #(.N(N), .IN_W(IN_W), .OP(OP), .PIPE(PIPE), .OUT_W(OUT_W), .STRUCT(STRUCT)) dut (
        .clk(clk), .en(en), .x(in_data[N*IN_W-1:0]), .w(in_data[N*IN_W +: N]), .sa(sa), .sb(sb));
    assign out_data = sa + sb;
endmodule
`default_nettype wire
