// hw_stream.h — streams, AXI-stream words and lane helpers of the halfwave HLS blocks.
//
// Under Vitis HLS (csim, csynth, cosim) this includes the vendor's <hls_stream.h> and
// <ap_axi_sdata.h>. halfwave's own C simulation with g++ defines HALFWAVE_GXX_CSIM and
// gets the small stand-ins below instead: hls4ml ships Xilinx's ap_int.h/ap_fixed.h
// under Apache-2.0, but the hls_stream.h beside them is marked "confidential and
// proprietary", so halfwave neither includes nor copies it.
//
// Stream words are ap_uint<LANES * W>: lane l of a beat at bits [l*W +: W] (LSB first),
// the same convention as the RTL blocks (ARCHITECTURE.md, "Stream convention").
#ifndef HALFWAVE_HW_STREAM_H
#define HALFWAVE_HW_STREAM_H

#include <ap_int.h>

#ifdef HALFWAVE_GXX_CSIM
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>

namespace hls {

// Unbounded FIFO with the interface of hls::stream that the blocks use. Reading an
// empty stream is a bug in sequential C simulation (the producer ran first and wrote
// too little): it prints the stream's name and exits with status 3.
template <typename T>
class stream {
  public:
    stream() : name_("stream") {}
    explicit stream(const char* name) : name_(name) {}
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;

    T read() {
        if (q_.empty()) {
            std::fprintf(stderr, "deadlock: read from empty stream '%s'\n", name_);
            std::exit(3);
        }
        T v = q_.front();
        q_.pop_front();
        return v;
    }
    void read(T& v) { v = read(); }
    bool read_nb(T& v) {
        if (q_.empty()) return false;
        v = read();
        return true;
    }
    void write(const T& v) { q_.push_back(v); }
    bool write_nb(const T& v) {
        write(v);
        return true;
    }
    void operator>>(T& v) { read(v); }
    void operator<<(const T& v) { write(v); }
    bool empty() const { return q_.empty(); }
    bool full() const { return false; }
    std::size_t size() const { return q_.size(); }

  private:
    std::deque<T> q_;
    const char* name_;
};

}  // namespace hls

// The members of Vitis HLS's ap_axiu that halfwave uses (no TUSER/TID/TDEST).
template <int D, int U, int TI, int TD>
struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};

#else
#include <ap_axi_sdata.h>
#include <hls_stream.h>
#endif

namespace halfwave {

// Lane `l` (W bits) of a beat.
template <int W, int BITS>
inline ap_uint<W> lane(const ap_uint<BITS>& beat, int l) {
#pragma HLS INLINE
    return beat(l * W + W - 1, l * W);
}

// Put `v` into lane `l` (W bits) of a beat.
template <int W, int BITS>
inline void set_lane(ap_uint<BITS>& beat, int l, const ap_uint<W>& v) {
#pragma HLS INLINE
    beat(l * W + W - 1, l * W) = v;
}

// The N lanes of W bits of a beat, lane l from bits [l*W +: W]. With HALFWAVE_FAST_CSIM
// (halfwave's g++ C simulation) this goes through 64-bit words, since ap_int's wide
// range selects would dominate the run time; the result is the same, and the block tests
// check both paths.
template <int W, int N>
inline void unpack(const ap_uint<N * W>& beat, ap_uint<W> lanes[N]) {
#pragma HLS INLINE
#ifdef HALFWAVE_FAST_CSIM
    if (W > 64) {
        for (int l = 0; l < N; l++) lanes[l] = beat(l * W + W - 1, l * W);
        return;
    }
    const int C = (N * W + 63) / 64;
    unsigned long long ch[C + 1];
    for (int c = 0; c < C; c++) {
        const int hi = (64 * c + 63 < N * W - 1) ? 64 * c + 63 : N * W - 1;
        ch[c] = beat(hi, 64 * c).to_uint64();
    }
    ch[C] = 0;
    for (int l = 0; l < N; l++) {
        const int c = (l * W) / 64, off = (l * W) % 64;
        unsigned long long v = ch[c] >> off;
        if (off + W > 64) v |= ch[c + 1] << (64 - off);
        lanes[l] = v;  // ap_uint<W> keeps the low W bits
    }
#else
    for (int l = 0; l < N; l++) {
#pragma HLS UNROLL
        lanes[l] = beat(l * W + W - 1, l * W);
    }
#endif
}

#ifdef HALFWAVE_FAST_CSIM
// C simulation only: the N lanes of W <= 64 bits of a beat as native integers,
// sign-extended when SIGNED.
template <int W, int N, int SIGNED>
inline void unpack_native(const ap_uint<N * W>& beat, long long lanes[N]) {
    const int C = (N * W + 63) / 64;
    unsigned long long ch[C + 1];
    for (int c = 0; c < C; c++) {
        const int hi = (64 * c + 63 < N * W - 1) ? 64 * c + 63 : N * W - 1;
        ch[c] = beat(hi, 64 * c).to_uint64();
    }
    ch[C] = 0;
    for (int l = 0; l < N; l++) {
        const int c = (l * W) / 64, off = (l * W) % 64;
        unsigned long long v = ch[c] >> off;
        if (off + W > 64) v |= ch[c + 1] << (64 - off);
        if (W < 64) {
            v &= (1ULL << (W % 64)) - 1;
            if (SIGNED && (v >> (W - 1)) & 1) v |= ~((1ULL << (W % 64)) - 1);
        }
        lanes[l] = (long long)v;
    }
}
#endif

// A beat from N lanes of W bits (inverse of unpack).
template <int W, int N>
inline ap_uint<N * W> pack(const ap_uint<W> lanes[N]) {
#pragma HLS INLINE
    ap_uint<N * W> beat = 0;
#ifdef HALFWAVE_FAST_CSIM
    if (W > 64) {
        for (int l = 0; l < N; l++) beat(l * W + W - 1, l * W) = lanes[l];
        return beat;
    }
    const int C = (N * W + 63) / 64;
    unsigned long long ch[C + 1];
    for (int c = 0; c <= C; c++) ch[c] = 0;
    for (int l = 0; l < N; l++) {
        const int c = (l * W) / 64, off = (l * W) % 64;
        const unsigned long long v = lanes[l].to_uint64();
        ch[c] |= v << off;
        if (off + W > 64) ch[c + 1] |= v >> (64 - off);
    }
    for (int c = 0; c < C; c++) {
        const int hi = (64 * c + 63 < N * W - 1) ? 64 * c + 63 : N * W - 1;
        beat(hi, 64 * c) = ch[c];
    }
#else
    for (int l = 0; l < N; l++) {
#pragma HLS UNROLL
        beat(l * W + W - 1, l * W) = lanes[l];
    }
#endif
    return beat;
}

// AXI-stream words -> plain beats (TKEEP/TSTRB/TLAST ignored), BEATS per frame.
template <int BITS, int BEATS>
void axis_to_stream(hls::stream<ap_axiu<BITS, 0, 0, 0> >& in, hls::stream<ap_uint<BITS> >& out) {
    for (int i = 0; i < BEATS; i++) {
#pragma HLS PIPELINE II=1
        ap_axiu<BITS, 0, 0, 0> w = in.read();
        out.write(w.data);
    }
}

// Plain beats -> AXI-stream words, TLAST on the last of the BEATS beats of a frame.
template <int BITS, int BEATS>
void stream_to_axis(hls::stream<ap_uint<BITS> >& in, hls::stream<ap_axiu<BITS, 0, 0, 0> >& out) {
    for (int i = 0; i < BEATS; i++) {
#pragma HLS PIPELINE II=1
        ap_axiu<BITS, 0, 0, 0> w;
        w.data = in.read();
        w.keep = -1;
        w.strb = -1;
        w.last = (i == BEATS - 1) ? 1 : 0;
        out.write(w);
    }
}

}  // namespace halfwave

#endif  // HALFWAVE_HW_STREAM_H
