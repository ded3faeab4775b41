// tb_dag_fork.v — test-only stream fork (tests/sim/dag_blocks.py): every input beat to
// each of N_OUT outputs, per-output "taken" flags so a stalled output does not stop the
// others taking the current beat; the beat leaves when its last output has it.
`default_nettype none
module tb_dag_fork #(
    parameter integer WIDTH = 8,
    parameter integer N_OUT = 2
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire [WIDTH-1:0]       in_data,
    input  wire                   in_valid,
    output wire                   in_ready,
    output wire [N_OUT*WIDTH-1:0] out_data,
    output wire [N_OUT-1:0]       out_valid,
    input  wire [N_OUT-1:0]       out_ready
);
    reg  [N_OUT-1:0] taken;
    wire [N_OUT-1:0] done = taken | (out_valid & out_ready);
    assign out_valid = {N_OUT{in_valid}} & ~taken;
    assign in_ready = &done;
    assign out_data = {N_OUT{in_data}};
    always @(posedge clk)
        if (rst) taken <= {N_OUT{1'b0}};
        else if (in_valid) taken <= (&done) ? {N_OUT{1'b0}} : done;
endmodule
`default_nettype wire
