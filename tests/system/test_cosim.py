"""The deployment driver against the system co-simulation: the same driver code that runs
on a board, its serial bytes / DMA transfers routed into the Verilator system top."""

from __future__ import annotations

import numpy as np
import pytest

from halfwave.compiler import ir
from halfwave.flow import api
from halfwave.flow.board import cosim, deploy
from halfwave.sim import golden


def _package(build, board, n, seed=0):
    df = ir.load(build)
    x = api.verification_inputs(df, n, seed)
    pkg = deploy.write_package(build, build / f"deploy-{board}", board=board, x=x)
    return df, x, pkg, deploy.load_driver(pkg)


def test_uart_driver_bit_exact(tfc_build, sim_opts):
    df, x, pkg, drv = _package(tfc_build, "ulx3s-85f", 12)
    port = cosim.SimSerial(tfc_build, opts=sim_opts)
    with drv.Accelerator(pkg, serial=port, batch=5) as acc:  # 3 requests: 5 + 5 + 2
        y = acc.predict(x)
        t = acc.last_timing
    want = golden.execute(df, x)[-1]
    np.testing.assert_array_equal(acc.quantize(x), golden.quantize_input(df.input, x))
    assert np.array_equal(y, golden.dequantize_output(df, want))
    # at 1 Mbaud, 64-byte frames: the link carries ~1545 frames/s of board time
    assert 1000 < t["board_frames_per_s"] < 1600
    assert t["accelerator_frames_per_s"] == 25e6 / df_cycles(tfc_build)


def df_cycles(build):
    return cosim.system_params(build).cycles_per_frame


def test_axi_driver_bit_exact_with_dma_stalls(tfc_build, sim_opts):
    df, x, pkg, drv = _package(tfc_build, "pynq-z2", 20, seed=1)
    ov = cosim.SimOverlay(tfc_build, opts=sim_opts.replace(stall_in=0.3, seed=3))
    with drv.Accelerator(pkg, overlay=ov, allocate=cosim.sim_allocate, batch=7) as acc:
        got = acc.predict_values(x)
        cycles = acc.last_timing["board_cycles"]
    assert np.array_equal(got, golden.execute(df, x)[-1])
    assert cycles > 0
    ov.close()


def test_axi_registers_and_tlast(tfc_build, sim_opts):
    """AXI-Lite registers read back; an S2MM buffer shorter than the batch ends without
    TLAST, which the AXI DMA reports as an error (and so does the model)."""
    p = cosim.system_params(tfc_build)
    ov = cosim.SimOverlay(tfc_build, opts=sim_opts)
    ip = ov.halfwave_0
    assert ip.read(0x10) == int.from_bytes(b"HWV1", "little")
    assert ip.read(0x14) == p.model_id
    assert ip.read(0x18) == p.in_beats * p.tdata_in // 8
    assert ip.read(0x24) == 0  # no external weight streams yet
    ip.write(0x08, 2)
    assert ip.read(0x08) == 2
    inbuf = cosim.sim_allocate((2 * p.in_beats * p.tdata_in // 8,))
    outbuf = cosim.sim_allocate((p.out_beats * p.tdata_out // 8,))  # one frame: too short
    ov.axi_dma_0.recvchannel.transfer(outbuf)
    ov.axi_dma_0.sendchannel.transfer(inbuf)
    with pytest.raises(RuntimeError, match="without TLAST"):
        ov.axi_dma_0.recvchannel.wait()
    ov.close()


def _request(cmd: int, n: int, payload: bytes, checksum: int | None = None) -> bytes:
    s = sum(payload) & 0xFF if checksum is None else checksum
    return bytes([0xA5, cmd]) + n.to_bytes(4, "little") + payload + bytes([s])


def test_uart_framing(tfc_build, sim_opts):
    """Garbage before the sync byte is skipped; INFO describes the build; a wrong request
    checksum is reported in STATUS; an unknown command gets bit 3."""
    p = cosim.system_params(tfc_build)
    port = cosim.SimSerial(tfc_build, timeout=0.05, opts=sim_opts)
    port.write(b"\x00\x13\x37" + _request(0x01, 0, b""))
    reply = port.read(6 + 16 + 6)
    assert reply[:2] == b"\x5a\x01" and reply[6:10] == b"HWV1"
    ints = [int.from_bytes(reply[k : k + 4], "little") for k in (10, 14, 18)]
    assert ints == [p.in_frame_bytes, p.out_frame_bytes, p.model_id]
    assert reply[22] == sum(reply[6:22]) & 0xFF and reply[23] == 0
    frame = bytes(range(p.in_frame_bytes))
    port.write(_request(0x02, 1, frame, checksum=0x42))
    reply = port.read(6 + p.out_frame_bytes + 6)
    assert len(reply) == 6 + p.out_frame_bytes + 6
    assert reply[-5] == 0x01  # request checksum wrong
    port.write(_request(0x07, 0, b""))
    reply = port.read(12)
    assert reply[1] == 0x07 and reply[7] == 0x08
    assert port.read(1) == b""  # nothing more: read times out like pyserial
    port.close()


@pytest.mark.slow
@pytest.mark.parametrize("board", ["pynq-z2", "ulx3s-85f"])
def test_cnv_driver_bit_exact(cnv_build, board, sim_opts):
    """cnv_w1a2 (32x32x3 images, 3-byte input beats: 32-bit TDATA with padding on the
    AXI side) through both links; a few minutes of Verilator build each."""
    df, x, pkg, drv = _package(cnv_build, board, 2)
    if board == "ulx3s-85f":
        kw = {"serial": cosim.SimSerial(cnv_build, opts=sim_opts)}
    else:
        kw = {"overlay": cosim.SimOverlay(cnv_build, opts=sim_opts), "allocate": cosim.sim_allocate}
    with drv.Accelerator(pkg, **kw) as acc:
        got = acc.predict_values(x)
    assert np.array_equal(got, golden.execute(df, x)[-1])
