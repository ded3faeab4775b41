// uart_rx.v — 8N1 UART receiver.
//
// One output beat per received byte: out_data holds the byte and out_valid is high for
// exactly one cycle (a UART cannot be stalled; the consumer must take it or count it as
// an overrun). The line is synchronised with two flip-flops; a start bit is confirmed at
// its middle and every data bit is sampled in the middle of its bit time. A byte whose
// stop bit is low is dropped and pulses frame_error.
// Timing: CLKS_PER_BIT clock cycles per bit (25 MHz / 25 = 1 Mbaud); out_valid rises in
// the middle of the stop bit, ~9.5 bit times after the start edge.
`default_nettype none
module uart_rx #(
    parameter integer CLKS_PER_BIT = 25  // clock cycles per UART bit, >= 4
) (
    input  wire       clk,
    input  wire       rst,          // synchronous, active high
    input  wire       rxd,          // serial line, idle high
    // output stream (no backpressure)
    output reg  [7:0] out_data,
    output reg        out_valid,
    output reg        frame_error   // one-cycle pulse: stop bit was low
);
    initial begin
        if (CLKS_PER_BIT < 4) begin
            $display("ERROR: %m: CLKS_PER_BIT=%0d must be >= 4", CLKS_PER_BIT);
            $finish;
        end
    end
    localparam integer CW = $clog2(CLKS_PER_BIT + 1);
    localparam [31:0]   BIT_M1_32 = CLKS_PER_BIT - 1;
    localparam [CW-1:0] BIT_M1    = BIT_M1_32[CW-1:0];  // a bit's last cycle
    localparam [31:0]   HALF_M1_32 = CLKS_PER_BIT / 2 - 1;
    localparam [CW-1:0] HALF_M1    = HALF_M1_32[CW-1:0];  // middle of the start bit
    localparam [1:0] IDLE = 2'd0, START = 2'd1, DATA = 2'd2, STOP = 2'd3;

    reg [2:0] sync;  // sync[2] is the synchronised line
    reg [1:0] state;
    reg [CW-1:0] count;
    reg [2:0] bit_idx;
    reg [7:0] shift;

    always @(posedge clk) begin
        sync <= {sync[1:0], rxd};
        out_valid <= 1'b0;
        frame_error <= 1'b0;
        if (rst) begin
            sync <= 3'b111;
            state <= IDLE;
            count <= 0;
            bit_idx <= 0;
        end else begin
            case (state)
                IDLE: if (!sync[2]) begin
                    state <= START;
                    count <= HALF_M1;
                end
                START: if (count == 0) begin
                    if (!sync[2]) begin  // still low in the middle: a real start bit
                        state <= DATA;
                        count <= BIT_M1;
                        bit_idx <= 0;
                    end else state <= IDLE;
                end else count <= count - 1'b1;
                DATA: if (count == 0) begin
                    shift <= {sync[2], shift[7:1]};
                    count <= BIT_M1;
                    if (bit_idx == 3'd7) state <= STOP;
                    bit_idx <= bit_idx + 1'b1;
                end else count <= count - 1'b1;
                default: if (count == 0) begin  // STOP: middle of the stop bit
                    state <= IDLE;
                    if (sync[2]) begin
                        out_data <= shift;
                        out_valid <= 1'b1;
                    end else frame_error <= 1'b1;
                end else count <= count - 1'b1;
            endcase
        end
    end
endmodule
`default_nettype wire
