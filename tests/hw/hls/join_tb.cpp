// join_tb.cpp — runs one join or fork case in C simulation (tests/hw/hls/test_join_blocks.py).
//
//   join_tb CASE DIR FRAMES
//
// CASE picks a function of the generated cases.h: it fills its input streams from
// DIR/in<i>.bin, makes the block's process call (the text the compiler generates for
// halfwave_top) FRAMES times and writes each output stream to DIR/out<j>.bin, beats as
// little-endian bytes (hw_csim_io.h). Exit status: 0 ok, 2 bad files, 3 input left over.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hw_add.h"
#include "hw_concat.h"
#include "hw_csim_io.h"
#include "hw_fork.h"

using namespace halfwave;

// Stream `s` gets the n beats of DIR/name; false when the file is short or missing.
template <int BITS>
static bool fill(hls::stream<ap_uint<BITS> >& s, const char* dir, const char* name, long n) {
    std::vector<ap_uint<BITS> > beats;
    std::FILE* f = std::fopen((std::string(dir) + "/" + name).c_str(), "rb");
    const bool ok = f && read_beats<BITS>(f, beats, n);
    if (f) std::fclose(f);
    for (long i = 0; ok && i < n; i++) s.write(beats[i]);
    return ok;
}

// Every beat left in `s` to DIR/name.
template <int BITS>
static bool dump(hls::stream<ap_uint<BITS> >& s, const char* dir, const char* name) {
    std::FILE* f = std::fopen((std::string(dir) + "/" + name).c_str(), "wb");
    if (!f) return false;
    for (; !s.empty();) write_beat<BITS>(f, s.read());
    return std::fclose(f) == 0;
}

#include "cases.h"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s CASE DIR FRAMES\n", argv[0]);
        return 2;
    }
    return run_case(std::atoi(argv[1]), argv[2], std::atoi(argv[3]));
}
