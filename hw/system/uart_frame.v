// uart_frame.v — the framing layer between a byte link (UART) and the accelerator.
//
// Request (host -> board), every multi-byte field little-endian:
//   0xA5, CMD, N[4], PAYLOAD, SUM        SUM = 8-bit sum of the PAYLOAD bytes
//   CMD 0x01 INFO : no payload (N ignored)
//   CMD 0x02 INFER: N frames, PAYLOAD = N * IN_FRAME_BYTES bytes (the input stream's
//                   beats, little-endian, exactly what rtl/top.v takes)
// Reply (board -> host):
//   0x5A, CMD, N[4], PAYLOAD, SUM, STATUS, CYCLES[4]
//   INFO : PAYLOAD = "HWV1", IN_FRAME_BYTES[4], OUT_FRAME_BYTES[4], MODEL_ID[4]
//   INFER: PAYLOAD = N * OUT_FRAME_BYTES bytes (the output stream's beats)
//   STATUS bit 0: request SUM wrong; 1: RX overrun; 2: UART framing error; 3: unknown
//   CMD. CYCLES: clock cycles from the request header to the last payload byte.
// Bytes before a 0xA5 are skipped. The reply header leaves as soon as the request
// header is in, and output bytes stream back while input bytes still arrive (full
// duplex). A request that stalls for TIMEOUT cycles mid-frame raises `abort_req` for one
// cycle (the system resets the accelerator and this block with it).
// Throughput: one byte per cycle on each side; the link is the limit.
`default_nettype none
module uart_frame #(
    parameter integer IN_FRAME_BYTES  = 64,        // request payload bytes per frame
    parameter integer OUT_FRAME_BYTES = 16,        // reply payload bytes per frame
    parameter [31:0]  MODEL_ID        = 32'h0,     // identifies the compiled model
    parameter integer TIMEOUT         = 25000000   // cycles without a byte mid-request
) (
    input  wire       clk,
    input  wire       rst,          // synchronous, active high
    // request bytes (from the RX FIFO)
    input  wire [7:0] rx_data,
    input  wire       rx_valid,
    output reg        rx_ready,
    input  wire       rx_event,     // a byte arrived on the line (resets the timeout)
    input  wire       rx_overrun,   // a byte was lost: FIFO full (sticky until the reply)
    input  wire       rx_ferr,      // a framing error was seen (pulse)
    // payload bytes to the accelerator
    output wire [7:0] acc_in_data,
    output reg        acc_in_valid,
    input  wire       acc_in_ready,
    // result bytes from the accelerator
    input  wire [7:0] acc_out_data,
    input  wire       acc_out_valid,
    output reg        acc_out_ready,
    // reply bytes (to the UART transmitter)
    output reg  [7:0] tx_data,
    output reg        tx_valid,
    input  wire       tx_ready,
    // status
    output wire       busy,
    output reg        abort_req
);
    initial begin
        if (IN_FRAME_BYTES < 1 || OUT_FRAME_BYTES < 1) begin
            $display("ERROR: %m: IN_FRAME_BYTES=%0d and OUT_FRAME_BYTES=%0d must be >= 1", IN_FRAME_BYTES, OUT_FRAME_BYTES);
            $finish;
        end
    end
    localparam [31:0] TIMEOUT32     = TIMEOUT;
    localparam [31:0] IN_LAST32     = IN_FRAME_BYTES - 1;
    localparam integer RBW          = (IN_FRAME_BYTES > 1) ? $clog2(IN_FRAME_BYTES) : 1;
    localparam [RBW-1:0] IN_LAST    = IN_LAST32[RBW-1:0];
    localparam [RBW-1:0] IN_LAST_M1 = IN_LAST - 1'b1;
    localparam [31:0] OUT_LAST32    = OUT_FRAME_BYTES - 1;
    localparam integer TBW          = (OUT_FRAME_BYTES > 16) ? $clog2(OUT_FRAME_BYTES) : 4;
    localparam [TBW-1:0] OUT_LAST   = OUT_LAST32[TBW-1:0];
    localparam [TBW-1:0] OUT_LAST_M1 = OUT_LAST - 1'b1;
    localparam [31:0] IN_FRAME32    = IN_FRAME_BYTES;
    localparam [31:0] OUT_FRAME32   = OUT_FRAME_BYTES;
    localparam [7:0] SYNC_REQ = 8'hA5, SYNC_REP = 8'h5A, CMD_INFO = 8'h01, CMD_INFER = 8'h02;
    localparam [2:0] R_SYNC = 0, R_CMD = 1, R_N = 2, R_PAY = 3, R_SUM = 4, R_WAIT = 5;
    localparam [1:0] T_IDLE = 0, T_HDR = 1, T_PAY = 2, T_TAIL = 3;

    reg [2:0] rs;
    reg [1:0] ts;
    reg [7:0] cmd, rx_sum, tx_sum;
    reg [31:0] n, rx_frames, tx_frames, cycles, idle;
    reg [TBW-1:0] tx_bytes;  // 0..OUT_FRAME_BYTES-1 (0..15 for INFO)
    // tx_bytes == OUT_LAST and == 15, set with tx_bytes (see rx_blast)
    reg tx_blast, tx_b15;
    reg [RBW-1:0] rx_bytes;  // 0..IN_FRAME_BYTES-1
    reg [1:0] nidx;
    reg [2:0] hidx;
    reg start, rx_done, tx_done, sum_bad, overrun, ferr;
    // the command's kind, registered with cmd (its compares fed the reply counters' resets)
    reg infer, info;
    // n - 1, registered with n (a 32-bit subtract in front of the frame counters'
    // compares was the ECP5 critical path)
    reg [31:0] n_m1;
    // rx_bytes == IN_LAST32 and rx_frames == n_m1, set with the counters from compares
    // of their old values with constants/registers (32-bit compares into the counters'
    // synchronous resets were the next ECP5 paths; the RX FIFO may give a byte a cycle)
    reg rx_blast, rx_flast;
    reg [31:0] n_m2;

    assign acc_in_data = rx_data;
    assign busy = rs != R_SYNC;

    // request side --------------------------------------------------------------------
    always @(*) begin
        rx_ready = 1'b0;
        acc_in_valid = 1'b0;
        case (rs)
            R_SYNC, R_CMD, R_N, R_SUM: rx_ready = 1'b1;
            R_PAY: begin
                acc_in_valid = rx_valid;
                rx_ready = acc_in_ready;
            end
            default: ;
        endcase
    end
    wire rx_fire = rx_valid && rx_ready;

    always @(posedge clk) begin
        start <= 1'b0;
        abort_req <= 1'b0;
        if (rst) begin
            rs <= R_SYNC;
            rx_done <= 1'b0;
            idle <= 0;
            overrun <= 1'b0;
            ferr <= 1'b0;
        end else begin
            if (rx_overrun) overrun <= 1'b1;
            if (rx_ferr) ferr <= 1'b1;
            idle <= (rx_event || rs == R_SYNC || rs == R_WAIT) ? 32'd0 : idle + 1;
            if (idle == TIMEOUT32) abort_req <= 1'b1;
            case (rs)
                R_SYNC: if (rx_fire && rx_data == SYNC_REQ) rs <= R_CMD;
                // the receive counters clear while the command byte is awaited: from the
                // state alone (a clear behind rx_fire, through the ready chain and the
                // last-byte flags, was the ECP5 critical path into their resets)
                R_CMD: begin
                    rx_sum <= 0;
                    rx_bytes <= {RBW{1'b0}};
                    rx_frames <= 0;
                    if (rx_fire) begin
                        cmd <= rx_data;
                        infer <= rx_data == CMD_INFER;
                        info <= rx_data == CMD_INFO;
                        nidx <= 0;
                        rs <= R_N;
                    end
                end
                R_N: if (rx_fire) begin
                    n <= {rx_data, n[31:8]};
                    n_m1 <= {rx_data, n[31:8]} - 32'd1;
                    n_m2 <= {rx_data, n[31:8]} - 32'd2;
                    nidx <= nidx + 1'b1;
                    if (nidx == 2'd3) begin
                        start <= 1'b1;
                        rx_blast <= IN_LAST32 == 32'd0;
                        rx_flast <= {rx_data, n[31:8]} == 32'd1;
                        rs <= (infer && {rx_data, n[31:8]} != 0) ? R_PAY : R_SUM;
                    end
                end
                R_PAY: if (rx_fire) begin
                    rx_sum <= rx_sum + rx_data;
                    if (rx_blast) begin
                        rx_bytes <= {RBW{1'b0}};
                        rx_blast <= IN_LAST32 == 32'd0;
                        rx_frames <= rx_frames + 1;
                        rx_flast <= rx_frames == n_m2;
                        if (rx_flast) rs <= R_SUM;
                    end else begin
                        rx_bytes <= rx_bytes + 1'b1;
                        rx_blast <= rx_bytes == IN_LAST_M1;
                    end
                end
                R_SUM: if (rx_fire) begin
                    sum_bad <= rx_data != rx_sum;
                    rx_done <= 1'b1;
                    rs <= R_WAIT;
                end
                default: if (tx_done) begin  // R_WAIT: the reply has left
                    rx_done <= 1'b0;
                    overrun <= 1'b0;
                    ferr <= 1'b0;
                    rs <= R_SYNC;
                end
            endcase
        end
    end

    // reply side ----------------------------------------------------------------------
    wire [127:0] info_bytes = {MODEL_ID, OUT_FRAME32, IN_FRAME32,
                               "1VWH"};  // little-endian: 'H' first
    wire [47:0] header = {n, cmd, SYNC_REP};
    wire [7:0] status = {4'b0, !(info || infer), ferr, overrun, sum_bad};
    wire [47:0] tail = {cycles, status, tx_sum};
    wire pay_empty = !(info || (infer && n != 0));
    // tx_frames == n - 1, registered: tx_frames changes on a byte sent, and the
    // transmitter takes the next byte 10 bit times later at the earliest
    reg tx_lastfr;
    always @(posedge clk) tx_lastfr <= (tx_frames == n_m1);
    wire pay_last = info ? tx_b15 : (tx_blast && tx_lastfr);

    always @(*) begin
        tx_valid = 1'b0;
        tx_data = 8'h00;
        acc_out_ready = 1'b0;
        case (ts)
            T_HDR: begin
                tx_valid = 1'b1;
                tx_data = header[hidx*8 +: 8];
            end
            T_PAY: if (info) begin
                tx_valid = 1'b1;
                tx_data = info_bytes[tx_bytes[3:0]*8 +: 8];
            end else begin
                tx_valid = acc_out_valid;
                tx_data = acc_out_data;
                acc_out_ready = tx_ready;
            end
            T_TAIL: begin
                tx_valid = rx_done;  // STATUS needs the request's SUM
                tx_data = tail[hidx*8 +: 8];
            end
            default: ;
        endcase
    end
    wire tx_fire = tx_valid && tx_ready;
    // the payload sum adds the byte sent one cycle later (tx_data is a wide mux: the
    // adder behind it was the ECP5 critical path); the tail's first byte (the sum) leaves
    // 10 bit times after the last payload byte at the earliest
    reg [7:0] tx_byte_q;
    reg       tx_add_q;
    always @(posedge clk) begin
        tx_byte_q <= tx_data;
        tx_add_q  <= !rst && ts == T_PAY && tx_fire;
    end

    always @(posedge clk) begin
        tx_done <= 1'b0;
        if (rst) begin
            ts <= T_IDLE;
        end else begin
            if (ts == T_IDLE && start) tx_sum <= 0;
            else if (tx_add_q) tx_sum <= tx_sum + tx_byte_q;
            if (ts == T_HDR || ts == T_PAY) cycles <= cycles + 1;
            case (ts)
                T_IDLE: if (start) begin
                    ts <= T_HDR;
                    hidx <= 0;
                    cycles <= 0;
                    tx_bytes <= {TBW{1'b0}};
                    tx_blast <= OUT_LAST32 == 32'd0;
                    tx_b15 <= 1'b0;
                    tx_frames <= 0;
                end
                T_HDR: if (tx_fire) begin
                    hidx <= hidx + 1'b1;
                    if (hidx == 3'd5) begin
                        hidx <= 0;
                        ts <= pay_empty ? T_TAIL : T_PAY;
                    end
                end
                T_PAY: if (tx_fire) begin
                    if (pay_last) ts <= T_TAIL;
                    if (!info && tx_blast) begin
                        tx_bytes <= {TBW{1'b0}};
                        tx_blast <= OUT_LAST32 == 32'd0;
                        tx_frames <= tx_frames + 1;
                    end else begin
                        tx_bytes <= tx_bytes + 1'b1;
                        tx_blast <= tx_bytes == OUT_LAST_M1;
                        tx_b15 <= tx_bytes == 4'd14;
                    end
                end
                default: if (tx_fire) begin  // T_TAIL
                    hidx <= hidx + 1'b1;
                    if (hidx == 3'd5) begin
                        ts <= T_IDLE;
                        tx_done <= 1'b1;
                    end
                end
            endcase
        end
    end
endmodule
`default_nettype wire
