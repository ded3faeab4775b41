// tb_dag_add.v — test-only two-input join (tests/sim/dag_blocks.py): lane-wise sum of
// two unsigned streams of PE lanes. A beat set is taken only when both inputs have a
// beat (the FIFOs in front absorb the branches' skew); one output register.
`default_nettype none
module tb_dag_add #(
    parameter integer PE = 1,
    parameter integer WA = 2,
    parameter integer WB = 2,
    parameter integer WO = 3
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [PE*WA-1:0] a_data,
    input  wire             a_valid,
    output wire             a_ready,
    input  wire [PE*WB-1:0] b_data,
    input  wire             b_valid,
    output wire             b_ready,
    output reg  [PE*WO-1:0] out_data,
    output reg              out_valid,
    input  wire             out_ready
);
    wire take = a_valid && b_valid && (!out_valid || out_ready);
    assign a_ready = take;
    assign b_ready = take;
    wire [PE*WO-1:0] sum;
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : lane
            assign sum[p*WO +: WO] = {{(WO-WA){1'b0}}, a_data[p*WA +: WA]}
                                   + {{(WO-WB){1'b0}}, b_data[p*WB +: WB]};
        end
    endgenerate
    always @(posedge clk)
        if (rst) out_valid <= 1'b0;
        else if (take) out_valid <= 1'b1;
        else if (out_ready) out_valid <= 1'b0;
    always @(posedge clk)
        if (take) out_data <= sum;
endmodule
`default_nettype wire
