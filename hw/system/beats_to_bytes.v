// beats_to_bytes.v — beats of NBYTES bytes to a byte stream (little-endian).
//
// Input beat: NBYTES bytes; output: its bytes one per beat, bits [7:0] first.
// Throughput: one byte per cycle; a new beat is accepted in the cycle after its
// predecessor's last byte leaves (NBYTES + 1 cycles a beat at full rate; the UART needs
// 10*CLKS_PER_BIT a byte). in_ready is a register (no combinational path from out_ready:
// it was the ECP5 critical path, UART transmitter -> framing -> the accelerator's output
// adapter). Latency: 1 cycle.
`default_nettype none
module beats_to_bytes #(
    parameter integer NBYTES = 8  // bytes per input beat, >= 1
) (
    input  wire                  clk,
    input  wire                  rst,  // synchronous, active high
    // input stream: beats
    input  wire [8*NBYTES-1:0]   in_data,
    input  wire                  in_valid,
    output wire                  in_ready,
    // output stream: bytes
    output wire [7:0]            out_data,
    output wire                  out_valid,
    input  wire                  out_ready
);
    initial begin
        if (NBYTES < 1) begin $display("ERROR: %m: NBYTES=%0d must be >= 1", NBYTES); $finish; end
    end
    localparam integer IW = NBYTES > 1 ? $clog2(NBYTES) : 1;
    localparam [31:0]   LAST32 = NBYTES - 1;
    localparam [IW-1:0] LAST   = LAST32[IW-1:0];  // index of the last byte
    reg [8*NBYTES-1:0] beat;
    reg [IW-1:0] idx;
    reg full;

    wire last = idx == LAST;
    assign out_data = beat[idx*8 +: 8];
    assign out_valid = full;
    assign in_ready = !full;

    always @(posedge clk) begin
        if (rst) begin
            full <= 1'b0;
            idx <= 0;
        end else begin
            if (full && out_ready) begin
                idx <= last ? {IW{1'b0}} : idx + 1'b1;
                if (last) full <= 1'b0;
            end
            if (in_valid && in_ready) begin
                beat <= in_data;
                full <= 1'b1;
                idx <= 0;
            end
        end
    end
endmodule
`default_nettype wire
