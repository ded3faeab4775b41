// csim_main.cpp — C-simulation testbench of a generated halfwave top (g++ or Vitis HLS).
//
//   csim IN.bin OUT.bin [TAPS.bin]   run every frame of IN.bin, write the output beats
//   csim                             self-check: tb_input.bin against tb_expected.bin
//
// IN.bin holds whole frames of input-bus beats (HALFWAVE_IN_BEATS beats of
// ceil(HALFWAVE_IN_BITS/8) little-endian bytes each); OUT.bin gets the output-bus beats
// the same way. halfwave_top is called once per frame; the output must have TLAST on the
// last beat of every frame and nowhere else, and every input beat must be consumed.
// With HALFWAVE_TAPS (halfwave's g++ build) TAPS.bin gets the beats of every layer
// boundary, boundary after boundary (see top.json "taps"). The last line of stdout is
// JSON: frames, wall_s, frames_per_s of the calls to halfwave_top. Exit status: 0 ok,
// 1 self-check mismatch, 2 bad files, 3 stream protocol error.
#include <chrono>
#include <cstdio>
#include <vector>

#include "hw_csim_io.h"
#include "top.h"

#ifdef HALFWAVE_TAPS
std::vector<std::vector<unsigned char> > halfwave::halfwave_taps;
#endif

typedef ap_uint<HALFWAVE_IN_BITS> in_beat_t;
typedef ap_uint<HALFWAVE_OUT_BITS> out_beat_t;

static int run(const char* in_path, const char* out_path, const char* taps_path,
               const char* expected_path) {
    std::FILE* fi = std::fopen(in_path, "rb");
    if (!fi) {
        std::fprintf(stderr, "error: cannot open %s\n", in_path);
        return 2;
    }
    std::fseek(fi, 0, SEEK_END);
    const long bytes = std::ftell(fi);
    std::fseek(fi, 0, SEEK_SET);
    const long frame_bytes = (long)HALFWAVE_IN_BEATS * ((HALFWAVE_IN_BITS + 7) / 8);
    if (bytes % frame_bytes) {
        std::fprintf(stderr, "error: %s is not a whole number of %ld-byte frames\n", in_path,
                     frame_bytes);
        return 2;
    }
    const long frames = bytes / frame_bytes;
    std::vector<in_beat_t> in_beats;
    if (!halfwave::read_beats<HALFWAVE_IN_BITS>(fi, in_beats, frames * HALFWAVE_IN_BEATS)) {
        std::fprintf(stderr, "error: short read from %s\n", in_path);
        return 2;
    }
    std::fclose(fi);

    std::vector<out_beat_t> out_beats;
    out_beats.reserve(frames * HALFWAVE_OUT_BEATS);
    hls::stream<halfwave_in_t> s_in("in_stream");
    hls::stream<halfwave_out_t> s_out("out_stream");
    const auto t0 = std::chrono::steady_clock::now();
    for (long f = 0; f < frames; f++) {
        for (int i = 0; i < HALFWAVE_IN_BEATS; i++) {
            halfwave_in_t w;
            w.data = in_beats[f * HALFWAVE_IN_BEATS + i];
            w.keep = -1;
            w.strb = -1;
            w.last = (i == HALFWAVE_IN_BEATS - 1) ? 1 : 0;
            s_in.write(w);
        }
        halfwave_top(s_in, s_out);
        if (!s_in.empty()) {
            std::fprintf(stderr, "error: frame %ld: input beats left unread\n", f);
            return 3;
        }
        for (int i = 0; i < HALFWAVE_OUT_BEATS; i++) {
            if (s_out.empty()) {
                std::fprintf(stderr, "error: frame %ld: only %d output beats\n", f, i);
                return 3;
            }
            const halfwave_out_t w = s_out.read();
            if (w.last != (i == HALFWAVE_OUT_BEATS - 1 ? 1 : 0)) {
                std::fprintf(stderr, "error: frame %ld beat %d: wrong TLAST\n", f, i);
                return 3;
            }
            out_beats.push_back(w.data);
        }
        if (!s_out.empty()) {
            std::fprintf(stderr, "error: frame %ld: too many output beats\n", f);
            return 3;
        }
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    int status = 0;
    if (out_path) {
        std::FILE* fo = std::fopen(out_path, "wb");
        if (!fo) {
            std::fprintf(stderr, "error: cannot write %s\n", out_path);
            return 2;
        }
        for (size_t i = 0; i < out_beats.size(); i++)
            halfwave::write_beat<HALFWAVE_OUT_BITS>(fo, out_beats[i]);
        std::fclose(fo);
    }
    if (expected_path) {
        std::FILE* fe = std::fopen(expected_path, "rb");
        std::vector<out_beat_t> expected;
        if (!fe || !halfwave::read_beats<HALFWAVE_OUT_BITS>(fe, expected, (long)out_beats.size())) {
            std::fprintf(stderr, "error: cannot read %ld beats from %s\n",
                         (long)out_beats.size(), expected_path);
            return 2;
        }
        std::fclose(fe);
        long bad = 0;
        for (size_t i = 0; i < out_beats.size(); i++) bad += (out_beats[i] != expected[i]);
        std::printf("self-check: %ld frames, %ld of %ld output beats differ\n", frames, bad,
                    (long)out_beats.size());
        status = bad ? 1 : 0;
    }
#ifdef HALFWAVE_TAPS
    if (taps_path) {
        std::FILE* ft = std::fopen(taps_path, "wb");
        if (!ft) {
            std::fprintf(stderr, "error: cannot write %s\n", taps_path);
            return 2;
        }
        for (size_t k = 0; k < halfwave::halfwave_taps.size(); k++)
            std::fwrite(halfwave::halfwave_taps[k].data(), 1, halfwave::halfwave_taps[k].size(), ft);
        std::fclose(ft);
    }
#else
    (void)taps_path;
#endif
    std::printf("{\"frames\": %ld, \"wall_s\": %.6f, \"frames_per_s\": %.1f}\n", frames, wall,
                wall > 0 ? frames / wall : 0.0);
    return status;
}

int main(int argc, char** argv) {
    if (argc == 1) return run("tb_input.bin", 0, 0, "tb_expected.bin");
    if (argc == 3 || argc == 4) return run(argv[1], argv[2], argc == 4 ? argv[3] : 0, 0);
    std::fprintf(stderr, "usage: %s [IN.bin OUT.bin [TAPS.bin]]\n", argv[0]);
    return 2;
}
