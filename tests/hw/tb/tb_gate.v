// tb_gate.v — test helper: gates a stream handshake (data passes outside) by a
// pseudo-random or slow pattern, so a test can stall one stream independently.
// MODE 0: always open; 1, 2: closed with probability 1/4, 1/2 (a 16-bit LFSR);
// 3: long stretches, open for 64 cycles, closed for 64.
`default_nettype none
module tb_gate #(
    parameter [15:0] SEED = 16'hace1   // LFSR start value (non-zero)
) (
    input  wire       clk,
    input  wire       rst,
    input  wire [1:0] mode,
    // upstream
    input  wire       s_valid,
    output wire       s_ready,
    // downstream
    output wire       m_valid,
    input  wire       m_ready
);
    reg [15:0] lfsr;
    reg [6:0]  cnt;
    always @(posedge clk) begin
        if (rst) begin
            lfsr <= SEED;
            cnt  <= 7'd0;
        end else begin
            lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
            cnt  <= cnt + 7'd1;
        end
    end
    wire go = (mode == 2'd0) || (mode == 2'd3 ? !cnt[6] : ({lfsr[7], lfsr[3]} >= mode));
    assign m_valid = s_valid && go;
    assign s_ready = m_ready && go;
endmodule
`default_nettype wire
