// hw_mvu.h — matrix-vector unit (HLS twin of hw/rtl/hw_mvu.v): MH x MW weights times
// VECTORS input vectors of MW elements per call, PE rows and SIMD columns per cycle,
// optional fused multi-threshold activation.
//
// Input beat: SIMD lanes of IN_W bits; a vector is SF = ceil(MW/SIMD) beats, lanes at
// columns >= MW are padding (masked by column index). Output beat: PE lanes; beat nf
// (0..NF-1, NF = ceil(MH/PE)) lane p is row nf*PE+p (rows >= MH: junk, dropped by the
// consumer). N_T == 0: a lane is the ACC_W-bit signed accumulator; N_T > 0: OUT_W bits
// of (number of t with acc >= thresholds[p][nf][t]) + OUT_BIAS.
// Contribution of (row, column), summed over the MW columns:
//     MODE 0 XNOR    : weight bit == input bit ? 1 : 0          (acc = popcount)
//     MODE 1 SIGNSEL : weight bit 1 ? +x : -x                    (x signed if IN_SIGNED)
//     MODE 2 MAC     : w * x, w W_W-bit two's complement
//     MODE 3 TERNARY : 2-bit code w: +1 -> +WP*x, -1 -> -WN*x, else 0; a row with
//                      swap[p][nf] set uses WN for +1 and WP for -1 (a negated row of
//                      an asymmetric ternary layer)
// Parameters (halfwave/hw/memfiles.py packs them; codegen_hls.py writes them out):
//     weights[p][nf*SF + sf]: SIMD lanes of W_W bits, lane s = weight of row nf*PE+p,
//                             column sf*SIMD+s (binary: bit 1 = +1).
//     thresholds[p][nf][t]  : threshold t (ascending) of row nf*PE+p.
//     swap[p][nf]           : MODE 3 swap flag of row nf*PE+p (ignored otherwise).
// Schedule: one loop of VECTORS*NF*SF iterations, pipelined II=1; the vector is read
// from the stream during nf = 0 and kept in an SF-beat buffer for nf = 1..NF-1 (the
// same schedule as the RTL: NF*SF cycles per vector).
#ifndef HALFWAVE_HW_MVU_H
#define HALFWAVE_HW_MVU_H

#include "hw_stream.h"

namespace halfwave {

enum { MVU_XNOR = 0, MVU_SIGNSEL = 1, MVU_MAC = 2, MVU_TERNARY = 3 };

// One (weight lane, input lane) term of a row's dot product.
template <int MODE, int IN_W, int IN_SIGNED, int W_W, int ACC_W, int WP, int WN>
inline ap_int<ACC_W> mvu_term(const ap_uint<W_W>& w, const ap_uint<IN_W>& x, bool swap) {
#pragma HLS INLINE
    ap_int<IN_W + 1> xv;
    if (IN_SIGNED)
        xv = ap_int<IN_W>(x);
    else
        xv = x;
    ap_int<ACC_W> r;
    if (MODE == MVU_XNOR) {
        r = (w[0] == x[0]) ? 1 : 0;
    } else if (MODE == MVU_SIGNSEL) {
        r = w[0] ? ap_int<IN_W + 2>(xv) : ap_int<IN_W + 2>(-xv);
    } else if (MODE == MVU_MAC) {
        r = ap_int<W_W>(w) * xv;
    } else {
        const ap_int<W_W> t = ap_int<W_W>(w);
        const int kp = swap ? WN : WP, kn = swap ? WP : WN;
        r = (t == 1) ? ap_int<ACC_W>(kp * xv) : (t == -1) ? ap_int<ACC_W>(-kn * xv) : ap_int<ACC_W>(0);
    }
    return r;
}

template <int MW, int MH, int PE, int SIMD, int MODE, int IN_W, int IN_SIGNED, int W_W, int ACC_W,
          int N_T, int OUT_W, int OUT_BIAS, int VECTORS, int WP = 1, int WN = 1>
void hw_mvu(hls::stream<ap_uint<SIMD * IN_W> >& in,
            hls::stream<ap_uint<PE*(N_T > 0 ? OUT_W : ACC_W)> >& out,
            const ap_uint<SIMD * W_W> weights[PE][((MH + PE - 1) / PE) * ((MW + SIMD - 1) / SIMD)],
            const ap_int<ACC_W> thresholds[PE][(MH + PE - 1) / PE][N_T > 0 ? N_T : 1],
            const bool swap[PE][(MH + PE - 1) / PE]) {
    const int SF = (MW + SIMD - 1) / SIMD;
    const int NF = (MH + PE - 1) / PE;
    const int LW = N_T > 0 ? OUT_W : ACC_W;

    ap_uint<IN_W> buf[SF][SIMD];  // the vector, kept for row folds nf = 1..NF-1
#pragma HLS ARRAY_PARTITION variable=buf complete dim=2
    ap_int<ACC_W> acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete

    int sf = 0, nf = 0;
    for (int i = 0; i < VECTORS * NF * SF; i++) {
#pragma HLS PIPELINE II=1
        ap_uint<IN_W> x[SIMD];
#pragma HLS ARRAY_PARTITION variable=x complete
        if (nf == 0) {
            unpack<IN_W, SIMD>(in.read(), x);
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                buf[sf][s] = x[s];
            }
        } else {
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                x[s] = buf[sf][s];
            }
        }
#ifdef HALFWAVE_FAST_CSIM
        // halfwave's g++ C simulation: the same sums in native integers (wrapped to
        // ACC_W bits on assignment, as the ap_int sum wraps); block tests check both.
        long long xs[SIMD], ws[SIMD];
        for (int s = 0; s < SIMD; s++) xs[s] = IN_SIGNED ? ap_int<IN_W>(x[s]).to_int64() : x[s].to_int64();
        const int cols = (MW - sf * SIMD < SIMD) ? MW - sf * SIMD : SIMD;
        for (int p = 0; p < PE; p++) {
            unpack_native<W_W, SIMD, (MODE == MVU_MAC || MODE == MVU_TERNARY)>(
                weights[p][nf * SF + sf], ws);
            long long sum = (sf == 0) ? 0 : acc[p].to_int64();
            if (MODE == MVU_XNOR) {
                for (int s = 0; s < cols; s++) sum += 1 - (ws[s] ^ xs[s]);
            } else if (MODE == MVU_SIGNSEL) {
                for (int s = 0; s < cols; s++) sum += (2 * ws[s] - 1) * xs[s];
            } else if (MODE == MVU_MAC) {
                for (int s = 0; s < cols; s++) sum += ws[s] * xs[s];
            } else {
                const long long kp = swap[p][nf] ? WN : WP, kn = swap[p][nf] ? WP : WN;
                for (int s = 0; s < cols; s++)
                    sum += ((ws[s] == 1) * kp - (ws[s] == -1) * kn) * xs[s];
            }
            acc[p] = sum;
        }
#else
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            ap_uint<W_W> w[SIMD];
#pragma HLS ARRAY_PARTITION variable=w complete
            unpack<W_W, SIMD>(weights[p][nf * SF + sf], w);
            ap_int<ACC_W> sum = (sf == 0) ? ap_int<ACC_W>(0) : acc[p];
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                if (sf * SIMD + s < MW)
                    sum += mvu_term<MODE, IN_W, IN_SIGNED, W_W, ACC_W, WP, WN>(w[s], x[s],
                                                                               swap[p][nf]);
            }
            acc[p] = sum;
        }
#endif
        if (sf == SF - 1) {
            ap_uint<LW> y[PE];
#pragma HLS ARRAY_PARTITION variable=y complete
            for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
                if (N_T == 0) {
                    y[p] = ap_uint<LW>(acc[p]);
                } else {
                    ap_int<32> count = OUT_BIAS;
                    for (int t = 0; t < (N_T > 0 ? N_T : 1); t++) {
#pragma HLS UNROLL
                        if (acc[p] >= thresholds[p][nf][t]) count++;
                    }
                    y[p] = ap_uint<LW>(count);
                }
            }
            out.write(pack<LW, PE>(y));
        }
        if (++sf == SF) {
            sf = 0;
            if (++nf == NF) nf = 0;
        }
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_MVU_H
