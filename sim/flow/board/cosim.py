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
from pathlib import Path

import numpy as np

from halfwave.compiler.errors import BoardError, InputError
from halfwave.compiler.system_backend import (
    AXI_FILES,
    SYSTEM_DIR,
    UART_FILES,
    WeightDma,
    axi_shell_verilog,
    axi_verilog_params,
    system_params,
    uart_verilog_params,
)
from halfwave.sim import verilator as vl
from halfwave.sim.options import SimOptions, default_sim_cache

HARNESS = Path(vl.__file__).resolve().parent / "harness" / "system_harness.cpp"
UART_CLOCK_HZ = 25_000_000  # ULX3S oscillator: the UART system runs on it
DEFAULT_BAUD = 1_000_000  # 25 MHz / 25: exact, and the FT231X's 3 MHz / 3


def dma_weight_image(build: Path, w: WeightDma) -> np.ndarray:
    """One pass of an external weight stream as its DMA reads it from DDR: the words of
    rtl/<node>_wstream.bin, each zero-padded to `w.word_bytes` bytes."""
    raw = np.fromfile(Path(build) / "rtl" / w.file, dtype=np.uint8)
    nb = -(-w.width // 8)
    if raw.size != nb * w.words_per_pass:
        raise InputError(f"{Path(build) / 'rtl' / w.file}: {raw.size} bytes, expected "
                         f"{w.words_per_pass} words of {nb} bytes")  # fmt: skip
    img = np.zeros((w.words_per_pass, w.word_bytes), dtype=np.uint8)
    img[:, :nb] = raw.reshape(w.words_per_pass, nb)
    return img.reshape(-1)


def axi_shell(build: Path) -> Path:
    """Write BUILD/system/axis_accel.v: the accelerator IP's top (AXI4-Lite registers,
    input/output AXI4-Streams, one AXI4-Stream slave per external weight stream) around
    rtl/top.v. Generated because its port list follows the design's weight streams."""
    out = Path(build) / "system" / "axis_accel.v"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(axi_shell_verilog(system_params(build)))
    return out


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
    cache_dir = Path(cache_dir or default_sim_cache())
    if link == "uart" and p.weights:
        names = ", ".join(w.node for w in p.weights)
        raise BoardError(f"{build}: the weights of {names} stream from DDR, and the UART "
                         "system has no DDR (a Zynq board's system has weight DMAs)")  # fmt: skip
    define = "HALFWAVE_SYS_UART" if link == "uart" else "HALFWAVE_SYS_AXI"
    wflags = vl.wstream_cflags([f"s_axis_w{k}_t" for k in range(p.n_ext_weights)])
    return vl.build(sources, top, params, cache_dir, harness=HARNESS,
                    cflags=(f"-D{define}", *wflags))  # fmt: skip


# --------------------------------------------------------------------------- process


class SystemSim:
    """A running system simulation: one command line in, one reply line out."""

    def __init__(self, build: Path, link: str, clks_per_bit: int = 25,
                 opts: SimOptions | None = None):  # fmt: skip
        """`opts`: stall probability (`stall_in`, on every stream) and seed, the weight
        DMAs' DDR model, the simulator cache."""
        o = opts or SimOptions()
        self.params = system_params(build)
        self.link = link
        self.clks_per_bit = clks_per_bit
        binary = build_system_sim(build, link, clks_per_bit, o.cache_dir)
        p = self.params
        cmd = [str(binary), "--clks-per-bit", str(clks_per_bit), "--tdata-in", str(p.tdata_in),
               "--tdata-out", str(p.tdata_out), "--stall", repr(float(o.stall_in)),
               "--seed", str(o.seed), "--ddr-bytes-per-cycle", repr(float(o.ddr_bytes_per_cycle)),
               "--ddr-latency", str(int(o.ddr_latency))]  # fmt: skip
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
                 timeout: float = 2.0, opts: SimOptions | None = None):  # fmt: skip
        if clock_hz % baud:
            raise BoardError(f"{clock_hz} Hz / {baud} baud is not a whole number of cycles")
        self.clock_hz = clock_hz
        self.baudrate = baud
        self.timeout = timeout
        self.sim = SystemSim(build, "uart", clock_hz // baud, opts)
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
    DMAs read through the DDR model of `opts` (`ddr_bytes_per_cycle` shared, 0
    unlimited; `ddr_latency` cycles before each transfer's first beat)."""

    def __init__(self, build: Path, clock_hz: float = 100e6, opts: SimOptions | None = None):
        self.sim = SystemSim(build, "axi", opts=opts)
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
