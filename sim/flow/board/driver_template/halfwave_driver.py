"""halfwave accelerator driver: the same float input as the PyTorch model, its output.

    from halfwave_driver import Accelerator
    acc = Accelerator("deploy/")          # reads deploy/meta.json, opens the board
    y = acc.predict(x)                    # x: what the model takes (batch first)
    print(acc.last_timing)                # frames/s on the link and on the accelerator

Needs numpy, and on the board either pynq (Zynq boards: the .bit/.hwh of this package,
an AXI DMA for frames, one MM2S AXI DMA per layer whose weights stream from DDR, and the
accelerator's AXI4-Lite registers) or pyserial (the open ULX3S board: the UART framing
of hw/system/uart_frame.v). Both are imported only when used; tests
pass a simulated overlay or serial port (`overlay=`, `serial=`), so the code below is
what runs on the board. This file is copied verbatim into every deploy package.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

# AXI4-Lite registers of hw/system/axis_ctrl.v
REG_CTRL, REG_STATUS, REG_FRAMES, REG_CYCLES = 0x00, 0x04, 0x08, 0x0C
REG_MAGIC, REG_MODEL_ID, REG_FRAMES_DONE, REG_N_EXT = 0x10, 0x14, 0x20, 0x24
MAGIC = int.from_bytes(b"HWV1", "little")
MAX_DMA_BYTES = (1 << 26) - 1  # simple-mode AXI DMA, c_sg_length_width = 26
WEIGHT_BUFFER_BYTES = 16 << 20  # DDR per external weight stream, its pass repeated
# UART framing of hw/system/uart_frame.v
SYNC_REQ, SYNC_REP, CMD_INFO, CMD_INFER = 0xA5, 0x5A, 0x01, 0x02
STATUS_BITS = ("request checksum wrong", "RX overrun (bytes lost)", "UART framing error",
               "unknown command")  # fmt: skip


class DriverError(RuntimeError):
    """The board answered something other than what the protocol says."""


# ----------------------------------------------------------------------------- packing


def pack_lanes(values: np.ndarray, width: int, nbytes: int) -> np.ndarray:
    """(beats, lanes) integers -> (beats, nbytes) uint8, lane l at bits [l*W +: W]."""
    values = np.asarray(values, dtype=np.int64)
    n, lanes = values.shape
    bits = (values.astype(np.uint64)[:, :, None] >> np.arange(width, dtype=np.uint64)) & 1
    bits = bits.astype(np.uint8).reshape(n, lanes * width)
    pad = np.zeros((n, nbytes * 8 - lanes * width), dtype=np.uint8)
    return np.packbits(np.concatenate([bits, pad], axis=1), axis=1, bitorder="little")


def unpack_lanes(data: np.ndarray, lanes: int, width: int, signed: bool) -> np.ndarray:
    """(beats, bytes) uint8 -> (beats, lanes) int64; inverse of pack_lanes."""
    bits = np.unpackbits(data, axis=1, bitorder="little")[:, : lanes * width]
    bits = bits.reshape(len(data), lanes, width).astype(np.int64)
    vals = (bits << np.arange(width, dtype=np.int64)).sum(axis=2)
    if signed:
        vals = np.where(vals >= 1 << (width - 1), vals - (1 << width), vals)
    return vals


# ----------------------------------------------------------------------------- links


class UartLink:
    """One request/reply exchange per batch (full duplex: the reply streams back while
    the request is still being sent)."""

    def __init__(self, meta: dict, serial=None, port: str | None = None):
        s = meta["system"]
        self.in_frame, self.out_frame = s["in_frame_bytes"], s["out_frame_bytes"]
        self.in_beat, self.out_beat = s["in_bytes"], s["out_bytes"]
        self.clock_hz = meta["clock_hz"]
        if serial is None:
            import serial as pyserial  # pyserial

            serial = pyserial.Serial(port or meta.get("port", "/dev/ttyUSB0"),
                                     meta["baud"], timeout=5.0)  # fmt: skip
        self.ser = serial

    def _read(self, n: int) -> bytes:
        data = self.ser.read(n)
        if len(data) != n:
            raise DriverError(f"board sent {len(data)} of {n} bytes before the timeout")
        return data

    def _exchange(self, cmd: int, n: int, payload: bytes, out_len: int) -> tuple[bytes, int]:
        req = bytes([SYNC_REQ, cmd]) + n.to_bytes(4, "little") + payload
        self.ser.write(req + bytes([sum(payload) & 0xFF]))
        hdr = self._read(6)
        if hdr[0] != SYNC_REP or hdr[1] != cmd or int.from_bytes(hdr[2:], "little") != n:
            raise DriverError(f"bad reply header {hdr.hex()}")
        data = self._read(out_len)
        tail = self._read(6)
        if tail[0] != sum(data) & 0xFF:
            raise DriverError("reply checksum wrong")
        if tail[1]:
            bad = [m for k, m in enumerate(STATUS_BITS) if tail[1] >> k & 1]
            raise DriverError(f"board status: {', '.join(bad)}")
        return data, int.from_bytes(tail[2:], "little")

    def info(self) -> dict:
        data, _ = self._exchange(CMD_INFO, 0, b"", 16)
        if data[:4] != b"HWV1":
            raise DriverError(f"not a halfwave bitstream (magic {data[:4]!r})")
        v = [int.from_bytes(data[k : k + 4], "little") for k in (4, 8, 12)]
        return {"in_frame_bytes": v[0], "out_frame_bytes": v[1], "model_id": v[2]}

    def run(self, beats: np.ndarray, n: int) -> tuple[np.ndarray, int]:
        """beats: (n * in beats, in_bytes) uint8 -> (n * out beats, out_bytes), cycles."""
        data, cycles = self._exchange(CMD_INFER, n, beats.tobytes(), n * self.out_frame)
        return np.frombuffer(data, np.uint8).reshape(-1, self.out_beat), cycles

    def close(self) -> None:
        self.ser.close()


class PynqLink:
    """AXI DMA (simple mode) in and out, the batch length in the FRAMES register; one
    MM2S DMA per external weight stream, fed its layer's weights once per frame."""

    def __init__(self, meta: dict, overlay=None, allocate=None, bitfile: Path | None = None):
        s = meta["system"]
        if overlay is None or allocate is None:
            import pynq

            overlay = overlay or pynq.Overlay(str(bitfile))
            allocate = allocate or pynq.allocate
        self.ov, self.allocate = overlay, allocate
        self.ip, self.dma = overlay.halfwave_0, overlay.axi_dma_0
        self.tin, self.tout = s["tdata_in"] // 8, s["tdata_out"] // 8
        self.in_beat, self.out_beat = s["in_bytes"], s["out_bytes"]
        self.in_beats, self.out_beats = s["in_beats"], s["out_beats"]
        self.clock_hz = meta["clock_hz"]
        self.weights: list[tuple] = []  # (channel, DDR buffer, bytes a pass, passes a frame)

    def info(self) -> dict:
        if self.ip.read(REG_MAGIC) != MAGIC:
            raise DriverError("no halfwave accelerator at halfwave_0 (magic register)")
        return {"model_id": self.ip.read(REG_MODEL_ID), "n_ext": self.ip.read(REG_N_EXT)}

    def load_weights(self, streams: list[tuple[str, np.ndarray, int]], batch: int) -> None:
        """streams: (DMA name, one pass of its words as bytes, passes per frame). Each
        goes to DDR once, its pass repeated (up to WEIGHT_BUFFER_BYTES, and for at most
        a batch) so that one DMA transfer covers many passes: an MVU re-reads its weights
        for every input vector (a convolution: every pixel) and every frame."""
        n_ext = self.ip.read(REG_N_EXT)
        if n_ext != len(streams):
            raise DriverError(f"the bitstream has {n_ext} external weight streams, "
                              f"this package {len(streams)}")  # fmt: skip
        for name, image, passes in streams:
            if image.size > MAX_DMA_BYTES:
                raise DriverError(f"{name}: {image.size} bytes a pass exceed one DMA transfer")
            reps = max(1, min(math.ceil(passes * batch), WEIGHT_BUFFER_BYTES // image.size))
            buf = self.allocate((reps * image.size,), dtype=np.uint8)
            buf[:] = np.tile(image, reps)
            buf.flush()
            self.weights.append((getattr(self.ov, name).sendchannel, buf, image.size, passes))

    def _feed_weights(self, frames: int) -> None:
        """Every weight DMA gets the passes of `frames` frames, in transfers of as many
        passes as its buffer holds, each started as soon as the DMA's previous one ended
        (simple mode: one at a time); the streams run side by side, the accelerator's
        back-pressure paces them."""
        todo = []
        for _, buf, size, passes in self.weights:
            total, reps = round(passes * frames), buf.size // size  # whole batches
            todo.append(
                [reps * size] * (total // reps) + ([total % reps * size] if total % reps else [])
            )
        while any(todo):
            for (chan, buf, _, _), left in zip(self.weights, todo, strict=True):
                if left and chan.idle:
                    chan.transfer(buf, 0, left.pop())
        for chan, _, _, _ in self.weights:
            chan.wait()

    def run(self, beats: np.ndarray, n: int) -> tuple[np.ndarray, int]:
        inbuf = self.allocate((n * self.in_beats, self.tin), dtype=np.uint8)
        outbuf = self.allocate((n * self.out_beats, self.tout), dtype=np.uint8)
        try:
            inbuf[:] = 0
            inbuf[:, : self.in_beat] = beats
            inbuf.flush()
            self.ip.write(REG_FRAMES, n)
            self.dma.recvchannel.transfer(outbuf)
            self.dma.sendchannel.transfer(inbuf)
            self._feed_weights(n)
            self.dma.sendchannel.wait()
            self.dma.recvchannel.wait()
            outbuf.invalidate()
            out = np.array(outbuf[:, : self.out_beat])
            cycles = self.ip.read(REG_CYCLES)
        finally:
            inbuf.freebuffer()
            outbuf.freebuffer()
        return out, cycles

    def close(self) -> None:
        for _, buf, _, _ in self.weights:
            buf.freebuffer()
        self.weights = []


# ----------------------------------------------------------------------------- input


def preprocess(x: np.ndarray, pre: dict) -> np.ndarray:
    """The model's float ops between its input and its input quantiser (meta.json
    input.preprocess), one numpy op per ONNX op in the model's order, in float64: what
    halfwave's golden executor runs (halfwave.compiler.preprocess)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), *pre["in_shape"])
    for o in pre["ops"]:
        c = np.asarray(o["const"], dtype=np.float64) if "const" in o else None
        kind = o["op"]
        if kind == "add":
            x = x + c
        elif kind == "sub":
            x = x - c if o.get("data_first", True) else c - x
        elif kind == "mul":
            x = x * c
        elif kind == "div":
            x = x / c
        elif kind == "neg":
            x = -x
        elif kind == "reshape":
            x = x.reshape(len(x), *o["shape"])
        elif kind == "transpose":
            x = x.transpose(0, *(p + 1 for p in o["perm"]))
        else:
            raise DriverError(f"meta.json: unknown pre-processing op {kind!r}")
    return x


# ----------------------------------------------------------------------------- driver


class Accelerator:
    """A deployed halfwave accelerator: predict(x) takes what the PyTorch model takes
    and returns what it returns (bit-exact: the hardware's integer outputs, scaled)."""

    def __init__(
        self,
        path: str | Path = ".",
        *,
        overlay=None,
        allocate=None,
        serial=None,
        port: str | None = None,
        batch: int | None = None,
        check: bool = True,
    ):
        self.path = Path(path)
        self.meta = json.loads((self.path / "meta.json").read_text())
        m = self.meta
        if m["link"] == "uart":
            self.link = UartLink(m, serial=serial, port=port)
        else:
            self.link = PynqLink(m, overlay, allocate, self.path / m.get("bitfile", "top.bit"))
        fb = m.get("frame_batch", 1)  # frames per run: whole batches of the batched layers
        self.batch = -(-(batch or m.get("batch", 64)) // fb) * fb
        self.last_timing: dict = {}
        if check:
            got = self.link.info()["model_id"]
            if got != m["system"]["model_id"]:
                raise DriverError(f"the board runs model {got:#010x}, this package is for "
                                  f"{m['system']['model_id']:#010x}")  # fmt: skip
        self.load_external_weights()

    def load_external_weights(self) -> None:
        """Layers whose weights stream from DDR: their images (deploy/weights/*.bin, the
        DMA's byte layout) go into DDR buffers once, here."""
        ext = self.meta.get("external_weights", [])
        if ext and not isinstance(self.link, PynqLink):
            raise DriverError("external weights need the AXI system of a Zynq board")
        if isinstance(self.link, PynqLink):
            self.link.load_weights([
                (e["dma"], np.fromfile(self.path / e["file"], dtype=np.uint8),
                 e["passes_per_frame"]) for e in ext
            ], self.batch)  # fmt: skip

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Float input -> integer values (N, values per frame): the model's float
        pre-processing, then its input quantiser."""
        q = self.meta["input"]
        if "preprocess" in q:
            x = preprocess(x, q["preprocess"])
        x = np.asarray(x, dtype=np.float64)
        if q["channels_last"]:
            x = x.reshape(len(x), *q["shape"]).transpose(0, 2, 3, 1)
        flat = x.reshape(len(x), -1)
        if q["kind"] == "integer":
            return flat.astype(np.int64)
        if q["kind"] == "bipolar":
            return np.where(flat / q["scale"] >= 0, 1, -1).astype(np.int64)
        v = np.clip(flat / q["scale"] + q["zero_point"], q["min"], q["max"])
        v = {"FLOOR": np.floor, "CEIL": np.ceil}.get(q["rounding"], np.round)(v)
        return (v - q["zero_point"]).astype(np.int64)

    def dequantize(self, values: np.ndarray) -> np.ndarray:
        o = self.meta["output"]
        if o["kind"] == "index":
            return values
        return values * np.asarray(o["scale"]) + np.asarray(o["bias"])

    def _to_beats(self, values: np.ndarray) -> np.ndarray:
        s = self.meta["system"]
        if s["in_dtype"] == "BIPOLAR":
            values = (values > 0).astype(np.int64)
        n_vec = len(values) * s["in_vectors"]
        per = -(-s["in_count"] // s["in_lanes"])
        padded = np.zeros((n_vec, per * s["in_lanes"]), dtype=np.int64)
        padded[:, : s["in_count"]] = values.reshape(n_vec, s["in_count"])
        lanes = padded.reshape(n_vec * per, s["in_lanes"])
        return pack_lanes(lanes, s["in_width"], s["in_bytes"])

    def _from_beats(self, beats: np.ndarray, n: int) -> np.ndarray:
        s = self.meta["system"]
        lanes = unpack_lanes(beats, s["out_lanes"], s["out_width"], s["out_signed"])
        per = -(-s["out_count"] // s["out_lanes"])
        vals = lanes.reshape(-1, per * s["out_lanes"])[:, : s["out_count"]].reshape(n, -1)
        return 2 * vals - 1 if s["out_dtype"] == "BIPOLAR" else vals

    def predict_values(self, x: np.ndarray) -> np.ndarray:
        """Integer output values of the last layer (N, outputs per frame)."""
        values = self.quantize(x)
        out, cycles, t0 = [], 0, time.perf_counter()
        fb = self.meta.get("frame_batch", 1)  # batched layers take whole batches of frames
        for i in range(0, len(values), self.batch):
            v = values[i : i + self.batch]
            pad = np.repeat(v[:1], -len(v) % fb, axis=0)  # the last run: padded, dropped
            beats, c = self.link.run(self._to_beats(np.concatenate([v, pad])), len(v) + len(pad))
            out.append(self._from_beats(beats, len(v) + len(pad))[: len(v)])
            cycles += c
        wall = time.perf_counter() - t0
        n = len(values)
        board_s = cycles / self.link.clock_hz
        self.last_timing = {
            "frames": n, "wall_s": wall, "frames_per_s": n / wall if wall else float("inf"),
            "board_cycles": cycles, "board_frames_per_s": n / board_s if board_s else 0.0,
            "accelerator_frames_per_s": self.link.clock_hz / self.meta["system"]
            ["cycles_per_frame"],
        }  # fmt: skip
        return np.concatenate(out) if out else np.zeros((0, 0), np.int64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.dequantize(self.predict_values(x))

    def close(self) -> None:
        self.link.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
