// hw_concat.h — channel concatenation (hw_concat.v). The node's generated process
// (<node>_params.h) calls hw_concat_part once per input per pixel, in input order: it
// copies input i's C/PE beats of one pixel to the output, each lane (W bits: two's
// complement when SIGNED, one bit 1 = +1 / 0 = -1 when BIPOLAR, else unsigned) times
// MULT, as OUT_W bits (modulo 2^OUT_W; the compiler sizes OUT_W to hold every value).
// One beat per iteration (pipelined II=1).
#ifndef HALFWAVE_HW_CONCAT_H
#define HALFWAVE_HW_CONCAT_H

#include "hw_stream.h"

namespace halfwave {

template <int C, int PE, int W, int SIGNED, int BIPOLAR, int MULT, int OUT_W>
void hw_concat_part(hls::stream<ap_uint<PE * W> >& in, hls::stream<ap_uint<PE * OUT_W> >& out) {
    for (int g = 0; g < C / PE; g++) {
#pragma HLS PIPELINE II=1
        const ap_uint<PE * W> beat = in.read();
        ap_uint<OUT_W> lanes[PE];
#pragma HLS ARRAY_PARTITION variable=lanes complete
        for (int l = 0; l < PE; l++) {
#pragma HLS UNROLL
            const ap_uint<W> u = lane<W>(beat, l);
            ap_int<W + 1> v;
            if (BIPOLAR) v = u[0] ? 1 : -1;
            else if (SIGNED) v = ap_int<W>(u);
            else v = u;
            lanes[l] = ap_uint<OUT_W>(ap_int<W + 18>(v * ap_int<17>(MULT)));
        }
        out.write(pack<OUT_W, PE>(lanes));
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_CONCAT_H
