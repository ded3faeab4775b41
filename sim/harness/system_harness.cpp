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
// Both: "Q" prints "S {json}" (cycles, wall time) and exits. Replies "E <message>" on a bad
// command. Options: --clks-per-bit N (UART), --tdata-in B --tdata-out B (AXI, bits),
// --stall P (AXI: probability per cycle that the DMA holds TVALID/TREADY low), --seed S.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
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

bool from_hex(const std::string& s, std::vector<uint8_t>& out) {
    if (s == "-") return true;
    if (s.size() % 2) return false;
    out.reserve(out.size() + s.size() / 2);
    for (size_t i = 0; i < s.size(); i += 2) {
        char* end = nullptr;
        const std::string b = s.substr(i, 2);
        const long v = std::strtol(b.c_str(), &end, 16);
        if (*end) return false;
        out.push_back(static_cast<uint8_t>(v));
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
struct Axi {
    Sim& s;
    size_t in_b, out_b;
    std::deque<std::vector<uint8_t>> mm2s;  // queued transfers
    size_t mm2s_pos = 0;
    bool s2mm_armed = false;
    size_t s2mm_len = 0;
    std::vector<uint8_t> s2mm_buf;
    int s2mm_status = -1;  // -1 running
    uint64_t beats_in = 0, beats_out = 0;

    Axi(Sim& sim, long tin, long tout) : s(sim), in_b(size_t(tin / 8)), out_b(size_t(tout / 8)) {
        s.top->ap_rst_n = 0;
        idle_lite();
        s.top->s_axis_tvalid = 0;
        s.top->m_axis_tready = 0;
        for (int i = 0; i < 4; ++i) clock();
        s.top->ap_rst_n = 1;
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
        const bool rr = s2mm_armed && s2mm_status < 0 && !s.stall();
        s.top->m_axis_tready = rr;
        s.top->eval();
        const bool in_fire = iv && s.top->s_axis_tready;
        const bool out_fire = rr && s.top->m_axis_tvalid;
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
        return "E unknown command " + op;
    }
    std::string stats() const {
        return "\"beats_in\":" + std::to_string(beats_in) +
               ",\"beats_out\":" + std::to_string(beats_out);
    }
};
using Link = Axi;
#else
#error "define HALFWAVE_SYS_UART or HALFWAVE_SYS_AXI"
#endif

}  // namespace

int main(int argc, char** argv) {
    long clks = 25, tdata_in = 64, tdata_out = 64;
    double stall = 0.0;
    uint64_t seed = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--clks-per-bit") clks = std::atol(v);
        else if (k == "--tdata-in") tdata_in = std::atol(v);
        else if (k == "--tdata-out") tdata_out = std::atol(v);
        else if (k == "--stall") stall = std::atof(v);
        else if (k == "--seed") seed = std::strtoull(v, nullptr, 10);
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
#else
    Link link(sim, tdata_in, tdata_out);
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
