// hw_outbuf.v — 2-entry output buffer at the end of a block's pipeline.
//
// Each beat carries one WIDTH-bit word, passed through unchanged and in order.
// A block's pipeline advances while in_ready is high or its last stage holds no beat:
// en = in_ready || !in_valid. A beat pushed in cycle c is on out_data from cycle c+1.
// Throughput: one beat per cycle in and out. in_ready is a register (low when both
// entries are full), so there is no combinational path from out_ready to in_ready.
`default_nettype none
module hw_outbuf #(
    parameter integer WIDTH = 8   // bits per beat
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
    end

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
endmodule
`default_nettype wire
