// system_harness.cpp — interactive Verilator driver for a halfwave *system* top: the
// accelerator behind its board link, driven the way the board's host drives it.
//
// Built with -DHALFWAVE_SYS_UART (DUT uart_system: clk, rst, rxd, txd, busy, error) or
// -DHALFWAVE_SYS_AXI (DUT axis_accel: ap_clk, ap_rst_n, s_axis_*, m_axis_*, s_axi_ctrl_*).
// Commands on stdin, one per line, one reply line each on stdout; the model keeps its
// state between commands, so a host driver can talk to it like to a board.
//
// UART (bit-accurate 8N1 waveforms, CLKS_PER_BIT cycles per bit):
//   W <hex>              queue bytes for the RX pin (sent back to back as the clock runs)
//   R <n> <max_cycles>   run until n bytes were decoded from the TX pin or max_cycles
//                        passed; reply "D <hex> <cycle>" (what arrived, at most n bytes)
// AXI (PS + AXI DMA model: AXI4-Lite master, MM2S and S2MM simple transfers):
//   LW <addr> <value>    AXI4-Lite write (address and data channels, then response)
//   LR <addr>            AXI4-Lite read; reply "V <value>"
//   MM2S <hex>           queue a transfer: TDATA_IN/8 bytes per beat, TLAST on its last
//   S2MM <nbytes>        arm a receive buffer of nbytes
//   WAIT <max_cycles>    run until MM2S is empty and S2MM has ended (TLAST or buffer full);
//                        reply "D <hex> <status> <cycle>": status 0 TLAST on the buffer's
//                        last beat, 1 TLAST early (short transfer), 2 buffer full without
//                        TLAST (the AXI DMA's S2MM error), 3 timeout
//   WMM2S <k> <hex>      start a transfer on weight DMA k (MM2S only; "E" if one is
//                        still running: a simple-mode AXI DMA takes one at a time)
//   WIDLE <k> <max>      run until weight DMA k is idle or max cycles passed (the time a
//                        host spends polling its status register); reply "V 1|0"
//   WWAIT <k> <max>      run until weight DMA k is idle; reply "D - <status> <cycle>"
// Weight DMAs (built with -DHALFWAVE_WS<k>=s_axis_w<k>_t, k < 16; --wtdata B0,B1,.. bits
// per beat) read DDR through one model: --ddr-bytes-per-cycle B shared by all weight
// DMAs (0: unlimited; a byte credit accrues B a cycle while some DMA can fetch, capped at
// the widest beat plus B), --ddr-latency L cycles from a transfer's start to its first
// beat, a 64-beat FIFO per DMA (the AXI DMA's MM2S buffer), round-robin, one beat per
// DMA and cycle at most.
// Both: "Q" prints "S {json}" (cycles, wall time) and exits. Replies "E <message>" on a bad
// command. Options: --clks-per-bit N (UART), --tdata-in B --tdata-out B (AXI, bits),
// --stall P (AXI: probability per cycle that a DMA holds TVALID/TREADY low), --seed S,
// --wtdata, --ddr-bytes-per-cycle, --ddr-latency (AXI weight DMAs, above).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "Vdut.h"
#include "verilated.h"

namespace {

template <typename T>
    requires std::is_integral_v<T>
void set_sig(T& sig, const uint8_t* p, size_t nbytes) {
    uint64_t v = 0;
    std::memcpy(&v, p, nbytes < sizeof(T) ? nbytes : sizeof(T));
    sig = static_cast<T>(v);
}
template <std::size_t N>
void set_sig(VlWide<N>& sig, const uint8_t* p, size_t nbytes) {
    for (std::size_t w = 0; w < N; ++w) {
        uint32_t v = 0;
        const size_t off = w * 4;
        if (off < nbytes) std::memcpy(&v, p + off, (nbytes - off) < 4 ? (nbytes - off) : 4);
        sig[w] = v;
    }
}
template <typename T>
    requires std::is_integral_v<T>
void get_sig(const T& sig, uint8_t* p, size_t nbytes) {
    const uint64_t v = static_cast<uint64_t>(sig);
    std::memcpy(p, &v, nbytes < sizeof(T) ? nbytes : sizeof(T));
}
template <std::size_t N>
void get_sig(const VlWide<N>& sig, uint8_t* p, size_t nbytes) {
    for (std::size_t w = 0; w < N; ++w) {
        const size_t off = w * 4;
        if (off >= nbytes) break;
        const uint32_t v = sig[w];
        std::memcpy(p + off, &v, (nbytes - off) < 4 ? (nbytes - off) : 4);
    }
}

std::string to_hex(const uint8_t* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s(2 * n, '0');
    for (size_t i = 0; i < n; ++i) {
        s[2 * i] = d[p[i] >> 4];
        s[2 * i + 1] = d[p[i] & 15];
    }
    return n ? s : std::string("-");
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool from_hex(const std::string& s, std::vector<uint8_t>& out) {
    if (s == "-") return true;
    if (s.size() % 2) return false;
    out.reserve(out.size() + s.size() / 2);
    for (size_t i = 0; i < s.size(); i += 2) {
        const int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    return true;
}

struct Sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vdut> top;
    uint64_t cycle = 0;
    std::mt19937_64 rng;
    uint64_t stall_thr = 0;
    Sim(uint64_t seed, double stall) : ctx(std::make_unique<VerilatedContext>()), rng(seed) {
        ctx->fatalOnError(true);
        top = std::make_unique<Vdut>(ctx.get(), "dut");
        if (stall > 0) stall_thr = stall >= 1 ? UINT64_MAX : uint64_t(stall * 18446744073709551616.0);
    }
    bool stall() { return stall_thr && rng() < stall_thr; }
};

#if defined(HALFWAVE_SYS_UART)
// ------------------------------------------------------------------------------ UART
struct Uart {
    Sim& s;
    long cpb;
    std::deque<uint8_t> rx_q;  // bytes still to send on the RX pin
    int rx_bit = -1;           // -1 idle, 0 start, 1..8 data, 9 stop
    long rx_count = 0;
    uint8_t rx_byte = 0;
    // TX decoder
    int tx_state = 0;  // 0 idle, 1 start, 2 data, 3 stop
    long tx_count = 0;
    int tx_bit = 0;
    uint8_t tx_shift = 0;
    std::deque<uint8_t> tx_out;
    uint64_t tx_framing_errors = 0, rx_sent = 0;

    Uart(Sim& sim, long clks) : s(sim), cpb(clks) {
        s.top->rst = 1;
        s.top->rxd = 1;
        for (int i = 0; i < 4; ++i) clock();
        s.top->rst = 0;
    }
    void clock() {
        s.top->clk = 0;
        s.top->eval();
        s.top->clk = 1;
        s.top->eval();
        ++s.cycle;
    }
    void drive_rx() {
        if (rx_bit < 0) {
            if (rx_q.empty()) {
                s.top->rxd = 1;
                return;
            }
            rx_byte = rx_q.front();
            rx_q.pop_front();
            rx_bit = 0;
            rx_count = 0;
        }
        s.top->rxd = rx_bit == 0 ? 0 : rx_bit == 9 ? 1 : (rx_byte >> (rx_bit - 1)) & 1;
        if (++rx_count == cpb) {
            rx_count = 0;
            if (++rx_bit == 10) {
                rx_bit = -1;
                ++rx_sent;
            }
        }
    }
    void sample_tx() {
        const int line = s.top->txd;
        switch (tx_state) {
            case 0:
                if (!line) {
                    tx_state = 1;
                    tx_count = cpb / 2;
                }
                break;
            case 1:
                if (--tx_count == 0) {
                    if (line) tx_state = 0;  // glitch
                    else {
                        tx_state = 2;
                        tx_count = cpb;
                        tx_bit = 0;
                        tx_shift = 0;
                    }
                }
                break;
            case 2:
                if (--tx_count == 0) {
                    tx_shift |= uint8_t(line << tx_bit);
                    tx_count = cpb;
                    if (++tx_bit == 8) tx_state = 3;
                }
                break;
            default:
                if (--tx_count == 0) {
                    if (line) tx_out.push_back(tx_shift);
                    else ++tx_framing_errors;
                    tx_state = 0;
                }
        }
    }
    void step() {
        drive_rx();
        clock();  // outputs are registered: sample after the edge
        sample_tx();
    }
    std::string command(const std::string& op, std::istringstream& in) {
        if (op == "W") {
            std::string hex;
            in >> hex;
            std::vector<uint8_t> b;
            if (!from_hex(hex, b)) return "E bad hex";
            rx_q.insert(rx_q.end(), b.begin(), b.end());
            return "OK";
        }
        if (op == "R") {
            uint64_t n = 0, max_cycles = 0;
            in >> n >> max_cycles;
            const uint64_t end = s.cycle + max_cycles;
            while (tx_out.size() < n && s.cycle < end) step();
            const size_t k = tx_out.size() < n ? tx_out.size() : n;
            std::vector<uint8_t> b(tx_out.begin(), tx_out.begin() + k);
            tx_out.erase(tx_out.begin(), tx_out.begin() + k);
            return "D " + to_hex(b.data(), b.size()) + " " + std::to_string(s.cycle);
        }
        return "E unknown command " + op;
    }
    std::string stats() const {
        return "\"rx_bytes\":" + std::to_string(rx_sent) +
               ",\"tx_framing_errors\":" + std::to_string(tx_framing_errors);
    }
};
using Link = Uart;
#elif defined(HALFWAVE_SYS_AXI)
// ------------------------------------------------------------------------------- AXI
// One MM2S-only weight DMA: its stream port, the running transfer, the DDR reader.
struct WDma {
    std::string name;
    std::function<void(const uint8_t*, size_t)> set_data;
    std::function<void(bool)> set_valid;
    std::function<bool()> ready;
    size_t beat = 8;                 // bytes per beat
    std::vector<uint8_t> xfer;       // the running transfer (empty: idle)
    size_t fetched = 0, taken = 0;   // bytes read from DDR / taken by the DUT
    long long wait = 0;              // latency cycles left before the first beat
    std::deque<size_t> fifo;         // offsets of fetched beats not yet taken
    uint64_t transfers = 0, beats = 0;
    bool busy() const { return !xfer.empty(); }
    bool can_fetch(size_t depth) const {
        return busy() && wait == 0 && fetched < xfer.size() && fifo.size() < depth;
    }
};

#define HW_CAT_(a, b) a##b
#define HW_CAT(a, b) HW_CAT_(a, b)
#define HW_STR_(a) #a
#define HW_STR(a) HW_STR_(a)
#define HW_BIND_WDMA(PFX)                                                              \
    {                                                                                  \
        auto* dut = s.top.get();                                                       \
        WDma w;                                                                        \
        w.name = HW_STR(PFX);                                                          \
        w.set_data = [dut](const uint8_t* p, size_t n) { set_sig(dut->HW_CAT(PFX, data), p, n); }; \
        w.set_valid = [dut](bool v) { dut->HW_CAT(PFX, valid) = v; };                 \
        w.ready = [dut]() { return dut->HW_CAT(PFX, ready) != 0; };                   \
        wd.push_back(std::move(w));                                                    \
    }

struct Axi {
    Sim& s;
    size_t in_b, out_b;
    std::vector<WDma> wd;
    double ddr_bpc = 0.0, credit = 0.0, credit_cap = 0.0;
    long long ddr_latency = 0;
    size_t rr = 0;
    static constexpr size_t kWFifo = 64;
    std::deque<std::vector<uint8_t>> mm2s;  // queued transfers
    size_t mm2s_pos = 0;
    bool s2mm_armed = false;
    size_t s2mm_len = 0;
    std::vector<uint8_t> s2mm_buf;
    int s2mm_status = -1;  // -1 running
    uint64_t beats_in = 0, beats_out = 0;

    Axi(Sim& sim, long tin, long tout, const std::vector<long>& wtdata, double bpc, long long lat)
        : s(sim), in_b(size_t(tin / 8)), out_b(size_t(tout / 8)), ddr_bpc(bpc), ddr_latency(lat) {
        bind_weight_dmas();
        if (wtdata.size() != wd.size()) {
            std::fprintf(stderr, "error: the DUT has %zu weight streams, --wtdata gives %zu\n",
                         wd.size(), wtdata.size());
            std::exit(2);
        }
        size_t widest = 0;
        for (size_t k = 0; k < wd.size(); ++k) {
            wd[k].beat = size_t(wtdata[k] / 8);
            widest = std::max(widest, wd[k].beat);
            wd[k].set_valid(false);
        }
        credit_cap = double(widest) + ddr_bpc;
        s.top->ap_rst_n = 0;
        idle_lite();
        s.top->s_axis_tvalid = 0;
        s.top->m_axis_tready = 0;
        for (int i = 0; i < 4; ++i) clock();
        s.top->ap_rst_n = 1;
    }
    void bind_weight_dmas() {
#ifdef HALFWAVE_WS0
        HW_BIND_WDMA(HALFWAVE_WS0)
#endif
#ifdef HALFWAVE_WS1
        HW_BIND_WDMA(HALFWAVE_WS1)
#endif
#ifdef HALFWAVE_WS2
        HW_BIND_WDMA(HALFWAVE_WS2)
#endif
#ifdef HALFWAVE_WS3
        HW_BIND_WDMA(HALFWAVE_WS3)
#endif
#ifdef HALFWAVE_WS4
        HW_BIND_WDMA(HALFWAVE_WS4)
#endif
#ifdef HALFWAVE_WS5
        HW_BIND_WDMA(HALFWAVE_WS5)
#endif
#ifdef HALFWAVE_WS6
        HW_BIND_WDMA(HALFWAVE_WS6)
#endif
#ifdef HALFWAVE_WS7
        HW_BIND_WDMA(HALFWAVE_WS7)
#endif
#ifdef HALFWAVE_WS8
        HW_BIND_WDMA(HALFWAVE_WS8)
#endif
#ifdef HALFWAVE_WS9
        HW_BIND_WDMA(HALFWAVE_WS9)
#endif
#ifdef HALFWAVE_WS10
        HW_BIND_WDMA(HALFWAVE_WS10)
#endif
#ifdef HALFWAVE_WS11
        HW_BIND_WDMA(HALFWAVE_WS11)
#endif
#ifdef HALFWAVE_WS12
        HW_BIND_WDMA(HALFWAVE_WS12)
#endif
#ifdef HALFWAVE_WS13
        HW_BIND_WDMA(HALFWAVE_WS13)
#endif
#ifdef HALFWAVE_WS14
        HW_BIND_WDMA(HALFWAVE_WS14)
#endif
#ifdef HALFWAVE_WS15
        HW_BIND_WDMA(HALFWAVE_WS15)
#endif
    }
    // weight DMAs' stream side, before the edge: valid when a fetched beat is waiting
    void drive_weights(std::vector<bool>& fire) {
        for (size_t k = 0; k < wd.size(); ++k) {
            WDma& w = wd[k];
            const bool v = !w.fifo.empty() && !s.stall();
            if (v) w.set_data(w.xfer.data() + w.fifo.front(), w.beat);
            w.set_valid(v);
            fire[k] = v;
        }
    }
    // after the edge: beats taken, transfers ended, then one cycle of the DDR reader
    void advance_weights(const std::vector<bool>& fire) {
        for (size_t k = 0; k < wd.size(); ++k) {
            WDma& w = wd[k];
            if (!fire[k]) continue;
            w.fifo.pop_front();
            w.taken += w.beat;
            ++w.beats;
            if (w.taken >= w.xfer.size()) {
                w.xfer.clear();
                w.fetched = w.taken = 0;
            }
        }
        const size_t n = wd.size();
        bool want = false;
        for (auto& w : wd) {
            if (w.busy() && w.wait > 0) --w.wait;
            else if (w.can_fetch(kWFifo)) want = true;
        }
        if (ddr_bpc > 0 && want) credit = std::min(credit + ddr_bpc, credit_cap);
        for (size_t j = 0; j < n; ++j) {
            WDma& w = wd[(rr + j) % n];
            if (!w.can_fetch(kWFifo)) continue;
            if (ddr_bpc > 0) {
                if (credit < double(w.beat)) continue;
                credit -= double(w.beat);
            }
            w.fifo.push_back(w.fetched);
            w.fetched += w.beat;
        }
        if (n) rr = (rr + 1) % n;
    }
    void idle_lite() {
        s.top->s_axi_ctrl_awvalid = 0;
        s.top->s_axi_ctrl_wvalid = 0;
        s.top->s_axi_ctrl_bready = 0;
        s.top->s_axi_ctrl_arvalid = 0;
        s.top->s_axi_ctrl_rready = 0;
    }
    void clock() {
        s.top->ap_clk = 1;
        s.top->eval();
        s.top->ap_clk = 0;
        s.top->eval();
        ++s.cycle;
    }
    // one cycle: the DMA's two stream ports act, then the clock edge
    void step() {
        bool iv = false;
        if (!mm2s.empty() && !s.stall()) {
            const auto& t = mm2s.front();
            set_sig(s.top->s_axis_tdata, t.data() + mm2s_pos, in_b);
            s.top->s_axis_tlast = mm2s_pos + in_b >= t.size();
            iv = true;
        }
        s.top->s_axis_tvalid = iv;
        const bool rdy = s2mm_armed && s2mm_status < 0 && !s.stall();
        s.top->m_axis_tready = rdy;
        std::vector<bool> wvalid(wd.size());
        drive_weights(wvalid);
        s.top->eval();
        const bool in_fire = iv && s.top->s_axis_tready;
        const bool out_fire = rdy && s.top->m_axis_tvalid;
        std::vector<bool> wfire(wd.size());
        for (size_t k = 0; k < wd.size(); ++k) wfire[k] = wvalid[k] && wd[k].ready();
        if (out_fire) {
            std::vector<uint8_t> beat(out_b);
            get_sig(s.top->m_axis_tdata, beat.data(), out_b);
            const bool last = s.top->m_axis_tlast;
            s2mm_buf.insert(s2mm_buf.end(), beat.begin(), beat.end());
            ++beats_out;
            const bool full = s2mm_buf.size() >= s2mm_len;
            if (last) s2mm_status = full ? 0 : 1;
            else if (full) s2mm_status = 2;
        }
        clock();
        advance_weights(wfire);
        if (in_fire) {
            ++beats_in;
            mm2s_pos += in_b;
            if (mm2s_pos >= mm2s.front().size()) {
                mm2s.pop_front();
                mm2s_pos = 0;
            }
        }
    }
    template <typename F>
    bool run_until(F done, uint64_t max_cycles) {
        const uint64_t end = s.cycle + max_cycles;
        while (!done()) {
            if (s.cycle >= end) return false;
            step();
        }
        return true;
    }
    std::string command(const std::string& op, std::istringstream& in) {
        if (op == "LW") {
            uint64_t a = 0, v = 0;
            in >> std::hex >> a >> v;
            auto* t = s.top.get();
            t->s_axi_ctrl_awaddr = uint32_t(a);
            t->s_axi_ctrl_wdata = uint32_t(v);
            t->s_axi_ctrl_wstrb = 0xF;
            bool awv = true, wv = true;
            const uint64_t end = s.cycle + 1000;
            while ((awv || wv) && s.cycle < end) {  // address and data, in any order
                t->s_axi_ctrl_awvalid = awv;
                t->s_axi_ctrl_wvalid = wv;
                t->eval();
                const bool awf = awv && t->s_axi_ctrl_awready, wf = wv && t->s_axi_ctrl_wready;
                step();
                if (awf) awv = false;
                if (wf) wv = false;
            }
            t->s_axi_ctrl_awvalid = 0;
            t->s_axi_ctrl_wvalid = 0;
            t->s_axi_ctrl_bready = 1;
            bool bf = false;
            while (!bf && s.cycle < end) {
                t->eval();
                bf = t->s_axi_ctrl_bvalid;
                step();
            }
            t->s_axi_ctrl_bready = 0;
            return bf ? "OK" : "E AXI-Lite write timed out";
        }
        if (op == "LR") {
            uint64_t a = 0;
            in >> std::hex >> a;
            auto* t = s.top.get();
            t->s_axi_ctrl_araddr = uint32_t(a);
            t->s_axi_ctrl_arvalid = 1;
            const uint64_t end = s.cycle + 1000;
            bool arf = false, rf = false;
            uint32_t v = 0;
            while (!arf && s.cycle < end) {
                t->eval();
                arf = t->s_axi_ctrl_arready;
                step();
            }
            t->s_axi_ctrl_arvalid = 0;
            t->s_axi_ctrl_rready = 1;
            while (!rf && s.cycle < end) {
                t->eval();
                rf = t->s_axi_ctrl_rvalid;
                v = t->s_axi_ctrl_rdata;
                step();
            }
            t->s_axi_ctrl_rready = 0;
            return rf ? "V " + std::to_string(v) : "E AXI-Lite read timed out";
        }
        if (op == "MM2S") {
            std::string hex;
            in >> hex;
            std::vector<uint8_t> b;
            if (!from_hex(hex, b) || b.empty() || b.size() % in_b)
                return "E MM2S length must be a positive multiple of " + std::to_string(in_b);
            mm2s.push_back(std::move(b));
            return "OK";
        }
        if (op == "S2MM") {
            size_t n = 0;
            in >> n;
            if (n == 0 || n % out_b) return "E S2MM length must be a multiple of " + std::to_string(out_b);
            s2mm_armed = true;
            s2mm_len = n;
            s2mm_buf.clear();
            s2mm_status = -1;
            return "OK";
        }
        if (op == "WAIT") {
            uint64_t max_cycles = 0;
            in >> max_cycles;
            const bool ok = run_until(
                [&] { return mm2s.empty() && (!s2mm_armed || s2mm_status >= 0); }, max_cycles);
            const int st = ok ? (s2mm_armed ? s2mm_status : 0) : 3;
            s2mm_armed = false;
            return "D " + to_hex(s2mm_buf.data(), s2mm_buf.size()) + " " + std::to_string(st) +
                   " " + std::to_string(s.cycle);
        }
        if (op == "WMM2S" || op == "WIDLE" || op == "WWAIT") return weight_command(op, in);
        return "E unknown command " + op;
    }
    std::string weight_command(const std::string& op, std::istringstream& in) {
        size_t k = 0;
        in >> k;
        if (k >= wd.size()) return "E no weight DMA " + std::to_string(k);
        WDma& w = wd[k];
        if (op == "WMM2S") {
            std::string hex;
            in >> hex;
            if (w.busy()) return "E weight DMA " + std::to_string(k) + " is not idle";
            std::vector<uint8_t> b;
            if (!from_hex(hex, b) || b.empty() || b.size() % w.beat)
                return "E WMM2S length must be a positive multiple of " + std::to_string(w.beat);
            w.xfer = std::move(b);
            w.fetched = w.taken = 0;
            w.wait = ddr_latency;
            ++w.transfers;
            return "OK";
        }
        uint64_t max_cycles = 0;
        in >> max_cycles;
        const bool ok = run_until([&] { return !w.busy(); }, max_cycles);
        if (op == "WIDLE") return std::string("V ") + (ok ? "1" : "0");
        return "D - " + std::to_string(ok ? 0 : 3) + " " + std::to_string(s.cycle);
    }
    std::string stats() const {
        std::string ws;
        for (const auto& w : wd)
            ws += std::string(ws.empty() ? "" : ",") + "{\"port\":\"" + w.name +
                  "\",\"transfers\":" + std::to_string(w.transfers) +
                  ",\"beats\":" + std::to_string(w.beats) + "}";
        return "\"beats_in\":" + std::to_string(beats_in) +
               ",\"beats_out\":" + std::to_string(beats_out) + ",\"weight_dmas\":[" + ws + "]";
    }
};
using Link = Axi;
#else
#error "define HALFWAVE_SYS_UART or HALFWAVE_SYS_AXI"
#endif

}  // namespace

int main(int argc, char** argv) {
    long clks = 25, tdata_in = 64, tdata_out = 64;
    double stall = 0.0, ddr_bpc = 0.0;
    long long ddr_latency = 0;
    std::vector<long> wtdata;
    uint64_t seed = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--clks-per-bit") clks = std::atol(v);
        else if (k == "--tdata-in") tdata_in = std::atol(v);
        else if (k == "--tdata-out") tdata_out = std::atol(v);
        else if (k == "--stall") stall = std::atof(v);
        else if (k == "--seed") seed = std::strtoull(v, nullptr, 10);
        else if (k == "--ddr-bytes-per-cycle") ddr_bpc = std::atof(v);
        else if (k == "--ddr-latency") ddr_latency = std::atoll(v);
        else if (k == "--wtdata") {
            std::stringstream ss(v);
            std::string item;
            while (std::getline(ss, item, ',')) wtdata.push_back(std::atol(item.c_str()));
        }
        else {
            std::fprintf(stderr, "error: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    Sim sim(seed, stall);
#if defined(HALFWAVE_SYS_UART)
    Link link(sim, clks);
    (void)tdata_in;
    (void)tdata_out;
    (void)ddr_bpc;
    (void)ddr_latency;
    if (!wtdata.empty()) {
        std::fprintf(stderr, "error: the UART system has no weight DMAs\n");
        return 2;
    }
#else
    Link link(sim, tdata_in, tdata_out, wtdata, ddr_bpc, ddr_latency);
    (void)clks;
#endif
    std::ios::sync_with_stdio(false);
    const auto t0 = std::chrono::steady_clock::now();
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string op;
        in >> op;
        if (op.empty()) continue;
        if (op == "Q") break;
        std::cout << link.command(op, in) << "\n" << std::flush;
        if (sim.ctx->gotFinish()) break;
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sim.top->final();
    std::cout << "S {\"cycles\":" << sim.cycle << ",\"wall_s\":" << wall << ","
              << link.stats() << "}\n" << std::flush;
    return 0;
}
