// popcount_tb.v — test wrapper: hw_popcount as a stream block.
// Input beat: PLANES*N bits (plane j bit i at [j*N + i]), with OP > 0 followed by the N
// bits of w; output beat: the weighted sum.
// The popcount's registers advance with one enable, en = out_ready || !out_valid, and
// a valid bit travels beside them through LAT registers. LAT must equal the popcount's
// LATENCY (given by the test from compiler/blocks/mvu.py): a wrong value misaligns the
// sums with their valid bits and the test sees wrong data.
`default_nettype none
module popcount_tb #(
    parameter integer N      = 32,  // bits per plane
    parameter integer PLANES = 1,   // planes, plane j of weight 2^j
    parameter integer PIPE   = 0,   // hw_popcount's PIPE
    parameter integer LAT    = 0,   // hw_popcount's LATENCY for these parameters
    parameter integer OP     = 0,   // hw_popcount's OP (0 none, 1 XNOR w, 2 AND w)
    parameter integer IW     = (PLANES + ((OP > 0) ? 1 : 0)) * N, // input beat bits
    parameter integer OUT_W  = $clog2(N * ((1 << PLANES) - 1) + 1) // sum bits
) (
    input  wire                clk,
    input  wire                rst,
    // input stream
    input  wire [IW-1:0]       in_data,
    input  wire                in_valid,
    output wire                in_ready,
    // output stream
    output wire [OUT_W-1:0]    out_data,
    output wire                out_valid,
    input  wire                out_ready
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
    wire [N-1:0] w;
    generate
        if (OP > 0) begin : g_w
            assign w = in_data[PLANES*N +: N];
        end else begin : g_now
            assign w = {N{1'b0}};
        end
    endgenerate
    hw_popcount #(.N(N), .PLANES(PLANES), .PIPE(PIPE), .OP(OP), .OUT_W(OUT_W)) dut (
        .clk(clk), .en(en), .in_bits(in_data[PLANES*N-1:0]), .w(w), .sum(out_data));
endmodule
`default_nettype wire
