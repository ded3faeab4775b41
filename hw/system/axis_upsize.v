// axis_upsize.v — an AXI4-Stream of narrow beats to a stream of wide words: the weight
// stream of an external MVU (word = PE*SIMD*W_W bits) fed by an AXI DMA whose stream
// is at most as wide as the PS's high-performance port.
//
// Word k = beats k*BEATS .. k*BEATS+BEATS-1, the first beat in the low bits; word bits
// above OUT_W are dropped (the DDR image pads every word to BEATS beats).
// BEATS = 1 is a plain pass-through (no register, no latency).
// Throughput: one beat per cycle in; a word every BEATS cycles out, also while the
// consumer takes the previous word in the cycle the next word's first beat arrives.
// Latency: 1 cycle from the last beat of a word to out_valid (BEATS > 1).
`default_nettype none
module axis_upsize #(
    parameter integer IN_W  = 64,  // bits per input beat (the DMA's TDATA)
    parameter integer BEATS = 2,   // input beats per output word, >= 1
    parameter integer OUT_W = 100  // bits per output word, <= IN_W * BEATS
) (
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire             clk,  // unused when BEATS = 1
    input  wire             rst,  // synchronous, active high
    /* verilator lint_on UNUSEDSIGNAL */
    // input stream: beats (TLAST is not needed: words are counted)
    input  wire [IN_W-1:0]  in_data,
    input  wire             in_valid,
    output wire             in_ready,
    // output stream: words
    output wire [OUT_W-1:0] out_data,
    output wire             out_valid,
    input  wire             out_ready
);
    initial begin
        if (BEATS < 1) begin $display("ERROR: %m: BEATS=%0d must be >= 1", BEATS); $finish; end
        if (OUT_W > IN_W * BEATS || OUT_W < 1) begin
            $display("ERROR: %m: OUT_W=%0d must be in 1..IN_W*BEATS=%0d", OUT_W, IN_W * BEATS);
            $finish;
        end
    end
    generate
        if (BEATS == 1) begin : g_pass
            /* verilator lint_off UNUSEDSIGNAL */
            wire [IN_W-1:0] beat = in_data;  // bits above OUT_W: padding
            /* verilator lint_on UNUSEDSIGNAL */
            assign out_data = beat[OUT_W-1:0];
            assign out_valid = in_valid;
            assign in_ready = out_ready;
        end else begin : g_up
            localparam integer CW = $clog2(BEATS + 1);
            localparam [31:0]   BEATS32 = BEATS;
            localparam [CW-1:0] FULL = BEATS32[CW-1:0];
            localparam [CW-1:0] ONE  = {{(CW-1){1'b0}}, 1'b1};
            reg [IN_W*BEATS-1:0] word;  // beats shift in at the top, down to bit 0
            reg [CW-1:0] count;          // beats held
            wire full = count == FULL;
            wire in_fire = in_valid && in_ready;
            wire out_fire = full && out_ready;
            assign in_ready = !full || out_ready;
            assign out_valid = full;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [IN_W*BEATS-1:0] held = word;  // bits above OUT_W: padding
            /* verilator lint_on UNUSEDSIGNAL */
            assign out_data = held[OUT_W-1:0];
            always @(posedge clk) begin
                if (in_fire) word <= {in_data, word[IN_W*BEATS-1:IN_W]};
                if (rst) count <= {CW{1'b0}};
                else if (out_fire) count <= in_fire ? ONE : {CW{1'b0}};
                else if (in_fire) count <= count + ONE;
            end
        end
    endgenerate
endmodule
`default_nettype wire
