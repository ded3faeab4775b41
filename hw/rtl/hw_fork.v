// hw_fork.v — stream fork: every input beat goes to each of N_OUT output streams, in order.
//
// Each beat carries one WIDTH-bit word, passed through unchanged to every output
// (output j at out_data[j*WIDTH +: WIDTH], with out_valid[j] / out_ready[j]).
// Per-output "taken" flags: output j shows the current input beat until it takes it
// (out_valid[j] && out_ready[j]), then drops out_valid[j] until the next input beat.
// The input beat leaves (in_ready high) in the cycle its last output takes it, so a
// stalled output never stops the others taking the current beat; they wait only for
// the next one.
// Throughput: one beat per cycle when in_valid and every out_ready are high.
// Latency: 0 cycles (no data registers): out_valid[j] = in_valid && !taken[j] and
// in_ready = AND over j of (taken[j] || out_ready[j]) are combinational (the netlist
// places a FIFO or a registered-ready block on both sides).
`default_nettype none
module hw_fork #(
    parameter integer WIDTH = 8,   // bits per beat
    parameter integer N_OUT = 2    // output streams (consumers), 2..8
) (
    input  wire                   clk,
    input  wire                   rst,        // synchronous, active high
    // input stream
    input  wire [WIDTH-1:0]       in_data,
    input  wire                   in_valid,
    output wire                   in_ready,
    // output streams: stream j at bit / word j
    output wire [N_OUT*WIDTH-1:0] out_data,
    output wire [N_OUT-1:0]       out_valid,
    input  wire [N_OUT-1:0]       out_ready
);
    initial begin
        if (WIDTH < 1) begin $display("ERROR: %m: WIDTH=%0d must be >= 1", WIDTH); $finish; end
        if (N_OUT < 2 || N_OUT > 8) begin
            $display("ERROR: %m: N_OUT=%0d must be in 2..8", N_OUT);
            $finish;
        end
    end

    reg  [N_OUT-1:0] taken;               // output j took the current input beat
    wire [N_OUT-1:0] done = taken | out_ready;
    assign in_ready  = &done;
    assign out_valid = {N_OUT{in_valid}} & ~taken;
    assign out_data  = {N_OUT{in_data}};

    always @(posedge clk) begin
        if (rst)                       taken <= {N_OUT{1'b0}};
        else if (in_valid && in_ready) taken <= {N_OUT{1'b0}};
        else if (in_valid)             taken <= taken | out_ready;
    end
endmodule
`default_nettype wire
