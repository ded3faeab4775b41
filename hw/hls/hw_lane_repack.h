// hw_lane_repack.h — lane-count and lane-width converter (HLS twin of
// hw/rtl/hw_lane_repack.v) for VECTORS vectors of COUNT elements per call.
//
// Input beat: IN_LANES lanes of IN_LW bits; a vector is IB = ceil(COUNT/IN_LANES) beats
// (tail lanes of its last beat: padding, ignored). Output beat: OUT_LANES lanes of OUT_LW
// bits; a vector is OB = ceil(COUNT/OUT_LANES) beats, tail lanes zero. An element is
// sign-extended (SIGNED) or zero-extended when OUT_LW > IN_LW, and keeps its low OUT_LW
// bits when OUT_LW < IN_LW.
// Schedule: IN_LANES == OUT_LANES maps beats one to one (II=1). Otherwise a buffer of
// IN_LANES + OUT_LANES - 1 elements (oldest first): each iteration (pipelined II=1)
// writes an output beat when the buffer holds one and reads an input beat when the next
// output beat still lacks elements, so a vector takes IB..IB+OB iterations.
#ifndef HALFWAVE_HW_LANE_REPACK_H
#define HALFWAVE_HW_LANE_REPACK_H

#include "hw_stream.h"

namespace halfwave {

// Resize one element of IN_LW bits to OUT_LW bits (sign- or zero-extend, or truncate).
template <int IN_LW, int OUT_LW, int SIGNED>
inline ap_uint<OUT_LW> resize_lane(const ap_uint<IN_LW>& v) {
#pragma HLS INLINE
    if (SIGNED) return ap_uint<OUT_LW>(ap_int<OUT_LW>(ap_int<IN_LW>(v)));
    return ap_uint<OUT_LW>(v);
}

template <int IN_LANES, int IN_LW, int OUT_LANES, int OUT_LW, int COUNT, int SIGNED, int VECTORS>
void hw_lane_repack(hls::stream<ap_uint<IN_LANES * IN_LW> >& in,
                    hls::stream<ap_uint<OUT_LANES * OUT_LW> >& out) {
    const int IB = (COUNT + IN_LANES - 1) / IN_LANES;
    const int OB = (COUNT + OUT_LANES - 1) / OUT_LANES;  // LOOP_TRIPCOUNT below
    (void)OB;
    const int SW = IN_LW < OUT_LW ? IN_LW : OUT_LW;  // stored element bits
    const int CAP = IN_LANES + OUT_LANES - 1;         // buffered elements at most
    ap_uint<IN_LW> a[IN_LANES];
    ap_uint<OUT_LW> b[OUT_LANES];
#pragma HLS ARRAY_PARTITION variable=a complete
#pragma HLS ARRAY_PARTITION variable=b complete
    if (IN_LANES == OUT_LANES) {
        for (int i = 0; i < VECTORS * IB; i++) {
#pragma HLS PIPELINE II=1
            unpack<IN_LW, IN_LANES>(in.read(), a);
            const int base = (i % IB) * IN_LANES;
            for (int l = 0; l < OUT_LANES; l++) {
#pragma HLS UNROLL
                b[l] = (base + l < COUNT && l < IN_LANES)
                           ? resize_lane<IN_LW, OUT_LW, SIGNED>(a[l % IN_LANES])
                           : ap_uint<OUT_LW>(0);
            }
            out.write(pack<OUT_LW, OUT_LANES>(b));
        }
        return;
    }
    ap_uint<SW> buf[CAP];  // buffered elements, oldest first
#pragma HLS ARRAY_PARTITION variable=buf complete
    for (int v = 0; v < VECTORS; v++) {
        int have = 0, taken = 0, sent = 0;
        while (sent < COUNT) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=OB max=IB+OB
            const int need = (COUNT - sent < OUT_LANES) ? COUNT - sent : OUT_LANES;
            if (have >= need) {
                for (int l = 0; l < OUT_LANES; l++) {
#pragma HLS UNROLL
                    b[l] = (l < need) ? resize_lane<SW, OUT_LW, SIGNED>(buf[l]) : ap_uint<OUT_LW>(0);
                }
                out.write(pack<OUT_LW, OUT_LANES>(b));
                for (int e = 0; e < CAP; e++) {
#pragma HLS UNROLL
                    if (e + need < CAP) buf[e] = buf[e + need];
                }
                have -= need;
                sent += need;
            }
            const int next = (COUNT - sent < OUT_LANES) ? COUNT - sent : OUT_LANES;
            if (taken < COUNT && have < next) {
                unpack<IN_LW, IN_LANES>(in.read(), a);
                const int n = (COUNT - taken < IN_LANES) ? COUNT - taken : IN_LANES;
                for (int e = 0; e < CAP; e++) {
#pragma HLS UNROLL
                    if (e >= have && e < have + n) buf[e] = ap_uint<SW>(a[e - have]);
                }
                have += n;
                taken += n;
            }
        }
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_LANE_REPACK_H
