// hw_ram.v — one memory (RAM or ROM) with a Xilinx style attribute: the only place the
// library declares a memory array (with hw_lutrom, its LUT ROM), so every block maps to
// block RAM, LUT RAM or registers the same way (Yosys synth_xilinx and Vivado read the
// attribute).
//
// Write port (ROM == 0): wdata is stored at waddr at the clock edge where we is high.
// Read port: SYNC_READ == 1: rdata <= mem[raddr] at the clock edge where re is high (one
// cycle of latency, the word that was there before a write at the same edge; maps to
// block RAM); SYNC_READ == 0: rdata = mem[raddr] combinationally (re unused; LUT RAM or
// registers only).
// ROM == 1: no write port; the style is the rom_style attribute (a ROM's), and INIT_FILE
// should name the contents. RAM_STYLE "auto" leaves the choice to the tool; a "distributed"
// ROM is an hw_lutrom (LUT logic in a hierarchy of its own) and the read register.
// Banks (ROM == 1, BANK_DEPTH > 0, DEPTH > BANK_DEPTH): NB = ceil(DEPTH/BANK_DEPTH) ROMs of
// BANK_DEPTH words (the last one shorter), bank k holding words k*BANK_DEPTH.. and read
// from INIT_FILE's bank file "<INIT_FILE>.bKKK.mem" (three decimal digits; the compiler
// writes them: compiler/blocks/packing.py write_rom_banks). Every bank's word is registered twice (the bank's read, then a register of its
// own next to it) and the banks' registered words are muxed by the twice-registered bank
// number: latency 2 (both registers enabled by re), so that neither a block RAM's
// clock-to-output nor the route to a far bank shares a cycle with the mux.
`default_nettype none
module hw_ram #(
    parameter integer WIDTH     = 8,       // bits per word
    parameter integer DEPTH     = 16,      // words
    parameter integer ROM       = 0,       // 1: read-only (no write port), 0: RAM
    parameter integer SYNC_READ = 1,       // 1: registered read with enable, 0: asynchronous
    parameter [8*11-1:0] RAM_STYLE = "auto", // "auto" | "block" | "distributed" | "registers" | "ultra"
    parameter        INIT_FILE = "",       // $readmemh file of the initial contents ("" none)
    parameter integer BANK_DEPTH = 0,      // ROM: words per bank, 0: one bank (latency 2 if banked)
    parameter integer AW        = (DEPTH > 1) ? $clog2(DEPTH) : 1  // address bits
) (
    input  wire             clk,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire             we,      // unused when ROM == 1
    input  wire [AW-1:0]    waddr,   // unused when ROM == 1
    input  wire [WIDTH-1:0] wdata,   // unused when ROM == 1
    input  wire             re,      // unused when SYNC_READ == 0
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [AW-1:0]    raddr,
    output wire [WIDTH-1:0] rdata
);
    localparam [8*11-1:0] STYLE_AUTO  = "auto";
    localparam [8*11-1:0] STYLE_BLOCK = "block";
    localparam [8*11-1:0] STYLE_DIST  = "distributed";
    localparam [8*11-1:0] STYLE_REGS  = "registers";
    localparam [8*11-1:0] STYLE_ULTRA = "ultra";
    localparam integer    NB = (BANK_DEPTH > 0 && ROM != 0) ? (DEPTH + BANK_DEPTH - 1) / BANK_DEPTH : 1;
    localparam integer    LW = (NB > 1) ? $clog2(BANK_DEPTH) : 1;  // address bits within a bank
    localparam integer    SW = (NB > 1) ? AW - LW : 1;               // bank number bits

    initial begin
        if (WIDTH < 1) begin $display("ERROR: %m: WIDTH=%0d must be >= 1", WIDTH); $finish; end
        if (DEPTH < 1) begin $display("ERROR: %m: DEPTH=%0d must be >= 1", DEPTH); $finish; end
        if (AW < 1 || (DEPTH > 1 && AW < $clog2(DEPTH))) begin
            $display("ERROR: %m: AW=%0d must hold DEPTH-1=%0d", AW, DEPTH - 1); $finish;
        end
        if (ROM != 0 && ROM != 1) begin $display("ERROR: %m: ROM=%0d must be 0 or 1", ROM); $finish; end
        if (SYNC_READ != 0 && SYNC_READ != 1) begin
            $display("ERROR: %m: SYNC_READ=%0d must be 0 or 1", SYNC_READ); $finish;
        end
        if (BANK_DEPTH < 0 || (BANK_DEPTH > 0 && ROM == 0)) begin
            $display("ERROR: %m: BANK_DEPTH=%0d must be 0, or > 0 with ROM=1", BANK_DEPTH); $finish;
        end
        if (NB > 1 && (BANK_DEPTH < 2 || (1 << LW) != BANK_DEPTH)) begin
            $display("ERROR: %m: BANK_DEPTH=%0d must be a power of 2 >= 2", BANK_DEPTH); $finish;
        end
        if (NB > 1000) begin $display("ERROR: %m: %0d banks: at most 1000", NB); $finish; end
        if (ROM == 1 && SYNC_READ == 0) begin
            $display("ERROR: %m: ROM=1 needs SYNC_READ=1 (got %0d)", SYNC_READ); $finish;
        end
        if (RAM_STYLE != STYLE_AUTO && RAM_STYLE != STYLE_BLOCK && RAM_STYLE != STYLE_DIST
            && RAM_STYLE != STYLE_REGS && RAM_STYLE != STYLE_ULTRA) begin
            $display("ERROR: %m: RAM_STYLE=\"%0s\" must be auto, block, distributed, registers or ultra",
                   RAM_STYLE);
            $finish;
        end
    end

    // Attributes take the parameter's value (Yosys, Vivado); a ROM's is rom_style.
    generate
        if (NB > 1) begin : g_banks
            reg  [SW-1:0]       sel1, sel2;  // bank number, registered with the reads
            wire [NB*WIDTH-1:0] words;       // every bank's word after its second register
            wire [LW-1:0]       a = raddr[LW-1:0];
            genvar k;
            for (k = 0; k < NB; k = k + 1) begin : g_bank
                localparam integer BD  = (k == NB - 1) ? DEPTH - k * BANK_DEPTH : BANK_DEPTH;
                localparam integer C2  = 48 + k / 100;
                localparam integer C1  = 48 + (k / 10) % 10;
                localparam integer C0  = 48 + k % 10;
                localparam         BFILE = {INIT_FILE, ".b", C2[7:0], C1[7:0], C0[7:0], ".mem"};
                reg [WIDTH-1:0] q, r;
                if (RAM_STYLE == STYLE_DIST) begin : g_lut
                    wire [WIDTH-1:0] d;
                    hw_lutrom #(.WIDTH(WIDTH), .DEPTH(BD), .INIT_FILE(BFILE), .AW(LW)) u_rom (
                        .addr(a), .data(d));
                    always @(posedge clk) if (re) q <= d;
                end else begin : g_mem
                    (* rom_style = RAM_STYLE *) reg [WIDTH-1:0] mem [0:BD-1];
                    initial if (INIT_FILE != "") $readmemh(BFILE, mem);
                    always @(posedge clk) if (re) q <= mem[a];
                end
                always @(posedge clk) if (re) r <= q;
                assign words[k*WIDTH +: WIDTH] = r;
            end
            always @(posedge clk) begin
                if (re) begin
                    sel1 <= raddr[AW-1:LW];
                    sel2 <= sel1;
                end
            end
            assign rdata = words[sel2*WIDTH +: WIDTH];
        end else if (ROM != 0 && RAM_STYLE == STYLE_DIST) begin : g_lutrom  // hw_lutrom, registered
            wire [WIDTH-1:0] d;
            reg  [WIDTH-1:0] q;
            hw_lutrom #(.WIDTH(WIDTH), .DEPTH(DEPTH), .INIT_FILE(INIT_FILE), .AW(AW)) u_rom (
                .addr(raddr), .data(d));
            always @(posedge clk) if (re) q <= d;
            assign rdata = q;
        end else if (ROM != 0) begin : g_rom
            (* rom_style = RAM_STYLE *) reg [WIDTH-1:0] mem [0:DEPTH-1];
            reg [WIDTH-1:0] q;
            initial if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
            always @(posedge clk) if (re) q <= mem[raddr];
            assign rdata = q;
        end else if (SYNC_READ != 0) begin : g_ram
            (* ram_style = RAM_STYLE *) reg [WIDTH-1:0] mem [0:DEPTH-1];
            reg [WIDTH-1:0] q;
            initial if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
            always @(posedge clk) if (we) mem[waddr] <= wdata;
            always @(posedge clk) if (re) q <= mem[raddr];
            assign rdata = q;
        end else begin : g_ram_async
            (* ram_style = RAM_STYLE *) reg [WIDTH-1:0] mem [0:DEPTH-1];
            initial if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
            always @(posedge clk) if (we) mem[waddr] <= wdata;
            assign rdata = mem[raddr];
        end
    endgenerate
endmodule
`default_nettype wire
