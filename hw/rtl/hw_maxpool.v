// hw_maxpool.v — max-pool (per-channel max or min) over KH x KW windows, stride SH, SW.
//
// Input beat: PE lanes of W bits (lane l at bits [l*W +: W]). A frame is IH*IW pixels in
// row-major order (y outer, x inner), each pixel CF = C/PE beats, channel-fastest: lane l
// of beat g of a pixel is channel g*PE+l.
// Output beat: the same packing. A frame is OH*OW pixels, OH = (IH-KH)/SH + 1 and
// OW = (IW-KW)/SW + 1 (no padding, floor): channel c of output pixel (oy, ox) is the max
// (MIN_MASK[c] == 0) or the min (MIN_MASK[c] == 1) of channel c over input pixels
// (oy*SH+ky, ox*SW+kx), 0 <= ky < KH, 0 <= kx < KW, compared as SIGNED two's complement or
// unsigned. Input rows/columns covered by no window are consumed and ignored.
//
// Structure: stage 0 takes one input beat and updates the horizontal partial results of
// the (at most NH = ceil(KW/SW)) windows that contain its column, one bank of CF words
// per window phase (window ox in bank ox mod NH); when the beat is the last column of a
// window, that window's horizontal result goes to stage 1, which folds it into the
// vertical partial results, one bank of OW*CF words per row phase (NV = ceil(KH/SH),
// output row oy in bank oy mod NV). When the beat is in the last row of an output row's
// windows, the finished output beat goes to a 2-entry output buffer: an output row is
// emitted while its last input row arrives. Banks are read-modify-write memories
// (RAM_STYLE) with the next address read ahead, or registers when one word deep.
// Throughput: one input beat per cycle as long as out_ready is high: exactly
// IH*IW*CF cycles per frame, frames back to back with no gap (hw/cycles.py,
// maxpool_cycles_per_frame).
// Latency: 2 cycles: the output beat of window (oy, ox), channel group g, is valid in
// cycle c+2 when the input beat (oy*SH+KH-1, ox*SW+KW-1, g) is accepted in cycle c.
// Backpressure: the pipeline (and in_ready) stalls only when a finished output beat
// finds the output buffer full; in_ready depends on registers only (no path from
// out_ready).
`default_nettype none
module hw_maxpool #(
    parameter integer C         = 4,    // channels per pixel
    parameter integer IH        = 7,    // input image height (rows)
    parameter integer IW        = 7,    // input image width (columns)
    parameter integer KH        = 3,    // window height
    parameter integer KW        = 3,    // window width
    parameter integer SH        = 2,    // vertical stride
    parameter integer SW        = 2,    // horizontal stride
    parameter integer PE        = 2,    // lanes per beat, in and out; divides C
    parameter integer W         = 8,    // bits per lane
    parameter integer SIGNED    = 0,    // 1: lanes are two's complement, 0: unsigned
    parameter [C-1:0] MIN_MASK  = {C{1'b0}}, // bit c = 1: channel c takes the min, 0: max
    parameter [8*11-1:0] RAM_STYLE = "auto" // banks: "auto" | "block" | "distributed" | "ultra"
) (
    input  wire                clk,
    input  wire                rst,        // synchronous, active high
    // input stream: one pixel = C/PE beats of PE lanes
    input  wire [PE*W-1:0]     in_data,
    input  wire                in_valid,
    output wire                in_ready,
    // output stream: one pooled pixel = C/PE beats of PE lanes
    output wire [PE*W-1:0]     out_data,
    output wire                out_valid,
    input  wire                out_ready
);
    // ---------------------------------------------------------------- derived constants
    localparam integer CF  = (PE >= 1) ? C / PE : 1;        // beats per pixel
    localparam integer OH  = (IH - KH) / SH + 1;            // output rows
    localparam integer OW  = (IW - KW) / SW + 1;            // output columns
    localparam integer NH  = (KW + SW - 1) / SW;            // horizontal banks
    localparam integer NV  = (KH + SH - 1) / SH;            // vertical banks
    localparam integer VD  = OW * CF;                       // words per vertical bank
    localparam integer DW  = PE * W;                        // bits per beat
    localparam integer CGW = (CF > 1) ? $clog2(CF) : 1;
    localparam integer VAW = (VD > 1) ? $clog2(VD) : 1;
    localparam integer XW  = $clog2(IW + NH * SW + KW + 1); // columns and window starts
    localparam integer YW  = $clog2(IH + NV * SH + KH + 1); // rows and window starts
    localparam [31:0] CF_M1_32 = CF - 1;
    localparam [31:0] VD_M1_32 = VD - 1;
    localparam [31:0] IW_M1_32 = IW - 1;
    localparam [31:0] IH_M1_32 = IH - 1;
    localparam [31:0] KW_M1_32 = KW - 1;
    localparam [31:0] KH_M1_32 = KH - 1;
    localparam [31:0] HSTEP32  = NH * SW;
    localparam [31:0] VSTEP32  = NV * SH;
    localparam [31:0] HLAST32  = (OW - 1) * SW;             // start of the last window
    localparam [31:0] VLAST32  = (OH - 1) * SH;
    localparam [CGW-1:0] CG_LAST = CF_M1_32[CGW-1:0];
    localparam [VAW-1:0] VA_LAST = VD_M1_32[VAW-1:0];
    localparam [XW-1:0]  X_LAST  = IW_M1_32[XW-1:0];
    localparam [YW-1:0]  Y_LAST  = IH_M1_32[YW-1:0];
    localparam [XW-1:0]  X_KM1   = KW_M1_32[XW-1:0];
    localparam [YW-1:0]  Y_KM1   = KH_M1_32[YW-1:0];
    localparam [XW-1:0]  X_STEP  = HSTEP32[XW-1:0];
    localparam [YW-1:0]  Y_STEP  = VSTEP32[YW-1:0];
    localparam [XW-1:0]  X_HLAST = HLAST32[XW-1:0];
    localparam [YW-1:0]  Y_VLAST = VLAST32[YW-1:0];
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
        if (KH < 1 || KW < 1) begin
            $display("ERROR: %m: KH=%0d and KW=%0d must be >= 1", KH, KW);
            $finish;
        end
        if (KH > IH || KW > IW) begin
            $display("ERROR: %m: the window KH=%0d x KW=%0d exceeds the image IH=%0d x IW=%0d", KH, KW, IH, IW);
            $finish;
        end
        if (SH < 1 || SW < 1) begin
            $display("ERROR: %m: SH=%0d and SW=%0d must be >= 1", SH, SW);
            $finish;
        end
        if (W < 1) begin $display("ERROR: %m: W=%0d must be >= 1", W); $finish; end
        if (SIGNED != 0 && SIGNED != 1) begin
            $display("ERROR: %m: SIGNED=%0d must be 0 or 1", SIGNED);
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

    // lane-wise max (mk[l] == 0) or min (mk[l] == 1) of two beats
    function automatic [DW-1:0] pool(input [DW-1:0] u, input [DW-1:0] v, input [PE-1:0] mk);
        integer l;
        reg [W-1:0] ul, vl;
        reg         gt;
        begin
            for (l = 0; l < PE; l = l + 1) begin
                ul = u[l*W +: W];
                vl = v[l*W +: W];
                gt = (SIGNED != 0) ? ($signed(ul) > $signed(vl)) : (ul > vl);
                pool[l*W +: W] = (gt != mk[l]) ? ul : vl;
            end
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
    reg [XW-1:0]  x;         // column
    reg [YW-1:0]  y;         // row
    wire pix_end   = (cg == CG_LAST);
    wire row_end   = pix_end && (x == X_LAST);
    wire frame_end = row_end && (y == Y_LAST);
    reg  [CGW-1:0] cg_nx;    // the next channel group (the banks' read-ahead address)
    localparam [CGW-1:0] CG_ONE = {{(CGW-1){1'b0}}, 1'b1};

    always @(posedge clk) begin
        if (rst) begin
            cg    <= {CGW{1'b0}};
            cg_nx <= (CF > 1) ? CG_ONE : {CGW{1'b0}};
            x  <= {XW{1'b0}};
            y  <= {YW{1'b0}};
        end else if (fire) begin
            cg    <= cg_nx;
            cg_nx <= (cg_nx == CG_LAST) ? {CGW{1'b0}} : cg_nx + 1'b1;
            if (pix_end) x <= row_end ? {XW{1'b0}} : x + 1'b1;
            if (row_end) y <= frame_end ? {YW{1'b0}} : y + 1'b1;
        end
    end

    // MIN_MASK bits of this channel group
    reg [PE-1:0] mk;
    integer m;
    always @* begin
        mk = MIN_MASK[PE-1:0];
        for (m = 1; m < CF; m = m + 1)
            if (cg == m[CGW-1:0]) mk = MIN_MASK[m*PE +: PE];
    end

    // ---------------------------------------------------------------- horizontal banks
    wire [NH*DW-1:0] h_new;      // bank b's updated partial result
    wire [NH-1:0]    h_end;      // bank b's window ends at this column

    genvar b;
    generate
        for (b = 0; b < NH; b = b + 1) begin : g_h
            localparam [31:0] HS0_32 = b * SW;
            localparam [XW-1:0] HS0  = HS0_32[XW-1:0];     // bank b's first window start
            localparam          LIVE0 = (b < OW);
            reg  [XW-1:0] hs;        // start column of the bank's current window
            reg           live;      // the bank has a window left in this row
            wire [XW-1:0] he  = hs + X_KM1;
            wire          in_w = live && (x >= hs) && (x <= he);
            wire          st   = in_w && (x == hs);
            wire [DW-1:0] q;         // partial result of this channel group
            wire [DW-1:0] nv = st ? in_data : pool(q, in_data, mk);
            assign h_new[b*DW +: DW] = nv;
            assign h_end[b] = in_w && (x == he);

            always @(posedge clk) begin
                if (rst) begin
                    hs   <= HS0;
                    live <= LIVE0;
                end else if (fire && pix_end) begin
                    if (row_end) begin
                        hs   <= HS0;
                        live <= LIVE0;
                    end else if (h_end[b]) begin
                        hs   <= hs + X_STEP;
                        live <= (hs + X_STEP <= X_HLAST);
                    end
                end
            end

            if (CF == 1) begin : g_reg
                reg [DW-1:0] acc;
                always @(posedge clk) if (fire && in_w) acc <= nv;
                assign q = acc;
            end else begin : g_ram
                hw_ram #(.WIDTH(DW), .DEPTH(CF), .RAM_STYLE(RAM_STYLE)) u_bank (
                    .clk(clk), .we(fire && in_w), .waddr(cg), .wdata(nv),
                    .re(fire), .raddr(cg_nx), .rdata(q));
            end
        end
    endgenerate

    // the horizontal result of the window ending here (at most one bank ends per column)
    reg [DW-1:0] h_out;
    integer k;
    always @* begin
        h_out = h_new[DW-1:0];
        for (k = 1; k < NH; k = k + 1)
            if (h_end[k]) h_out = h_new[k*DW +: DW];
    end

    // ---------------------------------------------------------------- vertical row flags
    wire [NV-1:0] v_in, v_st, v_end;    // per vertical bank, for input row y

    genvar v;
    generate
        for (v = 0; v < NV; v = v + 1) begin : g_vrow
            localparam [31:0] VS0_32 = v * SH;
            localparam [YW-1:0] VS0  = VS0_32[YW-1:0];
            localparam          LIVE0 = (v < OH);
            reg  [YW-1:0] vs;        // first row of the bank's current output row
            reg           live;      // the bank has an output row left in this frame
            wire [YW-1:0] ve = vs + Y_KM1;
            assign v_in[v]  = live && (y >= vs) && (y <= ve);
            assign v_st[v]  = v_in[v] && (y == vs);
            assign v_end[v] = v_in[v] && (y == ve);

            always @(posedge clk) begin
                if (rst) begin
                    vs   <= VS0;
                    live <= LIVE0;
                end else if (fire && row_end) begin
                    if (frame_end) begin
                        vs   <= VS0;
                        live <= LIVE0;
                    end else if (v_end[v]) begin
                        vs   <= vs + Y_STEP;
                        live <= (vs + Y_STEP <= Y_VLAST);
                    end
                end
            end
        end
    endgenerate

    // ---------------------------------------------------------------- stage 1
    reg           s1_v;                 // a horizontal result is in stage 1
    reg [DW-1:0]  s1_h;
    reg [PE-1:0]  s1_mk;
    reg [NV-1:0]  s1_in, s1_st, s1_end;
    wire h_any = |h_end;

    always @(posedge clk) begin
        if (rst) begin
            s1_v    <= 1'b0;
            s1_last <= 1'b0;
        end else if (en) begin
            s1_v    <= fire && h_any;
            s1_last <= fire && h_any && (|v_end);
        end
    end
    always @(posedge clk) begin
        if (en) begin
            s1_h   <= h_out;
            s1_mk  <= mk;
            s1_in  <= v_in;
            s1_st  <= v_st;
            s1_end <= v_end;
        end
    end

    // vertical address: window column * CF + channel group, one step per horizontal result;
    // va_nx (the address read ahead) is a register of its own, so a deep bank's read
    // (LUT RAM on the ECP5: its address fans out to every cell) starts at a register
    reg  [VAW-1:0] va, va_nx;
    wire           s1_go = en && s1_v;
    localparam [VAW-1:0] VA_ONE = {{(VAW-1){1'b0}}, 1'b1};
    always @(posedge clk) begin
        if (rst) begin
            va    <= {VAW{1'b0}};
            va_nx <= (VD > 1) ? VA_ONE : {VAW{1'b0}};
        end else if (s1_go) begin
            va    <= va_nx;
            va_nx <= (va_nx == VA_LAST) ? {VAW{1'b0}} : va_nx + 1'b1;
        end
    end

    wire [NV*DW-1:0] v_new;
    generate
        for (v = 0; v < NV; v = v + 1) begin : g_v
            wire [DW-1:0] q;
            wire [DW-1:0] nv = s1_st[v] ? s1_h : pool(q, s1_h, s1_mk);
            wire          we = s1_go && s1_in[v];
            assign v_new[v*DW +: DW] = nv;
            if (VD == 1) begin : g_reg
                reg [DW-1:0] acc;
                always @(posedge clk) if (we) acc <= nv;
                assign q = acc;
            end else begin : g_ram
                hw_ram #(.WIDTH(DW), .DEPTH(VD), .RAM_STYLE(RAM_STYLE)) u_bank (
                    .clk(clk), .we(we), .waddr(va), .wdata(nv),
                    .re(s1_go), .raddr(va_nx), .rdata(q));
            end
        end
    endgenerate

    // the finished output beat (at most one bank ends per input row)
    reg [DW-1:0] result;
    integer n;
    always @* begin
        result = v_new[DW-1:0];
        for (n = 1; n < NV; n = n + 1)
            if (s1_end[n]) result = v_new[n*DW +: DW];
    end

    // ---------------------------------------------------------------- 2-entry output buffer
    hw_outbuf #(.WIDTH(DW)) u_obuf (
        .clk(clk), .rst(rst),
        .in_data(result), .in_valid(s1_last), .in_ready(ob_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
endmodule
`default_nettype wire
