// hw_csim_io.h — C-simulation helpers (testbench side only, never synthesised): beats as
// little-endian bytes in files, and the layer-boundary taps of a generated top.
//
// A beat of BITS bits is ceil(BITS/8) bytes, bit i in byte i/8 at bit i%8 (the layout of
// halfwave.sim.verilator.pack_lanes). HALFWAVE_TAP(k, stream, beats), placed by the
// generated top after the process that fills `stream`, copies the frame's `beats` beats
// of boundary k into halfwave_taps[k] and puts them back (C simulation runs the
// dataflow processes one after the other, so the whole frame is in the stream). It
// expands to nothing unless HALFWAVE_TAPS is defined (never under Vitis HLS).
#ifndef HALFWAVE_HW_CSIM_IO_H
#define HALFWAVE_HW_CSIM_IO_H

#include <cstdio>
#include <vector>

#include "hw_stream.h"

namespace halfwave {

template <int BITS>
inline void beat_to_bytes(const ap_uint<BITS>& v, unsigned char* out) {
    for (int b = 0; b < (BITS + 7) / 8; b++) {
        const int hi = (8 * b + 7 < BITS - 1) ? 8 * b + 7 : BITS - 1;
        out[b] = (unsigned char)ap_uint<8>(v(hi, 8 * b)).to_uint();
    }
}

template <int BITS>
inline ap_uint<BITS> beat_from_bytes(const unsigned char* in) {
    ap_uint<BITS> v = 0;
    for (int b = 0; b < (BITS + 7) / 8; b++) {
        const int hi = (8 * b + 7 < BITS - 1) ? 8 * b + 7 : BITS - 1;
        v(hi, 8 * b) = in[b];
    }
    return v;
}

// Read n beats of BITS bits from a file; false when the file is short.
template <int BITS>
inline bool read_beats(std::FILE* f, std::vector<ap_uint<BITS> >& out, long n) {
    std::vector<unsigned char> buf((BITS + 7) / 8);
    for (long i = 0; i < n; i++) {
        if (std::fread(buf.data(), 1, buf.size(), f) != buf.size()) return false;
        out.push_back(beat_from_bytes<BITS>(buf.data()));
    }
    return true;
}

template <int BITS>
inline void write_beat(std::FILE* f, const ap_uint<BITS>& v) {
    unsigned char buf[(BITS + 7) / 8];
    beat_to_bytes<BITS>(v, buf);
    std::fwrite(buf, 1, sizeof buf, f);
}

#ifdef HALFWAVE_TAPS
extern std::vector<std::vector<unsigned char> > halfwave_taps;  // defined by the driver

template <int BITS>
void tap(int k, hls::stream<ap_uint<BITS> >& s, long beats) {
    if ((long)halfwave_taps.size() <= k) halfwave_taps.resize(k + 1);
    unsigned char buf[(BITS + 7) / 8];
    for (long i = 0; i < beats; i++) {
        const ap_uint<BITS> v = s.read();
        beat_to_bytes<BITS>(v, buf);
        halfwave_taps[k].insert(halfwave_taps[k].end(), buf, buf + sizeof buf);
        s.write(v);
    }
}
#endif

}  // namespace halfwave

#ifdef HALFWAVE_TAPS
#define HALFWAVE_TAP(k, s, beats) halfwave::tap(k, s, beats)
#else
#define HALFWAVE_TAP(k, s, beats)
#endif

#endif  // HALFWAVE_HW_CSIM_IO_H
