// hw_add.v — elementwise sum of two streams with integer coefficients, then optional
// multi-threshold activation (a residual join).
//
// Input beats (a_*, b_*): PE lanes of A_W / B_W bits (lane l at bits [l*W +: W]): two's
// complement when *_SIGNED, plain unsigned otherwise, one bit meaning +1 (1) / -1 (0)
// when *_BIPOLAR. A vector is C elements, CF = C/PE beats; lane l of beat g is channel
// c = g*PE + l. Both streams carry the same vectors, beat for beat.
// Per lane: z = COEF_A[c]*a + COEF_B[c]*b: exact signed products of W+1+CW bits (a soft
// multiplier or a DSP, a shift-add for constant coefficients), their sum taken to ACC_W
// bits (exact: the compiler sizes ACC_W to hold z). Output lane: with N_T == 0, z itself (ACC_W bits, two's
// complement); with N_T > 0, OUT_W bits:
//     (number of t with z >= T[c][t]) + OUT_BIAS, truncated to OUT_W bits (as hw_mvu).
// Coefficients: COEF_FILE == "" : every channel uses COEF_A, COEF_B (parameters);
// otherwise COEF_FILE is a ROM of CF words of PE*2*CW bits, word g lane l at bits
// [(2*l)*CW +: CW] = COEF_A and [(2*l+1)*CW +: CW] = COEF_B of channel g*PE+l (two's
// complement). THRESH_FILE (N_T > 0): CF words of PE*N_T*ACC_W bits, word g lane
// l*N_T+t = threshold t (ascending, two's complement) of channel g*PE+l (as hw_mvu).
// Throughput: one beat pair per cycle while a_valid, b_valid and out_ready are high:
// CF cycles per vector. A pair is taken only when both inputs are valid (a_ready needs
// b_valid and b_ready needs a_valid; neither ready depends on a ready).
// Latency: 2 cycles: the pair accepted in cycle c is on out_data in cycle c+2 (memory
// read and input registers, then the sum and comparisons into a 2-entry output buffer).
`default_nettype none
module hw_add #(
    parameter integer C         = 4,     // elements (channels) per vector
    parameter integer PE        = 2,     // lanes per beat, both inputs and the output; divides C
    parameter integer A_W       = 2,     // bits per lane of input a
    parameter integer A_SIGNED  = 0,     // 1: a lanes are two's complement
    parameter integer A_BIPOLAR = 0,     // 1: a lanes are 1 bit, 1 = +1 and 0 = -1
    parameter integer B_W       = 2,     // bits per lane of input b
    parameter integer B_SIGNED  = 0,     // 1: b lanes are two's complement
    parameter integer B_BIPOLAR = 0,     // 1: b lanes are 1 bit, 1 = +1 and 0 = -1
    parameter integer ACC_W     = 4,     // bits of z and of the thresholds (two's complement)
    parameter integer CW        = 2,     // coefficient bits (two's complement)
    parameter integer COEF_A    = 1,     // coefficient of a for every channel (COEF_FILE "")
    parameter integer COEF_B    = 1,     // coefficient of b for every channel (COEF_FILE "")
    parameter integer N_T       = 0,     // thresholds per channel; 0 = output z
    parameter integer OUT_W     = 1,     // output lane bits when N_T > 0
    parameter integer OUT_BIAS  = 0,     // added to the threshold count (e.g. -2)
    parameter        COEF_FILE   = "",   // $readmemh file of per-channel coefficients ("" none)
    parameter        THRESH_FILE = "",   // $readmemh file of the thresholds (N_T > 0)
    parameter [8*11-1:0] ROM_STYLE = "auto" // "auto" | "block" | "distributed"
) (
    input  wire                 clk,
    input  wire                 rst,        // synchronous, active high
    // input stream a
    input  wire [PE*A_W-1:0]    a_data,
    input  wire                 a_valid,
    output wire                 a_ready,
    // input stream b
    input  wire [PE*B_W-1:0]    b_data,
    input  wire                 b_valid,
    output wire                 b_ready,
    // output stream: PE lanes of OUT_W (N_T > 0) or ACC_W (N_T == 0) bits
    output wire [PE*((N_T > 0) ? OUT_W : ACC_W)-1:0] out_data,
    output wire                 out_valid,
    input  wire                 out_ready
);
    localparam integer CF    = (PE >= 1) ? C / PE : 1;             // beats per vector
    localparam integer GW    = (CF > 1) ? $clog2(CF) : 1;
    localparam integer LW    = (N_T > 0) ? OUT_W : ACC_W;          // output lane bits
    localparam integer NT1   = (N_T > 0) ? N_T : 1;
    localparam integer TWORD = PE * NT1 * ACC_W;                   // threshold word bits
    localparam integer CWORD = PE * 2 * CW;                        // coefficient word bits
    localparam integer USE_COEF_ROM = (COEF_FILE != "") ? 1 : 0;
    localparam [31:0]  CF_M1_32 = CF - 1;
    localparam [GW-1:0] G_LAST  = CF_M1_32[GW-1:0];
    localparam [31:0]  CA32 = COEF_A;
    localparam [31:0]  CB32 = COEF_B;
    localparam [8*11-1:0] STYLE_AUTO  = "auto";
    localparam [8*11-1:0] STYLE_BLOCK = "block";
    localparam [8*11-1:0] STYLE_DIST  = "distributed";

    initial begin
        if (C < 1) begin $display("ERROR: %m: C=%0d must be >= 1", C); $finish; end
        if (PE < 1 || PE > C || (C % PE) != 0) begin
            $display("ERROR: %m: PE=%0d must divide C=%0d", PE, C);
            $finish;
        end
        if (A_W < 1 || B_W < 1 || ACC_W < 2 || CW < 1 || CW > 32) begin
            $display("ERROR: %m: A_W=%0d, B_W=%0d, ACC_W=%0d, CW=%0d must be >= 1, >= 1, >= 2, in 1..32", A_W, B_W, ACC_W, CW);
            $finish;
        end
        if ((A_BIPOLAR != 0 && (A_W != 1 || A_SIGNED != 0)) || (B_BIPOLAR != 0 && (B_W != 1 || B_SIGNED != 0))) begin
            $display("ERROR: %m: a bipolar input needs 1-bit unsigned lanes (A_W=%0d, B_W=%0d)", A_W, B_W);
            $finish;
        end
        if (N_T < 0 || (N_T > 0 && OUT_W < 1)) begin
            $display("ERROR: %m: N_T=%0d must be >= 0 (and OUT_W=%0d >= 1 when thresholded)", N_T, OUT_W);
            $finish;
        end
        if (USE_COEF_ROM == 0 && (COEF_A < -(2 ** (CW - 1)) || COEF_A >= 2 ** (CW - 1)
                                   || COEF_B < -(2 ** (CW - 1)) || COEF_B >= 2 ** (CW - 1))) begin
            $display("ERROR: %m: COEF_A=%0d and COEF_B=%0d must fit CW=%0d signed bits", COEF_A, COEF_B, CW);
            $finish;
        end
        if (ROM_STYLE != STYLE_AUTO && ROM_STYLE != STYLE_BLOCK && ROM_STYLE != STYLE_DIST) begin
            $display("ERROR: %m: ROM_STYLE=\"%0s\" must be auto, block or distributed", ROM_STYLE);
            $finish;
        end
    end

    localparam [31:0]       ONE32  = 1;
    localparam [A_W:0]      A_POS1 = ONE32[A_W:0];
    localparam [B_W:0]      B_POS1 = ONE32[B_W:0];

    // ---------------------------------------------------------------- stage 0: accept
    wire ob_ready;             // the output buffer has room
    reg  s1_v;                 // stage 1 holds a beat pair
    wire en   = ob_ready || !s1_v;
    wire fire = a_valid && b_valid && en;
    assign a_ready = en && b_valid;
    assign b_ready = en && a_valid;

    reg [GW-1:0] g;            // beat within the vector
    always @(posedge clk) begin
        if (rst)       g <= {GW{1'b0}};
        else if (fire) g <= (g == G_LAST) ? {GW{1'b0}} : g + 1'b1;
    end

    reg [PE*A_W-1:0] s1_a;
    reg [PE*B_W-1:0] s1_b;
    always @(posedge clk) begin
        if (rst)     s1_v <= 1'b0;
        else if (en) s1_v <= fire;
    end
    always @(posedge clk) begin
        if (fire) begin
            s1_a <= a_data;
            s1_b <= b_data;
        end
    end

    // ---------------------------------------------------------------- memories
    wire [CWORD-1:0] coef_q;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [TWORD-1:0] thr_q;    // unused when N_T == 0
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (USE_COEF_ROM != 0) begin : g_coef_rom
            hw_ram #(.WIDTH(CWORD), .DEPTH(CF), .ROM(1), .RAM_STYLE(ROM_STYLE),
                     .INIT_FILE(COEF_FILE)) u_crom (
                .clk(clk), .we(1'b0), .waddr({GW{1'b0}}), .wdata({CWORD{1'b0}}),
                .re(fire), .raddr(g), .rdata(coef_q));
        end else begin : g_coef_const
            assign coef_q = {PE{CB32[CW-1:0], CA32[CW-1:0]}};
        end
        if (N_T > 0) begin : g_thr_rom
            hw_ram #(.WIDTH(TWORD), .DEPTH(CF), .ROM(1), .RAM_STYLE(ROM_STYLE),
                     .INIT_FILE(THRESH_FILE)) u_trom (
                .clk(clk), .we(1'b0), .waddr({GW{1'b0}}), .wdata({TWORD{1'b0}}),
                .re(fire), .raddr(g), .rdata(thr_q));
        end else begin : g_no_thr
            assign thr_q = {TWORD{1'b0}};
        end
    endgenerate

    // ---------------------------------------------------------------- stage 1: sum, activation
    wire [PE*LW-1:0] result;
    genvar p, n;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_lane
            // each lane as a signed value of W+1 bits, times its coefficient: exact
            // products of W+1+CW bits (signed operands, so Yosys keeps them narrow)
            localparam integer PA = A_W + 1 + CW;
            localparam integer PB = B_W + 1 + CW;
            localparam integer SW = ACC_W + PA + PB;   // sum bits before truncation
            wire [A_W-1:0] ua = s1_a[p*A_W +: A_W];
            wire [B_W-1:0] ub = s1_b[p*B_W +: B_W];
            wire [CW-1:0]  ca = coef_q[(2*p)*CW +: CW];
            wire [CW-1:0]  cb = coef_q[(2*p+1)*CW +: CW];
            wire [A_W:0] va = (A_BIPOLAR != 0) ? (ua[0] ? A_POS1 : {(A_W+1){1'b1}})
                                              : {(A_SIGNED != 0) && ua[A_W-1], ua};
            wire [B_W:0] vb = (B_BIPOLAR != 0) ? (ub[0] ? B_POS1 : {(B_W+1){1'b1}})
                                              : {(B_SIGNED != 0) && ub[B_W-1], ub};
            wire signed [PA-1:0] xa = {{CW{va[A_W]}}, va};
            wire signed [PA-1:0] ka = {{(A_W+1){ca[CW-1]}}, ca};
            wire signed [PB-1:0] xb = {{CW{vb[B_W]}}, vb};
            wire signed [PB-1:0] kb = {{(B_W+1){cb[CW-1]}}, cb};
            wire signed [PA-1:0] pa = xa * ka;
            wire signed [PB-1:0] pb = xb * kb;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [SW-1:0] zs = {{(SW-PA){pa[PA-1]}}, pa} + {{(SW-PB){pb[PB-1]}}, pb};  // top bits unused
            /* verilator lint_on UNUSEDSIGNAL */
            wire [ACC_W-1:0] z = zs[ACC_W-1:0];  // exact: z fits ACC_W bits
            if (N_T > 0) begin : g_act
                localparam [31:0]      BIAS32 = OUT_BIAS;
                localparam [OUT_W-1:0] BIAS   = BIAS32[OUT_W-1:0];
                localparam [OUT_W-1:0] ONE    = ONE32[OUT_W-1:0];
                wire [N_T-1:0] ge;
                for (n = 0; n < N_T; n = n + 1) begin : g_cmp
                    assign ge[n] = $signed(z) >= $signed(thr_q[(p*N_T+n)*ACC_W +: ACC_W]);
                end
                reg [OUT_W-1:0] cnt;
                integer t;
                always @* begin
                    cnt = BIAS;
                    for (t = 0; t < N_T; t = t + 1)
                        if (ge[t]) cnt = cnt + ONE;
                end
                assign result[p*LW +: LW] = cnt;
            end else begin : g_raw
                assign result[p*LW +: LW] = z;
            end
        end
    endgenerate

    // ---------------------------------------------------------------- 2-entry output buffer
    hw_outbuf #(.WIDTH(PE*LW)) u_obuf (
        .clk(clk), .rst(rst),
        .in_data(result), .in_valid(s1_v), .in_ready(ob_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
endmodule
`default_nettype wire
