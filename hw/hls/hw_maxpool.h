// hw_maxpool.h — max-pool of IH x IW pixels over KH x KW windows, stride SH x SW, no
// padding; channels marked in min_channels take the minimum instead.
//
// Input: IH*IW pixels in row-major order, each CF = C/PE beats of PE lanes of W bits
// (channel c in beat c/PE, lane c%PE; two's complement when SIGNED). Output: OH*OW pixels
// in the same layout, OH = (IH - KH)/SH + 1, OW = (IW - KW)/SW + 1.
// min_channels[c]: true where channel c pools with min (a threshold stage whose step
// decreases in the pooled quantity sits before it).
// Schedule: a line buffer of KH input rows (ring, row y in slot y % KH); before output
// row oy the input rows it needs are read, then for each output beat KH*KW buffered
// beats are compared (one per iteration, pipelined II=1); input rows below the last
// window are read and dropped.
#ifndef HALFWAVE_HW_MAXPOOL_H
#define HALFWAVE_HW_MAXPOOL_H

#include "hw_stream.h"

namespace halfwave {

// a > b for lanes of W bits, signed or unsigned.
template <int W, int SIGNED>
inline bool lane_gt(const ap_uint<W>& a, const ap_uint<W>& b) {
#pragma HLS INLINE
    if (SIGNED) return ap_int<W>(a) > ap_int<W>(b);
    return a > b;
}

template <int C, int IH, int IW, int KH, int KW, int SH, int SW, int PE, int W, int SIGNED>
void hw_maxpool(hls::stream<ap_uint<PE * W> >& in, hls::stream<ap_uint<PE * W> >& out,
                const bool min_channels[C]) {
    const int CF = C / PE;
    const int OH = (IH - KH) / SH + 1;
    const int OW = (IW - KW) / SW + 1;
    ap_uint<PE * W> rows[KH][IW * CF];

    int next_row = 0;
    for (int oy = 0; oy < OH; oy++) {
        for (; next_row <= oy * SH + KH - 1; next_row++) {
            for (int i = 0; i < IW * CF; i++) {
#pragma HLS PIPELINE II=1
                rows[next_row % KH][i] = in.read();
            }
        }
        ap_uint<W> best[PE];
#pragma HLS ARRAY_PARTITION variable=best complete
        for (int i = 0; i < OW * CF * KH * KW; i++) {
#pragma HLS PIPELINE II=1
            const int k = i % (KH * KW);
            const int kx = k % KW, ky = k / KW;
            const int cf = (i / (KH * KW)) % CF;
            const int ox = i / (KH * KW * CF);
            ap_uint<W> x[PE];
#pragma HLS ARRAY_PARTITION variable=x complete
            unpack<W, PE>(rows[(oy * SH + ky) % KH][(ox * SW + kx) * CF + cf], x);
            for (int l = 0; l < PE; l++) {
#pragma HLS UNROLL
                const bool take = (k == 0) || (min_channels[cf * PE + l]
                                                   ? lane_gt<W, SIGNED>(best[l], x[l])
                                                   : lane_gt<W, SIGNED>(x[l], best[l]));
                if (take) best[l] = x[l];
            }
            if (k == KH * KW - 1) out.write(pack<W, PE>(best));
        }
    }
    for (; next_row < IH; next_row++) {
        for (int i = 0; i < IW * CF; i++) {
#pragma HLS PIPELINE II=1
            in.read();
        }
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_MAXPOOL_H
