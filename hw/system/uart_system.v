// uart_system.v — the accelerator (rtl/top.v) behind a UART with framing.
//
//   rxd -> uart_rx -> RX FIFO -> uart_frame -> bytes_to_beats -> top -> beats_to_bytes
//       -> uart_frame -> uart_tx -> txd
// The protocol is uart_frame's (request: 0xA5 CMD N[4] PAYLOAD SUM; reply: 0x5A CMD N[4]
// PAYLOAD SUM STATUS CYCLES[4]). A frame's payload is the accelerator's input stream
// beats, IN_BYTES bytes each, little-endian; the reply carries its output beats.
// External weight streams (layers whose weights live in DDR) are not part of the IR
// yet; N_EXT_WEIGHTS must be 0 (the hook: a further request CMD will load them).
// Timing: everything runs on `clk`; the link (10 bit times per byte) is the limit.
`default_nettype none
module uart_system #(
    parameter integer IN_BYTES        = 8,    // bytes per input beat of top
    parameter integer OUT_BYTES       = 8,    // bytes per output beat of top
    parameter integer IN_FRAME_BYTES  = 64,   // IN_BYTES * input beats per frame
    parameter integer OUT_FRAME_BYTES = 16,   // OUT_BYTES * output beats per frame
    parameter [31:0]  MODEL_ID        = 0,    // reported by the INFO command
    parameter integer CLKS_PER_BIT    = 25,   // clock cycles per UART bit
    parameter integer RX_FIFO_DEPTH   = 32,   // bytes buffered between RX and the frame layer
    parameter integer TIMEOUT         = 25000000, // idle cycles that abort a request
    parameter integer N_EXT_WEIGHTS   = 0     // external weight streams (none yet)
) (
    input  wire clk,
    input  wire rst,        // synchronous, active high
    input  wire rxd,        // UART from the host, idle high
    output wire txd,        // UART to the host, idle high
    output wire busy,       // a request is being handled
    output wire error       // sticky: an overrun or a framing error since reset
);
    initial begin
        if (N_EXT_WEIGHTS != 0) begin
            $display("ERROR: %m: N_EXT_WEIGHTS=%0d: external weight streams over UART are not supported", N_EXT_WEIGHTS);
            $finish;
        end
    end

    reg abort_q;
    wire abort_req;
    // the system's reset, registered: the OR of the board's reset and an abort drove every
    // synchronous reset through a LUT (the ECP5 critical path once the data paths were cut)
    reg srst;
    always @(posedge clk) abort_q <= abort_req;
    always @(posedge clk) srst <= rst || abort_q;

    wire [7:0] rx_byte;
    wire rx_byte_valid, rx_ferr;
    uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
        .clk(clk), .rst(rst), .rxd(rxd),
        .out_data(rx_byte), .out_valid(rx_byte_valid), .frame_error(rx_ferr)
    );

    wire [7:0] f_data, q_data;
    wire f_valid, f_ready, q_valid, q_ready, q_in_ready;
    hw_fifo #(.WIDTH(8), .DEPTH(RX_FIFO_DEPTH)) u_rx_fifo (
        .clk(clk), .rst(srst),
        .in_data(rx_byte), .in_valid(rx_byte_valid), .in_ready(q_in_ready),
        .out_data(f_data), .out_valid(f_valid), .out_ready(f_ready),
        .level(), .max_level()
    );
    // a register slice between the FIFO's LUT-RAM read and the framing state machine (that
    // path was the ECP5 critical path); one cycle more per byte at UART speed
    hw_outbuf #(.WIDTH(8)) u_rx_slice (
        .clk(clk), .rst(srst),
        .in_data(f_data), .in_valid(f_valid), .in_ready(f_ready),
        .out_data(q_data), .out_valid(q_valid), .out_ready(q_ready));
    wire overrun = rx_byte_valid && !q_in_ready;
    reg err_q;
    always @(posedge clk) err_q <= rst ? 1'b0 : (err_q || overrun || rx_ferr);
    assign error = err_q;

    wire [7:0] ai_data, ao_data, tx_data;
    wire ai_valid, ai_ready, ao_valid, ao_ready, tx_valid, tx_ready;
    uart_frame #(
        .IN_FRAME_BYTES(IN_FRAME_BYTES), .OUT_FRAME_BYTES(OUT_FRAME_BYTES),
        .MODEL_ID(MODEL_ID), .TIMEOUT(TIMEOUT)
    ) u_frame (
        .clk(clk), .rst(srst),
        .rx_data(q_data), .rx_valid(q_valid), .rx_ready(q_ready),
        .rx_event(rx_byte_valid), .rx_overrun(overrun), .rx_ferr(rx_ferr),
        .acc_in_data(ai_data), .acc_in_valid(ai_valid), .acc_in_ready(ai_ready),
        .acc_out_data(ao_data), .acc_out_valid(ao_valid), .acc_out_ready(ao_ready),
        .tx_data(tx_data), .tx_valid(tx_valid), .tx_ready(tx_ready),
        .busy(busy), .abort_req(abort_req)
    );

    wire [8*IN_BYTES-1:0] in_data;
    wire in_valid, in_ready;
    bytes_to_beats #(.NBYTES(IN_BYTES)) u_b2w (
        .clk(clk), .rst(srst),
        .in_data(ai_data), .in_valid(ai_valid), .in_ready(ai_ready),
        .out_data(in_data), .out_valid(in_valid), .out_ready(in_ready)
    );

    wire [8*OUT_BYTES-1:0] out_data;
    wire out_valid, out_ready;
    top u_top (
        .clk(clk), .rst(srst),
        .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready),
        .out_last()
    );

    beats_to_bytes #(.NBYTES(OUT_BYTES)) u_w2b (
        .clk(clk), .rst(srst),
        .in_data(out_data), .in_valid(out_valid), .in_ready(out_ready),
        .out_data(ao_data), .out_valid(ao_valid), .out_ready(ao_ready)
    );

    uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
        .clk(clk), .rst(srst),
        .in_data(tx_data), .in_valid(tx_valid), .in_ready(tx_ready),
        .txd(txd)
    );
endmodule
`default_nettype wire
