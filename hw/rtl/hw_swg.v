// hw_swg.v — sliding-window generator (im2col on a stream) for convolutions.
//
// Input beat: SIMD lanes of W bits (lane l at bits [l*W +: W]). A frame is IH*IW pixels in
// row-major order (y outer, x inner), each pixel CF = C/SIMD beats, channel-fastest:
// lane l of beat g of a pixel is channel g*SIMD+l.
// Output beat: SIMD lanes of W bits, the same packing. A frame is OH*OW windows in
// row-major order (oy outer, ox inner), OH = (IH+PAD_T+PAD_B-KH)/SH + 1 and
// OW = (IW+PAD_L+PAD_R-KW)/SW + 1 (floor); each window is KH*KW*CF beats in the order
// ky outer, kx, then channel group: window element (ky, kx, c) is element
// (ky*KW+kx)*C + c of the output vector, the column order of the MVU weight matrix. It is
// input pixel (oy*SH+ky-PAD_T, ox*SW+kx-PAD_L), or PAD_VALUE in every lane where that
// lies outside the image. Input rows/columns that no window uses are consumed and dropped.
//
// Storage: a circular line buffer of NR = KH+SH rows of IW*CF words (SIMD*W bits each)
// in one simple dual-port RAM (RAM_STYLE): a writer stores input rows in arrival order,
// a reader generates the windows of one output row at a time. They run concurrently,
// coupled by one signed counter of rows written and not yet released (row granularity):
//   - the writer may begin a row when fewer than NR rows are held;
//   - the reader may emit output row oy once every image row it needs
//     (max(0,oy*SH-PAD_T) .. min(IH-1, oy*SH-PAD_T+KH-1)) is complete (a row made of
//     padding alone: once every row released before it is written); at the row's end it
//     releases the rows the next output row does not need (at the frame's end: all
//     remaining rows of the frame, unused bottom rows too, written yet or not, so the
//     next frame's rows load meanwhile). The counter stays within -IH .. NR.
// Throughput: one output beat per cycle while the needed rows are present and out_ready
// is high; the writer takes one input beat per cycle while it has a free row; a row
// completed (or released) in cycle c is seen by the other side in cycle c+1, so neither
// side idles beyond what the two rules above impose. Steady state with frames back to
// back (producer always valid, consumer always ready): the period of that row-level
// schedule, evaluated cycle-exactly by hw/cycles.py (swg_cycles_per_frame). In the usual
// regimes, with T_W = IW*CF and T_R = OW*KH*KW*CF,
//     cycles/frame = max(IH*T_W, OH*T_R + B*T_W),
//     B = max(0, IH + min(KH-1-PAD_T, IH-1) - max(0, (OH-1)*SH-PAD_T) - NR + 1)
// (B: rows of the next frame that cannot load before the current frame's last output row
// has been read), e.g. AlexNet conv1 (227x227x3, 11x11/4, SIMD 3): 55*6655 + 7*227.
// Latency: 3 + MEM_PIPE cycles: when the last image row an output row needs completes with
// the input beat of cycle c, that output row's first beat is valid in cycle c+3 (the
// reader sees the row count and issues the read in c+1, RAM read register (MEM_PIPE = 1:
// and a register after it, keeping a block RAM's clock-to-output alone in its cycle),
// 2-entry output buffer); an output row of padding alone waits only for the rows
// released before it.
// Backpressure: a 2-entry output buffer; the read pipeline stalls only when a read word
// finds the buffer full. in_ready depends on registers only (no path from out_ready).
`default_nettype none
module hw_swg #(
    parameter integer C         = 4,    // channels per pixel
    parameter integer IH        = 6,    // input image height (rows)
    parameter integer IW        = 5,    // input image width (columns)
    parameter integer KH        = 3,    // kernel height
    parameter integer KW        = 3,    // kernel width
    parameter integer SH        = 1,    // vertical stride
    parameter integer SW        = 1,    // horizontal stride
    parameter integer PAD_T     = 1,    // padding rows (PAD_VALUE) above the image
    parameter integer PAD_L     = 1,    // padding columns left of the image
    parameter integer PAD_B     = 1,    // padding rows below the image
    parameter integer PAD_R     = 1,    // padding columns right of the image
    parameter integer SIMD      = 2,    // lanes per beat, in and out; divides C
    parameter integer W         = 8,    // bits per lane
    parameter integer PAD_VALUE = 0,    // lane value at padding positions (low W bits;
                                        // may be negative for two's complement lanes)
    parameter [8*11-1:0] RAM_STYLE = "auto", // line buffer: "auto" | "block" | "distributed" | "ultra"
    parameter integer MEM_PIPE  = 0     // 1: the line buffer's word registered again (+1 latency)
) (
    input  wire                clk,
    input  wire                rst,        // synchronous, active high
    // input stream: one pixel = C/SIMD beats of SIMD lanes
    input  wire [SIMD*W-1:0]   in_data,
    input  wire                in_valid,
    output wire                in_ready,
    // output stream: one window = KH*KW*C/SIMD beats of SIMD lanes
    output wire [SIMD*W-1:0]   out_data,
    output wire                out_valid,
    input  wire                out_ready
);
    // ---------------------------------------------------------------- derived constants
    localparam integer CF    = (SIMD >= 1) ? C / SIMD : 1;        // beats per pixel
    localparam integer ROWW  = IW * CF;                           // words per image row
    localparam integer OH    = (IH + PAD_T + PAD_B - KH) / SH + 1; // output rows
    localparam integer OW    = (IW + PAD_L + PAD_R - KW) / SW + 1; // output columns
    localparam integer NR    = KH + SH;                           // line buffer rows
    localparam integer DEPTH = NR * ROWW;                         // line buffer words
    localparam integer DW    = SIMD * W;                          // bits per beat
    localparam integer JN    = KW * CF;                           // beats per window row
    localparam integer AW    = (DEPTH > 1) ? $clog2(DEPTH) : 1;   // address bits
    localparam integer CW    = (ROWW > 1) ? $clog2(ROWW) : 1;     // writer column bits
    localparam integer JW    = (JN > 1) ? $clog2(JN) : 1;
    localparam integer KYW   = (KH > 1) ? $clog2(KH) : 1;
    localparam integer OXW   = (OW > 1) ? $clog2(OW) : 1;
    localparam integer OYW   = (OH > 1) ? $clog2(OH) : 1;
    // signed column position p (beats from the start of the image row), row index y
    localparam integer PW0   = $clog2((IW + PAD_L + PAD_R + KW + SW + 1) * CF + 1) + 1;
    localparam integer PW    = (PW0 > AW + 1) ? PW0 : AW + 1;
    localparam integer YW    = $clog2(IH + PAD_T + PAD_B + KH + SH + NR + 1) + 2;
    // line buffer address steps (mod DEPTH) when the reader moves to the next image row,
    // output row and frame
    localparam integer ROW_STEP   = ROWW % DEPTH;
    localparam integer OY_STEP    = (SH * ROWW) % DEPTH;
    // (IH - (OH-1)*SH) mod NR and -PAD_T mod NR, without a negative dividend
    localparam integer FR_ROWS    = ((IH % NR) + NR - (((OH - 1) * SH) % NR)) % NR;
    localparam integer FR_STEP    = FR_ROWS * ROWW;
    localparam integer PAD_T_ROWS = (NR - (PAD_T % NR)) % NR;
    localparam [31:0] ROW_STEP32 = ROW_STEP;
    localparam [31:0] OY_STEP32  = OY_STEP;
    localparam [31:0] FR_STEP32  = FR_STEP;
    localparam [31:0] A0_BASE32  = PAD_T_ROWS * ROWW;   // base of row -PAD_T of frame 0
    localparam [31:0] DEPTH32    = DEPTH;
    localparam [31:0] ROWW_M1_32 = ROWW - 1;
    localparam [31:0] DEPTH_M1_32 = DEPTH - 1;
    localparam [31:0] JN_M1_32   = JN - 1;
    localparam [31:0] KH_M1_32   = KH - 1;
    localparam [31:0] OW_M1_32   = OW - 1;
    localparam [31:0] OH_M1_32   = OH - 1;
    localparam [31:0] ROWW32     = ROWW;
    localparam [31:0] P0_32      = -(PAD_L * CF);
    localparam [31:0] PSTEP32    = SW * CF;
    localparam [31:0] A0_32      = -PAD_T;
    localparam [31:0] IH32       = IH;
    localparam [31:0] SH32       = SH;
    localparam [31:0] NR32       = NR;
    localparam [AW:0]    ROW_STEP_A = ROW_STEP32[AW:0];
    localparam [AW:0]    OY_STEP_A  = OY_STEP32[AW:0];
    localparam [AW:0]    FR_STEP_A  = FR_STEP32[AW:0];
    localparam [AW:0]    DEPTH_A    = DEPTH32[AW:0];
    localparam [AW-1:0]  A0_BASE    = A0_BASE32[AW-1:0];
    localparam [AW-1:0]  ADDR_LAST  = DEPTH_M1_32[AW-1:0];
    localparam [CW-1:0]  COL_LAST   = ROWW_M1_32[CW-1:0];
    localparam [JW-1:0]  J_LAST     = JN_M1_32[JW-1:0];
    localparam [KYW-1:0] KY_LAST    = KH_M1_32[KYW-1:0];
    localparam [OXW-1:0] OX_LAST    = OW_M1_32[OXW-1:0];
    localparam [OYW-1:0] OY_LAST    = OH_M1_32[OYW-1:0];
    localparam [PW-1:0]  P_ROWW     = ROWW32[PW-1:0];
    localparam [PW-1:0]  P_START    = P0_32[PW-1:0];
    localparam [PW-1:0]  P_STEP     = PSTEP32[PW-1:0];
    localparam [YW-1:0]  Y_START    = A0_32[YW-1:0];
    localparam [YW-1:0]  Y_IH       = IH32[YW-1:0];
    localparam [YW-1:0]  Y_SH       = SH32[YW-1:0];
    localparam [YW-1:0]  Y_NR       = NR32[YW-1:0];
    localparam [YW-1:0]  Y_ZERO     = {YW{1'b0}};
    localparam [YW-1:0]  Y_ONE      = {{(YW-1){1'b0}}, 1'b1};
    localparam [31:0]    PAD32      = PAD_VALUE;
    localparam [8*11-1:0] STYLE_AUTO  = "auto";
    localparam [8*11-1:0] STYLE_BLOCK = "block";
    localparam [8*11-1:0] STYLE_DIST  = "distributed";
    localparam [8*11-1:0] STYLE_ULTRA = "ultra";

    initial begin
        if (C < 1) begin $display("ERROR: %m: C=%0d must be >= 1", C); $finish; end
        if (SIMD < 1 || SIMD > C || (C % SIMD) != 0) begin
            $display("ERROR: %m: SIMD=%0d must divide C=%0d", SIMD, C);
            $finish;
        end
        if (IH < 1 || IW < 1) begin
            $display("ERROR: %m: IH=%0d and IW=%0d must be >= 1", IH, IW);
            $finish;
        end
        if (KH < 1 || KW < 1) begin
            $display("ERROR: %m: KH=%0d and KW=%0d must be >= 1", KH, KW);
            $finish;
        end
        if (SH < 1 || SW < 1) begin
            $display("ERROR: %m: SH=%0d and SW=%0d must be >= 1", SH, SW);
            $finish;
        end
        if (PAD_T < 0 || PAD_L < 0 || PAD_B < 0 || PAD_R < 0) begin
            $display("ERROR: %m: padding T=%0d L=%0d B=%0d R=%0d must be >= 0", PAD_T, PAD_L, PAD_B, PAD_R);
            $finish;
        end
        if (IH + PAD_T + PAD_B < KH) begin
            $display("ERROR: %m: KH=%0d exceeds the padded height %0d", KH, IH + PAD_T + PAD_B);
            $finish;
        end
        if (IW + PAD_L + PAD_R < KW) begin
            $display("ERROR: %m: KW=%0d exceeds the padded width %0d", KW, IW + PAD_L + PAD_R);
            $finish;
        end
        if (W < 1) begin $display("ERROR: %m: W=%0d must be >= 1", W); $finish; end
        if (W <= 30 && (PAD_VALUE < -(2 ** (W - 1)) || PAD_VALUE >= 2 ** W)) begin
            $display("ERROR: %m: PAD_VALUE=%0d does not fit in W=%0d bits", PAD_VALUE, W);
            $finish;
        end
        if (PW > 32 || YW > 32 || AW > 30) begin
            $display("ERROR: %m: geometry too large (counter bits PW=%0d YW=%0d AW=%0d)", PW, YW, AW);
            $finish;
        end
        if (MEM_PIPE != 0 && MEM_PIPE != 1) begin
            $display("ERROR: %m: MEM_PIPE=%0d must be 0 or 1", MEM_PIPE); $finish;
        end
        if (RAM_STYLE != STYLE_AUTO && RAM_STYLE != STYLE_BLOCK && RAM_STYLE != STYLE_DIST
            && RAM_STYLE != STYLE_ULTRA) begin
            $display("ERROR: %m: RAM_STYLE=\"%0s\" must be auto, block, distributed or ultra", RAM_STYLE);
            $finish;
        end
    end

    // (a + b) mod DEPTH for a < DEPTH, b <= DEPTH
    function automatic [AW-1:0] addmod(input [AW-1:0] a, input [AW:0] b);
        reg [AW:0] s;
        begin
            s = {1'b0, a} + b;
            if (s >= DEPTH_A) s = s - DEPTH_A;
            addmod = s[AW-1:0];
        end
    endfunction

    // ---------------------------------------------------------------- row accounting
    // held: image rows completely written and not yet released by the reader (signed; it
    // goes negative when the reader releases unused rows that are not written yet).
    reg  [YW-1:0] held;
    wire          wr_row_done;
    wire          rel_fire;
    wire [YW-1:0] rel_rows;

    always @(posedge clk) begin
        if (rst) held <= Y_ZERO;
        else     held <= held + (wr_row_done ? Y_ONE : Y_ZERO) - (rel_fire ? rel_rows : Y_ZERO);
    end

    // ---------------------------------------------------------------- writer
    reg  [CW-1:0] wr_col;    // beat within the image row
    reg  [AW-1:0] wr_addr;   // line buffer address, wraps at DEPTH
    wire          room = $signed(held) < $signed(Y_NR);

    assign in_ready = (wr_col != {CW{1'b0}}) || room;
    wire in_fire = in_valid && in_ready;
    assign wr_row_done = in_fire && (wr_col == COL_LAST);

    always @(posedge clk) begin
        if (rst) begin
            wr_col  <= {CW{1'b0}};
            wr_addr <= {AW{1'b0}};
        end else if (in_fire) begin
            wr_col  <= (wr_col == COL_LAST) ? {CW{1'b0}} : wr_col + 1'b1;
            wr_addr <= (wr_addr == ADDR_LAST) ? {AW{1'b0}} : wr_addr + 1'b1;
        end
    end

    // ---------------------------------------------------------------- reader (stage 0)
    reg  [JW-1:0]  j;        // beat within the window row (kx*CF + channel group)
    reg  [KYW-1:0] ky;
    reg  [OXW-1:0] ox;
    reg  [OYW-1:0] oy;
    reg  [PW-1:0]  col0;     // signed: (ox*SW - PAD_L)*CF, column position of kx = 0
    reg  [PW-1:0]  p;        // signed: col0 + j
    reg  [YW-1:0]  a;        // signed: oy*SH - PAD_T, first image row of the output row
    reg  [YW-1:0]  iy;       // signed: a + ky
    reg  [AW-1:0]  base_a;   // line buffer address of image row a (mod DEPTH)
    reg  [AW-1:0]  base_y;   // line buffer address of image row iy

    // Output row oy (first image row a = oy*SH - PAD_T) uses rows lo .. hi (clamped to the
    // image) and needs hi - lo + 1 of them held; an output row of padding alone needs
    // nothing, but waits until the writer has caught up with the rows released so far
    // (held >= 0), so the reader never runs a frame ahead. At its end it releases the
    // rows up to the next output row's lo (frame: IH). Both are constants of oy: tables
    // (row_need, row_rel), read one output row ahead into registers, so no arithmetic on
    // a sits between the row counters and held.
    function integer row_lo(input integer k);  // lo of output row k (k = OH: IH)
        integer aa;
        begin
            aa = k * SH - PAD_T;
            row_lo = (k >= OH) ? IH : (aa < 0) ? 0 : (aa > IH) ? IH : aa;
        end
    endfunction
    function integer row_need(input integer k);
        integer aa, hi1, nd;
        begin
            aa = k * SH - PAD_T;
            hi1 = (aa + KH > IH) ? IH : aa + KH;
            nd = hi1 - row_lo(k);
            row_need = (nd < 0) ? 0 : nd;
        end
    endfunction
    function integer row_rel(input integer k);
        row_rel = row_lo(k + 1) - row_lo(k);
    endfunction
    wire [YW-1:0] need_nx [0:OH-1];  // entry k: output row k+1's (k = OH-1: row 0's)
    wire [YW-1:0] rel_nx  [0:OH-1];
    genvar gk;
    generate
        for (gk = 0; gk < OH; gk = gk + 1) begin : g_rowtab
            localparam integer    NXT = (gk + 1 < OH) ? gk + 1 : 0;
            localparam [31:0]     ND32 = row_need(NXT);
            localparam [31:0]     RL32 = row_rel(NXT);
            assign need_nx[gk] = ND32[YW-1:0];
            assign rel_nx[gk]  = RL32[YW-1:0];
        end
    endgenerate
    localparam [31:0] ND0_32 = row_need(0);
    localparam [31:0] RL0_32 = row_rel(0);
    reg  [YW-1:0] need_q;    // row_need(oy)
    reg  [YW-1:0] rel_q;     // row_rel(oy)
    wire          row_ok = $signed(held) >= $signed(need_q);
    wire [YW-1:0] a_sh   = a + Y_SH;
    assign rel_rows = rel_q;

    wire ob_ready;            // the output buffer has room
    reg  s1_v;                // a read word is in stage 1
    wire last_v;              // the last stage (1, or 2 with MEM_PIPE) holds a beat
    wire en    = ob_ready || !last_v;
    wire issue = en && row_ok;
    wire j_end  = (j == J_LAST);
    wire ky_end = j_end && (ky == KY_LAST);
    wire ox_end = ky_end && (ox == OX_LAST);
    wire oy_end = ox_end && (oy == OY_LAST);
    assign rel_fire = issue && ox_end;

    wire pad = p[PW-1] || (p >= P_ROWW) || iy[YW-1] || ($signed(iy) >= $signed(Y_IH));
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PW-1:0] p_lo = p;   // non-negative and < ROWW when read
    /* verilator lint_on UNUSEDSIGNAL */
    wire [AW-1:0] rd_addr = base_y + p_lo[AW-1:0];

    wire [AW-1:0] base_oy = addmod(base_a, OY_STEP_A);
    wire [AW-1:0] base_fr = addmod(base_a, FR_STEP_A);

    always @(posedge clk) begin
        if (rst) begin
            j      <= {JW{1'b0}};
            ky     <= {KYW{1'b0}};
            ox     <= {OXW{1'b0}};
            oy     <= {OYW{1'b0}};
            col0   <= P_START;
            p      <= P_START;
            a      <= Y_START;
            iy     <= Y_START;
            base_a <= A0_BASE;
            base_y <= A0_BASE;
            need_q <= ND0_32[YW-1:0];
            rel_q  <= RL0_32[YW-1:0];
        end else if (issue) begin
            if (!j_end) begin
                j <= j + 1'b1;
                p <= p + 1'b1;
            end else begin
                j <= {JW{1'b0}};
                if (!ky_end) begin                      // next kernel row
                    ky     <= ky + 1'b1;
                    p      <= col0;
                    iy     <= iy + Y_ONE;
                    base_y <= addmod(base_y, ROW_STEP_A);
                end else begin
                    ky <= {KYW{1'b0}};
                    if (!ox_end) begin                  // next window, same output row
                        ox     <= ox + 1'b1;
                        col0   <= col0 + P_STEP;
                        p      <= col0 + P_STEP;
                        iy     <= a;
                        base_y <= base_a;
                    end else begin
                        ox     <= {OXW{1'b0}};
                        col0   <= P_START;
                        p      <= P_START;
                        need_q <= need_nx[oy];
                        rel_q  <= rel_nx[oy];
                        if (!oy_end) begin              // next output row
                            oy     <= oy + 1'b1;
                            a      <= a_sh;
                            iy     <= a_sh;
                            base_a <= base_oy;
                            base_y <= base_oy;
                        end else begin                  // next frame
                            oy     <= {OYW{1'b0}};
                            a      <= Y_START;
                            iy     <= Y_START;
                            base_a <= base_fr;
                            base_y <= base_fr;
                        end
                    end
                end
            end
        end
    end

    // ---------------------------------------------------------------- line buffer RAM
    // read whenever the pipeline moves (a word read without an issue, or for padding, is
    // never used): the enable is not behind the row compares (an ECP5 critical path into
    // the block RAM's clock enable)
    wire [DW-1:0] rd_q;
    hw_ram #(.WIDTH(DW), .DEPTH(DEPTH), .RAM_STYLE(RAM_STYLE)) u_lbuf (
        .clk(clk), .we(in_fire), .waddr(wr_addr), .wdata(in_data),
        .re(en), .raddr(rd_addr), .rdata(rd_q));

    // ---------------------------------------------------------------- stage 1
    reg s1_pad;
    always @(posedge clk) begin
        if (rst)     s1_v <= 1'b0;
        else if (en) s1_v <= issue;
    end
    always @(posedge clk) if (en) s1_pad <= pad;

    // the padding lane: PAD_VALUE's low W bits (sign-extended beyond 32 bits)
    wire [W-1:0] pad_lane;
    generate
        if (W <= 32) begin : g_pad
            assign pad_lane = PAD32[W-1:0];
        end else begin : g_padx
            assign pad_lane = {{(W-32){PAD32[31]}}, PAD32};
        end
    endgenerate

    // ---------------------------------------------------------------- MEM_PIPE stage 2
    wire [DW-1:0] ob_data;
    generate
        if (MEM_PIPE != 0) begin : g_mreg
            // the word itself is registered (no mux in front), the padding chosen after
            reg          s2_v, s2_pad;
            reg [DW-1:0] s2_d;
            always @(posedge clk) begin
                if (rst)     s2_v <= 1'b0;
                else if (en) s2_v <= s1_v;
            end
            always @(posedge clk) begin
                if (en) begin
                    s2_d   <= rd_q;
                    s2_pad <= s1_pad;
                end
            end
            assign last_v  = s2_v;
            assign ob_data = s2_pad ? {SIMD{pad_lane}} : s2_d;
        end else begin : g_mcomb
            assign last_v  = s1_v;
            assign ob_data = s1_pad ? {SIMD{pad_lane}} : rd_q;
        end
    endgenerate

    // ---------------------------------------------------------------- 2-entry output buffer
    hw_outbuf #(.WIDTH(DW)) u_obuf (
        .clk(clk), .rst(rst),
        .in_data(ob_data), .in_valid(last_v), .in_ready(ob_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
endmodule
`default_nettype wire
