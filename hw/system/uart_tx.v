// uart_tx.v — 8N1 UART transmitter.
//
// Each accepted input beat is one byte, sent LSB first between a start bit (0) and a
// stop bit (1). Throughput: one byte per 10 bit times; in_ready is high only while the
// transmitter is idle, so a byte offered during a transmission waits (valid/ready).
// Timing: CLKS_PER_BIT clock cycles per bit; txd is a register (no glitches).
`default_nettype none
module uart_tx #(
    parameter integer CLKS_PER_BIT = 25  // clock cycles per UART bit, >= 2
) (
    input  wire       clk,
    input  wire       rst,       // synchronous, active high
    // input stream
    input  wire [7:0] in_data,
    input  wire       in_valid,
    output wire       in_ready,
    // serial line, idle high
    output reg        txd
);
    initial begin
        if (CLKS_PER_BIT < 2) begin
            $display("ERROR: %m: CLKS_PER_BIT=%0d must be >= 2", CLKS_PER_BIT);
            $finish;
        end
    end
    localparam integer CW = $clog2(CLKS_PER_BIT + 1);
    localparam [31:0]   BIT_M1_32 = CLKS_PER_BIT - 1;
    localparam [CW-1:0] BIT_M1    = BIT_M1_32[CW-1:0];  // a bit's last cycle

    reg [8:0] shift;     // {stop, data} after the start bit, shifted out LSB first
    reg [3:0] bits_left; // 0: idle
    reg [CW-1:0] count;
    // bits_left == 0, a register of its own (the compare in front of the framer's reply
    // handshake was on the ECP5 critical path)
    reg idle;

    assign in_ready = idle;

    always @(posedge clk) begin
        if (rst) begin
            txd <= 1'b1;
            bits_left <= 0;
            idle <= 1'b1;
            count <= 0;
        end else if (idle) begin
            if (in_valid) begin
                shift <= {1'b1, in_data};
                txd <= 1'b0;
                bits_left <= 4'd10;
                idle <= 1'b0;
                count <= BIT_M1;
            end
        end else if (count == 0) begin
            count <= BIT_M1;
            bits_left <= bits_left - 1'b1;
            idle <= bits_left == 4'd1;
            txd <= shift[0];  // data, then the stop bit; ones after it (idle)
            shift <= {1'b1, shift[8:1]};
        end else count <= count - 1'b1;
    end
endmodule
`default_nettype wire
