"""hw/system/axis_ctrl.v in the AXI system co-simulation: the STATUS bits through a
batch, and the soft reset (CTRL bit 0) in the middle of one: it clears STATUS and the
counters and flushes a half-streamed frame, so the next batch is bit-exact."""

from __future__ import annotations

import numpy as np

from halfwave.compiler import ir
from halfwave.flow import api
from halfwave.flow.board import cosim, deploy
from halfwave.sim import golden

CTRL, STATUS, FRAMES, CYCLES, FRAMES_DONE = 0x00, 0x04, 0x08, 0x0C, 0x20
BUSY, DONE = 1, 2


def test_status_and_soft_reset_mid_batch(tfc_build):
    p = cosim.system_params(tfc_build)
    df = ir.load(tfc_build)
    x = api.verification_inputs(df, 3, 7)
    pkg = deploy.write_package(tfc_build, tfc_build / "deploy-ctrl", board="pynq-z2", x=x)
    drv = deploy.load_driver(pkg)
    ov = cosim.SimOverlay(tfc_build)
    ip, sim = ov.halfwave_0, ov.sim
    frame_in, frame_out = p.in_beats * p.tdata_in // 8, p.out_beats * p.tdata_out // 8
    assert ip.read(STATUS) == 0  # after power-on reset: idle, no batch done

    # a batch of 2 frames: 1.5 frames of input, a receive buffer of one frame
    ip.write(FRAMES, 2)
    rng = np.random.default_rng(0)
    sim.command(f"S2MM {frame_out}")
    sim.command("MM2S " + rng.integers(0, 256, frame_in + frame_in // 2, np.uint8).tobytes().hex())
    status = int(sim.command("WAIT 100000").split()[2])
    assert status == 2  # the buffer filled before TLAST: the batch is still running
    assert ip.read(STATUS) == BUSY
    assert ip.read(FRAMES_DONE) == 1 and ip.read(CYCLES) > 0

    ip.write(CTRL, 1)  # soft reset: STATUS and counters clear, FRAMES is kept
    assert (ip.read(STATUS), ip.read(FRAMES_DONE), ip.read(CYCLES)) == (0, 0, 0)
    assert ip.read(FRAMES) == 2
    assert ip.read(CTRL) == 0  # self-clearing (and not a readable register)

    # the next batch starts from a clean pipeline: the half frame is gone
    with drv.Accelerator(pkg, overlay=ov, allocate=cosim.sim_allocate, batch=3) as acc:
        got = acc.predict_values(x)
    assert np.array_equal(got, golden.execute(df, x)[-1])
    assert ip.read(STATUS) == DONE
    assert ip.read(FRAMES_DONE) == 3 and ip.read(CYCLES) > 0
    ov.close()
