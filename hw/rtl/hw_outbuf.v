// hw_outbuf.v — DEPTH-entry output buffer at the end of a block's pipeline.
//
// Each beat carries one WIDTH-bit word, passed through unchanged and in order.
// A block's pipeline advances while in_ready is high or its last stage holds no beat:
// en = in_ready || !in_valid (DEPTH = 2, two registers); or, with a deeper buffer (DEPTH
// > 2, a LUT-RAM queue), the block reserves an entry for every beat it starts and never
// stalls its pipeline (hw_mvu: no global enable). A beat pushed in cycle c is on out_data
// from cycle c+1. Throughput: one beat per cycle in and out. in_ready is a register (low
// when DEPTH entries are full), so there is no combinational path from out_ready to
// in_ready.
`default_nettype none
module hw_outbuf #(
    parameter integer WIDTH = 8,  // bits per beat
    parameter integer DEPTH = 2   // entries (>= 2)
) (
    input  wire             clk,
    input  wire             rst,        // synchronous, active high
    // input stream (the block's last pipeline stage)
    input  wire [WIDTH-1:0] in_data,
    input  wire             in_valid,
    output wire             in_ready,
    // output stream (the block's output)
    output wire [WIDTH-1:0] out_data,
    output wire             out_valid,
    input  wire             out_ready
);
    initial begin
        if (WIDTH < 1) begin $display("ERROR: %m: WIDTH=%0d must be >= 1", WIDTH); $finish; end
        if (DEPTH < 2) begin $display("ERROR: %m: DEPTH=%0d must be >= 2", DEPTH); $finish; end
    end

    generate
        if (DEPTH == 2) begin : g_regs
            reg [WIDTH-1:0] ob0, ob1;   // ob0 is the head
            reg [1:0]       ob_cnt;
            reg             ob_full;
            wire push = in_valid && !ob_full;
            wire pop  = out_valid && out_ready;

            assign in_ready  = !ob_full;
            assign out_valid = (ob_cnt != 2'd0);
            assign out_data  = ob0;

            always @(posedge clk) begin
                if (rst) begin
                    ob_cnt  <= 2'd0;
                    ob_full <= 1'b0;
                end else begin
                    case ({push, pop})
                        2'b10: begin
                            ob_cnt  <= ob_cnt + 2'd1;
                            ob_full <= (ob_cnt == 2'd1);
                        end
                        2'b01: begin
                            ob_cnt  <= ob_cnt - 2'd1;
                            ob_full <= 1'b0;
                        end
                        default: ;
                    endcase
                end
            end
            always @(posedge clk) begin
                case ({push, pop})
                    2'b10: begin
                        if (ob_cnt == 2'd0) ob0 <= in_data;
                        else                ob1 <= in_data;
                    end
                    2'b01: ob0 <= ob1;
                    2'b11: begin
                        if (ob_cnt == 2'd1) ob0 <= in_data;
                        else begin
                            ob0 <= ob1;
                            ob1 <= in_data;
                        end
                    end
                    default: ;
                endcase
            end
        end else begin : g_queue
            localparam integer AW = $clog2(DEPTH);
            localparam integer CW = $clog2(DEPTH + 1);
            localparam [31:0]   LAST32 = DEPTH - 1;
            localparam [AW-1:0] LAST   = LAST32[AW-1:0];
            localparam [31:0]   FULL32 = DEPTH;
            localparam [CW-1:0] FULLC  = FULL32[CW-1:0];
            reg  [AW-1:0] wp, rp;
            reg  [CW-1:0] cnt;
            reg           full;
            wire push = in_valid && !full;
            wire pop  = out_valid && out_ready;
            localparam [CW-1:0] ONE = {{(CW-1){1'b0}}, 1'b1};
            wire [CW-1:0] nxt = cnt + (push ? ONE : {CW{1'b0}}) - (pop ? ONE : {CW{1'b0}});
            assign in_ready  = !full;
            assign out_valid = (cnt != {CW{1'b0}});
            always @(posedge clk) begin
                if (rst) begin
                    wp   <= {AW{1'b0}};
                    rp   <= {AW{1'b0}};
                    cnt  <= {CW{1'b0}};
                    full <= 1'b0;
                end else begin
                    if (push) wp <= (wp == LAST) ? {AW{1'b0}} : wp + 1'b1;
                    if (pop)  rp <= (rp == LAST) ? {AW{1'b0}} : rp + 1'b1;
                    cnt  <= nxt;
                    full <= (nxt == FULLC);
                end
            end
            hw_ram #(.WIDTH(WIDTH), .DEPTH(DEPTH), .SYNC_READ(0), .RAM_STYLE("distributed")) u_q (
                .clk(clk), .we(push), .waddr(wp), .wdata(in_data),
                .re(1'b0), .raddr(rp), .rdata(out_data));
        end
    endgenerate
endmodule
`default_nettype wire
