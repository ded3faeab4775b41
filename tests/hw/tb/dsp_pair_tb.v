// dsp_pair_tb.v — test wrapper: hw_dsp_pair as a stream block with one output register.
// Input beat: {x, w_hi, w_lo} (w_lo at bit 0); output beat: {p_hi, p_lo}, OUT_W bits each.
// The register advances with en = out_ready || !out_valid, so random stalls on either
// side exercise the hold path.
`default_nettype none
module dsp_pair_tb #(
    parameter integer W_W       = 8,  // hw_dsp_pair's W_W
    parameter integer IN_W      = 8,  // hw_dsp_pair's IN_W
    parameter integer IN_SIGNED = 0,  // hw_dsp_pair's IN_SIGNED
    parameter integer OUT_W     = W_W + IN_W + 1  // product bits
) (
    input  wire                  clk,
    input  wire                  rst,
    // input stream
    input  wire [2*W_W+IN_W-1:0] in_data,
    input  wire                  in_valid,
    output wire                  in_ready,
    // output stream
    output reg  [2*OUT_W-1:0]    out_data,
    output reg                   out_valid,
    input  wire                  out_ready
);
    wire en = out_ready || !out_valid;
    wire [OUT_W-1:0] p_lo, p_hi;
    assign in_ready = en;
    hw_dsp_pair #(.W_W(W_W), .IN_W(IN_W), .IN_SIGNED(IN_SIGNED), .OUT_W(OUT_W)) dut (
        .w_lo(in_data[0 +: W_W]), .w_hi(in_data[W_W +: W_W]), .x(in_data[2*W_W +: IN_W]),
        .p_lo(p_lo), .p_hi(p_hi));
    always @(posedge clk) begin
        if (rst) out_valid <= 1'b0;
        else if (en) out_valid <= in_valid;
    end
    always @(posedge clk) if (en && in_valid) out_data <= {p_hi, p_lo};
endmodule
`default_nettype wire
