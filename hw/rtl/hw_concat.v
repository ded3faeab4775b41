// hw_concat.v — channel concatenation of N image streams (NHWC, channels fastest).
//
// Input i (0 <= i < N) carries vectors of C_i elements, CF_i = C_i/PE beats each, PE
// lanes of W_i bits per beat (lane l at bits [l*W_i +: W_i] of its slot): two's
// complement when SIGNED_i, plain unsigned otherwise, one bit meaning +1 (1) / -1 (0)
// when BIPOLAR_i. Input i's beat sits in the low PE*W_i bits of slot i of in_data
// (bits [i*PE*IN_W +: PE*IN_W]); the bits above are ignored.
// Output: per vector (pixel), input 0's CF_0 beats, then input 1's CF_1 beats, ...,
// each lane value multiplied by MULT_i (an exact scale alignment; 1 when the scales
// agree) and widened to OUT_W bits (two's complement when any input is signed, bipolar
// or has a negative MULT_i; the compiler sizes OUT_W so that every value fits; the lane
// is that value modulo 2^OUT_W).
// Per-input lists are packed parameters, input i at field i (inputs >= N unused):
//     CS    : 16 bits a field, channels C_i (PE divides C_i)
//     WS    :  8 bits a field, lane bits W_i (1..IN_W)
//     MULTS : 16 bits a field, two's complement multiplier MULT_i
//     SIGNED_MASK, BIPOLAR_MASK: bit i.
// Throughput: one beat per cycle (an input beat in, an output beat out) while the
// current input is valid and out_ready is high: sum_i CF_i cycles per vector.
// Latency: 1 cycle: an input beat accepted in cycle c is on out_data in cycle c+1.
// Backpressure: a 2-entry output buffer (hw_outbuf); in_ready[i] is high only while
// input i is the current one and the buffer has room (registers only). Inputs other
// than the current one wait, so the FIFOs in front of them absorb the skew.
`default_nettype none
module hw_concat #(
    parameter integer N     = 2,            // input streams, 2..8
    parameter integer PE    = 1,            // lanes per beat, every input and the output
    parameter integer IN_W  = 8,            // bits per lane of an in_data slot: max W_i
    parameter integer OUT_W = 8,            // bits per output lane
    parameter [8*16-1:0] CS    = {16'd0, 16'd0, 16'd0, 16'd0, 16'd0, 16'd0, 16'd2, 16'd2}, // C_i
    parameter [8*8-1:0]  WS    = {8'd0, 8'd0, 8'd0, 8'd0, 8'd0, 8'd0, 8'd8, 8'd8},         // W_i
    parameter [8*16-1:0] MULTS = {16'd0, 16'd0, 16'd0, 16'd0, 16'd0, 16'd0, 16'd1, 16'd1}, // MULT_i
    parameter [7:0]      SIGNED_MASK  = 8'd0,  // bit i: input i is two's complement
    parameter [7:0]      BIPOLAR_MASK = 8'd0   // bit i: input i is 1-bit bipolar
) (
    input  wire                  clk,
    input  wire                  rst,        // synchronous, active high
    // input streams: stream i at slot / bit i
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [N*PE*IN_W-1:0]  in_data,    // bits above PE*W_i of a slot are unused
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [N-1:0]          in_valid,
    output wire [N-1:0]          in_ready,
    // output stream: one vector = sum_i C_i/PE beats of PE lanes of OUT_W bits
    output wire [PE*OUT_W-1:0]   out_data,
    output wire                  out_valid,
    input  wire                  out_ready
);
    localparam integer DW  = PE * OUT_W;
    localparam integer SLW = PE * IN_W;       // bits per input slot
    localparam integer SW  = 3;               // input select bits (N <= 8)
    localparam [31:0]  ONE32 = 1;
    localparam [OUT_W-1:0] POS1 = ONE32[OUT_W-1:0];

    // the fields of input i as integers
    function automatic integer c_of(input integer i);
        c_of = {16'd0, CS[16*i +: 16]};
    endfunction
    function automatic integer w_of(input integer i);
        w_of = {24'd0, WS[8*i +: 8]};
    endfunction
    // the most beats in a vector of any of inputs 0..n-1 (sizes the beat counter)
    function integer max_cf(input integer n);
        integer j;
        begin
            max_cf = 1;
            for (j = 0; j < n; j = j + 1)
                if (PE >= 1 && c_of(j) / PE > max_cf) max_cf = c_of(j) / PE;
        end
    endfunction
    localparam integer KW = (max_cf(N) > 1) ? $clog2(max_cf(N)) : 1;  // beat counter bits
    // CF_i - 1: the last beat index of input i's part of a vector
    function automatic [KW-1:0] cf_last(input integer i);
        /* verilator lint_off UNUSEDSIGNAL */
        integer t;  // only its low KW bits are the result
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            t = c_of(i) / PE - 1;
            cf_last = t[KW-1:0];
        end
    endfunction

    integer k;
    initial begin
        if (N < 2 || N > 8) begin $display("ERROR: %m: N=%0d must be in 2..8", N); $finish; end
        if (PE < 1) begin $display("ERROR: %m: PE=%0d must be >= 1", PE); $finish; end
        if (IN_W < 1 || OUT_W < 1) begin
            $display("ERROR: %m: IN_W=%0d and OUT_W=%0d must be >= 1", IN_W, OUT_W);
            $finish;
        end
        for (k = 0; k < N; k = k + 1) begin
            if (c_of(k) < PE || (c_of(k) % PE) != 0) begin
                $display("ERROR: %m: PE=%0d must divide C_%0d=%0d", PE, k, c_of(k));
                $finish;
            end
            if (w_of(k) < 1 || w_of(k) > IN_W || w_of(k) > OUT_W) begin
                $display("ERROR: %m: W_%0d=%0d must be in 1..IN_W=%0d and <= OUT_W=%0d", k, w_of(k), IN_W, OUT_W);
                $finish;
            end
            if (BIPOLAR_MASK[k] && (w_of(k) != 1 || SIGNED_MASK[k] || OUT_W < 2)) begin
                $display("ERROR: %m: bipolar input %0d needs W_%0d=1, unsigned lanes and OUT_W >= 2", k, k);
                $finish;
            end
        end
    end

    // ---------------------------------------------------------------- position
    wire            ob_ready;   // the output buffer has room
    reg  [SW-1:0]   sel;        // the current input
    reg  [KW-1:0]   beat;       // its beat within the vector
    reg  [N-1:0]    one;        // one-hot of sel
    reg  [KW-1:0]   last;       // cf_last(sel)
    wire            fire = |(in_valid & one) && ob_ready;
    localparam [31:0]   N_M1_32 = N - 1;
    localparam [SW-1:0] SEL_LAST = N_M1_32[SW-1:0];
    assign in_ready = {N{ob_ready}} & one;

    always @* begin : p_last
        integer j;
        /* verilator lint_off UNUSEDSIGNAL */
        reg [31:0] j32;  // j, compared on its low SW bits
        /* verilator lint_on UNUSEDSIGNAL */
        last = {KW{1'b0}};
        for (j = 0; j < N; j = j + 1) begin
            j32 = j;
            one[j] = (sel == j32[SW-1:0]);
            if (one[j]) last = cf_last(j);
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            sel  <= {SW{1'b0}};
            beat <= {KW{1'b0}};
        end else if (fire) begin
            if (beat == last) begin
                beat <= {KW{1'b0}};
                sel  <= (sel == SEL_LAST) ? {SW{1'b0}} : sel + 1'b1;
            end else begin
                beat <= beat + 1'b1;
            end
        end
    end

    // ---------------------------------------------------------------- lanes
    // each input's beat widened to OUT_W-bit lanes and multiplied by its MULT_i
    wire [N*DW-1:0] wide;
    genvar i, l;
    generate
        for (i = 0; i < N; i = i + 1) begin : g_in
            localparam integer W  = w_of(i);
            localparam [15:0]  M  = MULTS[16*i +: 16];
            localparam         SG = SIGNED_MASK[i];
            localparam         BP = BIPOLAR_MASK[i];
            /* verilator lint_off UNUSEDSIGNAL */
            wire [SLW-1:0] slot = in_data[i*SLW +: SLW];  // bits above PE*W unused
            /* verilator lint_on UNUSEDSIGNAL */
            for (l = 0; l < PE; l = l + 1) begin : g_lane
                wire [W-1:0] u = slot[l*W +: W];
                /* verilator lint_off UNUSEDSIGNAL */
                wire [OUT_W+W-1:0] e = {{OUT_W{SG && u[W-1]}}, u};  // the top W bits unused
                wire [OUT_W+15:0]  mx = {{OUT_W{M[15]}}, M};         // the top 16 bits unused
                /* verilator lint_on UNUSEDSIGNAL */
                wire [OUT_W-1:0] v = BP ? (u[0] ? POS1 : {OUT_W{1'b1}}) : e[OUT_W-1:0];
                wire [OUT_W-1:0] p = v * mx[OUT_W-1:0];  // modulo 2^OUT_W: exact when it fits
                assign wide[i*DW + l*OUT_W +: OUT_W] = p;
            end
        end
    endgenerate

    reg [DW-1:0] cur;
    always @* begin : p_mux
        integer j;
        cur = wide[DW-1:0];
        for (j = 1; j < N; j = j + 1)
            if (one[j]) cur = wide[j*DW +: DW];
    end

    // ---------------------------------------------------------------- 2-entry output buffer
    hw_outbuf #(.WIDTH(DW)) u_obuf (
        .clk(clk), .rst(rst),
        .in_data(cur), .in_valid(fire), .in_ready(ob_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
endmodule
`default_nettype wire
