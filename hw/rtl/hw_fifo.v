// hw_fifo.v — synchronous first-word-fall-through stream FIFO.
//
// Each beat carries one WIDTH-bit word, passed through unchanged and in order.
// Capacity: exactly DEPTH beats (any DEPTH >= 2, not only powers of two).
// Latency: 1 cycle; a beat accepted at rising edge t is on out_data with out_valid
// high in the cycle after edge t (first word falls through, no read request needed).
// Throughput: one beat in and one beat out in the same cycle, every cycle, as long
// as the FIFO is neither empty nor full; with out_ready held high it never fills
// (DEPTH >= 2), so a 1-beat/cycle producer runs at full rate.
// in_ready depends only on the FIFO's state (low when DEPTH beats are stored, even if
// one leaves in the same cycle), so there is no combinational path between the two
// streams' handshakes; out_valid and out_data are likewise independent of in_*. in_ready
// and out_valid are registers of their own (set with count, not compares of it: the
// compare in front of the consumer's handshake was an ECP5 critical path).
// Storage: RAM_STYLE "block" reads the memory synchronously (the read address is the
// next read pointer, with a write-to-read bypass) so it maps onto block RAM; the other
// styles read asynchronously. Both have the same cycle behaviour.
// OUT_REG = 1: a 2-entry hw_outbuf after the memory (out_data and out_valid from
// registers): capacity DEPTH + 2, latency 2, the same throughput.
// OUT_REG = 2 (for a FIFO that may be in block RAM): the memory is read synchronously
// at the read pointer, with no bypass, when a word is stored and one of 4 entries of a LUT-RAM
// hw_outbuf is free (a credit counter: words read and not yet sent); the read word is
// registered (a plain flip-flop the placer can keep beside the block RAM: its 5.8 ns
// clock-to-output in nextpnr's ECP5 model leaves no time for logic or a long route)
// and then written into that buffer. No handshake from out_ready reaches the memory's
// enable. Capacity DEPTH + 4, latency 4, one beat per cycle.
// With OUT_REG, level and max_level count the memory's beats.
`default_nettype none
module hw_fifo #(
    parameter integer WIDTH     = 8,      // bits per beat
    parameter integer DEPTH     = 16,     // capacity in beats, >= 2
    parameter [8*11-1:0] RAM_STYLE = "auto", // "auto", "block", "distributed" or "registers"
    parameter integer OUT_REG   = 0,      // 1: a 2-entry register buffer (+1 latency); 2: a
                                          // synchronous read into a 4-entry buffer (+3)
    parameter integer LEVEL_W   = $clog2(DEPTH + 1) // bits of level/max_level: 0..DEPTH
) (
    input  wire               clk,
    input  wire               rst,        // synchronous, active high
    // input stream
    input  wire [WIDTH-1:0]   in_data,
    input  wire               in_valid,
    output wire               in_ready,
    // output stream
    output wire [WIDTH-1:0]   out_data,
    output wire               out_valid,
    input  wire               out_ready,
    // status
    output wire [LEVEL_W-1:0] level,      // beats stored now
    output wire [LEVEL_W-1:0] max_level   // highest level seen since reset
);
    initial begin
        if (WIDTH < 1) begin $display("ERROR: %m: WIDTH=%0d must be >= 1", WIDTH); $finish; end
        if (DEPTH < 2) begin $display("ERROR: %m: DEPTH=%0d must be >= 2", DEPTH); $finish; end
        if (LEVEL_W < $clog2(DEPTH + 1)) begin
            $display("ERROR: %m: LEVEL_W=%0d too small for DEPTH=%0d", LEVEL_W, DEPTH);
            $finish;
        end
        if (OUT_REG < 0 || OUT_REG > 2) begin
            $display("ERROR: %m: OUT_REG=%0d must be 0, 1 or 2", OUT_REG); $finish;
        end
        if (RAM_STYLE != "auto" && RAM_STYLE != "block" && RAM_STYLE != "distributed"
            && RAM_STYLE != "registers") begin
            $display("ERROR: %m: RAM_STYLE=\"%0s\" must be auto, block, distributed or registers", RAM_STYLE);
            $finish;
        end
    end

    localparam integer AW = (DEPTH > 2) ? $clog2(DEPTH) : 1; // pointer bits
    localparam [AW-1:0] LAST = DEPTH[AW-1:0] - 1'b1;         // highest address
    localparam [LEVEL_W-1:0] FULL = DEPTH[LEVEL_W-1:0];      // count when full

    reg  [AW-1:0]      wr_ptr;
    reg  [AW-1:0]      rd_ptr;
    reg  [LEVEL_W-1:0] count;
    reg  [LEVEL_W-1:0] high;
    reg                nonempty;  // count != 0
    reg                full;      // count == DEPTH

    // the memory's output stream (out_*, or the buffer's input with OUT_REG; its data is
    // declared with the read, below)
    wire             q_valid, q_ready;
    wire in_fire  = in_valid && in_ready;
    wire out_fire = q_valid && q_ready;
    wire [AW-1:0] wr_inc  = (wr_ptr == LAST) ? {AW{1'b0}} : wr_ptr + 1'b1;
    wire [AW-1:0] rd_inc  = (rd_ptr == LAST) ? {AW{1'b0}} : rd_ptr + 1'b1;
    wire [AW-1:0] rd_next = out_fire ? rd_inc : rd_ptr;

    assign in_ready  = !full;
    assign q_valid   = nonempty;
    localparam [LEVEL_W-1:0] ONE = {{(LEVEL_W-1){1'b0}}, 1'b1};
    wire one    = (count == ONE);          // the beat leaving would empty it
    wire almost = (count == FULL - ONE);   // the beat arriving would fill it
    assign level     = count;
    assign max_level = high;

    always @(posedge clk) begin
        if (rst) begin
            wr_ptr <= {AW{1'b0}};
            rd_ptr <= {AW{1'b0}};
            count  <= {LEVEL_W{1'b0}};
            high   <= {LEVEL_W{1'b0}};
            nonempty <= 1'b0;
            full     <= 1'b0;
        end else begin
            nonempty <= in_fire || (nonempty && !(one && out_fire));
            full     <= full ? !out_fire : (almost && in_fire && !out_fire);
            if (in_fire) wr_ptr <= wr_inc;
            rd_ptr <= rd_next;
            if (in_fire && !out_fire) begin
                count <= count + 1'b1;
                if (count == high) high <= count + 1'b1;
            end else if (out_fire && !in_fire) begin
                count <= count - 1'b1;
            end
        end
    end

    // OUT_REG 2: a synchronous read of mem[rd_ptr] (the word was written at an earlier
    // edge: nonempty is a register) into the buffer; "block": a synchronous read of
    // mem[rd_next], with the word written at the same edge to that address bypassed; the
    // other styles read mem[rd_ptr] asynchronously
    generate
        if (OUT_REG == 2) begin : g_pipe
            localparam integer OBD = 4;  // buffer entries: the read's 3 cycles and 1 spare
            wire [WIDTH-1:0] rd_q;
            reg              rd_v;       // rd_q holds a word read at the last edge
            reg  [WIDTH-1:0] rd_r;       // that word, registered
            reg              rd_rv;
            reg  [2:0]       inflight;   // words read and not yet sent
            wire             sent = out_valid && out_ready;
            assign q_ready = (inflight != OBD[2:0]);
            hw_ram #(.WIDTH(WIDTH), .DEPTH(DEPTH), .SYNC_READ(1), .RAM_STYLE(RAM_STYLE)) u_mem (
                .clk(clk), .we(in_fire), .waddr(wr_ptr), .wdata(in_data),
                .re(out_fire), .raddr(rd_ptr), .rdata(rd_q));
            always @(posedge clk) begin
                if (rst) begin
                    rd_v     <= 1'b0;
                    rd_rv    <= 1'b0;
                    inflight <= 3'd0;
                end else begin
                    rd_v     <= out_fire;
                    rd_rv    <= rd_v;
                    inflight <= inflight + {2'b00, out_fire} - {2'b00, sent};
                end
                if (rd_v) rd_r <= rd_q;
            end
            /* verilator lint_off UNUSEDSIGNAL */
            wire ob_in_ready;  // always high when a word arrives (credits)
            /* verilator lint_on UNUSEDSIGNAL */
            hw_outbuf #(.WIDTH(WIDTH), .DEPTH(OBD)) u_oreg (
                .clk(clk), .rst(rst),
                .in_data(rd_r), .in_valid(rd_rv), .in_ready(ob_in_ready),
                .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
        end else begin : g_read
            wire [WIDTH-1:0] q_data;
            if (RAM_STYLE == "block") begin : g_block
                wire [WIDTH-1:0] rd_q;
                reg  [WIDTH-1:0] byp_q;   // word written at the same edge to that address
                reg              byp_sel;
                hw_ram #(.WIDTH(WIDTH), .DEPTH(DEPTH), .RAM_STYLE(RAM_STYLE)) u_mem (
                    .clk(clk), .we(in_fire), .waddr(wr_ptr), .wdata(in_data),
                    .re(1'b1), .raddr(rd_next), .rdata(rd_q));
                always @(posedge clk) begin
                    byp_q   <= in_data;
                    byp_sel <= in_fire && (wr_ptr == rd_next);
                end
                assign q_data = byp_sel ? byp_q : rd_q;
            end else begin : g_lut
                hw_ram #(.WIDTH(WIDTH), .DEPTH(DEPTH), .SYNC_READ(0), .RAM_STYLE(RAM_STYLE)) u_mem (
                    .clk(clk), .we(in_fire), .waddr(wr_ptr), .wdata(in_data),
                    .re(1'b0), .raddr(rd_ptr), .rdata(q_data));
            end
            if (OUT_REG == 1) begin : g_oreg
                hw_outbuf #(.WIDTH(WIDTH)) u_oreg (
                    .clk(clk), .rst(rst),
                    .in_data(q_data), .in_valid(q_valid), .in_ready(q_ready),
                    .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
            end else begin : g_onone
                assign out_data = q_data;
                assign out_valid = q_valid;
                assign q_ready = out_ready;
            end
        end
    endgenerate
endmodule
`default_nettype wire
