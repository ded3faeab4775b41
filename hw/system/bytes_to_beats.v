// bytes_to_beats.v — byte stream to beats of NBYTES bytes (little-endian).
//
// Input beat: one byte. Output beat: NBYTES consecutive input bytes, the first at bits
// [7:0]. Throughput: one byte per cycle in; a full beat waits in the output register
// until taken (in_ready is low while it waits, and in the cycle it leaves: in_ready is a
// register, no combinational path from out_ready). Latency: 1 cycle after the last byte.
`default_nettype none
module bytes_to_beats #(
    parameter integer NBYTES = 8  // bytes per output beat, >= 1
) (
    input  wire                  clk,
    input  wire                  rst,  // synchronous, active high
    // input stream: bytes
    input  wire [7:0]            in_data,
    input  wire                  in_valid,
    output wire                  in_ready,
    // output stream: beats
    output reg  [8*NBYTES-1:0]   out_data,
    output reg                   out_valid,
    input  wire                  out_ready
);
    initial begin
        if (NBYTES < 1) begin $display("ERROR: %m: NBYTES=%0d must be >= 1", NBYTES); $finish; end
    end
    localparam integer IW = NBYTES > 1 ? $clog2(NBYTES) : 1;
    localparam [31:0]   LAST32 = NBYTES - 1;
    localparam [IW-1:0] LAST   = LAST32[IW-1:0];  // index of the last byte
    reg [IW-1:0] idx;

    assign in_ready = !out_valid;

    always @(posedge clk) begin
        if (rst) begin
            idx <= 0;
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (in_valid && in_ready) begin
                out_data[idx*8 +: 8] <= in_data;
                if (idx == LAST) begin
                    idx <= 0;
                    out_valid <= 1'b1;
                end else idx <= idx + 1'b1;
            end
        end
    end
endmodule
`default_nettype wire
