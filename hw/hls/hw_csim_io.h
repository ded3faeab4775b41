// hw_csim_io.h — C-simulation helpers (testbench side only, never synthesised): beats as
// little-endian bytes in files, MVU parameters read from the RTL memory files, and the
// layer-boundary taps of a generated top.
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
#include <cstdlib>
#include <string>
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

// ------------------------------------------------------------- RTL memory files
// halfwave's g++ C simulation reads the MVU parameters from the $readmemh files of the RTL
// (rtl/<node>_weights.mem, rtl/<node>_thresholds.mem; layouts in ARCHITECTURE.md) in the
// folder HALFWAVE_MEM_DIR (environment; default ../rtl, seen from BUILD/hls).

// Bits [lo, lo+n) (n <= 64) of a hex word written most significant digit first.
inline unsigned long long hex_bits(const std::string& hex, long lo, int n) {
    unsigned long long v = 0;
    const long digits = (long)hex.size();
    for (int i = 0; i < n; i++) {
        const long b = lo + i, d = digits - 1 - b / 4;
        if (d < 0) break;
        const char c = hex[d];
        const int nib = (c >= '0' && c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
        v |= (unsigned long long)((nib >> (b % 4)) & 1) << i;
    }
    return v;
}

// Bits [lo, lo+W) of a hex word as ap_uint<W>.
template <int W>
inline ap_uint<W> hex_field(const std::string& hex, long lo) {
    ap_uint<W> v = 0;
    for (int c = 0; c < W; c += 64) {
        const int n = (W - c < 64) ? W - c : 64;
        v(c + n - 1, c) = hex_bits(hex, lo + c, n);
    }
    return v;
}

inline std::vector<std::string> read_mem_file(const char* name, long depth) {
    const char* dir = std::getenv("HALFWAVE_MEM_DIR");
    const std::string path = std::string(dir ? dir : "../rtl") + "/" + name;
    std::vector<std::string> lines;
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (f) {
        char buf[4096];
        std::string cur;
        while (std::fgets(buf, sizeof buf, f)) {
            cur += buf;
            if (!cur.empty() && cur[cur.size() - 1] == '\n') {
                while (!cur.empty() && (cur[cur.size() - 1] == '\n' || cur[cur.size() - 1] == '\r'))
                    cur.erase(cur.size() - 1);
                if (!cur.empty()) lines.push_back(cur);
                cur.clear();
            }
        }
        if (!cur.empty()) lines.push_back(cur);
        std::fclose(f);
    }
    if ((long)lines.size() != depth) {
        std::fprintf(stderr, "error: %s: expected %ld words, found %ld\n", path.c_str(), depth,
                     (long)lines.size());
        std::exit(2);
    }
    return lines;
}

// weights[p][a] = lanes p*SIMD .. of word a; thresholds[p][nf][t] = lane p*NT+t of word nf;
// swap[p][nf] = bit p of word nf. A null file name leaves the array as it is.
template <int WW, int PE, int D, int A, int NF, int NT>
bool load_mvu_mem(const char* weights_file, const char* thresholds_file, const char* swap_file,
                  ap_uint<WW> (&w)[PE][D], ap_int<A> (&t)[PE][NF][NT], bool (&swap)[PE][NF]) {
    const std::vector<std::string> wl = read_mem_file(weights_file, D);
    for (int a = 0; a < D; a++)
        for (int p = 0; p < PE; p++) w[p][a] = hex_field<WW>(wl[a], (long)p * WW);
    if (thresholds_file) {
        const std::vector<std::string> tl = read_mem_file(thresholds_file, NF);
        for (int nf = 0; nf < NF; nf++)
            for (int p = 0; p < PE; p++)
                for (int k = 0; k < NT; k++)
                    t[p][nf][k] = ap_int<A>(hex_field<A>(tl[nf], (long)(p * NT + k) * A));
    }
    if (swap_file) {
        const std::vector<std::string> sl = read_mem_file(swap_file, NF);
        for (int nf = 0; nf < NF; nf++)
            for (int p = 0; p < PE; p++) swap[p][nf] = hex_bits(sl[nf], p, 1) != 0;
    }
    return true;
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
