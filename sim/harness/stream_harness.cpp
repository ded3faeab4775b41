// stream_harness.cpp — generic Verilator driver for one halfwave stream block.
//
// Compiled together with any DUT verilated with `--prefix Vdut` whose ports are
//   clk, rst (synchronous, active high),
//   in_data[IW-1:0], in_valid, in_ready, out_data[OW-1:0], out_valid, out_ready.
// Input beats come from a binary file (each ceil(IW/8) bytes, little-endian), output
// beats go to one (ceil(OW/8) bytes each). Random stalls on either side come from a
// seeded std::mt19937_64, so a run is reproducible. No per-cycle I/O, no tracing.
//
//   Vdut --in in.bin --in-width IW --out out.bin --out-width OW --out-beats N
//        [--stall-in P] [--stall-out P] [--seed S] [--max-idle C] [--times times.bin]
//
// Exit codes: 0 done, 1 I/O error, 2 usage error, 3 deadlock (no transfer for
// max-idle cycles). Prints one JSON line with the cycle count and speed on stdout.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "Vdut.h"
#include "verilated.h"

namespace {

// Copy nbytes little-endian bytes into a scalar signal, masking to `width` bits.
template <typename T>
    requires std::is_integral_v<T>
inline void set_sig(T& sig, const uint8_t* p, size_t nbytes, int width) {
    uint64_t v = 0;
    std::memcpy(&v, p, nbytes < sizeof(T) ? nbytes : sizeof(T));  // little-endian host
    if (width < 64) v &= (uint64_t{1} << width) - 1;
    sig = static_cast<T>(v);
}

// Same for wide (> 64 bit) signals: 32-bit words, least significant first.
template <std::size_t N>
inline void set_sig(VlWide<N>& sig, const uint8_t* p, size_t nbytes, int width) {
    for (std::size_t w = 0; w < N; ++w) {
        uint32_t v = 0;
        const size_t off = w * 4;
        if (off < nbytes) std::memcpy(&v, p + off, (nbytes - off) < 4 ? (nbytes - off) : 4);
        const int lo = static_cast<int>(w) * 32;
        if (width <= lo) v = 0;
        else if (width < lo + 32) v &= (uint32_t{1} << (width - lo)) - 1;
        sig[w] = v;
    }
}

template <typename T>
    requires std::is_integral_v<T>
inline void get_sig(const T& sig, uint8_t* p, size_t nbytes) {
    const uint64_t v = static_cast<uint64_t>(sig);
    std::memcpy(p, &v, nbytes < sizeof(T) ? nbytes : sizeof(T));
}

template <std::size_t N>
inline void get_sig(const VlWide<N>& sig, uint8_t* p, size_t nbytes) {
    for (std::size_t w = 0; w < N; ++w) {
        const size_t off = w * 4;
        if (off >= nbytes) break;
        const uint32_t v = sig[w];
        std::memcpy(p + off, &v, (nbytes - off) < 4 ? (nbytes - off) : 4);
    }
}

// Bytes a signal type can hold (VlWide<N> is N 32-bit words).
template <typename T>
constexpr size_t sig_bytes() {
    return sizeof(T);
}

[[noreturn]] void die(int code, const std::string& msg) {
    std::fprintf(stderr, "%s\n", msg.c_str());
    std::exit(code);
}

bool read_file(const std::string& path, std::vector<uint8_t>& buf) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    std::fseek(f, 0, SEEK_END);
    const long n = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    const size_t got = buf.empty() ? 0 : std::fread(buf.data(), 1, buf.size(), f);
    std::fclose(f);
    return got == buf.size();
}

bool write_file(const std::string& path, const void* data, size_t n) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const size_t put = n ? std::fwrite(data, 1, n, f) : 0;
    return std::fclose(f) == 0 && put == n;
}

// Probability p in [0, 1] as a threshold on a uniform 64-bit draw (draw < thr: stall).
uint64_t stall_threshold(double p) {
    if (p <= 0.0) return 0;
    if (p >= 1.0) return UINT64_MAX;
    return static_cast<uint64_t>(p * 18446744073709551616.0);
}

struct Args {
    std::string in, out, times;
    long in_width = -1, out_width = -1;
    long long out_beats = -1;
    double stall_in = 0.0, stall_out = 0.0;
    uint64_t seed = 0;
    long long max_idle = 100000;
};

Args parse(int argc, char** argv) {
    Args a;
    const std::string usage =
        "usage: Vdut --in in.bin --in-width IW --out out.bin --out-width OW --out-beats N "
        "[--stall-in P] [--stall-out P] [--seed S] [--max-idle C] [--times times.bin]";
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) die(2, "error: missing value for " + k + "\n" + usage);
        const char* v = argv[++i];
        if (k == "--in") a.in = v;
        else if (k == "--out") a.out = v;
        else if (k == "--times") a.times = v;
        else if (k == "--in-width") a.in_width = std::atol(v);
        else if (k == "--out-width") a.out_width = std::atol(v);
        else if (k == "--out-beats") a.out_beats = std::atoll(v);
        else if (k == "--stall-in") a.stall_in = std::atof(v);
        else if (k == "--stall-out") a.stall_out = std::atof(v);
        else if (k == "--seed") a.seed = std::strtoull(v, nullptr, 10);
        else if (k == "--max-idle") a.max_idle = std::atoll(v);
        else die(2, "error: unknown option " + k + "\n" + usage);
    }
    if (a.in.empty() || a.out.empty() || a.in_width < 1 || a.out_width < 1 || a.out_beats < 0)
        die(2, usage);
    if (a.max_idle < 1) die(2, "error: --max-idle must be >= 1");
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse(argc, argv);

    auto ctx = std::make_unique<VerilatedContext>();
    ctx->fatalOnError(true);
    auto top = std::make_unique<Vdut>(ctx.get(), "dut");

    using InT = std::remove_reference_t<decltype(top->in_data)>;
    using OutT = std::remove_reference_t<decltype(top->out_data)>;
    const size_t in_bytes = static_cast<size_t>((a.in_width + 7) / 8);
    const size_t out_bytes = static_cast<size_t>((a.out_width + 7) / 8);
    if (in_bytes > sig_bytes<InT>())
        die(2, "error: --in-width " + std::to_string(a.in_width) + " is wider than in_data");
    if (out_bytes > sig_bytes<OutT>())
        die(2, "error: --out-width " + std::to_string(a.out_width) + " is wider than out_data");
    const int in_w = static_cast<int>(a.in_width);

    std::vector<uint8_t> in_buf;
    if (!read_file(a.in, in_buf)) die(1, "error: cannot read " + a.in);
    if (in_buf.size() % in_bytes != 0)
        die(1, "error: " + a.in + " size is not a multiple of " + std::to_string(in_bytes));
    const uint64_t n_in = in_buf.size() / in_bytes;
    const uint64_t n_out = static_cast<uint64_t>(a.out_beats);

    std::vector<uint8_t> out_buf(n_out * out_bytes, 0);
    const bool want_times = !a.times.empty();
    std::vector<uint64_t> in_times(want_times ? n_in : 0), out_times(want_times ? n_out : 0);

    std::mt19937_64 rng(a.seed);
    const uint64_t thr_in = stall_threshold(a.stall_in);
    const uint64_t thr_out = stall_threshold(a.stall_out);

    // Reset: a few cycles with both streams idle.
    top->clk = 0;
    top->rst = 1;
    top->in_valid = 0;
    top->out_ready = 0;
    top->eval();
    for (int i = 0; i < 4; ++i) {
        top->clk = 1;
        top->eval();
        top->clk = 0;
        top->eval();
    }
    top->rst = 0;

    uint64_t cycle = 0, in_idx = 0, out_idx = 0, idle = 0;
    const uint64_t max_idle = static_cast<uint64_t>(a.max_idle);
    const auto t0 = std::chrono::steady_clock::now();
    while (out_idx < n_out) {
        // Drive the inputs of this cycle (clock low), then settle combinational logic.
        bool iv = in_idx < n_in;
        if (iv) {
            set_sig(top->in_data, in_buf.data() + in_idx * in_bytes, in_bytes, in_w);
            if (thr_in && rng() < thr_in) iv = false;
        }
        top->in_valid = iv;
        top->out_ready = !(thr_out && rng() < thr_out);
        top->eval();

        // Sample both handshakes before the edge.
        const bool in_fire = iv && top->in_ready;
        const bool out_fire = top->out_valid && top->out_ready;
        if (out_fire) {
            get_sig(top->out_data, out_buf.data() + out_idx * out_bytes, out_bytes);
            if (want_times) out_times[out_idx] = cycle;
            ++out_idx;
        }
        if (in_fire) {
            if (want_times) in_times[in_idx] = cycle;
            ++in_idx;
        }

        top->clk = 1;
        top->eval();
        top->clk = 0;
        ++cycle;
        if (ctx->gotFinish()) die(4, "error: DUT called $finish after " + std::to_string(cycle) +
                                         " cycles");

        if (in_fire || out_fire) {
            idle = 0;
        } else if (++idle >= max_idle) {
            std::fprintf(stderr,
                         "deadlock: no stream transfer for %llu cycles (in accepted %llu/%llu "
                         "beats, out %llu/%llu)\n",
                         static_cast<unsigned long long>(max_idle),
                         static_cast<unsigned long long>(in_idx),
                         static_cast<unsigned long long>(n_in),
                         static_cast<unsigned long long>(out_idx),
                         static_cast<unsigned long long>(n_out));
            return 3;
        }
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    top->final();

    if (!write_file(a.out, out_buf.data(), out_buf.size())) die(1, "error: cannot write " + a.out);
    if (want_times) {
        std::vector<uint64_t> all(in_times);
        all.resize(in_idx);  // only beats actually accepted
        all.insert(all.end(), out_times.begin(), out_times.end());
        // Stamps are written little-endian (host order on x86/ARM little-endian hosts).
        if (!write_file(a.times, all.data(), all.size() * sizeof(uint64_t)))
            die(1, "error: cannot write " + a.times);
    }
    std::printf("{\"cycles\":%llu,\"in_beats\":%llu,\"out_beats\":%llu,\"wall_s\":%.6f,"
                "\"cycles_per_s\":%.1f}\n",
                static_cast<unsigned long long>(cycle), static_cast<unsigned long long>(in_idx),
                static_cast<unsigned long long>(out_idx), wall,
                wall > 0 ? static_cast<double>(cycle) / wall : 0.0);
    return 0;
}
