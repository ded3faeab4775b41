// tb_dag.h — HLS twins of the test-only fork and join (tests/sim/dag_blocks.py).
#ifndef HALFWAVE_TB_DAG_H
#define HALFWAVE_TB_DAG_H

#include "hw_stream.h"

namespace halfwave {

// every beat of `in` to both outputs, BEATS beats per frame
template <int W, int BEATS>
void tb_fork(hls::stream<ap_uint<W> >& in, hls::stream<ap_uint<W> >& a,
             hls::stream<ap_uint<W> >& b) {
    for (int i = 0; i < BEATS; i++) {
        ap_uint<W> v = in.read();
        a.write(v);
        b.write(v);
    }
}

// lane-wise sum of two unsigned PE-lane streams, BEATS beats per frame
template <int PE, int BEATS, int WA, int WB, int WO>
void tb_add(hls::stream<ap_uint<PE * WA> >& a, hls::stream<ap_uint<PE * WB> >& b,
            hls::stream<ap_uint<PE * WO> >& out) {
    for (int i = 0; i < BEATS; i++) {
        ap_uint<PE * WA> x = a.read();
        ap_uint<PE * WB> y = b.read();
        ap_uint<PE * WO> z = 0;
        for (int p = 0; p < PE; p++) {
            ap_uint<WO> s = ap_uint<WO>(x.range(p * WA + WA - 1, p * WA)) +
                            ap_uint<WO>(y.range(p * WB + WB - 1, p * WB));
            z.range(p * WO + WO - 1, p * WO) = s;
        }
        out.write(z);
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_TB_DAG_H
