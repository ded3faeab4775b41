// hw_lane_repack.v — lane-count and lane-width converter for a stream of vectors.
//
// Every vector has COUNT elements. An input beat carries IN_LANES lanes of IN_LW bits
// (element i of a vector in beat i/IN_LANES, lane i%IN_LANES, lane l at bits
// [l*IN_LW +: IN_LW]); a vector takes IB = ceil(COUNT/IN_LANES) input beats and the tail
// lanes of its last beat are padding, ignored. An output beat carries OUT_LANES lanes
// of OUT_LW bits the same way; a vector takes OB = ceil(COUNT/OUT_LANES) output beats,
// tail lanes are zero, and out_last is high on the last beat of each vector. Each
// element is sign-extended (SIGNED=1) or zero-extended (SIGNED=0) when OUT_LW > IN_LW
// and keeps its low OUT_LW bits when OUT_LW < IN_LW. Vectors follow each other with
// no gap: one output beat may end a vector and the next one start the next vector.
//
// IN_LANES == OUT_LANES: a combinational pass-through (beats map one to one, lanes are
// re-sized and the tail zeroed). Latency 0, one beat per cycle, in_ready = out_ready.
//
// Otherwise: a queue of G-element granules, G = gcd(IN_LANES, OUT_LANES, COUNT) (every
// beat moves whole granules, so the pointers only take multiples of G and the crossbars
// between the lanes and the queue are G*G times smaller than element-wise: 96 -> 32
// lanes of a 96-element vector move 3 -> 1 granules of 32). The queue holds CAP =
// IL + OL + max(IL, OL) - 2 granules with IL = IN_LANES/G, OL = OUT_LANES/G (a circular
// queue with one-hot read and write pointers, so no pointer arithmetic sits between
// them and the queue; vectors are not aligned in it). in_ready is high when the buffer
// has room for the whole input beat, out_valid when it holds every element
// of the next output beat; both depend only on registered state (no combinational path
// between the two streams). Latency: an output beat is valid at the earliest in the
// cycle after the input beat that completes it was accepted. Throughput: with the
// producer always valid and out_ready always high, one vector every max(IB, OB) cycles
// in steady state (min(1/IB, 1/OB) vectors per cycle: whichever side needs more beats
// per vector transfers one beat every cycle; the other side idles in the remaining
// cycles). CAP is the smallest buffer of that form for which this holds: checked on a
// cycle model for every pair of lane counts up to 16 with COUNT < 60 and for 3300
// random cases up to 256 lanes and COUNT 1000; one element less fails e.g. for 2 -> 3
// lanes.
`default_nettype none
module hw_lane_repack #(
    parameter integer IN_LANES  = 4, // elements per input beat, 1..256
    parameter integer IN_LW     = 8, // bits per input lane
    parameter integer OUT_LANES = 3, // elements per output beat, 1..256
    parameter integer OUT_LW    = 8, // bits per output lane
    parameter integer COUNT     = 12, // elements per vector, >= 1
    parameter integer SIGNED    = 0  // 1: lanes are two's complement (sign-extend), 0: unsigned
) (
    input  wire                          clk,
    input  wire                          rst,       // synchronous, active high
    // input stream
    input  wire [IN_LANES*IN_LW-1:0]     in_data,
    input  wire                          in_valid,
    output wire                          in_ready,
    // output stream
    output wire [OUT_LANES*OUT_LW-1:0]   out_data,
    output wire                          out_valid,
    input  wire                          out_ready,
    output wire                          out_last   // high on the last beat of a vector
);
    initial begin
        if (IN_LANES < 1 || IN_LANES > 256) begin
            $display("ERROR: %m: IN_LANES=%0d must be in 1..256", IN_LANES);
            $finish;
        end
        if (OUT_LANES < 1 || OUT_LANES > 256) begin
            $display("ERROR: %m: OUT_LANES=%0d must be in 1..256", OUT_LANES);
            $finish;
        end
        if (IN_LW < 1 || OUT_LW < 1) begin
            $display("ERROR: %m: IN_LW=%0d and OUT_LW=%0d must be >= 1", IN_LW, OUT_LW);
            $finish;
        end
        if (COUNT < 1) begin $display("ERROR: %m: COUNT=%0d must be >= 1", COUNT); $finish; end
        if (SIGNED != 0 && SIGNED != 1) begin
            $display("ERROR: %m: SIGNED=%0d must be 0 or 1", SIGNED);
            $finish;
        end
    end

    // Greatest common divisor of three positive numbers (Euclid; 40 steps cover any
    // operands below 10^8).
    function integer gcd3(input integer a, input integer b, input integer c);
        integer x, y, t, k, r;
        begin
            x = a; y = b;
            for (r = 0; r < 2; r = r + 1) begin
                for (k = 0; k < 40; k = k + 1)
                    if (y != 0) begin t = x % y; x = y; y = t; end
                y = c;
            end
            gcd3 = x;
        end
    endfunction

    localparam integer SW  = (IN_LW < OUT_LW) ? IN_LW : OUT_LW;     // stored element bits
    localparam integer XW  = OUT_LW - SW;                           // extension bits
    localparam integer IB  = (COUNT + IN_LANES - 1) / IN_LANES;     // input beats/vector
    localparam integer OB  = (COUNT + OUT_LANES - 1) / OUT_LANES;   // output beats/vector
    localparam integer IBW = (IB > 1) ? $clog2(IB) : 1;             // input beat counter
    localparam integer OBW = (OB > 1) ? $clog2(OB) : 1;             // output beat counter
    localparam integer IN_TAIL  = COUNT - (IB - 1) * IN_LANES;      // lanes in last in beat
    localparam integer OUT_TAIL = COUNT - (OB - 1) * OUT_LANES;     // lanes in last out beat
    localparam integer IB_LAST  = IB - 1;
    localparam integer OB_LAST  = OB - 1;

    // Input lanes cut to SW bits; output lanes (SW bits) and which of them are real.
    wire [SW-1:0]        in_sw  [0:IN_LANES-1];
    wire [SW-1:0]        out_sw [0:OUT_LANES-1];
    wire [OUT_LANES-1:0] out_en;
    wire                 unused_in_bits = ^in_data; // high bits dropped when OUT_LW < IN_LW

    genvar i, j;
    generate
        for (i = 0; i < IN_LANES; i = i + 1) begin : g_in
            assign in_sw[i] = in_data[i*IN_LW +: SW];
        end

        // Output lanes: extend to OUT_LW, zero the tail lanes.
        for (j = 0; j < OUT_LANES; j = j + 1) begin : g_out
            if (XW == 0) begin : g_same
                assign out_data[j*OUT_LW +: OUT_LW] = out_en[j] ? out_sw[j] : {OUT_LW{1'b0}};
            end else begin : g_ext
                wire ext = (SIGNED != 0) && out_sw[j][SW-1];
                assign out_data[j*OUT_LW +: OUT_LW] =
                    out_en[j] ? {{XW{ext}}, out_sw[j]} : {OUT_LW{1'b0}};
            end
        end

        if (IN_LANES == OUT_LANES) begin : g_pass
            // One input beat is one output beat.
            reg [OBW-1:0] beat;
            wire          last = (beat == OB_LAST[OBW-1:0]);
            always @(posedge clk) begin
                if (rst) beat <= {OBW{1'b0}};
                else if (out_valid && out_ready) beat <= last ? {OBW{1'b0}} : beat + 1'b1;
            end
            for (j = 0; j < OUT_LANES; j = j + 1) begin : g_lane
                assign out_sw[j] = in_sw[j];
                assign out_en[j] = !last || (j < OUT_TAIL);
            end
            assign out_valid = in_valid;
            assign in_ready  = out_ready;
            assign out_last  = last;
        end else begin : g_buf
            localparam integer G   = gcd3(IN_LANES, OUT_LANES, COUNT); // elements a granule
            localparam integer GW  = G * SW;                              // granule bits
            localparam integer IL  = IN_LANES / G;                        // granules an input beat
            localparam integer OL  = OUT_LANES / G;                       // granules an output beat
            localparam integer CAP = IL + OL + ((IL > OL) ? IL : OL) - 2; // queue granules
            localparam integer CW  = $clog2(CAP + 1);                     // bits of 0..CAP
            localparam [CW-1:0] CAP_C = CAP[CW-1:0];
            localparam integer IN_TG  = IN_TAIL / G;  // granules in the last input beat
            localparam integer OUT_TG = OUT_TAIL / G; // granules in the last output beat

            // Pointers are one-hot (bit s: slot s), so the lanes' slots are constant
            // rotations of them: no adder, modulo or decoder between the pointer
            // registers and the queue (they were the critical path on the ECP5).
            reg  [CAP-1:0] wr_oh;                // next free slot
            reg  [CAP-1:0] rd_oh;                // oldest granule
            reg  [CW-1:0]  count;                // granules stored
            reg  [IBW-1:0] in_beat;              // beat of the current input vector
            reg  [OBW-1:0] out_beat;             // beat of the current output vector

            wire in_last  = (in_beat == IB_LAST[IBW-1:0]);
            wire out_lst  = (out_beat == OB_LAST[OBW-1:0]);
            wire [CW-1:0] k_in = in_last ? IN_TG[CW-1:0] : IL[CW-1:0];
            wire [CW-1:0] need = out_lst ? OUT_TG[CW-1:0] : OL[CW-1:0];
            wire in_fire  = in_valid && in_ready;
            wire out_fire = out_valid && out_ready;
            wire [IL-1:0]  wmask;                // input granules this beat brings
            wire [OL-1:0]  rmask;                // output granules this beat takes
            wire [GW-1:0]  in_g [0:IL-1];
            wire [GW-1:0]  mem  [0:CAP-1];

            assign in_ready  = (count <= CAP_C - k_in);
            assign out_valid = (count >= need);
            assign out_last  = out_lst;

            for (i = 0; i < IL; i = i + 1) begin : g_win
                localparam [CW-1:0] LANE = i[CW-1:0];
                assign wmask[i] = (LANE < k_in);
                for (j = 0; j < G; j = j + 1) begin : g_el
                    assign in_g[i][j*SW +: SW] = in_sw[i*G + j];
                end
            end
            // slot s takes input granule i when the write pointer is at slot s - i
            // A free slot takes its input granule whether or not in_valid is high (in_ready
            // guarantees the slots a beat goes to are free): the data registers' enables
            // come from local registers (pointer, beat, occupancy) and not from in_valid,
            // whose fan-out to every slot bit was the ECP5 critical path.
            for (i = 0; i < CAP; i = i + 1) begin : g_slot
                reg  [GW-1:0] q;
                reg  [GW-1:0] d;
                reg           hit;   // one of this beat's granules goes here
                reg           taken; // one of the granules read this beat is here
                reg           occ;   // holds a granule not yet read
                integer       l;
                always @* begin
                    d   = {GW{1'b0}};
                    hit = 1'b0;
                    for (l = 0; l < IL; l = l + 1)
                        if (wmask[l] && wr_oh[(i - l + CAP) % CAP]) begin
                            d   = d | in_g[l];
                            hit = 1'b1;
                        end
                    taken = 1'b0;
                    for (l = 0; l < OL; l = l + 1)
                        if (rmask[l] && rd_oh[(i - l + CAP) % CAP]) taken = 1'b1;
                end
                always @(posedge clk) if (hit && !occ) q <= d;
                always @(posedge clk) begin
                    if (rst) occ <= 1'b0;
                    else if (in_fire && hit) occ <= 1'b1;
                    else if (out_fire && taken) occ <= 1'b0;
                end
                assign mem[i] = q;
            end
            // output granule i is the slot rd + i
            for (i = 0; i < OL; i = i + 1) begin : g_ridx
                localparam [CW-1:0] LANE = i[CW-1:0];
                reg     [GW-1:0] g;
                assign rmask[i] = (LANE < need);
                integer          l;
                always @* begin
                    g = {GW{1'b0}};
                    for (l = 0; l < CAP; l = l + 1)
                        if (rd_oh[(l - i + CAP) % CAP]) g = g | mem[l];
                end
                for (j = 0; j < G; j = j + 1) begin : g_el
                    assign out_sw[i*G + j] = g[j*SW +: SW];
                    assign out_en[i*G + j] = (LANE < need);
                end
            end

            // a one-hot pointer advanced by a constant k: rotated left by k
            function [CAP-1:0] rot(input [CAP-1:0] x, input integer k);
                integer b;
                begin
                    for (b = 0; b < CAP; b = b + 1) rot[b] = x[(b - k % CAP + CAP) % CAP];
                end
            endfunction

            always @(posedge clk) begin
                if (rst) begin
                    wr_oh    <= {{(CAP-1){1'b0}}, 1'b1};
                    rd_oh    <= {{(CAP-1){1'b0}}, 1'b1};
                    count    <= {CW{1'b0}};
                    in_beat  <= {IBW{1'b0}};
                    out_beat <= {OBW{1'b0}};
                end else begin
                    if (in_fire) begin
                        wr_oh   <= in_last ? rot(wr_oh, IN_TG) : rot(wr_oh, IL);
                        in_beat <= in_last ? {IBW{1'b0}} : in_beat + 1'b1;
                    end
                    if (out_fire) begin
                        rd_oh    <= out_lst ? rot(rd_oh, OUT_TG) : rot(rd_oh, OL);
                        out_beat <= out_lst ? {OBW{1'b0}} : out_beat + 1'b1;
                    end
                    count <= count + (in_fire ? k_in : {CW{1'b0}})
                                   - (out_fire ? need : {CW{1'b0}});
                end
            end
        end
    endgenerate
endmodule
`default_nettype wire
