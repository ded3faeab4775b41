// hw_topk.h — label select (HLS twin of hw/rtl/hw_topk.v): the indices of the K largest
// of N signed values.
//
// Input beat: PE lanes of ACC_W-bit signed values; a vector of N values is ceil(N/PE)
// beats, element i in beat i/PE, lane i%PE (tail lanes: padding, ignored).
// Output: K beats per vector, each one IDX_W-bit index, in decreasing order of value;
// equal values give the lower index first (an element goes above an entry only when it
// is strictly greater).
// Schedule: one element per iteration (pipelined II=1) is inserted into a sorted list
// of K registers (K comparators), then the K indices are written: N + K iterations per
// vector.
#ifndef HALFWAVE_HW_TOPK_H
#define HALFWAVE_HW_TOPK_H

#include "hw_stream.h"

namespace halfwave {

template <int N, int PE, int ACC_W, int K, int IDX_W>
void hw_topk(hls::stream<ap_uint<PE * ACC_W> >& in, hls::stream<ap_uint<IDX_W> >& out) {
    ap_int<ACC_W> val[K];
    ap_uint<IDX_W> idx[K];
    bool used[K];
#pragma HLS ARRAY_PARTITION variable=val complete
#pragma HLS ARRAY_PARTITION variable=idx complete
#pragma HLS ARRAY_PARTITION variable=used complete
    for (int j = 0; j < K; j++) {
#pragma HLS UNROLL
        used[j] = false;
        val[j] = 0;
        idx[j] = 0;
    }

    ap_uint<ACC_W> beat[PE];
#pragma HLS ARRAY_PARTITION variable=beat complete
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        if (i % PE == 0) unpack<ACC_W, PE>(in.read(), beat);
        const ap_int<ACC_W> cur = ap_int<ACC_W>(beat[i % PE]);
        bool gt[K];
#pragma HLS ARRAY_PARTITION variable=gt complete
        for (int j = 0; j < K; j++) {
#pragma HLS UNROLL
            gt[j] = !used[j] || cur > val[j];
        }
        for (int j = K - 1; j >= 0; j--) {
#pragma HLS UNROLL
            if (gt[j]) {
                if (j > 0 && gt[j - 1]) {
                    val[j] = val[j - 1];
                    idx[j] = idx[j - 1];
                    used[j] = used[j - 1];
                } else {
                    val[j] = cur;
                    idx[j] = i;
                    used[j] = true;
                }
            }
        }
    }
    for (int j = 0; j < K; j++) {
#pragma HLS PIPELINE II=1
        out.write(idx[j]);
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_TOPK_H
