// hw_avgpool.h — sum-pool (the integer part of an average pool) of IH x IW pixels over
// KH x KW windows that do not overlap (SH >= KH, SW >= KW), no padding; the division by
// KH*KW is folded by the compiler into the next layer's thresholds (hw_avgpool.v).
//
// Input: IH*IW pixels in row-major order, each CF = C/PE beats of PE lanes of W bits
// (channel c in beat c/PE, lane c%PE; two's complement when SIGNED; one bit, 1 = +1 and
// 0 = -1, when BIPOLAR). Output: OH*OW pixels, OH = (IH - KH)/SH + 1, OW = (IW - KW)/SW
// + 1, the same layout with lanes of OUT_W bits holding each window's sum (modulo
// 2^OUT_W; the compiler sizes OUT_W to hold every sum).
// Schedule: one input beat per iteration (pipelined II=1); a window's running sums sit
// in one bank of OW*CF words (the windows of a row do not overlap), the beat of its last
// row and column writes the output beat. Pixels in no window are read and dropped.
#ifndef HALFWAVE_HW_AVGPOOL_H
#define HALFWAVE_HW_AVGPOOL_H

#include "hw_stream.h"

namespace halfwave {

// One input lane as a value of OUT_W bits.
template <int W, int SIGNED, int BIPOLAR, int OUT_W>
inline ap_int<OUT_W> avgpool_lane(const ap_uint<W>& v) {
#pragma HLS INLINE
    if (BIPOLAR) return v[0] ? ap_int<OUT_W>(1) : ap_int<OUT_W>(-1);
    if (SIGNED) return ap_int<OUT_W>(ap_int<W>(v));
    return ap_int<OUT_W>(v);
}

template <int C, int IH, int IW, int KH, int KW, int SH, int SW, int PE, int W, int SIGNED,
          int BIPOLAR, int OUT_W>
void hw_avgpool(hls::stream<ap_uint<PE * W> >& in, hls::stream<ap_uint<PE * OUT_W> >& out) {
    const int CF = C / PE;
    const int OH = (IH - KH) / SH + 1;
    const int OW = (IW - KW) / SW + 1;
    ap_int<OUT_W> sums[OW * CF][PE];
#pragma HLS ARRAY_PARTITION variable=sums complete dim=2

    for (int i = 0; i < IH * IW * CF; i++) {
#pragma HLS PIPELINE II=1
        const int cf = i % CF;
        const int x = (i / CF) % IW;
        const int y = i / (CF * IW);
        const ap_uint<PE * W> beat = in.read();
        const int ox = x / SW, kx = x % SW, oy = y / SH, ky = y % SH;
        if (ox >= OW || kx >= KW || oy >= OH || ky >= KH) continue;
        const bool first = kx == 0 && ky == 0;
        ap_uint<OUT_W> lanes[PE];
#pragma HLS ARRAY_PARTITION variable=lanes complete
        for (int l = 0; l < PE; l++) {
#pragma HLS UNROLL
            const ap_int<OUT_W> v = avgpool_lane<W, SIGNED, BIPOLAR, OUT_W>(lane<W>(beat, l));
            const ap_int<OUT_W> s = first ? v : ap_int<OUT_W>(sums[ox * CF + cf][l] + v);
            sums[ox * CF + cf][l] = s;
            lanes[l] = ap_uint<OUT_W>(s);
        }
        if (kx == KW - 1 && ky == KH - 1) out.write(pack<OUT_W, PE>(lanes));
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_AVGPOOL_H
