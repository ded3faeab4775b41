// hw_topk.v — label select: the indices of the K largest of N signed values.
//
// Input beat: PE lanes of ACC_W-bit signed values (LSB first); one vector of N values is
// ceil(N/PE) beats, element i in beat i/PE, lane i%PE; lanes of the last beat at
// i >= N are padding and are ignored.
// Output: K beats per vector, each one IDX_W-bit index (zero-extended), in decreasing
// order of value; equal values give the lower index first.
// Operation: one element per cycle is inserted into a sorted list of K (value, index)
// registers (K comparators); when the vector is complete the K indices are copied into
// an output shift register and the list starts over with the next vector, so input of
// vector v+1 overlaps output of vector v.
// Throughput: N cycles per vector (N+1 when K == N), back to back, as long as in_valid
// and out_ready stay high; an input beat is taken every PE cycles (fewer for the tail).
// Latency: when the vector's last input beat transfers in cycle c, the first index is
// valid from cycle c+L+2, L = N - (ceil(N/PE)-1)*PE lanes in that beat; one index per
// cycle follows.
// Backpressure: out_ready low stalls the copy and then the input; in_ready does not
// depend combinationally on out_ready.
`default_nettype none
module hw_topk #(
    parameter integer N     = 10,          // labels (values per vector)
    parameter integer PE    = 1,           // values per input beat (need not divide N)
    parameter integer ACC_W = 16,          // bits of a signed input value
    parameter integer K     = 1,           // indices output per vector, 1..N
    parameter integer IDX_W = (N > 1) ? $clog2(N) : 1  // output index bits
) (
    input  wire                  clk,
    input  wire                  rst,      // synchronous, active high
    // input stream: PE lanes of ACC_W-bit signed values
    input  wire [PE*ACC_W-1:0]   in_data,
    input  wire                  in_valid,
    output wire                  in_ready,
    // output stream: one IDX_W-bit index per beat
    output wire [IDX_W-1:0]      out_data,
    output wire                  out_valid,
    input  wire                  out_ready
);
    localparam integer LNW = (PE > 1) ? $clog2(PE) : 1;     // lane counter bits
    localparam integer OCW = $clog2(K + 1);                 // output count bits
    localparam [31:0]      PE_M1   = PE - 1;
    localparam [31:0]      N_M1    = N - 1;
    localparam [31:0]      K32     = K;
    localparam [LNW-1:0]   LN_LAST = PE_M1[LNW-1:0];
    localparam [IDX_W-1:0] IX_LAST = N_M1[IDX_W-1:0];
    localparam [OCW-1:0]   OC_K    = K32[OCW-1:0];

    initial begin
        if (N < 1) begin $display("ERROR: %m: N=%0d must be >= 1", N); $finish; end
        if (PE < 1 || PE > N) begin
            $display("ERROR: %m: PE=%0d must be in 1..N=%0d", PE, N);
            $finish;
        end
        if (K < 1 || K > N) begin
            $display("ERROR: %m: K=%0d must be in 1..N=%0d", K, N);
            $finish;
        end
        if (ACC_W < 1) begin $display("ERROR: %m: ACC_W=%0d must be >= 1", ACC_W); $finish; end
        if (IDX_W < 1 || (N > 1 && IDX_W < $clog2(N))) begin
            $display("ERROR: %m: IDX_W=%0d must hold N-1=%0d", IDX_W, N - 1);
            $finish;
        end
    end

    // ------------------------------------------------------------- input beat, lane by lane
    reg [PE*ACC_W-1:0] bq;        // current beat, shifted so lane 0 is the current element
    reg                bvalid;
    reg [LNW-1:0]      ln;        // lane of bq[ACC_W-1:0] in its beat
    reg [IDX_W-1:0]    idx;       // element index of bq[ACC_W-1:0]
    reg                done;      // the list holds a complete vector
    reg [OCW-1:0]      ocnt;      // indices left in the output shift register

    wire copy      = done && (ocnt == {OCW{1'b0}});
    wire ins       = bvalid && (!done || copy);
    wire vec_last  = (idx == IX_LAST);
    wire lane_last = (ln == LN_LAST) || vec_last;
    wire signed [ACC_W-1:0] cur = bq[ACC_W-1:0];

    assign in_ready = !bvalid || (ins && lane_last);
    wire accept = in_valid && in_ready;

    always @(posedge clk) begin
        if (rst) begin
            bvalid <= 1'b0;
            ln     <= {LNW{1'b0}};
            idx    <= {IDX_W{1'b0}};
            done   <= 1'b0;
        end else begin
            if (accept) begin
                bvalid <= 1'b1;
                ln     <= {LNW{1'b0}};
            end else if (ins) begin
                if (lane_last) bvalid <= 1'b0;
                ln <= ln + 1'b1;
            end
            if (ins) idx <= vec_last ? {IDX_W{1'b0}} : idx + 1'b1;
            if (ins && vec_last) done <= 1'b1;
            else if (copy)       done <= 1'b0;
        end
    end
    always @(posedge clk) begin
        if (accept)   bq <= in_data;
        else if (ins) bq <= bq >> ACC_W;
    end

    // ------------------------------------------------------------- sorted list of K
    reg [K*ACC_W-1:0] e_val;              // entry i value at [i*ACC_W +: ACC_W]
    reg [K*IDX_W-1:0] e_idx;              // entry i index at [i*IDX_W +: IDX_W]
    reg [K-1:0]     ev;                   // entry holds an element
    wire [K-1:0]    evv = copy ? {K{1'b0}} : ev;  // a copy empties the list
    wire [K-1:0]    gt;                   // the new element goes at or above entry i

    genvar i;
    generate
        for (i = 0; i < K; i = i + 1) begin : g_ent
            // strictly greater: an equal value keeps the earlier (lower) index above it
            assign gt[i] = !evv[i] || (cur > $signed(e_val[i*ACC_W +: ACC_W]));
            if (i == 0) begin : g_top
                always @(posedge clk) begin
                    if (rst) ev[i] <= 1'b0;
                    else     ev[i] <= (ins && gt[i]) ? 1'b1 : evv[i];
                end
                always @(posedge clk) begin
                    if (ins && gt[i]) begin
                        e_val[i*ACC_W +: ACC_W] <= cur;
                        e_idx[i*IDX_W +: IDX_W] <= idx;
                    end
                end
            end else begin : g_rest
                always @(posedge clk) begin
                    if (rst)                ev[i] <= 1'b0;
                    else if (ins && gt[i])  ev[i] <= gt[i-1] ? evv[i-1] : 1'b1;
                    else                    ev[i] <= evv[i];
                end
                always @(posedge clk) begin
                    if (ins && gt[i]) begin
                        e_val[i*ACC_W +: ACC_W] <= gt[i-1] ? e_val[(i-1)*ACC_W +: ACC_W] : cur;
                        e_idx[i*IDX_W +: IDX_W] <= gt[i-1] ? e_idx[(i-1)*IDX_W +: IDX_W] : idx;
                    end
                end
            end
        end
    endgenerate

    // ------------------------------------------------------------- output shift register
    reg [K*IDX_W-1:0] ob;                 // index i at [i*IDX_W +: IDX_W], 0 is the head
    wire pop = out_valid && out_ready;

    assign out_valid = (ocnt != {OCW{1'b0}});
    assign out_data  = ob[IDX_W-1:0];

    always @(posedge clk) begin
        if (rst)       ocnt <= {OCW{1'b0}};
        else if (copy) ocnt <= OC_K;
        else if (pop)  ocnt <= ocnt - 1'b1;
    end
    always @(posedge clk) begin
        if (copy)     ob <= e_idx;
        else if (pop) ob <= ob >> IDX_W;
    end
endmodule
`default_nettype wire
