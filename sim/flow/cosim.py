"""System-level co-simulation: the accelerator behind its board link, in Verilator.

`hw/system/` wraps a BUILD's `rtl/top.v` for a board: `uart_system.v` (UART + framing,
the open ULX3S board) or, for the Zynq boards with AXI DMAs, the generated shell
`BUILD/system/axis_accel.v` (`axi_shell`): `axis_ctrl.v` (AXI4-Stream in/out, AXI4-Lite
registers) around top.v, plus one AXI4-Stream slave `s_axis_w<k>` per external weight
stream (weights in DDR, each fed by its own MM2S-only AXI DMA; `axis_upsize.v` joins
DMA beats into MVU words wider than 1024 bits, the AXI DMA's widest stream).
`sim/harness/system_harness.cpp` drives either wrapper the way the board's host does:
bit-accurate 8N1 waveforms on the RX pin (TX decoded back to bytes), or an AXI4-Lite
master plus the AXI DMAs' MM2S/S2MM transfers, the weight DMAs reading through a DDR
model (shared bandwidth, latency per transfer). It is interactive (commands on stdin),
so the deploy package's driver talks to the simulation exactly as to a board:
`SimSerial` has the pyserial calls the driver uses, `SimOverlay` the pynq ones.
"""

from __future__ import annotations

import json
import subprocess
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import halfwave.hw
from halfwave.compiler.codegen_rtl import dma_word_bytes
from halfwave.sim import verilator as vl
from halfwave.sim.rtl import default_cache_dir

SYSTEM_DIR = Path(halfwave.hw.__file__).resolve().parent / "system"
HARNESS = Path(vl.__file__).resolve().parent / "harness" / "system_harness.cpp"
UART_FILES = (
    "uart_rx.v", "uart_tx.v", "uart_frame.v", "bytes_to_beats.v", "beats_to_bytes.v",
    "uart_system.v",
)  # fmt: skip
AXI_FILES = ("axis_ctrl.v", "axis_upsize.v")  # + the generated BUILD/system/axis_accel.v
WEIGHT_DMA_MAX_BITS = 1024  # the AXI DMA's widest MM2S stream; wider words: axis_upsize
UART_CLOCK_HZ = 25_000_000  # ULX3S oscillator: the UART system runs on it
DEFAULT_BAUD = 1_000_000  # 25 MHz / 25: exact, and the FT231X's 3 MHz / 3


@dataclass(frozen=True)
class WeightDma:
    """One external weight stream as its DMA sees it: every MVU word padded to `beats`
    beats of `tdata` bits (first beat = low bits), the words of a pass in memory order."""

    node: str
    port: str  # top.v's port prefix (w_<node>_t)
    width: int  # bits of an MVU weight word
    tdata: int  # bits per DMA beat (8 * 2^k, at most WEIGHT_DMA_MAX_BITS)
    beats: int  # DMA beats per word
    words_per_pass: int
    passes_per_frame: int
    file: str  # rtl/<node>_wstream.bin: one pass, ceil(width/8) bytes a word

    @property
    def word_bytes(self) -> int:
        return self.beats * self.tdata // 8

    @property
    def bytes_per_pass(self) -> int:
        return self.word_bytes * self.words_per_pass


def weight_dma(w: dict) -> WeightDma:
    """The DMA form of one rtl/top.json "weight_streams" entry."""
    bits = int(w["width"])
    tdata = min(8 * dma_word_bytes(bits), WEIGHT_DMA_MAX_BITS)
    return WeightDma(
        node=w["node"], port=w["port"], width=bits, tdata=tdata, beats=-(-bits // tdata),
        words_per_pass=int(w["words_per_pass"]), passes_per_frame=int(w["passes_per_frame"]),
        file=w["file"],
    )  # fmt: skip


def dma_weight_image(build: Path, w: WeightDma) -> np.ndarray:
    """One pass of an external weight stream as its DMA reads it from DDR: the words of
    rtl/<node>_wstream.bin, each zero-padded to `w.word_bytes` bytes."""
    raw = np.fromfile(Path(build) / "rtl" / w.file, dtype=np.uint8)
    nb = -(-w.width // 8)
    if raw.size != nb * w.words_per_pass:
        raise ValueError(f"{Path(build) / 'rtl' / w.file}: {raw.size} bytes, expected "
                         f"{w.words_per_pass} words of {nb} bytes")  # fmt: skip
    img = np.zeros((w.words_per_pass, w.word_bytes), dtype=np.uint8)
    img[:, :nb] = raw.reshape(w.words_per_pass, nb)
    return img.reshape(-1)


@dataclass(frozen=True)
class SystemParams:
    """What a system wrapper needs to know about a BUILD's top.v (from rtl/top.json)."""

    in_bytes: int  # bytes per input beat of top
    out_bytes: int
    in_beats: int  # beats per frame (vectors x beats per vector)
    out_beats: int
    model_id: int  # crc32 of top.v: the driver checks it against the bitstream's
    in_lanes: int
    in_width: int
    in_count: int
    in_vectors: int
    out_lanes: int
    out_width: int
    out_count: int
    out_vectors: int
    out_signed: bool
    in_dtype: str
    out_dtype: str
    cycles_per_frame: int  # predicted initiation interval of top
    weights: tuple[WeightDma, ...] = ()  # external weight streams (weights in DDR)

    @property
    def n_ext_weights(self) -> int:
        return len(self.weights)

    @property
    def in_frame_bytes(self) -> int:
        return self.in_bytes * self.in_beats

    @property
    def out_frame_bytes(self) -> int:
        return self.out_bytes * self.out_beats

    @property
    def tdata_in(self) -> int:
        return axis_width(self.in_bytes)

    @property
    def tdata_out(self) -> int:
        return axis_width(self.out_bytes)

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["weights"] = [{**asdict(w), "word_bytes": w.word_bytes,
                           "bytes_per_pass": w.bytes_per_pass} for w in self.weights]  # fmt: skip
        return {**doc, "n_ext_weights": self.n_ext_weights,
                "in_frame_bytes": self.in_frame_bytes, "out_frame_bytes": self.out_frame_bytes,
                "tdata_in": self.tdata_in, "tdata_out": self.tdata_out}  # fmt: skip


def axis_width(nbytes: int) -> int:
    """AXI DMA stream widths are 8 * 2^k bits: the smallest that holds nbytes."""
    w = 8
    while w < 8 * nbytes:
        w *= 2
    return w


def system_params(build: Path) -> SystemParams:
    rtl = Path(build) / "rtl"
    desc = json.loads((rtl / "top.json").read_text())
    fi, fo = desc["in"], desc["out"]
    for f in (fi, fo):
        if (f["lanes"] * f["width"]) % 8:
            raise ValueError(f"{rtl / 'top.json'}: bus of {f['lanes']}x{f['width']} bits is "
                             "not byte-aligned")  # fmt: skip
    per = lambda f: -(-f["count"] // f["lanes"]) * f.get("vectors", 1)  # noqa: E731
    return SystemParams(
        in_bytes=fi["lanes"] * fi["width"] // 8,
        out_bytes=fo["lanes"] * fo["width"] // 8,
        in_beats=per(fi),
        out_beats=per(fo),
        model_id=zlib.crc32((rtl / "top.v").read_bytes()),
        in_lanes=fi["lanes"], in_width=fi["width"], in_count=fi["count"],
        in_vectors=fi.get("vectors", 1),
        out_lanes=fo["lanes"], out_width=fo["width"], out_count=fo["count"],
        out_vectors=fo.get("vectors", 1), out_signed=bool(fo["signed"]),
        in_dtype=fi["dtype"], out_dtype=fo["dtype"],
        cycles_per_frame=max(int(desc["predicted_cycles_per_frame"]), _ddr_cycles(build)),
        weights=tuple(weight_dma(w) for w in desc.get("weight_streams", [])),
    )  # fmt: skip


def _ddr_cycles(build: Path) -> int:
    """Cycles per frame the board's DDR allows the external weights (report.json of a
    `compile --board`), 0 when there are none: top.json's prediction leaves it out."""
    rep = Path(build) / "report.json"
    if not rep.is_file():
        return 0
    board = json.loads(rep.read_text()).get("resources", {}).get("board") or {}
    return int((board.get("ddr") or {}).get("ddr_cycles_per_frame", 0))


def uart_verilog_params(p: SystemParams, clks_per_bit: int) -> dict[str, int]:
    return {
        "IN_BYTES": p.in_bytes, "OUT_BYTES": p.out_bytes,
        "IN_FRAME_BYTES": p.in_frame_bytes, "OUT_FRAME_BYTES": p.out_frame_bytes,
        "MODEL_ID": p.model_id, "CLKS_PER_BIT": clks_per_bit,
    }  # fmt: skip


def axi_verilog_params(p: SystemParams) -> dict[str, int]:
    return {
        "IN_BYTES": p.in_bytes, "OUT_BYTES": p.out_bytes, "TDATA_IN": p.tdata_in,
        "TDATA_OUT": p.tdata_out, "IN_BEATS": p.in_beats, "OUT_BEATS": p.out_beats,
        "MODEL_ID": p.model_id,
    }  # fmt: skip


def axi_shell(build: Path) -> Path:
    """Write BUILD/system/axis_accel.v: the accelerator IP's top (AXI4-Lite registers,
    input/output AXI4-Streams, one AXI4-Stream slave per external weight stream) around
    rtl/top.v. Generated because its port list follows the design's weight streams."""
    p = system_params(build)
    out = Path(build) / "system" / "axis_accel.v"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_axi_shell_text(p))
    return out


def _axi_shell_text(p: SystemParams) -> str:
    params = axi_verilog_params(p)
    pdecl = ",\n".join(
        f"    parameter {'[31:0]  ' if k == 'MODEL_ID' else 'integer '}{k:<9s} = "
        + (f"32'h{v:08x}" if k == "MODEL_ID" else str(v))
        for k, v in params.items()
    )
    wports = "".join(
        f"    // weight stream {k}: {w.node} (weights in DDR), {w.beats} beat(s) of "
        f"{w.tdata} bits a {w.width}-bit word\n"
        f"    input  wire [{w.tdata - 1}:0] s_axis_w{k}_tdata,\n"
        f"    input  wire s_axis_w{k}_tvalid,\n"
        f"    output wire s_axis_w{k}_tready,\n"
        f"    /* verilator lint_off UNUSEDSIGNAL */\n"
        f"    input  wire s_axis_w{k}_tlast,  // words are counted, not delimited\n"
        f"    /* verilator lint_on UNUSEDSIGNAL */\n"
        for k, w in enumerate(p.weights)
    )
    wires = "".join(f"    wire [{w.width - 1}:0] w{k}_data;\n    wire w{k}_valid, w{k}_ready;\n"
                    for k, w in enumerate(p.weights))  # fmt: skip
    upsizers = "".join(
        f"    axis_upsize #(.IN_W({w.tdata}), .BEATS({w.beats}), .OUT_W({w.width})) "
        f"u_w{k} (\n        .clk(ap_clk), .rst(acc_rst),\n"
        f"        .in_data(s_axis_w{k}_tdata), .in_valid(s_axis_w{k}_tvalid), "
        f".in_ready(s_axis_w{k}_tready),\n"
        f"        .out_data(w{k}_data), .out_valid(w{k}_valid), .out_ready(w{k}_ready)\n"
        "    );\n"
        for k, w in enumerate(p.weights)
    )
    wconn = "".join(f"        .{w.port}data(w{k}_data), .{w.port}valid(w{k}_valid), "
                    f".{w.port}ready(w{k}_ready),\n" for k, w in enumerate(p.weights))  # fmt: skip
    names = ", ".join(w.node for w in p.weights) or "none"
    return f"""// axis_accel.v — generated by halfwave (sim/flow/cosim.py axi_shell); do not edit.
// The accelerator IP for a Zynq: hw/system/axis_ctrl.v (s_axis, m_axis, s_axi_ctrl)
// around rtl/top.v. External weight streams ({names}): one AXI4-Stream slave
// s_axis_w<k> each, fed by an MM2S-only AXI DMA from DDR, joined into MVU words by
// hw/system/axis_upsize.v. Parameters: this build's stream formats (see axis_ctrl.v).
`default_nettype none
module axis_accel #(
{pdecl}
) (
    input  wire ap_clk,
    input  wire ap_rst_n,  // active low
    // AXI4-Stream in (input frames)
    input  wire [TDATA_IN-1:0] s_axis_tdata,
    input  wire s_axis_tvalid,
    output wire s_axis_tready,
    input  wire s_axis_tlast,
    // AXI4-Stream out (output frames)
    output wire [TDATA_OUT-1:0] m_axis_tdata,
    output wire [TDATA_OUT/8-1:0] m_axis_tkeep,
    output wire m_axis_tvalid,
    input  wire m_axis_tready,
    output wire m_axis_tlast,
{wports}    // AXI4-Lite control
    input  wire [5:0] s_axi_ctrl_awaddr,
    input  wire s_axi_ctrl_awvalid,
    output wire s_axi_ctrl_awready,
    input  wire [31:0] s_axi_ctrl_wdata,
    input  wire [3:0] s_axi_ctrl_wstrb,
    input  wire s_axi_ctrl_wvalid,
    output wire s_axi_ctrl_wready,
    output wire [1:0] s_axi_ctrl_bresp,
    output wire s_axi_ctrl_bvalid,
    input  wire s_axi_ctrl_bready,
    input  wire [5:0] s_axi_ctrl_araddr,
    input  wire s_axi_ctrl_arvalid,
    output wire s_axi_ctrl_arready,
    output wire [31:0] s_axi_ctrl_rdata,
    output wire [1:0] s_axi_ctrl_rresp,
    output wire s_axi_ctrl_rvalid,
    input  wire s_axi_ctrl_rready
);
    wire acc_rst, acc_in_valid, acc_in_ready, acc_out_valid, acc_out_ready;
    wire [8*IN_BYTES-1:0] acc_in_data;
    wire [8*OUT_BYTES-1:0] acc_out_data;
{wires}    axis_ctrl #(
        .IN_BYTES(IN_BYTES), .OUT_BYTES(OUT_BYTES), .TDATA_IN(TDATA_IN),
        .TDATA_OUT(TDATA_OUT), .IN_BEATS(IN_BEATS), .OUT_BEATS(OUT_BEATS),
        .MODEL_ID(MODEL_ID), .N_EXT_WEIGHTS({p.n_ext_weights})
    ) u_ctrl (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast),
        .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep),
        .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast),
        .s_axi_ctrl_awaddr(s_axi_ctrl_awaddr), .s_axi_ctrl_awvalid(s_axi_ctrl_awvalid),
        .s_axi_ctrl_awready(s_axi_ctrl_awready), .s_axi_ctrl_wdata(s_axi_ctrl_wdata),
        .s_axi_ctrl_wstrb(s_axi_ctrl_wstrb), .s_axi_ctrl_wvalid(s_axi_ctrl_wvalid),
        .s_axi_ctrl_wready(s_axi_ctrl_wready), .s_axi_ctrl_bresp(s_axi_ctrl_bresp),
        .s_axi_ctrl_bvalid(s_axi_ctrl_bvalid), .s_axi_ctrl_bready(s_axi_ctrl_bready),
        .s_axi_ctrl_araddr(s_axi_ctrl_araddr), .s_axi_ctrl_arvalid(s_axi_ctrl_arvalid),
        .s_axi_ctrl_arready(s_axi_ctrl_arready), .s_axi_ctrl_rdata(s_axi_ctrl_rdata),
        .s_axi_ctrl_rresp(s_axi_ctrl_rresp), .s_axi_ctrl_rvalid(s_axi_ctrl_rvalid),
        .s_axi_ctrl_rready(s_axi_ctrl_rready),
        .acc_rst(acc_rst), .acc_in_data(acc_in_data), .acc_in_valid(acc_in_valid),
        .acc_in_ready(acc_in_ready), .acc_out_data(acc_out_data),
        .acc_out_valid(acc_out_valid), .acc_out_ready(acc_out_ready)
    );
{upsizers}    top u_top (
        .clk(ap_clk), .rst(acc_rst),
{wconn}        .in_data(acc_in_data), .in_valid(acc_in_valid), .in_ready(acc_in_ready),
        .out_data(acc_out_data), .out_valid(acc_out_valid), .out_ready(acc_out_ready),
        .out_last()
    );
endmodule
`default_nettype wire
"""


def build_sources(build: Path, link: str) -> list[Path]:
    """Verilog of the system top: top.v's library, the hw/system blocks and (AXI) the
    generated shell, written here."""
    rtl = Path(build) / "rtl"
    desc = json.loads((rtl / "top.json").read_text())
    lib = [rtl / s for s in desc["sources"]]
    if link == "uart":
        return [*lib, *(SYSTEM_DIR / f for f in UART_FILES)]
    return [*lib, *(SYSTEM_DIR / f for f in AXI_FILES), axi_shell(build)]


# --------------------------------------------------------------------------- build


def build_system_sim(
    build: Path, link: str, clks_per_bit: int = 25, cache_dir: Path | None = None
) -> Path:
    """Verilate the system wrapper (link 'uart' or 'axi') around BUILD's top.v with
    system_harness.cpp; cached like vl.build (same flags and runtime objects)."""
    if link not in ("uart", "axi"):
        raise ValueError(f"link must be 'uart' or 'axi', got {link!r}")
    p = system_params(build)
    top = "uart_system" if link == "uart" else "axis_accel"
    params = uart_verilog_params(p, clks_per_bit) if link == "uart" else axi_verilog_params(p)
    sources = build_sources(build, link)
    cache_dir = Path(cache_dir or default_cache_dir())
    if link == "uart" and p.weights:
        names = ", ".join(w.node for w in p.weights)
        raise ValueError(f"{build}: the weights of {names} stream from DDR, and the UART "
                         "system has no DDR (a Zynq board's system has weight DMAs)")  # fmt: skip
    define = "HALFWAVE_SYS_UART" if link == "uart" else "HALFWAVE_SYS_AXI"
    wflags = vl.wstream_cflags([f"s_axis_w{k}_t" for k in range(p.n_ext_weights)])
    return vl.build(sources, top, params, cache_dir, harness=HARNESS,
                    cflags=(f"-D{define}", *wflags))  # fmt: skip


# --------------------------------------------------------------------------- process


class SystemSim:
    """A running system simulation: one command line in, one reply line out."""

    def __init__(self, build: Path, link: str, clks_per_bit: int = 25, stall: float = 0.0,
                 seed: int = 0, cache_dir: Path | None = None,
                 ddr_bytes_per_cycle: float = 0.0, ddr_latency: int = 0):  # fmt: skip
        self.params = system_params(build)
        self.link = link
        self.clks_per_bit = clks_per_bit
        binary = build_system_sim(build, link, clks_per_bit, cache_dir)
        p = self.params
        cmd = [str(binary), "--clks-per-bit", str(clks_per_bit), "--tdata-in", str(p.tdata_in),
               "--tdata-out", str(p.tdata_out), "--stall", repr(float(stall)),
               "--seed", str(seed), "--ddr-bytes-per-cycle", repr(float(ddr_bytes_per_cycle)),
               "--ddr-latency", str(int(ddr_latency))]  # fmt: skip
        if p.weights:
            cmd += ["--wtdata", ",".join(str(w.tdata) for w in p.weights)]
        self.proc = subprocess.Popen(
            cmd, cwd=Path(build) / "rtl", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        self.cycle = 0
        self.stats: dict = {}

    def command(self, line: str) -> str:
        if self.proc.poll() is not None:
            raise vl.SimError(f"system simulation exited: {self.proc.stderr.read()[-2000:]}")
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        if not reply:
            raise vl.SimError(f"system simulation died: {self.proc.stderr.read()[-2000:]}")
        if reply.startswith("E "):
            raise vl.SimError(f"system simulation: {reply[2:]} (command {line[:40]!r})")
        return reply

    def close(self) -> dict:
        if self.proc.poll() is None:
            self.proc.stdin.write("Q\n")
            self.proc.stdin.flush()
            out = self.proc.stdout.read()
            self.proc.wait(timeout=30)
            for ln in out.splitlines():
                if ln.startswith("S "):
                    self.stats = json.loads(ln[2:])
        return self.stats

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _hex(b: bytes) -> str:
    return b.hex() or "-"


# --------------------------------------------------------------------------- UART


class SimSerial:
    """What the driver uses of `serial.Serial` (write, read, reset_input_buffer, close,
    timeout), backed by the UART system in Verilator: written bytes become 8N1 waveforms
    on the RX pin; read() runs the clock until the bytes asked for came out of the TX pin
    or `timeout` seconds of board time passed (then it returns fewer, as pyserial does)."""

    def __init__(self, build: Path, baud: int = DEFAULT_BAUD, clock_hz: int = UART_CLOCK_HZ,
                 timeout: float = 2.0, cache_dir: Path | None = None):  # fmt: skip
        if clock_hz % baud:
            raise ValueError(f"{clock_hz} Hz / {baud} baud is not a whole number of cycles")
        self.clock_hz = clock_hz
        self.baudrate = baud
        self.timeout = timeout
        self.sim = SystemSim(build, "uart", clock_hz // baud, cache_dir=cache_dir)
        self.is_open = True
        self.cycle = 0

    def write(self, data: bytes) -> int:
        data = bytes(data)
        for i in range(0, len(data), 1 << 16):
            self.sim.command("W " + _hex(data[i : i + (1 << 16)]))
        return len(data)

    def flush(self) -> None:
        pass

    def read(self, n: int = 1) -> bytes:
        max_cycles = int((self.timeout if self.timeout is not None else 60.0) * self.clock_hz)
        reply = self.sim.command(f"R {n} {max_cycles}").split()
        self.cycle = int(reply[2])
        return b"" if reply[1] == "-" else bytes.fromhex(reply[1])

    def reset_input_buffer(self) -> None:
        pass

    @property
    def seconds(self) -> float:
        """Board time simulated so far."""
        return self.cycle / self.clock_hz

    def close(self) -> None:
        if self.is_open:
            self.sim.close()
            self.is_open = False


# --------------------------------------------------------------------------- AXI / PYNQ


class SimBuffer(np.ndarray):
    """pynq.allocate's buffer: a numpy array with flush/invalidate/physical_address."""

    physical_address = 0

    def flush(self):
        pass

    def invalidate(self):
        pass

    def freebuffer(self):
        pass

    def close(self):
        pass


def sim_allocate(shape, dtype=np.uint8, **_) -> SimBuffer:
    return np.zeros(shape, dtype=dtype).view(SimBuffer)


class _Channel:
    def __init__(self, sim: SystemSim, send: bool, overlay: SimOverlay):
        self._sim, self._send, self._ov = sim, send, overlay
        self._buf = None

    def transfer(self, buf, start: int = 0, nbytes: int = 0) -> None:
        self._buf = buf
        raw = np.asarray(buf).view(np.uint8).reshape(-1)
        n = nbytes or raw.size - start
        if self._send:
            self._sim.command("MM2S " + _hex(raw[start : start + n].tobytes()))
        else:
            self._sim.command(f"S2MM {n}")
            self._start = start

    def wait(self) -> None:
        if self._send:
            return  # the send side finishes within the receive side's WAIT
        reply = self._sim.command(f"WAIT {self._ov.max_cycles}").split()
        data = b"" if reply[1] == "-" else bytes.fromhex(reply[1])
        status, self._ov.cycle = int(reply[2]), int(reply[3])
        if status == 2:
            raise RuntimeError("DMA S2MM: buffer full without TLAST (DMA internal error)")
        if status == 3:
            raise TimeoutError("DMA transfer did not finish (simulation timed out)")
        raw = np.asarray(self._buf).view(np.uint8).reshape(-1)
        raw[self._start : self._start + len(data)] = np.frombuffer(data, np.uint8)
        self.transferred = len(data)

    @property
    def idle(self) -> bool:
        return True


class _Dma:
    def __init__(self, sim: SystemSim, overlay: SimOverlay):
        self.sendchannel = _Channel(sim, True, overlay)
        self.recvchannel = _Channel(sim, False, overlay)


class _WeightChannel:
    """MM2S channel of weight DMA k (simple mode: one transfer at a time). `idle` costs
    simulated time, as polling the status register costs the host time on a board."""

    POLL_CYCLES = 256

    def __init__(self, sim: SystemSim, k: int, overlay: SimOverlay):
        self._sim, self._k, self._ov = sim, k, overlay

    def transfer(self, buf, start: int = 0, nbytes: int = 0) -> None:
        raw = np.asarray(buf).view(np.uint8).reshape(-1)
        n = nbytes or raw.size - start
        self._sim.command(f"WMM2S {self._k} " + _hex(raw[start : start + n].tobytes()))

    @property
    def idle(self) -> bool:
        return self._sim.command(f"WIDLE {self._k} {self.POLL_CYCLES}").split()[1] == "1"

    def wait(self) -> None:
        reply = self._sim.command(f"WWAIT {self._k} {self._ov.max_cycles}").split()
        self._ov.cycle = int(reply[3])
        if int(reply[2]) == 3:
            raise TimeoutError(f"weight DMA {self._k}: transfer did not finish (timed out)")


class _WeightDma:
    def __init__(self, sim: SystemSim, k: int, overlay: SimOverlay):
        self.sendchannel = _WeightChannel(sim, k, overlay)


class _Ip:
    def __init__(self, sim: SystemSim):
        self._sim = sim

    def write(self, offset: int, value: int) -> None:
        self._sim.command(f"LW {offset:x} {int(value) & 0xFFFFFFFF:x}")

    def read(self, offset: int) -> int:
        return int(self._sim.command(f"LR {offset:x}").split()[1])


class SimOverlay:
    """What the driver uses of `pynq.Overlay` for a halfwave bitstream (the accelerator
    IP `halfwave_0`, the DMA `axi_dma_0` and one MM2S-only DMA `axi_dma_w<k>` per external
    weight stream), backed by the generated axis_accel.v in Verilator: register
    reads/writes are AXI4-Lite transactions, DMA transfers stream through the AXI4-Stream
    ports with TLAST and buffer-length semantics of the AXI DMA's simple mode; the weight
    DMAs read through the DDR model (`ddr_bytes_per_cycle` shared, 0 unlimited;
    `ddr_latency` cycles before each transfer's first beat)."""

    def __init__(self, build: Path, clock_hz: float = 100e6, stall: float = 0.0,
                 seed: int = 0, cache_dir: Path | None = None,
                 ddr_bytes_per_cycle: float = 0.0, ddr_latency: int = 0):  # fmt: skip
        self.sim = SystemSim(build, "axi", stall=stall, seed=seed, cache_dir=cache_dir,
                             ddr_bytes_per_cycle=ddr_bytes_per_cycle,
                             ddr_latency=ddr_latency)  # fmt: skip
        self.clock_hz = clock_hz
        self.max_cycles = 2_000_000_000
        self.cycle = 0
        self.halfwave_0 = _Ip(self.sim)
        self.axi_dma_0 = _Dma(self.sim, self)
        self.ip_dict = {"halfwave_0": {}, "axi_dma_0": {}}
        for k in range(self.sim.params.n_ext_weights):
            setattr(self, f"axi_dma_w{k}", _WeightDma(self.sim, k, self))
            self.ip_dict[f"axi_dma_w{k}"] = {}

    def free(self) -> None:
        self.sim.close()

    def close(self) -> None:
        self.sim.close()
