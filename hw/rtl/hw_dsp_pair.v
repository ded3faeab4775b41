// hw_dsp_pair.v — two products that share a factor in one multiplier: p_lo = w_lo * x,
// p_hi = w_hi * x (w_lo, w_hi W_W-bit two's complement, x IN_W bits, signed if IN_SIGNED),
// computed as one (25 x 18)-bit signed product, the width of a DSP48E1 multiplier:
//     A = w_lo + w_hi * 2^K,  K = W_W + IN_W (the bits of one product, sign included),
//     P = A * x + 2^(K-1)    (the rounding constant: the DSP48E1's post-adder, C port)
//       = (w_lo*x + 2^(K-1)) + (w_hi*x) * 2^K, and 0 <= w_lo*x + 2^(K-1) < 2^K, so
//     p_hi = P >> K (exact: the constant is the sign correction of the low product) and
//     p_lo = P[K-1:0] with its top bit inverted, read as K-bit two's complement.
// A is w_lo's low K bits (sign-extended) under w_hi - sign(w_lo): a W_W+1-bit subtract in
// LUTs, no pre-adder. Bit budget: A must be a 25-bit signed value,
//     W_W + K = 2*W_W + IN_W <= 24   (8-bit weights x 8-bit inputs: 24, fits exactly),
// and x as a signed value IN_W + 1 <= 18 bits; wider operands are refused (ERROR at time 0).
//
// Combinational, latency 0 (hw_mvu's stage 1 -> 2 path: ROM read register to the PE
// adder trees); Yosys synth_xilinx maps the multiply-add to one DSP48E1 (tests/hw: its
// DSP48E1 count is one per pair). Behavioural Verilog: the same model in Verilator.
`default_nettype none
module hw_dsp_pair #(
    parameter integer W_W       = 8,   // weight bits (two's complement), >= 2
    parameter integer IN_W      = 8,   // input bits
    parameter integer IN_SIGNED = 0,   // 1: x is two's complement, 0: unsigned
    parameter integer OUT_W     = W_W + IN_W + 1  // product bits out (sign-extended), > K
) (
    input  wire [W_W-1:0]   w_lo,   // weight of the low product
    input  wire [W_W-1:0]   w_hi,   // weight of the high product
    input  wire [IN_W-1:0]  x,      // the shared input
    output wire [OUT_W-1:0] p_lo,   // w_lo * x, two's complement
    output wire [OUT_W-1:0] p_hi    // w_hi * x, two's complement
);
    localparam integer K  = W_W + IN_W;  // one product's bits
    localparam integer XW = IN_W + 1;    // x as a signed value
    localparam integer UW = 25 - K;      // A's bits above the low product (>= W_W + 1)
    localparam integer PW = 25 + XW;     // full product bits

    initial begin
        if (W_W < 2 || IN_W < 1) begin
            $display("ERROR: %m: W_W=%0d must be >= 2 and IN_W=%0d >= 1", W_W, IN_W);
            $finish;
        end
        if (2 * W_W + IN_W > 24 || XW > 18) begin
            $display("ERROR: %m: two %0d-bit x %0d-bit products do not fit one DSP48E1 (25 x 18 signed): need 2*W_W+IN_W <= 24 and IN_W+1 <= 18",
                   W_W, IN_W);
            $finish;
        end
        if (OUT_W <= K) begin
            $display("ERROR: %m: OUT_W=%0d must exceed the product's %0d bits", OUT_W, K);
            $finish;
        end
    end

    // A = w_lo + w_hi * 2^K as {w_hi - sign(w_lo), low K bits of w_lo sign-extended}
    wire [K-1:0]  a_lo = {{(K-W_W){w_lo[W_W-1]}}, w_lo};
    wire [UW-1:0] a_hi = {{(UW-W_W){w_hi[W_W-1]}}, w_hi} - {{(UW-1){1'b0}}, w_lo[W_W-1]};
    wire signed [24:0] a  = {a_hi, a_lo};
    wire signed [XW-1:0] xs = {(IN_SIGNED != 0) ? x[IN_W-1] : 1'b0, x};
    localparam [PW-1:0] ROUND = {{(PW-1){1'b0}}, 1'b1} << (K - 1);
    wire signed [PW-1:0] prod = a * xs + $signed(ROUND);

    wire [K-1:0] lo = {~prod[K-1], prod[K-2:0]};
    wire [K-1:0] hi = prod[K +: K];
    assign p_lo = {{(OUT_W-K){lo[K-1]}}, lo};
    assign p_hi = {{(OUT_W-K){hi[K-1]}}, hi};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PW-2*K-1:0] unused_top = prod[PW-1:2*K];  // copies of the high product's sign
    /* verilator lint_on UNUSEDSIGNAL */
endmodule
`default_nettype wire
