// ulx3s_top.v — ULX3S (ECP5 LFE5U-85F) board top: the UART system on the FT231X link.
//
// Pins (hw/boards/ulx3s-85f.lpf): clk_25mhz (G2), ftdi_txd (M1, host -> FPGA),
// ftdi_rxd (L4, FPGA -> host), led[7:0], btn[0] (BTN_PWRn, low when pressed: reset),
// wifi_gpio0 (L2, held high so the ESP32 does not reset the board).
// Reset: 16 cycles after configuration, and while btn[0] is pressed.
// LEDs: 0 alive (blinks ~1.5 Hz), 1 busy (a request in progress), 2 error (overrun or
// framing error since reset), the rest off.
`default_nettype none
module ulx3s_top #(
    parameter integer IN_BYTES        = 8,   // see uart_system
    parameter integer OUT_BYTES       = 8,
    parameter integer IN_FRAME_BYTES  = 64,
    parameter integer OUT_FRAME_BYTES = 16,
    parameter [31:0]  MODEL_ID        = 0,
    parameter integer CLKS_PER_BIT    = 25   // 25 MHz / 25 = 1 Mbaud
) (
    input  wire       clk_25mhz,
    input  wire       ftdi_txd,
    output wire       ftdi_rxd,
    input  wire [0:0] btn,
    output wire [7:0] led,
    output wire       wifi_gpio0
);
    reg [4:0] por;  // power-on reset counter (initial value from the bitstream)
    initial por = 5'd0;
    always @(posedge clk_25mhz)
        if (!btn[0]) por <= 5'd0;
        else if (!por[4]) por <= por + 1'b1;
    wire rst = !por[4];

    reg [23:0] blink;
    initial blink = 24'd0;
    always @(posedge clk_25mhz) blink <= blink + 1'b1;

    wire busy, error;
    uart_system #(
        .IN_BYTES(IN_BYTES), .OUT_BYTES(OUT_BYTES), .IN_FRAME_BYTES(IN_FRAME_BYTES),
        .OUT_FRAME_BYTES(OUT_FRAME_BYTES), .MODEL_ID(MODEL_ID), .CLKS_PER_BIT(CLKS_PER_BIT)
    ) u_sys (
        .clk(clk_25mhz), .rst(rst), .rxd(ftdi_txd), .txd(ftdi_rxd),
        .busy(busy), .error(error)
    );
    assign led = {5'b0, error, busy, blink[23]};
    assign wifi_gpio0 = 1'b1;
endmodule
`default_nettype wire
