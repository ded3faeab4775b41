"""Weights in DDR on a Zynq board, through the system: one MM2S AXI DMA per external
layer feeds the generated axis_accel.v's s_axis_w<k>, the deployment driver loads the
weight images and re-issues the transfers, and the co-simulation (DDR model with
limited bandwidth and latency, random DMA stalls) stays bit-exact against the golden
executor."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler import ir
from halfwave.compiler.codegen_rtl import dma_word_bytes
from halfwave.compiler.errors import BoardError
from halfwave.flow import api
from halfwave.flow.board import cosim, deploy
from halfwave.sim import golden
from halfwave.sim.options import SimOptions
from halfwave.sim.verilator import verilator_env
from halfwave.training import calibrated_model, export_qonnx

HIDDEN = (96, 48, 24)
FOLD = {"mvu0": {"PE": 8, "SIMD": 16}, "mvu1": {"PE": 4, "SIMD": 8}, "mvu2": {"PE": 4, "SIMD": 8}}


def _compile(tmp: Path, model, name: str, fold: dict) -> Path:
    onnx = export_qonnx(model, None, tmp / f"{name}.onnx")
    (tmp / f"{name}.json").write_text(json.dumps(fold))
    build = tmp / name
    api.compile(onnx, build, folding=tmp / f"{name}.json")
    return build


@pytest.fixture(scope="module")
def fc_ext(tmp_path_factory) -> Path:
    """tfc with its first two layers' weights in DDR (128- and 32-bit words)."""
    fold = {k: {**v, "external": k != "mvu2"} for k, v in FOLD.items()}
    model = calibrated_model("tfc_w1a2", seed=5, hidden=HIDDEN)
    return _compile(tmp_path_factory.mktemp("fcext"), model, "fc_ext", fold)


def _predict(
    build: Path, n: int, batch: int, opts: SimOptions
) -> tuple[np.ndarray, np.ndarray, dict]:
    df = ir.load(build)
    x = api.verification_inputs(df, n, seed=2)
    pkg = deploy.write_package(build, build / "deploy", board="pynq-z2", x=x)
    drv = deploy.load_driver(pkg)
    ov = cosim.SimOverlay(build, opts=opts)
    with drv.Accelerator(pkg, overlay=ov, allocate=cosim.sim_allocate, batch=batch) as acc:
        got = acc.predict_values(x)
        timing = dict(acc.last_timing)
    stats = ov.sim.close()
    return got, golden.execute(df, x)[-1], {**timing, **stats}


def test_package_holds_dma_images(fc_ext):
    """meta.json names a DMA per external layer; its image is the wstream words, each
    padded to the DMA's beat (a 128-bit word: 16 bytes; a 32-bit word: 4)."""
    pkg = deploy.write_package(fc_ext, fc_ext / "deploy-meta", board="pynq-z2")
    meta = json.loads((pkg / "meta.json").read_text())
    ext = meta["external_weights"]
    assert [(e["node"], e["dma"]) for e in ext] == [("mvu0", "axi_dma_w0"), ("mvu1", "axi_dma_w1")]
    for e, w in zip(ext, meta["system"]["weights"], strict=True):
        img = np.fromfile(pkg / e["file"], dtype=np.uint8)
        raw = np.fromfile(fc_ext / "rtl" / w["file"], dtype=np.uint8)
        nb = -(-w["width"] // 8)
        assert w["word_bytes"] == dma_word_bytes(w["width"]) == w["tdata"] // 8
        assert img.size == e["bytes_per_pass"] == w["words_per_pass"] * w["word_bytes"]
        words = img.reshape(w["words_per_pass"], w["word_bytes"])
        assert np.array_equal(words[:, :nb].reshape(-1), raw)
        assert not words[:, nb:].any()


def test_weight_dmas_bit_exact_with_stalls_and_slow_ddr(fc_ext, sim_opts):
    slow = sim_opts.replace(stall_in=0.3, seed=4, ddr_bytes_per_cycle=3.0, ddr_latency=40)
    got, want, t = _predict(fc_ext, 23, batch=5, opts=slow)
    assert np.array_equal(got, want)
    w = cosim.system_params(fc_ext).weights
    # mvu0: 96x64 at PE 8, SIMD 16 = 48 words of 128 bits; mvu1: 48x96 at 4x8 = 144 x 32
    assert [(x.words_per_pass, x.width, x.beats) for x in w] == [(48, 128, 1), (144, 32, 1)]
    assert [d["beats"] for d in t["weight_dmas"]] == [23 * 48, 23 * 144]
    # 3 bytes/cycle shared: the 48*16 + 144*4 = 1,344 DDR bytes a frame need 448 cycles
    assert t["board_cycles"] >= 23 * (48 * 16 + 144 * 4) / 3.0


def test_weight_dmas_full_speed_match_the_cycle_model(fc_ext, sim_opts):
    """Unlimited DDR, no stalls, one batch: the DMAs keep up with the MVUs, and the
    cycles of a long batch approach the accelerator's predicted cycles per frame."""
    got, want, t = _predict(fc_ext, 40, batch=40, opts=sim_opts)
    assert np.array_equal(got, want)
    per_frame = cosim.system_params(fc_ext).cycles_per_frame
    assert t["board_cycles"] < 40 * per_frame * 1.1 + 200


def test_external_conv_layer_many_passes(tmp_path, sim_opts):
    """A convolution's weights in DDR: the MVU re-reads them for every output pixel, so
    one frame takes passes_per_frame passes of the image (the driver repeats the pass in
    its DDR buffer); bit-exact through the system."""
    model = calibrated_model("hwgq_alexnet_tiny", seed=1)
    probe = _compile(tmp_path, model, "probe", {})
    convs = [n for n in ir.load(probe).mvus() if n.vectors > 1]
    fold = {convs[1].name: {"PE": convs[1].PE, "SIMD": convs[1].SIMD, "external": True}}
    build = _compile(tmp_path, model, "conv_ext", fold)
    w = cosim.system_params(build).weights
    assert len(w) == 1 and w[0].passes_per_frame == convs[1].vectors > 1
    opts = sim_opts.replace(stall_in=0.2, ddr_bytes_per_cycle=16.0)
    got, want, t = _predict(build, 3, batch=3, opts=opts)
    assert np.array_equal(got, want)
    assert t["weight_dmas"][0]["beats"] == 3 * w[0].passes_per_frame * w[0].words_per_pass


def test_generated_shell_lint_clean(fc_ext):
    rtl = fc_ext / "rtl"
    lib = [rtl / s for s in json.loads((rtl / "top.json").read_text())["sources"]]
    files = [*lib, *cosim.build_sources(fc_ext, "axi")[len(lib) :]]
    cmd = ["verilator", "--lint-only", "-Wall", "-Wno-PINCONNECTEMPTY", "--top-module",
           "axis_accel", *map(str, files)]  # fmt: skip
    proc = subprocess.run(cmd, env=verilator_env(), capture_output=True, text=True)
    bad = [ln for ln in (proc.stdout + proc.stderr).splitlines()
           if ln.startswith("%") and ("system" in ln)]  # fmt: skip
    assert not bad, "\n".join(bad)


def test_uart_system_refuses_external_weights(fc_ext):
    with pytest.raises(BoardError, match="UART system has no DDR"):
        cosim.build_system_sim(fc_ext, "uart")


def test_batched_weight_streams_through_the_driver(tmp_path, sim_opts):
    """Batched external layers (one pass per 4 and per 3 frames): the driver runs whole
    batches of 12 frames (a chunk of 5 asked for becomes 12, the last one padded), feeds
    one weight pass per batch, and predict() returns exactly the frames asked for,
    bit-exact, with a slow DDR and stalls."""
    fold = {**FOLD, "mvu0": {**FOLD["mvu0"], "external": True, "batch": 4},
            "mvu1": {**FOLD["mvu1"], "external": True, "batch": 3}}  # fmt: skip
    model = calibrated_model("tfc_w1a2", seed=5, hidden=HIDDEN)
    build = _compile(tmp_path, model, "batched", fold)
    w = cosim.system_params(build).weights
    assert [x.passes_per_frame for x in w] == [0.25, 1 / 3]
    slow = sim_opts.replace(stall_in=0.3, seed=4, ddr_bytes_per_cycle=3.0, ddr_latency=40)
    got, want, t = _predict(build, 23, batch=5, opts=slow)
    assert got.shape == want.shape and np.array_equal(got, want)
    assert json.loads((build / "deploy" / "meta.json").read_text())["frame_batch"] == 12
    # 23 frames run as 2 x 12: 6 passes of mvu0's 48 words, 8 of mvu1's 144
    assert [d["beats"] for d in t["weight_dmas"]] == [6 * 48, 8 * 144]
