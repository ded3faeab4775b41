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
//        [--wstream FILE:WIDTH ...] [--ddr-bytes-per-cycle B] [--ddr-latency L]
//        [--ddr-fifo D] [--stall-w P]
//
// Weight streams (hw_mvu WEIGHT_SOURCE = "stream", weights in DDR): compiled with
// -DHALFWAVE_WS0=<prefix> [-DHALFWAVE_WS1=<prefix> ...] (up to 16), the DUT has ports
// <prefix>data, <prefix>valid, <prefix>ready (e.g. prefix w_fc6_t for a generated top's
// w_fc6_tdata, or w_ for hw_mvu's w_data). Stream k is fed from the file of its
// `--wstream FILE:WIDTH[:DDRBYTES]` option (k-th occurrence; ceil(WIDTH/8) bytes a word,
// the words of one pass), repeated pass after pass; DDRBYTES (default ceil(WIDTH/8)) is
// what the DDR model charges a word (a DMA reads it padded to its stream width). A DDR model sits between the files and the
// ports: a prefetch FIFO of --ddr-fifo words per stream; --ddr-bytes-per-cycle B (0:
// unlimited) is the bandwidth shared by all streams (a byte credit accrues B in every
// cycle where some stream can take a word, capped at the largest word plus B: bandwidth
// nobody uses is lost; the streams take words round-robin, one word per stream and cycle
// at most); --ddr-latency L cycles pass between the request of a pass (issued when the
// previous pass's last word was fetched, or at reset) and the start of its transfer, so
// one stream alone reads a pass of N words of S bytes in L + N*S/B cycles. --stall-w P
// holds each stream's valid low with probability P per cycle.
//
// Exit codes: 0 done, 1 I/O error, 2 usage error, 3 deadlock (no transfer for
// max-idle cycles). Prints one JSON line with the cycle count and speed on stdout.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
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
    std::vector<std::string> wstreams;  // FILE:WIDTH, in port order
    double ddr_bytes_per_cycle = 0.0;   // 0: unlimited
    long long ddr_latency = 0;
    long long ddr_fifo = 4;
    double stall_w = 0.0;
};

// One weight stream: its port accessors, its words and the DDR reader feeding it.
struct WStream {
    std::string name;
    std::function<void(const uint8_t*, size_t, int)> set_data;  // bytes, nbytes, width
    std::function<void(bool)> set_valid;
    std::function<bool()> ready;
    std::vector<uint8_t> words;  // one pass, wbytes a word
    size_t wbytes = 0;
    size_t ddr_bytes = 0;        // bytes the DDR model charges a word
    int width = 0;
    size_t sig_bytes = 0;        // bytes the port's data signal holds
    uint64_t n_words = 0;
    uint64_t fetch = 0;          // next word the reader fetches (index in the pass)
    long long wait = 0;          // cycles until the requested pass's first word
    std::deque<uint64_t> fifo;   // fetched words (indices) not yet taken by the DUT
    uint64_t taken = 0;          // words transferred to the DUT
    bool valid = false;          // valid driven this cycle
};

#define HW_CAT_(a, b) a##b
#define HW_CAT(a, b) HW_CAT_(a, b)
#define HW_STR_(a) #a
#define HW_STR(a) HW_STR_(a)
#define HW_BIND_WS(PFX)                                                        \
    {                                                                          \
        ws.emplace_back();                                                     \
        WStream& w = ws.back();                                                \
        w.name = HW_STR(PFX);                                                  \
        auto* dut = top.get();                                                 \
        w.sig_bytes = sizeof(dut->HW_CAT(PFX, data));                          \
        w.set_data = [dut](const uint8_t* p, size_t nb, int width) {           \
            set_sig(dut->HW_CAT(PFX, data), p, nb, width);                     \
        };                                                                     \
        w.set_valid = [dut](bool v) { dut->HW_CAT(PFX, valid) = v; };          \
        w.ready = [dut]() { return dut->HW_CAT(PFX, ready) != 0; };           \
    }

Args parse(int argc, char** argv) {
    Args a;
    const std::string usage =
        "usage: Vdut --in in.bin --in-width IW --out out.bin --out-width OW --out-beats N "
        "[--stall-in P] [--stall-out P] [--seed S] [--max-idle C] [--times times.bin] "
        "[--wstream FILE:WIDTH ...] [--ddr-bytes-per-cycle B] [--ddr-latency L] "
        "[--ddr-fifo D] [--stall-w P]";
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
        else if (k == "--wstream") a.wstreams.push_back(v);
        else if (k == "--ddr-bytes-per-cycle") a.ddr_bytes_per_cycle = std::atof(v);
        else if (k == "--ddr-latency") a.ddr_latency = std::atoll(v);
        else if (k == "--ddr-fifo") a.ddr_fifo = std::atoll(v);
        else if (k == "--stall-w") a.stall_w = std::atof(v);
        else die(2, "error: unknown option " + k + "\n" + usage);
    }
    if (a.in.empty() || a.out.empty() || a.in_width < 1 || a.out_width < 1 || a.out_beats < 0)
        die(2, usage);
    if (a.max_idle < 1) die(2, "error: --max-idle must be >= 1");
    if (a.ddr_fifo < 1) die(2, "error: --ddr-fifo must be >= 1");
    if (a.ddr_latency < 0 || a.ddr_bytes_per_cycle < 0)
        die(2, "error: --ddr-latency and --ddr-bytes-per-cycle must be >= 0");
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
    const uint64_t thr_w = stall_threshold(a.stall_w);

    // Weight streams: the ports this binary was built with, fed from the files given.
    std::vector<WStream> ws;
    ws.reserve(16);
#ifdef HALFWAVE_WS0
    HW_BIND_WS(HALFWAVE_WS0)
#endif
#ifdef HALFWAVE_WS1
    HW_BIND_WS(HALFWAVE_WS1)
#endif
#ifdef HALFWAVE_WS2
    HW_BIND_WS(HALFWAVE_WS2)
#endif
#ifdef HALFWAVE_WS3
    HW_BIND_WS(HALFWAVE_WS3)
#endif
#ifdef HALFWAVE_WS4
    HW_BIND_WS(HALFWAVE_WS4)
#endif
#ifdef HALFWAVE_WS5
    HW_BIND_WS(HALFWAVE_WS5)
#endif
#ifdef HALFWAVE_WS6
    HW_BIND_WS(HALFWAVE_WS6)
#endif
#ifdef HALFWAVE_WS7
    HW_BIND_WS(HALFWAVE_WS7)
#endif
#ifdef HALFWAVE_WS8
    HW_BIND_WS(HALFWAVE_WS8)
#endif
#ifdef HALFWAVE_WS9
    HW_BIND_WS(HALFWAVE_WS9)
#endif
#ifdef HALFWAVE_WS10
    HW_BIND_WS(HALFWAVE_WS10)
#endif
#ifdef HALFWAVE_WS11
    HW_BIND_WS(HALFWAVE_WS11)
#endif
#ifdef HALFWAVE_WS12
    HW_BIND_WS(HALFWAVE_WS12)
#endif
#ifdef HALFWAVE_WS13
    HW_BIND_WS(HALFWAVE_WS13)
#endif
#ifdef HALFWAVE_WS14
    HW_BIND_WS(HALFWAVE_WS14)
#endif
#ifdef HALFWAVE_WS15
    HW_BIND_WS(HALFWAVE_WS15)
#endif
    if (a.wstreams.size() != ws.size())
        die(2, "error: the DUT has " + std::to_string(ws.size()) + " weight streams, " +
                   std::to_string(a.wstreams.size()) + " --wstream given");
    size_t max_wbytes = 0;
    for (size_t k = 0; k < ws.size(); ++k) {
        const std::string& spec = a.wstreams[k];
        size_t colon = spec.rfind(':');
        if (colon == std::string::npos) die(2, "error: --wstream needs FILE:WIDTH, got " + spec);
        long ddr_bytes = 0;
        const size_t colon0 = colon == 0 ? std::string::npos : spec.rfind(':', colon - 1);
        if (colon0 != std::string::npos && spec.find('/', colon0) == std::string::npos) {
            ddr_bytes = std::atol(spec.c_str() + colon + 1);  // FILE:WIDTH:DDRBYTES
            colon = colon0;
        }
        const std::string file = spec.substr(0, colon);
        const long width = std::atol(spec.c_str() + colon + 1);
        if (width < 1) die(2, "error: --wstream " + spec + ": bad width");
        WStream& w = ws[k];
        w.wbytes = static_cast<size_t>((width + 7) / 8);
        w.ddr_bytes = ddr_bytes > 0 ? static_cast<size_t>(ddr_bytes) : w.wbytes;
        if (!read_file(file, w.words)) die(1, "error: cannot read " + file);
        if (w.words.empty() || w.words.size() % w.wbytes != 0)
            die(1, "error: " + file + " is not a whole number of " + std::to_string(w.wbytes) +
                       "-byte words");
        w.n_words = w.words.size() / w.wbytes;
        w.width = static_cast<int>(width);
        if (w.wbytes > w.sig_bytes) die(2, "error: --wstream " + spec + " is wider than " + w.name + "data");
        w.wait = a.ddr_latency;  // the first pass is requested at reset
        if (w.ddr_bytes > max_wbytes) max_wbytes = w.ddr_bytes;
    }
    const double bw = a.ddr_bytes_per_cycle;
    const double credit_cap = static_cast<double>(max_wbytes) + bw;
    double credit = 0.0;
    size_t rr = 0;  // round-robin start of the DDR arbiter
    const size_t ddr_fifo = static_cast<size_t>(a.ddr_fifo);
    // One cycle of the DDR model, after the clock edge: latency countdowns, bandwidth
    // credit, at most one word fetched per stream.
    auto ddr_step = [&]() {
        const size_t n = ws.size();
        bool want = false;  // some stream can take a word now
        for (auto& w : ws) {
            if (w.wait > 0) --w.wait;
            else if (w.fifo.size() < ddr_fifo) want = true;
        }
        if (bw > 0 && want) credit = std::min(credit + bw, credit_cap);
        for (size_t j = 0; j < n; ++j) {
            WStream& w = ws[(rr + j) % n];
            if (w.wait > 0 || w.fifo.size() >= ddr_fifo) continue;
            if (bw > 0) {
                if (credit < static_cast<double>(w.ddr_bytes)) continue;
                credit -= static_cast<double>(w.ddr_bytes);
            }
            w.fifo.push_back(w.fetch);
            if (++w.fetch == w.n_words) {  // pass done: request the next one
                w.fetch = 0;
                w.wait = a.ddr_latency;
            }
        }
        if (n) rr = (rr + 1) % n;
    };

    // Reset: a few cycles with both streams idle.
    top->clk = 0;
    top->rst = 1;
    top->in_valid = 0;
    top->out_ready = 0;
    for (auto& w : ws) w.set_valid(false);
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
        for (auto& w : ws) {
            w.valid = !w.fifo.empty();
            if (w.valid) {
                w.set_data(w.words.data() + w.fifo.front() * w.wbytes, w.wbytes, w.width);
                if (thr_w && rng() < thr_w) w.valid = false;
            }
            w.set_valid(w.valid);
        }
        top->eval();

        // Sample every handshake before the edge.
        const bool in_fire = iv && top->in_ready;
        const bool out_fire = top->out_valid && top->out_ready;
        bool w_fire = false;
        for (auto& w : ws) {
            if (w.valid && w.ready()) {
                w.fifo.pop_front();
                ++w.taken;
                w_fire = true;
            }
        }
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
        ddr_step();
        if (ctx->gotFinish()) die(4, "error: DUT called $finish after " + std::to_string(cycle) +
                                         " cycles");

        if (in_fire || out_fire || w_fire) {
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
    std::string wtaken;
    for (size_t k = 0; k < ws.size(); ++k)
        wtaken += (k ? "," : "") + std::to_string(ws[k].taken);
    std::printf("{\"cycles\":%llu,\"in_beats\":%llu,\"out_beats\":%llu,\"wall_s\":%.6f,"
                "\"cycles_per_s\":%.1f,\"w_beats\":[%s]}\n",
                static_cast<unsigned long long>(cycle), static_cast<unsigned long long>(in_idx),
                static_cast<unsigned long long>(out_idx), wall,
                wall > 0 ? static_cast<double>(cycle) / wall : 0.0, wtaken.c_str());
    return 0;
}
