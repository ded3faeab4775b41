// hw_lutrom.v — a read-only memory in LUT logic, read combinationally: data = mem[addr].
//
// Latency 0 (hw_ram registers the word), one read a cycle. Its own hierarchy
// (keep_hierarchy) so that synthesis sees each data bit as a function of the address
// alone: on xc7 ceil(DEPTH/64) LUT6 a bit, joined by MUXF7/MUXF8 up to 256 words. Merged
// into its user, Yosys folds the address counter's next-state logic into every bit's cone
// (2.5 LUT a bit at 36 words, 1 here; tests/hw/test_synth.py). sim/flow/synth.py
// and the ECP5 flows flatten the design after synthesis.
`default_nettype none
(* keep_hierarchy *)
module hw_lutrom #(
    parameter integer WIDTH     = 8,   // bits per word
    parameter integer DEPTH     = 16,  // words
    parameter        INIT_FILE  = "",  // $readmemh file of the contents ("" none)
    parameter integer AW        = (DEPTH > 1) ? $clog2(DEPTH) : 1  // address bits
) (
    input  wire [AW-1:0]    addr,  // an address >= DEPTH reads an undefined word
    output wire [WIDTH-1:0] data
);
    initial begin
        if (WIDTH < 1) begin $display("ERROR: %m: WIDTH=%0d must be >= 1", WIDTH); $finish; end
        if (DEPTH < 1) begin $display("ERROR: %m: DEPTH=%0d must be >= 1", DEPTH); $finish; end
        if (AW < 1 || (DEPTH > 1 && AW < $clog2(DEPTH))) begin
            $display("ERROR: %m: AW=%0d must hold DEPTH-1=%0d", AW, DEPTH - 1); $finish;
        end
    end

    (* rom_style = "distributed" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
    initial if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
    assign data = mem[addr];
endmodule
`default_nettype wire
