// hw_swg.h — sliding window generator (im2col on a stream) for a convolution.
//
// Input: IH*IW pixels in row-major order, each CF = C/SIMD beats of SIMD lanes of W bits
// (channel c of a pixel in beat c/SIMD, lane c%SIMD). Output: OH*OW windows in row-major
// order, each KH*KW*CF beats: window element (ky, kx, c) is element (ky*KW + kx)*C + c,
// i.e. beat (ky*KW + kx)*CF + c/SIMD, the column order of the convolution's MVU.
// Window (oy, ox) reads input pixel (oy*SH - PAD_T + ky, ox*SW - PAD_L + kx); positions
// outside the image carry PAD_LANE (the lane code of the padding value) in every lane.
// OH = (IH + PAD_T + PAD_B - KH)/SH + 1, OW = (IW + PAD_L + PAD_R - KW)/SW + 1.
// Schedule: a line buffer of KH input rows (a ring: row y in slot y % KH). Before window
// row oy the input rows it needs are read (one beat per iteration), then its OW windows
// are written (one beat per iteration, pipelined II=1); input rows no window needs are
// read and dropped. Per frame: IH*IW*CF reads and OH*OW*KH*KW*CF writes.
#ifndef HALFWAVE_HW_SWG_H
#define HALFWAVE_HW_SWG_H

#include "hw_stream.h"

namespace halfwave {

template <int C, int IH, int IW, int KH, int KW, int SH, int SW, int PAD_T, int PAD_L, int PAD_B,
          int PAD_R, int SIMD, int W, int PAD_LANE>
void hw_swg(hls::stream<ap_uint<SIMD * W> >& in, hls::stream<ap_uint<SIMD * W> >& out) {
    const int CF = C / SIMD;
    const int OH = (IH + PAD_T + PAD_B - KH) / SH + 1;
    const int OW = (IW + PAD_L + PAD_R - KW) / SW + 1;
    ap_uint<SIMD * W> rows[KH][IW * CF];

    ap_uint<SIMD * W> pad = 0;
    for (int l = 0; l < SIMD; l++) {
#pragma HLS UNROLL
        set_lane<W>(pad, l, ap_uint<W>(PAD_LANE));
    }

    int next_row = 0;  // next input row to read
    for (int oy = 0; oy < OH; oy++) {
        int last = oy * SH - PAD_T + KH - 1;  // last input row window row oy needs
        if (last > IH - 1) last = IH - 1;
        for (; next_row <= last; next_row++) {
            for (int i = 0; i < IW * CF; i++) {
#pragma HLS PIPELINE II=1
                rows[next_row % KH][i] = in.read();
            }
        }
        for (int i = 0; i < OW * KH * KW * CF; i++) {
#pragma HLS PIPELINE II=1
            const int cf = i % CF;
            const int kx = (i / CF) % KW;
            const int ky = (i / (CF * KW)) % KH;
            const int ox = i / (CF * KW * KH);
            const int y = oy * SH - PAD_T + ky;
            const int x = ox * SW - PAD_L + kx;
            if (y >= 0 && y < IH && x >= 0 && x < IW)
                out.write(rows[y % KH][x * CF + cf]);
            else
                out.write(pad);
        }
    }
    for (; next_row < IH; next_row++) {  // rows below the last window
        for (int i = 0; i < IW * CF; i++) {
#pragma HLS PIPELINE II=1
            in.read();
        }
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_SWG_H
