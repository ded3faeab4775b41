// hw_mvu.v — matrix-vector unit: MH x MW weight matrix times an MW-element input vector,
// PE rows and SIMD columns per cycle, with optional fused multi-threshold activation.
//
// Input beat: SIMD lanes of IN_W bits (LSB first); one vector of MW elements is
// SF = ceil(MW/SIMD) beats; lanes of the last beat at columns >= MW are padding and are
// masked by column index (neither their data nor their weights contribute).
// Output beat: PE lanes; beat nf (0..NF-1, NF = ceil(MH/PE)) lane p is row nf*PE+p
// (rows >= MH carry junk the consumer drops). With N_T == 0 a lane is the ACC_W-bit
// signed accumulator; with N_T > 0 it is OUT_W bits:
//     (number of t with acc >= T[row][t]) + OUT_BIAS, truncated to OUT_W bits.
// Contribution of (row, column), summed over the MW columns:
//     MODE 0 XNOR    : weight bit == input bit ? 1 : 0         (acc = popcount, 0..MW)
//     MODE 1 SIGNSEL : weight bit 1 ? +x : -x                   (x signed if IN_SIGNED)
//     MODE 2 MAC     : w * x, w = W_W-bit two's complement      (x signed if IN_SIGNED)
//     MODE 3 TERNARY : 2-bit code 01: +WP*x, 11: -WN*x, 00/10: 0 (x signed if IN_SIGNED),
//                      i.e. acc = WP*P - WN*N with P (N) the sum of the inputs where the
//                      weight is +1 (-1); a row flagged in SWAP_FILE uses WN for +1 and WP
//                      for -1 (a negated row of an asymmetric ternary layer). WP and WN
//                      are small integers: the layer's two scales up to a common factor,
//                      which is folded into the thresholds.
//
// Datapaths (hw_lanetree: lane pairs then ternary adders on carry chains, the XNOR or
// AND with the weight bit folded into the pairs' LUTs; it leaves its sum as two numbers):
//     XNOR: per row, popcount of (w XNOR x) over the live lanes (a dead lane reads
//     x = 0, w = 1); the tree's two numbers and the accumulator meet in one ternary
//     adder (hw_tadd).
//     SIGNSEL with unsigned inputs (bit planes): with b the weight bit (w = 2b - 1), a
//     row's beat sum is sum w*x = 2*sum b*x - sum x
//         = 2 * S - C,  S = sum of (b ? x : 0),  C = sum of x,
//     C (the column term) is one tree shared by all PE rows, and 2*S - C one ternary
//     adder per row (S's two numbers and ~C, carry in 1).
//     Other modes (signed SIGNSEL, MAC, TERNARY): a product per lane and a binary adder
//     tree of ACC_W-bit nodes.
// TREE_PIPE = k > 0 registers the lane trees every k levels and at their last level
// (hw_lanetree PIPE), adding LT = ceil(LEVELS/k) cycles of latency (LEVELS from
// hw_lanetree for N = SIMD lanes; 0 in the adder-tree modes).
//
// Schedule: the vector is taken from the stream during row fold nf = 0 (and stored in
// an SF-entry buffer), then reread from the buffer for nf = 1..NF-1 (in_ready is low).
// Throughput: exactly NF*SF cycles per vector, back to back without bubbles, as long
// as in_valid (during nf = 0) and out_ready stay high.
// THR_PIPE = 1 (with N_T > 0) registers the threshold compares before their count: LTHR
// = 1 cycle more (and the threshold word before the compares: read a stage earlier). MEM_PIPE = 1 registers the weight word and the input beat once more
// after the memory reads: LM = 1 cycle more. ROM_BANK = D > 0 with NF*SF > D splits the
// weight ROM into banks of D words (hw_ram BANK_DEPTH: each bank's word registered next
// to it, then muxed): LB = 1 cycle more, the rest of stage 1 registered with it.
// Latency: LAT = 4 + LB + LM + LT + LTHR cycles: when the vector's last input beat transfers
// in cycle c, output beat nf = 0 is valid from cycle c+LAT (ROM/buffer read (+ LM), PE
// trees (+ LT tree registers), accumulate, thresholds (+ LTHR), output buffer); beat nf
// follows nf*SF cycles later.
// Backpressure (BATCH = 1): the output buffer has OB_DEPTH = ceil((LAT+1)/SF) + 1
// entries (hw_outbuf, LUT RAM), and a step starts only while fewer than OB_DEPTH output
// beats are started and not yet sent (a credit counter), so the pipeline after the
// step counters never stalls: no enable fans out over its registers. With out_ready
// high the credits never run out (full rate). in_ready does not depend
// combinationally on out_ready. (BATCH > 1: a 2-entry buffer and a pipeline stall.)
// Memories (read with $readmemh, synchronous reads so they map to block RAM):
//     WEIGHT_FILE: depth NF*SF, word PE*SIMD*W_W bits, address nf*SF+sf, lane p*SIMD+s at
//                  bits [(p*SIMD+s)*W_W +: W_W] = weight of row nf*PE+p, column sf*SIMD+s.
//     THRESH_FILE: depth NF, word PE*N_T*ACC_W bits, lane p*N_T+t = threshold t
//                  (ascending, signed) of row nf*PE+p.
//     SWAP_FILE  : (MODE 3 only) depth NF, word PE bits, bit p = swap flag of row nf*PE+p.
//
// Weight source. WEIGHT_SOURCE = "rom": the weights are the WEIGHT_FILE memory above
// (w_data/w_valid are ignored, w_ready is 0). WEIGHT_SOURCE = "stream" (weights in DDR,
// streamed by a DMA): there is no weight memory; every pipeline step that reads weight
// word nf*SF+sf takes it from the weight stream instead, one PE*SIMD*W_W-bit word per
// beat in exactly the ROM's address order (word nf*SF+sf of vector v is beat
// v*NF*SF + nf*SF + sf: the stream repeats the NF*SF-word matrix once per vector, the
// layout of WEIGHT_FILE). A step fires only when its input beat (row fold 0) and its
// weight word are both there: in_ready needs w_valid during nf = 0 and w_ready needs
// in_valid then (each ready depends on the other stream's valid, never on a ready), so
// the MVU stalls, losing nothing, whenever the weights lag. Throughput, latency and
// backpressure are those of the ROM form while w_valid stays high.
//
// Batching. BATCH = B > 1 (WEIGHT_SOURCE = "stream" only): each weight word serves B
// consecutive input vectors (B frames of an FC layer, or B output pixels of a
// convolution), so the stream carries the NF*SF-word matrix once per B vectors. The
// vectors of a batch are first loaded into one bank of a 2*B*SF-beat input buffer
// (in_ready: that bank is free; loading the next batch overlaps the computation of this
// one); the steps then run in the order nf, sf, vector, the weight word taken from the
// stream at vector 0 and held for the others, with B accumulators per PE row. Results
// land in one bank of a 2*B*NF-beat reorder buffer at vector*NF + nf and leave in the
// order of the vectors (vector-major, nf = 0..NF-1) while the next batch computes.
// Throughput: NF*SF cycles per vector as without batching (a batch of B vectors in
// B*NF*SF cycles, back to back while the input and the weights keep up). Latency: when
// the last beat of a batch's first vector transfers in cycle c, its first output beat
// is valid from cycle c + (B-1)*SF + B*NF*SF + 6 + LT (the batch loads, computes, and
// leaves through the reorder buffer's read and the output buffer).
// A run must bring a multiple of B vectors (the driver pads the last batch).
`default_nettype none
module hw_mvu #(
    parameter integer MW        = 16,      // inputs (columns) per row
    parameter integer MH        = 16,      // rows (outputs per vector)
    parameter integer PE        = 4,       // rows per cycle (need not divide MH)
    parameter integer SIMD      = 4,       // input lanes per cycle (need not divide MW)
    parameter integer MODE      = 0,       // 0 XNOR, 1 SIGNSEL (binary w x k-bit), 2 MAC, 3 TERNARY
    parameter integer IN_W      = 1,       // input lane bits (1 in XNOR)
    parameter integer IN_SIGNED = 0,       // 1: inputs are two's complement, 0: unsigned
    parameter integer W_W       = 1,       // weight bits (1 in XNOR/SIGNSEL)
    parameter integer ACC_W     = 16,      // signed accumulator bits (full range must fit)
    parameter integer N_T       = 0,       // thresholds per row; 0 = output accumulators
    parameter integer OUT_W     = 1,       // output lane bits when N_T > 0
    parameter integer OUT_BIAS  = 0,       // added to the threshold count (e.g. -2)
    parameter integer WP        = 1,       // MODE 3: integer weight of code +1 (>= 1)
    parameter integer WN        = 1,       // MODE 3: integer magnitude of code -1 (>= 1)
    parameter        SWAP_FILE  = "",      // MODE 3: $readmemh file of per-row swap flags
    parameter        WEIGHT_FILE = "",     // $readmemh file of the weight memory
    parameter        THRESH_FILE = "",     // $readmemh file of the threshold memory
    parameter [8*11-1:0] ROM_STYLE = "auto", // "block" | "distributed" | "auto": weight ROM
    parameter [8*11-1:0] THR_STYLE = "auto", // the same for the threshold ROM
    parameter [8*6-1:0]  WEIGHT_SOURCE = "rom", // "rom": WEIGHT_FILE; "stream": w_* port
    parameter integer TREE_PIPE = 0,       // lane trees: registers every k levels; 0: none
    parameter integer THR_PIPE  = 0,       // 1: a register between threshold compare and count
    parameter integer MEM_PIPE  = 0,       // 1: a register after the weight/input memory reads
    parameter integer ROM_BANK  = 0,       // weight ROM words per bank (hw_ram BANK_DEPTH), 0: one
    parameter integer BATCH     = 1,       // vectors per weight word (> 1: "stream" only)
    parameter integer DSP_PACK  = 1        // MODE 2: products per multiplier, 1 or 2 (hw_dsp_pair)
) (
    input  wire                                       clk,
    input  wire                                       rst,   // synchronous, active high
    // input stream: SIMD lanes of IN_W bits
    input  wire [SIMD*IN_W-1:0]                       in_data,
    input  wire                                       in_valid,
    output wire                                       in_ready,
    // output stream: PE lanes of OUT_W (N_T > 0) or ACC_W (N_T == 0) bits
    output wire [PE*((N_T > 0) ? OUT_W : ACC_W)-1:0]  out_data,
    output wire                                       out_valid,
    input  wire                                       out_ready,
    // weight stream (WEIGHT_SOURCE = "stream"): one PE*SIMD*W_W-bit word per beat
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [PE*SIMD*W_W-1:0]                     w_data,   // unused with "rom"
    input  wire                                       w_valid,  // unused with "rom"
    /* verilator lint_on UNUSEDSIGNAL */
    output wire                                       w_ready
);
    // ---------------------------------------------------------------- derived constants
    // hw_lanetree's LATENCY for N lanes and PIPE k (its level recurrence: ceil(N/2) lane
    // pairs, then groups of three until at most two numbers are left)
    function integer pc_latency;
        input integer n0, k;
        integer n, levels;
        begin
            n = (n0 + 1) / 2;
            levels = 1;
            while (n > 2) begin
                n = (n + 2) / 3;
                levels = levels + 1;
            end
            pc_latency = (k > 0) ? (levels + k - 1) / k : 0;
        end
    endfunction
    localparam integer SF    = (MW + SIMD - 1) / SIMD;     // input beats per vector
    localparam integer NF    = (MH + PE - 1) / PE;         // output beats per vector
    localparam integer TAIL  = MW - (SF - 1) * SIMD;       // valid lanes of the last beat
    localparam integer DEPTH = NF * SF;                    // weight memory depth
    localparam integer LW    = (N_T > 0) ? OUT_W : ACC_W;  // output lane bits
    localparam integer DW    = SIMD * IN_W;                // input beat bits
    localparam integer WWORD = PE * SIMD * W_W;            // weight word bits
    localparam integer TWORD = PE * ((N_T > 0) ? N_T : 1) * ACC_W; // threshold word bits
    localparam integer SFW   = (SF > 1) ? $clog2(SF) : 1;
    localparam integer NFW   = (NF > 1) ? $clog2(NF) : 1;
    localparam integer AW    = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam integer XW    = IN_W + 1;                   // input lane as signed value
    localparam [31:0]    SF_M1   = SF - 1;
    localparam [31:0]    NF_M1   = NF - 1;
    localparam [SFW-1:0] SF_LAST = SF_M1[SFW-1:0];
    localparam [NFW-1:0] NF_LAST = NF_M1[NFW-1:0];
    localparam integer WMAX  = (WP > WN) ? WP : WN;
    localparam integer SCW   = $clog2(WMAX + 1) + 1;       // ternary scale as signed
    localparam integer PW    = (MODE == 3) ? (XW + SCW) : (W_W + XW); // product bits
    localparam [8*11-1:0] STYLE_BLOCK = "block";
    localparam [8*11-1:0] STYLE_DIST  = "distributed";
    localparam [8*11-1:0] STYLE_AUTO  = "auto";
    localparam [8*6-1:0]  SRC_ROM     = "rom";
    localparam [8*6-1:0]  SRC_STREAM  = "stream";
    localparam integer    STREAM      = (WEIGHT_SOURCE == SRC_STREAM) ? 1 : 0;
    // lane-tree datapaths: XNOR, and SIGNSEL with unsigned inputs (bit planes)
    localparam integer    BITPLANE    = (MODE == 1 && IN_SIGNED == 0) ? 1 : 0;
    localparam integer    POPC        = (MODE == 0 || BITPLANE != 0) ? 1 : 0;
    // hw_lanetree's OP: the XNOR or the AND with the weight bits is folded into its tree
    localparam integer    POP_OP      = (MODE == 0) ? 1 : 2;
    // row tree sum bits: bit planes need S modulo 2^(ACC_W-1) only (2*S - C)
    localparam integer    CNT_W       = (BITPLANE != 0) ? ACC_W - 1 : ACC_W;
    localparam integer    LT          = (POPC != 0) ? pc_latency(SIMD, TREE_PIPE) : 0;
    localparam integer    LTHR        = (THR_PIPE != 0 && N_T > 0) ? 1 : 0; // compare register
    localparam integer    LM          = (MEM_PIPE != 0) ? 1 : 0;          // memory read register
    // banked weight ROM: a read takes two cycles
    localparam integer    LB          = (STREAM == 0 && ROM_BANK > 0 && DEPTH > ROM_BANK) ? 1 : 0;
    localparam integer    LAT         = 4 + LB + LM + LT + LTHR;  // last input beat -> output beat 0
    // output buffer entries (BATCH = 1): the beats a full-rate pipeline has in flight
    localparam integer    OB_DEPTH    = (LAT + SF) / SF + 1;
    localparam integer    BBW         = (BATCH > 1) ? $clog2(BATCH) : 1;  // vector in batch
    localparam [31:0]     B_M1        = BATCH - 1;
    localparam [BBW-1:0]  B_LAST      = B_M1[BBW-1:0];


    // x (an XW-bit signed lane) times the constant k (1..2^(SCW-1)-1): shifts and adds
    function [PW-1:0] times_const;
        input [XW-1:0] x;
        input integer k;
        integer b;
        reg [PW-1:0] xe;
        begin
            xe = {{(PW-XW){x[XW-1]}}, x};
            times_const = {PW{1'b0}};
            for (b = 0; b < SCW; b = b + 1)
                if (((k >> b) & 1) != 0) times_const = times_const + (xe << b);
        end
    endfunction

    initial begin
        if (MW < 1) begin $display("ERROR: %m: MW=%0d must be >= 1", MW); $finish; end
        if (MH < 1) begin $display("ERROR: %m: MH=%0d must be >= 1", MH); $finish; end
        if (SIMD < 1 || SIMD > MW) begin
            $display("ERROR: %m: SIMD=%0d must be in 1..MW=%0d", SIMD, MW);
            $finish;
        end
        if (PE < 1 || PE > MH) begin
            $display("ERROR: %m: PE=%0d must be in 1..MH=%0d", PE, MH);
            $finish;
        end
        if (MODE < 0 || MODE > 3) begin
            $display("ERROR: %m: MODE=%0d must be 0, 1, 2 or 3", MODE);
            $finish;
        end
        if (MODE == 3 && W_W != 2) begin
            $display("ERROR: %m: MODE 3 (TERNARY) needs W_W=2, got W_W=%0d", W_W);
            $finish;
        end
        if (WP < 1 || WN < 1) begin
            $display("ERROR: %m: WP=%0d and WN=%0d must be >= 1", WP, WN);
            $finish;
        end
        if (MODE == 0 && (IN_W != 1 || W_W != 1)) begin
            $display("ERROR: %m: MODE 0 (XNOR) needs IN_W=1 and W_W=1, got IN_W=%0d W_W=%0d", IN_W, W_W);
            $finish;
        end
        if (MODE == 0 && IN_SIGNED != 0) begin
            $display("ERROR: %m: MODE 0 (XNOR) needs IN_SIGNED=0, got %0d", IN_SIGNED);
            $finish;
        end
        if (MODE == 1 && W_W != 1) begin
            $display("ERROR: %m: MODE 1 (SIGNSEL) needs W_W=1, got W_W=%0d", W_W);
            $finish;
        end
        if (DSP_PACK != 1 && (DSP_PACK != 2 || MODE != 2)) begin
            $display("ERROR: %m: DSP_PACK=%0d must be 1, or 2 with MODE 2 (MAC), got MODE %0d",
                     DSP_PACK, MODE);
            $finish;
        end
        if (MODE == 2 && W_W < 2) begin
            $display("ERROR: %m: MODE 2 (MAC) needs W_W >= 2, got W_W=%0d", W_W);
            $finish;
        end
        if (IN_W < 1) begin $display("ERROR: %m: IN_W=%0d must be >= 1", IN_W); $finish; end
        if (IN_SIGNED != 0 && IN_SIGNED != 1) begin
            $display("ERROR: %m: IN_SIGNED=%0d must be 0 or 1", IN_SIGNED);
            $finish;
        end
        if (ACC_W < 2) begin $display("ERROR: %m: ACC_W=%0d must be >= 2", ACC_W); $finish; end
        if (N_T < 0) begin $display("ERROR: %m: N_T=%0d must be >= 0", N_T); $finish; end
        if (N_T > 0 && OUT_W < 1) begin
            $display("ERROR: %m: OUT_W=%0d must be >= 1", OUT_W);
            $finish;
        end
        if (ROM_STYLE != STYLE_BLOCK && ROM_STYLE != STYLE_DIST && ROM_STYLE != STYLE_AUTO) begin
            $display("ERROR: %m: ROM_STYLE=\"%0s\" must be \"block\", \"distributed\" or \"auto\"", ROM_STYLE);
            $finish;
        end
        if (THR_STYLE != STYLE_BLOCK && THR_STYLE != STYLE_DIST && THR_STYLE != STYLE_AUTO) begin
            $display("ERROR: %m: THR_STYLE=\"%0s\" must be \"block\", \"distributed\" or \"auto\"", THR_STYLE);
            $finish;
        end
        if (TREE_PIPE < 0) begin
            $display("ERROR: %m: TREE_PIPE=%0d must be >= 0", TREE_PIPE);
            $finish;
        end
        if (ROM_BANK < 0) begin $display("ERROR: %m: ROM_BANK=%0d must be >= 0", ROM_BANK); $finish; end
        if (MEM_PIPE != 0 && MEM_PIPE != 1) begin
            $display("ERROR: %m: MEM_PIPE=%0d must be 0 or 1", MEM_PIPE);
            $finish;
        end
        if (THR_PIPE != 0 && THR_PIPE != 1) begin
            $display("ERROR: %m: THR_PIPE=%0d must be 0 or 1", THR_PIPE);
            $finish;
        end
        if (BATCH < 1 || (BATCH > 1 && STREAM == 0)) begin
            $display("ERROR: %m: BATCH=%0d must be 1, or > 1 with the weight stream", BATCH);
            $finish;
        end
        if (WEIGHT_SOURCE != SRC_ROM && WEIGHT_SOURCE != SRC_STREAM) begin
            $display("ERROR: %m: WEIGHT_SOURCE=\"%0s\" must be \"rom\" or \"stream\"", WEIGHT_SOURCE);
            $finish;
        end
    end

    // ------------------------------------------------------------- pipeline enable
    // BATCH = 1: no pipeline stall. A step starts (fire) only when an entry of the
    // OB_DEPTH-entry output buffer is free for the beat it may finish (credit: the beats
    // started and not yet sent), so every later stage advances every cycle (en = 1) and
    // no enable fans out over the datapath registers. BATCH > 1: the whole pipeline
    // advances together and stalls when a finished output beat (r_last) meets a full
    // output buffer (both terms registers).
    wire ob_ready;
    reg  s3_last;
    wire r_last;    // the last stage (3, or 4 with THR_PIPE) holds a finished beat
    wire credit;    // an output buffer entry is free for this step's beat
    wire en = (BATCH > 1) ? (ob_ready || !r_last) : 1'b1;

    // ------------------------------------------------------------- stage 0: counters
    reg [SFW-1:0] sf;
    reg [NFW-1:0] nf;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [AW-1:0]  waddr;  // nf*SF + sf, counted directly (the ROM address; unused "stream")
    /* verilator lint_on UNUSEDSIGNAL */
    reg [BBW-1:0] bv;     // vector within the batch (0 without batching)
    wire first_b = (bv == {BBW{1'b0}});              // this step takes a new weight word
    wire b_end   = (bv == B_LAST);
    wire batch_ok;                                   // BATCH > 1: a loaded batch is there
    // nf == 0, a register of its own set with nf (the compare in front of fire, which
    // enables every stage-0 counter, was an ECP5 critical path)
    reg  nf_zero;
    wire take   = (BATCH == 1) && nf_zero;           // nf = 0: read from the stream
    wire x_ok   = (BATCH > 1) ? batch_ok : (take ? in_valid : 1'b1); // input beat is there
    wire w_ok   = (STREAM != 0) ? (w_valid || !first_b) : 1'b1; // weight word is there
    wire s0_v   = x_ok && w_ok;
    wire fire   = en && s0_v && credit;
    wire sf_end = (sf == SF_LAST);
    wire nf_end = (nf == NF_LAST);
    wire in_ready_b;                                 // BATCH > 1: the loader's bank is free

    assign in_ready = (BATCH > 1) ? in_ready_b : (en && credit && take && w_ok);
    assign w_ready  = (STREAM != 0) && en && credit && x_ok && first_b;

    always @(posedge clk) begin
        if (rst) begin
            sf    <= {SFW{1'b0}};
            nf    <= {NFW{1'b0}};
            nf_zero <= 1'b1;
            bv    <= {BBW{1'b0}};
            waddr <= {AW{1'b0}};
        end else if (fire && !b_end) begin
            bv <= bv + 1'b1;
        end else if (fire) begin
            bv <= {BBW{1'b0}};
            if (sf_end) begin
                sf <= {SFW{1'b0}};
                if (nf_end) begin
                    nf    <= {NFW{1'b0}};
                    nf_zero <= 1'b1;
                    waddr <= {AW{1'b0}};
                end else begin
                    nf    <= nf + 1'b1;
                    nf_zero <= 1'b0;
                    waddr <= waddr + 1'b1;
                end
            end else begin
                sf    <= sf + 1'b1;
                waddr <= waddr + 1'b1;
            end
        end
    end

    // ------------------------------------------------------------- stage 1 registers
    reg            s1_v, s1_first, s1_last, s1_take;
    reg [BBW-1:0]  s1_b;      // vector within the batch
    reg [DW-1:0]   s1_in;     // the stream beat (used when s1_take)
    wire [DW-1:0]  s1_buf;    // the buffered beat (used when !s1_take)
    wire [WWORD-1:0] s1_w;    // weight word, read synchronously at address waddr

    always @(posedge clk) begin
        if (rst) begin
            s1_v <= 1'b0;
        end else if (en) begin
            s1_v <= s0_v && credit;
        end
    end
    always @(posedge clk) begin
        if (en) begin
            s1_first <= (sf == {SFW{1'b0}});
            s1_last  <= sf_end;
            s1_take  <= take;
            s1_in    <= in_data;
            s1_b     <= bv;
        end
    end

    // input buffer: written during nf = 0, reread for nf > 0 (not needed when NF == 1);
    // with batching, two banks of B vectors written by the loader
    generate
        if (BATCH > 1) begin : g_bbuf
            localparam integer BSF = BATCH * SF;              // beats of one bank
            localparam integer IAW = $clog2(2 * BSF);
            localparam [31:0]  BSF32 = BSF;
            localparam [31:0]  SF32  = SF;
            localparam [IAW-1:0] BSF_A = BSF32[IAW-1:0];
            localparam [IAW-1:0] SF_A  = SF32[IAW-1:0];
            localparam [IAW-1:0] LAST_A = BSF_A - 1'b1;
            // loader: beat loff (0..BSF-1) of bank lbank
            reg [IAW-1:0] loff, boff;   // boff = bv*SF, the compute side's vector offset
            reg           lbank, cbank;
            reg [1:0]     ifull;        // bank holds a whole batch not yet computed
            wire load     = in_valid && !ifull[lbank];
            wire load_end = load && (loff == LAST_A);
            wire done     = fire && b_end && sf_end && nf_end;
            assign in_ready_b = !ifull[lbank];
            assign batch_ok   = ifull[cbank];
            always @(posedge clk) begin
                if (rst) begin
                    loff  <= {IAW{1'b0}};
                    boff  <= {IAW{1'b0}};
                    lbank <= 1'b0;
                    cbank <= 1'b0;
                    ifull <= 2'b00;
                end else begin
                    if (load) loff <= load_end ? {IAW{1'b0}} : loff + 1'b1;
                    if (load_end) begin
                        lbank        <= ~lbank;
                        ifull[lbank] <= 1'b1;
                    end
                    if (fire) boff <= b_end ? {IAW{1'b0}} : boff + SF_A;
                    if (done) begin
                        cbank        <= ~cbank;
                        ifull[cbank] <= 1'b0;
                    end
                end
            end
            wire [IAW-1:0] sfa  = {{(IAW-SFW){1'b0}}, sf};
            wire [IAW-1:0] wadr = (lbank ? BSF_A : {IAW{1'b0}}) + loff;
            wire [IAW-1:0] radr = (cbank ? BSF_A : {IAW{1'b0}}) + boff + sfa;
            hw_ram #(.WIDTH(DW), .DEPTH(2 * BSF)) u_ibuf (
                .clk(clk), .we(load), .waddr(wadr), .wdata(in_data),
                .re(en), .raddr(radr), .rdata(s1_buf));
        end else if (NF > 1) begin : g_buf
            hw_ram #(.WIDTH(DW), .DEPTH(SF)) u_ibuf (
                .clk(clk), .we(fire && take), .waddr(sf), .wdata(in_data),
                .re(en), .raddr(sf), .rdata(s1_buf));
        end else begin : g_nobuf
            assign s1_buf = {DW{1'b0}};
        end
        if (BATCH == 1) begin : g_nobatch
            assign in_ready_b = 1'b0;
            assign batch_ok   = 1'b0;
        end
    endgenerate

    // weight ROM (ROM_STYLE), or with "stream" the word from the weight stream, registered
    // like a ROM read
    generate
        if (STREAM != 0) begin : g_wstream
            reg [WWORD-1:0] w_q;
            // with batching the word of vector 0 serves the batch's other vectors
            always @(posedge clk) if (en && first_b) w_q <= w_data;
            assign s1_w = w_q;
        end else begin : g_rom
            hw_ram #(.WIDTH(WWORD), .DEPTH(DEPTH), .ROM(1), .RAM_STYLE(ROM_STYLE),
                     .INIT_FILE(WEIGHT_FILE), .BANK_DEPTH(ROM_BANK)) u_wrom (
                .clk(clk), .we(1'b0), .waddr({AW{1'b0}}), .wdata({WWORD{1'b0}}),
                .re(en), .raddr(waddr), .rdata(s1_w));
        end
    endgenerate


    // per-row swap flags of the ternary scales, read with the weights (row fold nf)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PE-1:0] s1_swap;  // used by MODE 3 only
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (MODE == 3 && SWAP_FILE != "") begin : g_swap
            hw_ram #(.WIDTH(PE), .DEPTH(NF), .ROM(1), .INIT_FILE(SWAP_FILE)) u_srom (
                .clk(clk), .we(1'b0), .waddr({NFW{1'b0}}), .wdata({PE{1'b0}}),
                .re(en), .raddr(nf), .rdata(s1_swap));
        end else begin : g_noswap  // no file: no row is swapped
            assign s1_swap = {PE{1'b0}};
        end
    endgenerate

    reg  [NFW-1:0]   s1_nf;
    always @(posedge clk) if (en) s1_nf <= nf;

    // ------------------------------------------------------------- bank register
    // LB = 1: the banked weight ROM's word arrives a cycle later; the rest of stage 1
    // (buffered input, swap flags, control) is registered once to meet it
    wire [DW-1:0]    b_x;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PE-1:0]    b_swap;  // used by MODE 3 only
    /* verilator lint_on UNUSEDSIGNAL */
    wire             b_v, b_first, b_last;
    wire [NFW-1:0]   b_nf;
    wire [BBW-1:0]   b_b;
    wire [DW-1:0]    s1_x = s1_take ? s1_in : s1_buf;
    generate
        if (LB != 0) begin : g_breg
            reg [DW-1:0]  qx;
            reg [PE-1:0]  qs;
            reg           qv, qf, ql;
            reg [NFW-1:0] qn;
            reg [BBW-1:0] qb;
            always @(posedge clk) begin
                if (rst) qv <= 1'b0;
                else if (en) qv <= s1_v;
            end
            always @(posedge clk) begin
                if (en) begin
                    qx <= s1_x;
                    qs <= s1_swap;
                    qf <= s1_first;
                    ql <= s1_last;
                    qn <= s1_nf;
                    qb <= s1_b;
                end
            end
            assign {b_x, b_swap, b_v, b_first, b_last, b_nf, b_b} = {qx, qs, qv, qf, ql, qn, qb};
        end else begin : g_bcomb
            assign {b_x, b_swap, b_v, b_first, b_last, b_nf, b_b} =
                   {s1_x, s1_swap, s1_v, s1_first, s1_last, s1_nf, s1_b};
        end
    endgenerate

    // ------------------------------------------------------------- MEM_PIPE register
    // MEM_PIPE = 1: the memory reads (weight word, buffered input) and stage 1's control
    // are registered once more before the trees (a block RAM's clock-to-output is most
    // of an ECP5 cycle), LM = 1 cycle more
    wire [WWORD-1:0] m_w;
    wire [DW-1:0]    m_x;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PE-1:0]    m_swap;  // used by MODE 3 only
    /* verilator lint_on UNUSEDSIGNAL */
    wire             m_v, m_first, m_last;
    wire [NFW-1:0]   m_nf;
    wire [BBW-1:0]   m_b;
    generate
        if (LM != 0) begin : g_mreg
            reg [WWORD-1:0] qw;
            reg [DW-1:0]    qx;
            reg [PE-1:0]    qs;
            reg             qv, qf, ql;
            reg [NFW-1:0]   qn;
            reg [BBW-1:0]   qb;
            always @(posedge clk) begin
                if (rst) qv <= 1'b0;
                else if (en) qv <= b_v;
            end
            always @(posedge clk) begin
                if (en) begin
                    qw <= s1_w;
                    qx <= b_x;
                    qs <= b_swap;
                    qf <= b_first;
                    ql <= b_last;
                    qn <= b_nf;
                    qb <= b_b;
                end
            end
            assign {m_w, m_x, m_swap, m_v, m_first, m_last, m_nf, m_b} =
                   {qw, qx, qs, qv, qf, ql, qn, qb};
        end else begin : g_mcomb
            assign {m_w, m_x, m_swap, m_v, m_first, m_last, m_nf, m_b} =
                   {s1_w, b_x, b_swap, b_v, b_first, b_last, b_nf, b_b};
        end
    endgenerate

    // ------------------------------------------------------------- stage 1 -> 2: PE trees
    reg            s2_v, s2_first, s2_last;
    reg [PE*ACC_W-1:0] s2_psum;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [PE*ACC_W-1:0] s2_psum2;   // XNOR: the lane tree's second number (0 otherwise)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [PE*ACC_W-1:0] tree_sum, tree_sum2;
    // live lanes: column < MW
    wire [SIMD-1:0] live;
    genvar p, s, n;
    generate
        for (s = 0; s < SIMD; s = s + 1) begin : g_live
            assign live[s] = !m_last || (s < TAIL);
        end
    endgenerate

    generate
        if (POPC != 0) begin : g_popc
            // dead lanes (column >= MW) read x = 0: shared by all rows
            wire [DW-1:0] xlive;
            for (s = 0; s < SIMD; s = s + 1) begin : g_xl
                assign xlive[s*IN_W +: IN_W] = m_x[s*IN_W +: IN_W] & {IN_W{live[s]}};
            end
            /* verilator lint_off UNUSEDSIGNAL */
            wire [ACC_W-1:0] col;   // C = sum of the live lanes x (bit planes only)
            /* verilator lint_on UNUSEDSIGNAL */
            if (BITPLANE != 0) begin : g_col
                // C modulo 2^ACC_W (not 2^(ACC_W-1): ACC_W fits the row sums of the
                // actual weights, and C, their all-ones bound, may exceed it); the rows'
                // tree shape (OP 0: the lanes themselves), so the same latency
                wire [ACC_W-1:0] ca, cb;
                hw_lanetree #(.N(SIMD), .IN_W(IN_W), .OP(0), .PIPE(TREE_PIPE), .OUT_W(ACC_W))
                    u_col (.clk(clk), .en(en), .x(xlive), .w({SIMD{1'b1}}), .sa(ca), .sb(cb));
                hw_tadd #(.W(ACC_W)) u_csum (.a(ca), .a_en(1'b1), .b(cb), .c({ACC_W{1'b0}}),
                                             .sum(col));
            end else begin : g_nocol
                assign col = {ACC_W{1'b0}};
            end
            for (p = 0; p < PE; p = p + 1) begin : g_pe
                wire [SIMD-1:0] wb = m_w[p*SIMD*W_W +: SIMD];  // W_W = 1 here
                wire [SIMD-1:0] wop;  // the weight operand of the tree's op
                wire [CNT_W-1:0] ta, tb;  // the row's sum, as two numbers
                hw_lanetree #(.N(SIMD), .IN_W(IN_W), .OP(POP_OP), .PIPE(TREE_PIPE),
                              .OUT_W(CNT_W))
                    u_pc (.clk(clk), .en(en), .x(xlive), .w(wop), .sa(ta), .sb(tb));
                if (BITPLANE != 0) begin : g_bp
                    // 2*S - C = 2*ta + 2*tb + ~C + 1, exact modulo 2^ACC_W (the true
                    // value fits): one ternary adder
                    assign wop = wb;
                    hw_tadd #(.W(ACC_W), .CI(1)) u_comb (
                        .a({ta, 1'b0}), .a_en(1'b1), .b({tb, 1'b0}), .c(~col),
                        .sum(tree_sum[p*ACC_W +: ACC_W]));
                    assign tree_sum2[p*ACC_W +: ACC_W] = {ACC_W{1'b0}};
                end else begin : g_xn
                    // a dead lane: x = 0 (xlive) and w = 1 make its XNOR 0; the two
                    // numbers go to the accumulator's ternary adder
                    assign wop = wb | ~live;
                    assign tree_sum[p*ACC_W +: ACC_W]  = ta;
                    assign tree_sum2[p*ACC_W +: ACC_W] = tb;
                end
            end
        end else begin : g_adder
            // MODE 2 with DSP_PACK = 2: rows 2q and 2q+1 share each input lane, so their
            // two products come from one multiplier (hw_dsp_pair; an odd last row alone)
            /* verilator lint_off UNUSEDSIGNAL */
            wire [PE*SIMD*PW-1:0] pair_prod;  // lane p*SIMD+s: row p's product at lane s
            /* verilator lint_on UNUSEDSIGNAL */
            if (MODE == 2 && DSP_PACK == 2) begin : g_pairs
                for (p = 0; p < PE; p = p + 2) begin : g_pq
                    for (s = 0; s < SIMD; s = s + 1) begin : g_ps
                        wire [IN_W-1:0] xr = m_x[s*IN_W +: IN_W];
                        wire [W_W-1:0]  w0 = m_w[(p*SIMD+s)*W_W +: W_W];
                        if (p + 1 < PE) begin : g_two
                            hw_dsp_pair #(.W_W(W_W), .IN_W(IN_W), .IN_SIGNED(IN_SIGNED),
                                          .OUT_W(PW)) u_pair (
                                .w_lo(w0), .w_hi(m_w[((p+1)*SIMD+s)*W_W +: W_W]), .x(xr),
                                .p_lo(pair_prod[(p*SIMD+s)*PW +: PW]),
                                .p_hi(pair_prod[((p+1)*SIMD+s)*PW +: PW]));
                        end else begin : g_one
                            wire [XW-1:0] xs = {(IN_SIGNED != 0) ? xr[IN_W-1] : 1'b0, xr};
                            assign pair_prod[(p*SIMD+s)*PW +: PW] = $signed(w0) * $signed(xs);
                        end
                    end
                end
            end else begin : g_nopairs
                assign pair_prod = {(PE*SIMD*PW){1'b0}};
            end
            for (p = 0; p < PE; p = p + 1) begin : g_pe
                // heap-ordered adder tree: nodes 0..SIMD-2 internal, SIMD-1..2*SIMD-2 leaves
                wire [(2*SIMD-1)*ACC_W-1:0] node;   // node k at [k*ACC_W +: ACC_W]
                for (s = 0; s < SIMD; s = s + 1) begin : g_lane
                    /* verilator lint_off UNUSEDSIGNAL */  // DSP_PACK 2: in pair_prod
                    wire [W_W-1:0]  w    = m_w[(p*SIMD+s)*W_W +: W_W];
                    wire [IN_W-1:0] xr   = m_x[s*IN_W +: IN_W];
                    wire [ACC_W-1:0] term;
                    // input lane as an XW-bit signed value
                    wire [XW-1:0] xs = {(IN_SIGNED != 0) ? xr[IN_W-1] : 1'b0, xr};
                    /* verilator lint_on UNUSEDSIGNAL */
                    wire [PW-1:0] prod;
                    if (MODE == 1) begin : g_signsel
                        wire [XW-1:0] sel = w[0] ? xs : (~xs + 1'b1);
                        assign prod = {{W_W{sel[XW-1]}}, sel};
                    end else if (MODE == 2 && DSP_PACK == 2) begin : g_mac2
                        assign prod = pair_prod[(p*SIMD+s)*PW +: PW];
                    end else if (MODE == 2) begin : g_mac
                        assign prod = $signed(w) * $signed(xs);
                    end else begin : g_tern
                        // x times the two constant scales by shifts and adds (a
                        // product with a variable factor becomes a DSP48 per lane)
                        wire [PW-1:0] xp = times_const(xs, WP);
                        wire [PW-1:0] xn = times_const(xs, WN);
                        // a swapped row exchanges the magnitudes of its +1 and -1 codes
                        wire [PW-1:0] ppos = m_swap[p] ? xn : xp;
                        wire [PW-1:0] pneg = m_swap[p] ? xp : xn;
                        assign prod = (w == 2'b01) ? ppos
                                    : (w == 2'b11) ? -pneg : {PW{1'b0}};
                    end
                    // sign-extend or truncate the product to ACC_W bits (value fits)
                    if (ACC_W > PW) begin : g_ext
                        assign term = {{(ACC_W-PW){prod[PW-1]}}, prod};
                    end else if (ACC_W == PW) begin : g_same
                        assign term = prod;
                    end else begin : g_trunc
                        /* verilator lint_off UNUSEDSIGNAL */
                        wire [PW-1:0] prod_t = prod;  // upper bits are sign copies
                        /* verilator lint_on UNUSEDSIGNAL */
                        assign term = prod_t[ACC_W-1:0];
                    end
                    assign node[(SIMD-1+s)*ACC_W +: ACC_W] = live[s] ? term : {ACC_W{1'b0}};
                end
                for (n = 0; n < SIMD - 1; n = n + 1) begin : g_node
                    assign node[n*ACC_W +: ACC_W] = node[(2*n+1)*ACC_W +: ACC_W]
                                                  + node[(2*n+2)*ACC_W +: ACC_W];
                end
                assign tree_sum[p*ACC_W +: ACC_W] = node[ACC_W-1:0];
            end
            assign tree_sum2 = {PE*ACC_W{1'b0}};
        end
    endgenerate

    // the control of stage 1, delayed by the LT tree registers (same enable)
    wire           t_v, t_first, t_last;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [NFW-1:0] t_nf;  // read by the thresholds only
    wire [BBW-1:0] t_b;   // read by the batch accumulators only
    /* verilator lint_on UNUSEDSIGNAL */
    localparam integer CB = 2 + NFW + BBW;  // {first, last, nf, vector in batch}
    wire [LT:0]        cv;
    wire [(LT+1)*CB-1:0] cc;
    assign cv[0]      = m_v;
    assign cc[0 +: CB] = {m_first, m_last, m_nf, m_b};
    generate
        for (n = 0; n < LT; n = n + 1) begin : g_tdly
            reg          qv;
            reg [CB-1:0] qc;
            always @(posedge clk) begin
                if (rst) qv <= 1'b0;
                else if (en) qv <= cv[n];
            end
            always @(posedge clk) if (en) qc <= cc[n*CB +: CB];
            assign cv[n+1]          = qv;
            assign cc[(n+1)*CB +: CB] = qc;
        end
    endgenerate
    assign t_v = cv[LT];
    assign {t_first, t_last, t_nf, t_b} = cc[LT*CB +: CB];

    always @(posedge clk) begin
        if (rst) begin
            s2_v <= 1'b0;
        end else if (en) begin
            s2_v <= t_v;
        end
    end
    always @(posedge clk) begin
        if (en) begin
            s2_first <= t_first;
            s2_last  <= t_last;
            s2_psum  <= tree_sum;
            s2_psum2 <= tree_sum2;
        end
    end

    // ------------------------------------------------------------- stage 2 -> 3: accumulate
    wire [PE*ACC_W-1:0] acc;  // the accumulators of the row fold finishing in stage 3
    wire [PE*ACC_W-1:0] acc_base;  // the accumulators this step adds to
    wire [PE*ACC_W-1:0] acc_nxt;   // (s2_first ? 0 : acc_base) + the step's sum
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_accadd
            if (POPC != 0) begin : g_t
                // the trees' two numbers and the accumulator on one ternary adder
                hw_tadd #(.W(ACC_W)) u_acc (
                    .a(acc_base[p*ACC_W +: ACC_W]), .a_en(!s2_first),
                    .b(s2_psum[p*ACC_W +: ACC_W]), .c(s2_psum2[p*ACC_W +: ACC_W]),
                    .sum(acc_nxt[p*ACC_W +: ACC_W]));
            end else begin : g_b
                assign acc_nxt[p*ACC_W +: ACC_W] =
                    (s2_first ? {ACC_W{1'b0}} : acc_base[p*ACC_W +: ACC_W])
                    + s2_psum[p*ACC_W +: ACC_W];
            end
        end
        if (BATCH > 1) begin : g_bacc
            // one set of PE accumulators per vector of the batch; consecutive steps
            // belong to different vectors, so stage 3 reads the set stage 2 just wrote
            reg [PE*ACC_W-1:0] accm [0:BATCH-1];
            reg [BBW-1:0]      s2_b, s3_b;
            assign acc_base = accm[s2_b];
            always @(posedge clk) if (en) s2_b <= t_b;
            always @(posedge clk) if (en) s3_b <= s2_b;
            always @(posedge clk) if (en && s2_v) accm[s2_b] <= acc_nxt;
            assign acc = accm[s3_b];
        end else begin : g_acc
            reg [PE*ACC_W-1:0] acc_q;
            always @(posedge clk) if (en && s2_v) acc_q <= acc_nxt;
            assign acc_base = acc_q;
            assign acc = acc_q;
        end
    endgenerate
    always @(posedge clk) begin
        if (rst) begin
            s3_last <= 1'b0;
        end else if (en) begin
            s3_last <= s2_v && s2_last;
        end
    end

    // ------------------------------------------------------------- stage 3: activation
    // THR_PIPE (with thresholds): the compares are registered (stage 4) and counted there
    wire [PE*LW-1:0] result;
    generate
        if (LTHR != 0) begin : g_s4
            reg s4_last;
            always @(posedge clk) begin
                if (rst) s4_last <= 1'b0;
                else if (en) s4_last <= s3_last;
            end
            assign r_last = s4_last;
        end else begin : g_s3
            assign r_last = s3_last;
        end
    endgenerate
    generate
        if (N_T > 0) begin : g_thr
            // the count and the bias are added modulo 2^OUT_W (the output truncates)
            localparam [31:0]       BIAS32 = OUT_BIAS;
            localparam [OUT_W-1:0]  BIAS   = BIAS32[OUT_W-1:0];
            localparam [31:0]       ONE32  = 1;
            localparam [OUT_W-1:0]  ONE    = ONE32[OUT_W-1:0];
            wire [TWORD-1:0] thr_q;    // thresholds of the rows in acc
            if (LTHR != 0) begin : g_tread2
                // THR_PIPE: the word is read a stage early and registered, so that the
                // ROM's clock-to-output (a block RAM's) is not on the compare's path
                wire [TWORD-1:0] thr_r;
                reg  [TWORD-1:0] thr_qq;
                hw_ram #(.WIDTH(TWORD), .DEPTH(NF), .ROM(1), .RAM_STYLE(THR_STYLE),
                         .INIT_FILE(THRESH_FILE)) u_trom (
                    .clk(clk), .we(1'b0), .waddr({NFW{1'b0}}), .wdata({TWORD{1'b0}}),
                    .re(en), .raddr(t_nf), .rdata(thr_r));
                always @(posedge clk) if (en) thr_qq <= thr_r;
                assign thr_q = thr_qq;
            end else begin : g_tread
                reg  [NFW-1:0]   s2_nf;
                always @(posedge clk) if (en) s2_nf <= t_nf;
                hw_ram #(.WIDTH(TWORD), .DEPTH(NF), .ROM(1), .RAM_STYLE(THR_STYLE),
                         .INIT_FILE(THRESH_FILE)) u_trom (
                    .clk(clk), .we(1'b0), .waddr({NFW{1'b0}}), .wdata({TWORD{1'b0}}),
                    .re(en), .raddr(s2_nf), .rdata(thr_q));
            end
            for (p = 0; p < PE; p = p + 1) begin : g_act
                wire signed [ACC_W-1:0] a = acc[p*ACC_W +: ACC_W];
                wire [N_T-1:0] ge_c;  // the compare, stage 3
                wire [N_T-1:0] ge;    // what the count reads: ge_c, or stage 4's copy
                for (n = 0; n < N_T; n = n + 1) begin : g_cmp
                    assign ge_c[n] = a >= $signed(thr_q[(p*N_T+n)*ACC_W +: ACC_W]);
                end
                if (LTHR != 0) begin : g_reg
                    reg [N_T-1:0] q;
                    always @(posedge clk) if (en) q <= ge_c;
                    assign ge = q;
                end else begin : g_comb
                    assign ge = ge_c;
                end
                reg [OUT_W-1:0] cnt;
                integer t;
                always @* begin
                    cnt = BIAS;
                    for (t = 0; t < N_T; t = t + 1)
                        if (ge[t]) cnt = cnt + ONE;
                end
                assign result[p*LW +: LW] = cnt;
            end
        end else begin : g_raw
            assign result = acc;
        end
    endgenerate

    // ------------------------------------------------------------- 2-entry output buffer
    generate
        if (BATCH > 1) begin : g_reorder
            // results arrive in the order nf, vector: bank wbank at vector*NF + nf; a full
            // bank leaves in address order (vector-major) through the output buffer
            localparam integer BNF = BATCH * NF;               // beats of one bank
            localparam integer OAW = $clog2(2 * BNF);
            localparam [31:0]  BNF32 = BNF;
            localparam [31:0]  NF32  = NF;
            localparam [OAW-1:0] BNF_A = BNF32[OAW-1:0];
            localparam [OAW-1:0] NF_A  = NF32[OAW-1:0];
            localparam [OAW-1:0] OLAST = BNF_A - 1'b1;
            reg [OAW-1:0] wboff, wnf, roff;  // writer: vector*NF and nf; reader: address
            reg [BBW-1:0] wb;
            reg           wbank, rbank, rd_v;
            reg [1:0]     ofull;             // bank holds a whole batch not yet sent
            wire          rd_ready;
            wire push  = en && r_last;
            wire w_end = push && (wb == B_LAST) && (wnf == NF_A - 1'b1);
            wire issue = ofull[rbank] && (!rd_v || rd_ready);
            wire r_end = issue && (roff == OLAST);
            wire [OAW-1:0] rbuf;
            assign ob_ready = !ofull[wbank];
            always @(posedge clk) begin
                if (rst) begin
                    wboff <= {OAW{1'b0}};
                    wnf   <= {OAW{1'b0}};
                    wb    <= {BBW{1'b0}};
                    roff  <= {OAW{1'b0}};
                    wbank <= 1'b0;
                    rbank <= 1'b0;
                    rd_v  <= 1'b0;
                    ofull <= 2'b00;
                end else begin
                    if (push && wb == B_LAST) begin
                        wb    <= {BBW{1'b0}};
                        wboff <= {OAW{1'b0}};
                        wnf   <= (wnf == NF_A - 1'b1) ? {OAW{1'b0}} : wnf + 1'b1;
                    end else if (push) begin
                        wb    <= wb + 1'b1;
                        wboff <= wboff + NF_A;
                    end
                    if (w_end) begin
                        wbank        <= ~wbank;
                        ofull[wbank] <= 1'b1;
                    end
                    if (issue) roff <= r_end ? {OAW{1'b0}} : roff + 1'b1;
                    if (r_end) begin
                        rbank        <= ~rbank;
                        ofull[rbank] <= 1'b0;
                    end
                    if (issue) rd_v <= 1'b1;
                    else if (rd_ready) rd_v <= 1'b0;
                end
            end
            assign rbuf = (rbank ? BNF_A : {OAW{1'b0}}) + roff;
            wire [PE*LW-1:0] rdata;
            hw_ram #(.WIDTH(PE*LW), .DEPTH(2 * BNF)) u_rbuf (
                .clk(clk), .we(push), .waddr((wbank ? BNF_A : {OAW{1'b0}}) + wboff + wnf),
                .wdata(result), .re(issue), .raddr(rbuf), .rdata(rdata));
            hw_outbuf #(.WIDTH(PE*LW)) u_obuf (
                .clk(clk), .rst(rst),
                .in_data(rdata), .in_valid(rd_v), .in_ready(rd_ready),
                .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
            assign credit = 1'b1;
        end else begin : g_direct
            // credits: output beats started (a step finishing a row fold fired) and not
            // yet sent; OB_DEPTH covers the pipeline's LAT cycles at full rate
            localparam integer CRW = $clog2(OB_DEPTH + 1);
            localparam [31:0]    OBD32 = OB_DEPTH;
            localparam [CRW-1:0] OBD   = OBD32[CRW-1:0];
            localparam [CRW-1:0] ONE   = {{(CRW-1){1'b0}}, 1'b1};
            reg  [CRW-1:0] inflight;
            wire reserve = fire && sf_end;
            wire sent    = out_valid && out_ready;
            always @(posedge clk) begin
                if (rst) inflight <= {CRW{1'b0}};
                else inflight <= inflight + (reserve ? ONE : {CRW{1'b0}})
                                          - (sent ? ONE : {CRW{1'b0}});
            end
            assign credit = (inflight != OBD);
            /* verilator lint_off UNUSEDSIGNAL */
            wire ob_in_ready;  // always high when a beat arrives (credits)
            /* verilator lint_on UNUSEDSIGNAL */
            assign ob_ready = 1'b1;
            hw_outbuf #(.WIDTH(PE*LW), .DEPTH(OB_DEPTH)) u_obuf (
                .clk(clk), .rst(rst),
                .in_data(result), .in_valid(r_last), .in_ready(ob_in_ready),
                .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));
        end
    endgenerate
endmodule
`default_nettype wire
