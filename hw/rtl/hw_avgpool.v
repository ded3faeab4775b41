// hw_avgpool.v — sum-pool (the integer part of an average pool) over KH x KW windows that
// do not overlap (stride SH >= KH, SW >= KW); the division by KH*KW is the compiler's,
// folded exactly into the thresholds of the layer that reads the sums.
//
// Input beat: PE lanes of W bits (lane l at bits [l*W +: W]): two's complement when
// SIGNED, plain unsigned otherwise, or one bit meaning +1 (1) / -1 (0) when BIPOLAR.
// A frame is IH*IW pixels, row-major, each CF = C/PE beats, channel-fastest: lane l of
// beat g of a pixel is channel g*PE+l.
// Output beat: PE lanes of OUT_W bits, the same packing (two's complement when SIGNED or
// BIPOLAR). A frame is OH*OW pixels, OH = (IH-KH)/SH + 1, OW = (IW-KW)/SW + 1 (no
// padding): channel c of output pixel (oy, ox) is the sum of channel c over input pixels
// (oy*SH+ky, ox*SW+kx), 0 <= ky < KH, 0 <= kx < KW, modulo 2^OUT_W (the compiler sizes
// OUT_W so that every sum fits). Pixels in no window are consumed and ignored.
// A global average pool is the window of the whole image (KH = SH = IH, KW = SW = IW).
//
// Structure: stage 0 adds each input beat into the horizontal partial sum of its
// channel group (one bank of CF words: each column is in at most one window); the beat
// in the window's last column passes its horizontal sum to stage 1, which adds it into
// the vertical partial sum of window column ox (one bank of OW*CF words, addresses in
// arrival order); the beat of the window's last row is the finished output beat, which
// goes to a 2-entry output buffer. Banks are read-modify-write memories (RAM_STYLE) with
// the next address read ahead, or registers when one word deep.
// Throughput: one input beat per cycle while out_ready is high: exactly IH*IW*CF cycles
// per frame, frames back to back (compiler/blocks/avgpool.py, avgpool_cycles_per_frame).
// Latency: 2 cycles: the output beat of window (oy, ox), channel group g, is valid in
// cycle c+2 when the input beat (oy*SH+KH-1, ox*SW+KW-1, g) is accepted in cycle c.
// Backpressure: the pipeline (and in_ready) stalls only when a finished output beat
// finds the output buffer full; in_ready depends on registers only.
`default_nettype none
module hw_avgpool #(
    parameter integer C         = 4,    // channels per pixel
    parameter integer IH        = 6,    // input image height (rows)
    parameter integer IW        = 6,    // input image width (columns)
    parameter integer KH        = 2,    // window height
    parameter integer KW        = 2,    // window width
    parameter integer SH        = 2,    // vertical stride, >= KH
    parameter integer SW        = 2,    // horizontal stride, >= KW
    parameter integer PE        = 2,    // lanes per beat, in and out; divides C
    parameter integer W         = 2,    // bits per input lane
    parameter integer SIGNED    = 0,    // 1: input lanes are two's complement
    parameter integer BIPOLAR   = 0,    // 1: 1-bit input lanes, 1 = +1 and 0 = -1
    parameter integer OUT_W     = 4,    // bits per output lane (a window's sum)
    parameter [8*11-1:0] RAM_STYLE = "auto" // banks: "auto" | "block" | "distributed" | "ultra"
) (
    input  wire                 clk,
    input  wire                 rst,        // synchronous, active high
    // input stream: one pixel = C/PE beats of PE lanes of W bits
    input  wire [PE*W-1:0]      in_data,
    input  wire                 in_valid,
    output wire                 in_ready,
    // output stream: one pooled pixel = C/PE beats of PE lanes of OUT_W bits
    output wire [PE*OUT_W-1:0]  out_data,
    output wire                 out_valid,
    input  wire                 out_ready
);
    // ---------------------------------------------------------------- derived constants
    localparam integer CF  = (PE >= 1) ? C / PE : 1;        // beats per pixel
    localparam integer OH  = (IH - KH) / SH + 1;            // output rows
    localparam integer OW  = (IW - KW) / SW + 1;            // output columns
    localparam integer VD  = OW * CF;                       // words of the vertical bank
    localparam integer DW  = PE * OUT_W;                    // bits per partial-sum word
    localparam integer CGW = (CF > 1) ? $clog2(CF) : 1;
    localparam integer VAW = (VD > 1) ? $clog2(VD) : 1;
    localparam integer XW  = $clog2(IW + SW + 1);           // columns, window columns, phases
    localparam integer YW  = $clog2(IH + SH + 1);           // rows, window rows, phases
    localparam [31:0] CF_M1_32 = CF - 1;
    localparam [31:0] VD_M1_32 = VD - 1;
    localparam [31:0] IW_M1_32 = IW - 1;
    localparam [31:0] IH_M1_32 = IH - 1;
    localparam [31:0] KW_32    = KW;
    localparam [31:0] KH_32    = KH;
    localparam [31:0] SW_M1_32 = SW - 1;
    localparam [31:0] SH_M1_32 = SH - 1;
    localparam [31:0] OW_32    = OW;
    localparam [31:0] OH_32    = OH;
    localparam [CGW-1:0] CG_LAST = CF_M1_32[CGW-1:0];
    localparam [VAW-1:0] VA_LAST = VD_M1_32[VAW-1:0];
    localparam [XW-1:0]  X_LAST  = IW_M1_32[XW-1:0];
    localparam [YW-1:0]  Y_LAST  = IH_M1_32[YW-1:0];
    localparam [XW-1:0]  X_K     = KW_32[XW-1:0];
    localparam [YW-1:0]  Y_K     = KH_32[YW-1:0];
    localparam [XW-1:0]  X_PLAST = SW_M1_32[XW-1:0];
    localparam [YW-1:0]  Y_PLAST = SH_M1_32[YW-1:0];
    localparam [XW-1:0]  X_WINS  = OW_32[XW-1:0];
    localparam [YW-1:0]  Y_WINS  = OH_32[YW-1:0];
    localparam [XW-1:0]  X_KM1   = X_K - 1'b1;
    localparam [YW-1:0]  Y_KM1   = Y_K - 1'b1;
    localparam [8*11-1:0] STYLE_AUTO  = "auto";
    localparam [8*11-1:0] STYLE_BLOCK = "block";
    localparam [8*11-1:0] STYLE_DIST  = "distributed";
    localparam [8*11-1:0] STYLE_ULTRA = "ultra";

    initial begin
        if (C < 1) begin $display("ERROR: %m: C=%0d must be >= 1", C); $finish; end
        if (PE < 1 || PE > C || (C % PE) != 0) begin
            $display("ERROR: %m: PE=%0d must divide C=%0d", PE, C);
            $finish;
        end
        if (IH < 1 || IW < 1) begin
            $display("ERROR: %m: IH=%0d and IW=%0d must be >= 1", IH, IW);
            $finish;
        end
        if (KH < 1 || KW < 1 || KH > IH || KW > IW) begin
            $display("ERROR: %m: the window KH=%0d x KW=%0d must fit the image IH=%0d x IW=%0d", KH, KW, IH, IW);
            $finish;
        end
        if (SH < KH || SW < KW) begin
            $display("ERROR: %m: strides SH=%0d, SW=%0d must be >= the window KH=%0d, KW=%0d (no overlap)", SH, SW, KH, KW);
            $finish;
        end
        if (W < 1 || OUT_W < W) begin
            $display("ERROR: %m: W=%0d and OUT_W=%0d must satisfy 1 <= W <= OUT_W", W, OUT_W);
            $finish;
        end
        if (SIGNED != 0 && SIGNED != 1) begin
            $display("ERROR: %m: SIGNED=%0d must be 0 or 1", SIGNED);
            $finish;
        end
        if (BIPOLAR != 0 && (BIPOLAR != 1 || W != 1 || SIGNED != 0 || OUT_W < 2)) begin
            $display("ERROR: %m: BIPOLAR=%0d needs W=1, SIGNED=0 and OUT_W >= 2", BIPOLAR);
            $finish;
        end
        if (XW > 31 || YW > 31) begin
            $display("ERROR: %m: geometry too large (counter bits XW=%0d YW=%0d)", XW, YW);
            $finish;
        end
        if (RAM_STYLE != STYLE_AUTO && RAM_STYLE != STYLE_BLOCK && RAM_STYLE != STYLE_DIST
            && RAM_STYLE != STYLE_ULTRA) begin
            $display("ERROR: %m: RAM_STYLE=\"%0s\" must be auto, block, distributed or ultra", RAM_STYLE);
            $finish;
        end
    end

    // the input beat's lanes widened to OUT_W bits (sign-extended, or +-1 when BIPOLAR)
    function automatic [DW-1:0] widen(input [PE*W-1:0] u);
        integer l;
        /* verilator lint_off UNUSEDSIGNAL */
        reg [OUT_W+W-1:0] t;  // the lane under OUT_W extension bits; the top W unused
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            for (l = 0; l < PE; l = l + 1) begin
                t = {{OUT_W{(SIGNED != 0) && u[l*W + W - 1]}}, u[l*W +: W]};
                if (BIPOLAR != 0) t = u[l*W] ? {{(OUT_W+W-1){1'b0}}, 1'b1} : {(OUT_W+W){1'b1}};
                widen[l*OUT_W +: OUT_W] = t[OUT_W-1:0];
            end
        end
    endfunction

    // lane-wise sum of two partial-sum words (modulo 2^OUT_W per lane)
    function automatic [DW-1:0] add(input [DW-1:0] u, input [DW-1:0] v);
        integer l;
        begin
            for (l = 0; l < PE; l = l + 1)
                add[l*OUT_W +: OUT_W] = u[l*OUT_W +: OUT_W] + v[l*OUT_W +: OUT_W];
        end
    endfunction

    // ---------------------------------------------------------------- pipeline control
    wire ob_ready;           // the output buffer has room
    reg  s1_last;            // stage 1 holds a finished output beat
    wire en   = ob_ready || !s1_last;
    wire fire = in_valid && en;
    assign in_ready = en;

    // ---------------------------------------------------------------- stage 0: position
    reg [CGW-1:0] cg;        // channel group of the input beat
    reg [XW-1:0]  x, xp, ox; // column, its phase in the stride, its window column
    reg [YW-1:0]  y, yp, oy; // row, its phase in the stride, its window row
    wire pix_end   = (cg == CG_LAST);
    wire row_end   = pix_end && (x == X_LAST);
    wire frame_end = row_end && (y == Y_LAST);
    wire [CGW-1:0] cg_nx = pix_end ? {CGW{1'b0}} : cg + 1'b1;
    wire x_wrap = (xp == X_PLAST);
    wire y_wrap = (yp == Y_PLAST);

    always @(posedge clk) begin
        if (rst) begin
            cg <= {CGW{1'b0}};
            x  <= {XW{1'b0}};
            xp <= {XW{1'b0}};
            ox <= {XW{1'b0}};
            y  <= {YW{1'b0}};
            yp <= {YW{1'b0}};
            oy <= {YW{1'b0}};
        end else if (fire) begin
            cg <= cg_nx;
            if (row_end) begin
                x  <= {XW{1'b0}};
                xp <= {XW{1'b0}};
                ox <= {XW{1'b0}};
            end else if (pix_end) begin
                x  <= x + 1'b1;
                xp <= x_wrap ? {XW{1'b0}} : xp + 1'b1;
                if (x_wrap) ox <= ox + 1'b1;
            end
            if (frame_end) begin
                y  <= {YW{1'b0}};
                yp <= {YW{1'b0}};
                oy <= {YW{1'b0}};
            end else if (row_end) begin
                y  <= y + 1'b1;
                yp <= y_wrap ? {YW{1'b0}} : yp + 1'b1;
                if (y_wrap) oy <= oy + 1'b1;
            end
        end
    end

    wire h_in  = (xp < X_K) && (ox < X_WINS);   // the column is in a window
    wire v_in  = (yp < Y_K) && (oy < Y_WINS);   // the row is in a window
    wire h_st  = (xp == {XW{1'b0}});
    wire h_end = h_in && (xp == X_KM1);
    wire v_st  = (yp == {YW{1'b0}});
    wire v_end = (yp == Y_KM1);
    wire h_we  = fire && h_in && v_in;

    // ---------------------------------------------------------------- horizontal bank
    wire [DW-1:0] h_q;
    wire [DW-1:0] h_new = h_st ? widen(in_data) : add(h_q, widen(in_data));
    generate
        if (CF == 1) begin : g_hreg
            reg [DW-1:0] acc;
            always @(posedge clk) if (h_we) acc <= h_new;
            assign h_q = acc;
        end else begin : g_hram
            hw_ram #(.WIDTH(DW), .DEPTH(CF), .RAM_STYLE(RAM_STYLE)) u_hbank (
                .clk(clk), .we(h_we), .waddr(cg), .wdata(h_new),
                .re(fire), .raddr(cg_nx), .rdata(h_q));
        end
    endgenerate

    // ---------------------------------------------------------------- stage 1
    reg          s1_v;       // a horizontal sum is in stage 1
    reg [DW-1:0] s1_h;
    reg          s1_st;      // it starts its window's vertical sum
    always @(posedge clk) begin
        if (rst) begin
            s1_v    <= 1'b0;
            s1_last <= 1'b0;
        end else if (en) begin
            s1_v    <= h_we && h_end;
            s1_last <= h_we && h_end && v_end;
        end
    end
    always @(posedge clk) begin
        if (en) begin
            s1_h  <= h_new;
            s1_st <= v_st;
        end
    end

    // vertical address: window column * CF + channel group, one step per horizontal sum
    reg  [VAW-1:0] va;
    wire           s1_go = en && s1_v;
    wire [VAW-1:0] va_nx = (va == VA_LAST) ? {VAW{1'b0}} : va + 1'b1;
    always @(posedge clk) begin
        if (rst)        va <= {VAW{1'b0}};
        else if (s1_go) va <= va_nx;
    end

    wire [DW-1:0] v_q;
    wire [DW-1:0] v_new = s1_st ? s1_h : add(v_q, s1_h);
    generate
        if (VD == 1) begin : g_vreg
            reg [DW-1:0] acc;
            always @(posedge clk) if (s1_go) acc <= v_new;
            assign v_q = acc;
        end else begin : g_vram
            hw_ram #(.WIDTH(DW), .DEPTH(VD), .RAM_STYLE(RAM_STYLE)) u_vbank (
                .clk(clk), .we(s1_go), .waddr(va), .wdata(v_new),
                .re(s1_go), .raddr(va_nx), .rdata(v_q));
        end
    endgenerate

    // ---------------------------------------------------------------- 2-entry output buffer
    hw_outbuf #(.WIDTH(DW)) u_obuf (
        .clk(clk), .rst(rst),
        .in_data(v_new), .in_valid(s1_last), .in_ready(ob_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
endmodule
`default_nettype wire
