// hw_add.h — elementwise sum of two streams with per-channel integer coefficients, then
// multi-threshold activation or the raw sum (hw_add.v).
//
// Inputs a, b: VECTORS vectors of C elements, C/PE beats of PE lanes (A_W / B_W bits:
// two's complement when *_SIGNED, one bit 1 = +1 / 0 = -1 when *_BIPOLAR, else
// unsigned); lane l of beat g is channel c = g*PE + l.
// z = coefs[c][0]*a + coefs[c][1]*b (exact: the compiler sizes ACC_W to hold z).
// Output lane: N_T == 0: z (ACC_W bits, two's complement); N_T > 0: OUT_W bits of
// (number of t with z >= thresholds[c][t]) + OUT_BIAS (as hw_mvu).
// One beat pair per iteration (pipelined II=1).
#ifndef HALFWAVE_HW_ADD_H
#define HALFWAVE_HW_ADD_H

#include "hw_stream.h"

namespace halfwave {

// One input lane as a signed value (W + 1 bits hold every unsigned W-bit code).
template <int W, int SIGNED, int BIPOLAR>
inline ap_int<W + 1> add_lane(const ap_uint<W>& u) {
#pragma HLS INLINE
    if (BIPOLAR) return u[0] ? ap_int<W + 1>(1) : ap_int<W + 1>(-1);
    if (SIGNED) return ap_int<W + 1>(ap_int<W>(u));
    return ap_int<W + 1>(u);
}

template <int C, int PE, int A_W, int A_SIGNED, int A_BIPOLAR, int B_W, int B_SIGNED,
          int B_BIPOLAR, int ACC_W, int CW, int N_T, int OUT_W, int OUT_BIAS, int VECTORS>
void hw_add(hls::stream<ap_uint<PE * A_W> >& a, hls::stream<ap_uint<PE * B_W> >& b,
            hls::stream<ap_uint<PE*((N_T > 0) ? OUT_W : ACC_W)> >& out,
            const ap_int<CW> coefs[C][2], const ap_int<ACC_W> thresholds[C][N_T > 0 ? N_T : 1]) {
    const int LW = (N_T > 0) ? OUT_W : ACC_W;
    for (int i = 0; i < VECTORS * (C / PE); i++) {
#pragma HLS PIPELINE II=1
        const int g = i % (C / PE);
        const ap_uint<PE * A_W> ab = a.read();
        const ap_uint<PE * B_W> bb = b.read();
        ap_uint<LW> lanes[PE];
#pragma HLS ARRAY_PARTITION variable=lanes complete
        for (int l = 0; l < PE; l++) {
#pragma HLS UNROLL
            const int c = g * PE + l;
            const ap_int<A_W + 1> av = add_lane<A_W, A_SIGNED, A_BIPOLAR>(lane<A_W>(ab, l));
            const ap_int<B_W + 1> bv = add_lane<B_W, B_SIGNED, B_BIPOLAR>(lane<B_W>(bb, l));
            // exact sum, then ACC_W bits (z fits)
            const ap_int<ACC_W> z = ap_int<ACC_W>(ap_int<A_W + B_W + CW + 4>(
                ap_int<A_W + CW + 2>(av * coefs[c][0]) + ap_int<B_W + CW + 2>(bv * coefs[c][1])));
            if (N_T > 0) {
                ap_uint<OUT_W> cnt = ap_uint<OUT_W>(OUT_BIAS);
                for (int t = 0; t < (N_T > 0 ? N_T : 1); t++) {
#pragma HLS UNROLL
                    if (z >= thresholds[c][t]) cnt++;
                }
                lanes[l] = cnt;
            } else {
                lanes[l] = ap_uint<LW>(z);
            }
        }
        out.write(pack<LW, PE>(lanes));
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_ADD_H
