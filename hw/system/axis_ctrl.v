// axis_ctrl.v — the AXI side of the accelerator IP on a Zynq with AXI DMAs: AXI4-Lite
// control registers, the input and output AXI4-Streams, batch and cycle counters.
// The generated shell BUILD/system/axis_accel.v (sim/flow/cosim.py `axi_shell`) joins it
// to rtl/top.v and to one AXI4-Stream per external weight stream (weights in DDR).
//
// s_axis (from the DMA's MM2S): TDATA_IN bits per beat, one beat of top's input per
// AXI beat (top's IN_BYTES in the low bytes, the rest padding), TLAST ignored.
// m_axis (to the DMA's S2MM): one beat of top's output per AXI beat, padded to
// TDATA_OUT bits; TLAST on the last beat of the batch (FRAMES frames), so one S2MM
// transfer of FRAMES * OUT_FRAME_BYTES bytes completes exactly.
// s_axi_ctrl (AXI4-Lite, 32-bit registers):
//   0x00 CTRL        W: bit 0 = 1 resets the accelerator and the counters (self-clearing)
//   0x04 STATUS      R: bit 0 busy (a batch is in flight), bit 1 done (last batch ended)
//   0x08 FRAMES      RW: frames in the next batch (write before starting the DMA)
//   0x0C CYCLES      R: clock cycles from the first input beat to the last output beat
//   0x10 MAGIC       R: "HWV1"
//   0x14 MODEL_ID    R: identifies the compiled model (the driver checks it)
//   0x18 IN_FRAME_BYTES / 0x1C OUT_FRAME_BYTES   R: DMA bytes per frame each way
//   0x20 FRAMES_DONE R: frames out since the FRAMES write
//   0x24 N_EXT_WEIGHTS R: external weight streams (their own DMAs feed them)
// Latency: none added (the streams pass straight through to the accelerator ports).
// Throughput: one beat per cycle each way; the accelerator is the limit.
`default_nettype none
module axis_ctrl #(
    parameter integer IN_BYTES        = 8,   // bytes per input beat of top
    parameter integer OUT_BYTES       = 8,   // bytes per output beat of top
    parameter integer TDATA_IN        = 64,  // s_axis TDATA bits: 8 * 2^k >= 8*IN_BYTES
    parameter integer TDATA_OUT       = 64,  // m_axis TDATA bits: 8 * 2^k >= 8*OUT_BYTES
    parameter integer IN_BEATS        = 8,   // input beats per frame
    parameter integer OUT_BEATS       = 2,   // output beats per frame
    parameter [31:0]  MODEL_ID        = 0,
    parameter integer N_EXT_WEIGHTS   = 0    // external weight streams (read back only)
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,    // active low
    // AXI4-Stream in
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [TDATA_IN-1:0]    s_axis_tdata,   // bits above 8*IN_BYTES: padding
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    input  wire                   s_axis_tlast,   // frames are counted, not delimited
    // AXI4-Stream out
    output wire [TDATA_OUT-1:0]   m_axis_tdata,
    output wire [TDATA_OUT/8-1:0] m_axis_tkeep,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,
    output wire                   m_axis_tlast,
    // AXI4-Lite control
    input  wire [5:0]             s_axi_ctrl_awaddr,
    input  wire                   s_axi_ctrl_awvalid,
    output reg                    s_axi_ctrl_awready,
    input  wire [31:0]            s_axi_ctrl_wdata,
    input  wire [3:0]             s_axi_ctrl_wstrb, // registers are written whole
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                   s_axi_ctrl_wvalid,
    output reg                    s_axi_ctrl_wready,
    output wire [1:0]             s_axi_ctrl_bresp,
    output reg                    s_axi_ctrl_bvalid,
    input  wire                   s_axi_ctrl_bready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [5:0]             s_axi_ctrl_araddr,  // [1:0]: byte lanes, unused
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                   s_axi_ctrl_arvalid,
    output reg                    s_axi_ctrl_arready,
    output reg  [31:0]            s_axi_ctrl_rdata,
    output wire [1:0]             s_axi_ctrl_rresp,
    output reg                    s_axi_ctrl_rvalid,
    input  wire                   s_axi_ctrl_rready,
    // accelerator side (rtl/top.v)
    output wire                   acc_rst,     // synchronous, active high
    output wire [8*IN_BYTES-1:0]  acc_in_data,
    output wire                   acc_in_valid,
    input  wire                   acc_in_ready,
    input  wire [8*OUT_BYTES-1:0] acc_out_data,
    input  wire                   acc_out_valid,
    output wire                   acc_out_ready
);
    initial begin
        if (TDATA_IN < 8 * IN_BYTES) begin
            $display("ERROR: %m: TDATA_IN=%0d is narrower than top's input bus (%0d bits)", TDATA_IN, 8 * IN_BYTES);
            $finish;
        end
        if (TDATA_OUT < 8 * OUT_BYTES) begin
            $display("ERROR: %m: TDATA_OUT=%0d is narrower than top's output bus (%0d bits)", TDATA_OUT, 8 * OUT_BYTES);
            $finish;
        end
        if (N_EXT_WEIGHTS < 0) begin
            $display("ERROR: %m: N_EXT_WEIGHTS=%0d must be >= 0", N_EXT_WEIGHTS);
            $finish;
        end
    end
    // 32-bit register values (a plain Verilog-2005 way to size a parameter expression)
    localparam [31:0] OUT_BEAT_LAST = OUT_BEATS - 1;
    localparam [31:0] IN_DMA_BYTES  = IN_BEATS * TDATA_IN / 8;
    localparam [31:0] OUT_DMA_BYTES = OUT_BEATS * TDATA_OUT / 8;
    localparam [31:0] N_EXT32       = N_EXT_WEIGHTS;
    wire clk = ap_clk;
    reg soft_rst;
    wire rst = !ap_rst_n || soft_rst;

    // control registers --------------------------------------------------------------
    reg [31:0] frames, cycles, frames_done, beat_in_frame;
    reg busy, done;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [5:0] awaddr;  // [1:0] unused
    /* verilator lint_on UNUSEDSIGNAL */
    reg have_aw, have_w;
    reg [31:0] wdata;
    assign s_axi_ctrl_bresp = 2'b00;
    assign s_axi_ctrl_rresp = 2'b00;

    wire in_fire = s_axis_tvalid && s_axis_tready;
    wire out_fire = m_axis_tvalid && m_axis_tready;
    wire last_beat = beat_in_frame == OUT_BEAT_LAST;
    wire batch_last = last_beat && frames_done + 1 == frames;

    always @(posedge clk) begin
        soft_rst <= 1'b0;
        if (!ap_rst_n) begin
            s_axi_ctrl_awready <= 1'b0;
            s_axi_ctrl_wready <= 1'b0;
            s_axi_ctrl_bvalid <= 1'b0;
            s_axi_ctrl_arready <= 1'b0;
            s_axi_ctrl_rvalid <= 1'b0;
            have_aw <= 1'b0;
            have_w <= 1'b0;
            frames <= 1;
        end else begin
            // write: take address and data in any order, then respond
            s_axi_ctrl_awready <= !have_aw && s_axi_ctrl_awvalid && !s_axi_ctrl_awready;
            s_axi_ctrl_wready <= !have_w && s_axi_ctrl_wvalid && !s_axi_ctrl_wready;
            if (s_axi_ctrl_awvalid && s_axi_ctrl_awready) begin
                awaddr <= s_axi_ctrl_awaddr;
                have_aw <= 1'b1;
            end
            if (s_axi_ctrl_wvalid && s_axi_ctrl_wready) begin
                wdata <= s_axi_ctrl_wdata;
                have_w <= 1'b1;
            end
            if (have_aw && have_w && !s_axi_ctrl_bvalid) begin
                have_aw <= 1'b0;
                have_w <= 1'b0;
                s_axi_ctrl_bvalid <= 1'b1;
                case (awaddr[5:2])
                    4'h0: soft_rst <= wdata[0];
                    4'h2: frames <= wdata;
                    default: ;
                endcase
            end
            if (s_axi_ctrl_bvalid && s_axi_ctrl_bready) s_axi_ctrl_bvalid <= 1'b0;
            // read
            s_axi_ctrl_arready <= s_axi_ctrl_arvalid && !s_axi_ctrl_arready && !s_axi_ctrl_rvalid;
            if (s_axi_ctrl_arvalid && s_axi_ctrl_arready) begin
                s_axi_ctrl_rvalid <= 1'b1;
                case (s_axi_ctrl_araddr[5:2])
                    4'h1: s_axi_ctrl_rdata <= {30'b0, done, busy};
                    4'h2: s_axi_ctrl_rdata <= frames;
                    4'h3: s_axi_ctrl_rdata <= cycles;
                    4'h4: s_axi_ctrl_rdata <= "1VWH";  // bytes 'H','W','V','1' in memory
                    4'h5: s_axi_ctrl_rdata <= MODEL_ID;
                    4'h6: s_axi_ctrl_rdata <= IN_DMA_BYTES;
                    4'h7: s_axi_ctrl_rdata <= OUT_DMA_BYTES;
                    4'h8: s_axi_ctrl_rdata <= frames_done;
                    4'h9: s_axi_ctrl_rdata <= N_EXT32;
                    default: s_axi_ctrl_rdata <= 32'h0;
                endcase
            end
            if (s_axi_ctrl_rvalid && s_axi_ctrl_rready) s_axi_ctrl_rvalid <= 1'b0;
        end
    end

    // batch counters: a FRAMES write starts a new batch -------------------------------
    wire frames_write = have_aw && have_w && !s_axi_ctrl_bvalid && awaddr[5:2] == 4'h2;
    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            done <= 1'b0;
            cycles <= 0;
            frames_done <= 0;
            beat_in_frame <= 0;
        end else if (frames_write) begin
            done <= 1'b0;
            busy <= 1'b0;
            cycles <= 0;
            frames_done <= 0;
            beat_in_frame <= 0;
        end else begin
            if (in_fire && !busy && !done) busy <= 1'b1;
            if (busy || (in_fire && !done)) cycles <= cycles + 1;
            if (out_fire) begin
                beat_in_frame <= last_beat ? 32'd0 : beat_in_frame + 1;
                if (last_beat) frames_done <= frames_done + 1;
                if (batch_last) begin
                    busy <= 1'b0;
                    done <= 1'b1;
                end
            end
        end
    end

    // the accelerator ------------------------------------------------------------------
    assign acc_rst = rst;
    assign acc_in_data = s_axis_tdata[8*IN_BYTES-1:0];
    assign acc_in_valid = s_axis_tvalid;
    assign s_axis_tready = acc_in_ready;
    generate  // top's output beat in the low bits, zero padding above
        if (TDATA_OUT > 8 * OUT_BYTES) begin : g_pad
            assign m_axis_tdata = {{(TDATA_OUT - 8 * OUT_BYTES){1'b0}}, acc_out_data};
        end else begin : g_nopad
            assign m_axis_tdata = acc_out_data;
        end
    endgenerate
    assign m_axis_tvalid = acc_out_valid;
    assign acc_out_ready = m_axis_tready;
    assign m_axis_tkeep = {(TDATA_OUT/8){1'b1}};
    assign m_axis_tlast = batch_last;
endmodule
`default_nettype wire
