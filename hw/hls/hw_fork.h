// hw_fork.h — stream fork: every beat of `in` written to each output stream, in order
// (hw_fork.v). BEATS beats per call (one frame); one beat per iteration (pipelined II=1).
// The outputs are any number (2..8) of streams of the same beat type.
#ifndef HALFWAVE_HW_FORK_H
#define HALFWAVE_HW_FORK_H

#include "hw_stream.h"

namespace halfwave {

template <int WIDTH>
inline void fork_write(const ap_uint<WIDTH>&) {}

template <int WIDTH, typename... Rest>
inline void fork_write(const ap_uint<WIDTH>& v, hls::stream<ap_uint<WIDTH> >& o, Rest&... rest) {
#pragma HLS INLINE
    o.write(v);
    fork_write<WIDTH>(v, rest...);
}

template <int WIDTH, int BEATS, typename... Outs>
void hw_fork(hls::stream<ap_uint<WIDTH> >& in, Outs&... outs) {
    for (int i = 0; i < BEATS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<WIDTH> v = in.read();
        fork_write<WIDTH>(v, outs...);
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_FORK_H
