"""System-level co-simulation: the accelerator behind its board link, in Verilator.

`hw/system/` wraps a BUILD's `rtl/top.v` for a board: `uart_system.v` (UART + framing,
the open ULX3S board) or `axis_accel.v` (AXI4-Stream + AXI4-Lite, the Zynq boards with
an AXI DMA). `sim/harness/system_harness.cpp` drives either wrapper the way the board's
host does: bit-accurate 8N1 waveforms on the RX pin (TX decoded back to bytes), or an
AXI4-Lite master plus the AXI DMA's MM2S/S2MM transfers. It is interactive (commands on
stdin), so the deploy package's driver talks to the simulation exactly as to a board:
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
from halfwave.sim import verilator as vl
from halfwave.sim.rtl import default_cache_dir

SYSTEM_DIR = Path(halfwave.hw.__file__).resolve().parent / "system"
HARNESS = Path(vl.__file__).resolve().parent / "harness" / "system_harness.cpp"
UART_FILES = (
    "uart_rx.v", "uart_tx.v", "uart_frame.v", "bytes_to_beats.v", "beats_to_bytes.v",
    "uart_system.v",
)  # fmt: skip
AXI_FILES = ("axis_accel.v",)
UART_CLOCK_HZ = 25_000_000  # ULX3S oscillator: the UART system runs on it
DEFAULT_BAUD = 1_000_000  # 25 MHz / 25: exact, and the FT231X's 3 MHz / 3


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
    n_ext_weights: int = 0  # external weight streams (DDR): none until the IR has them

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
        return {**asdict(self), "in_frame_bytes": self.in_frame_bytes,
                "out_frame_bytes": self.out_frame_bytes, "tdata_in": self.tdata_in,
                "tdata_out": self.tdata_out}  # fmt: skip


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
    if desc.get("weight_streams"):  # no DMA for them in axis_accel.v / uart_system.v yet
        names = ", ".join(w["node"] for w in desc["weight_streams"])
        raise ValueError(f"{build}: the weights of {names} stream from DDR; the system "
                         "wrappers have no weight DMA yet (simulate top.v: halfwave sim "
                         "--backend rtl)")  # fmt: skip
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
        cycles_per_frame=int(desc["predicted_cycles_per_frame"]),
    )  # fmt: skip


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


def build_sources(build: Path, link: str) -> list[Path]:
    rtl = Path(build) / "rtl"
    desc = json.loads((rtl / "top.json").read_text())
    files = UART_FILES if link == "uart" else AXI_FILES
    lib = [rtl / s for s in desc["sources"]]
    return [*lib, *(SYSTEM_DIR / f for f in files)]


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
    define = "HALFWAVE_SYS_UART" if link == "uart" else "HALFWAVE_SYS_AXI"
    return vl.build(sources, top, params, cache_dir, harness=HARNESS, cflags=(f"-D{define}",))


# --------------------------------------------------------------------------- process


class SystemSim:
    """A running system simulation: one command line in, one reply line out."""

    def __init__(self, build: Path, link: str, clks_per_bit: int = 25, stall: float = 0.0,
                 seed: int = 0, cache_dir: Path | None = None):  # fmt: skip
        self.params = system_params(build)
        self.link = link
        self.clks_per_bit = clks_per_bit
        binary = build_system_sim(build, link, clks_per_bit, cache_dir)
        p = self.params
        cmd = [str(binary), "--clks-per-bit", str(clks_per_bit), "--tdata-in", str(p.tdata_in),
               "--tdata-out", str(p.tdata_out), "--stall", repr(float(stall)),
               "--seed", str(seed)]  # fmt: skip
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


class _Ip:
    def __init__(self, sim: SystemSim):
        self._sim = sim

    def write(self, offset: int, value: int) -> None:
        self._sim.command(f"LW {offset:x} {int(value) & 0xFFFFFFFF:x}")

    def read(self, offset: int) -> int:
        return int(self._sim.command(f"LR {offset:x}").split()[1])


class SimOverlay:
    """What the driver uses of `pynq.Overlay` for a halfwave bitstream (the accelerator
    IP `halfwave_0` and the DMA `axi_dma_0`), backed by axis_accel.v in Verilator: register
    reads/writes are AXI4-Lite transactions, DMA transfers stream through the AXI4-Stream
    ports with TLAST and buffer-length semantics of the AXI DMA's simple mode."""

    def __init__(self, build: Path, clock_hz: float = 100e6, stall: float = 0.0,
                 seed: int = 0, cache_dir: Path | None = None):  # fmt: skip
        self.sim = SystemSim(build, "axi", stall=stall, seed=seed, cache_dir=cache_dir)
        self.clock_hz = clock_hz
        self.max_cycles = 2_000_000_000
        self.cycle = 0
        self.halfwave_0 = _Ip(self.sim)
        self.axi_dma_0 = _Dma(self.sim, self)
        self.ip_dict = {"halfwave_0": {}, "axi_dma_0": {}}

    def free(self) -> None:
        self.sim.close()

    def close(self) -> None:
        self.sim.close()
