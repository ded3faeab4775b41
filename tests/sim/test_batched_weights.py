"""Batched external layers (folding.json `"batch": B` on an external MVU, hw_mvu BATCH):
one pass of the weights from DDR per B input vectors. The golden executor knows nothing
of batching; the RTL must match it bit-exactly for a frame count that is not a multiple
of the batch (sim/rtl.py pads whole batches), and in steady state the cycles per frame
are the model's (compiler/blocks/weight_port.py) with 1/B of the DDR traffic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from halfwave.compiler import ir
from halfwave.compiler.blocks.weight_port import weight_stream_cycles_per_frame
from halfwave.flow import api
from halfwave.sim import golden, rtl
from halfwave.sim.options import DDR_FIFO
from halfwave.training import calibrated_model, digits_test_arrays, export_qonnx

HIDDEN = (96, 48, 24)
FOLD = {"mvu0": {"PE": 8, "SIMD": 16}, "mvu1": {"PE": 4, "SIMD": 8}, "mvu2": {"PE": 4, "SIMD": 8}}


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    model = calibrated_model("tfc_w1a2", seed=5, hidden=HIDDEN)
    return export_qonnx(model, None, d / "m.onnx"), d


def _compile(d, onnx_path, spec: dict, name: str):
    fold = {k: {**v, **spec.get(k, {})} for k, v in FOLD.items()}
    (d / f"{name}.json").write_text(json.dumps(fold))
    api.compile(onnx_path, d / name, folding=d / f"{name}.json")
    return d / name


def _steady(build, vin, opts, n: int) -> tuple[float, rtl.RtlRun]:
    """Cycles per frame in steady state: the difference of the last frames' ends of an
    n- and an n/2-frame run over n/2 (n/2 a multiple of the frame batch)."""
    counts = (n, n // 2)
    runs = [rtl.simulate(build, vin[:k], opts) for k in counts]
    ends = [r.latency + (k - 1) * r.cycles_per_frame for k, r in zip(counts, runs, strict=True)]
    return (ends[0] - ends[1]) / (n - n // 2), runs[0]


def test_batched_layers_bit_exact_and_one_pass_per_batch(onnx_dir, sim_opts):
    onnx_path, d = onnx_dir
    spec = {"mvu0": {"external": True, "batch": 4}, "mvu1": {"external": True, "batch": 3}}
    build = _compile(d, onnx_path, spec, "two")
    desc = json.loads((build / "rtl" / "top.json").read_text())
    assert desc["frame_batch"] == 12
    ws = {w["node"]: w for w in desc["weight_streams"]}
    assert ws["mvu0"]["passes_per_frame"] == 0.25 and ws["mvu1"]["batch"] == 3
    assert ws["mvu0"]["bytes_per_frame"] == ws["mvu0"]["words_per_pass"] * 16 / 4
    top_v = (build / "rtl" / "top.v").read_text()
    assert ".BATCH(4)" in top_v and ".BATCH(3)" in top_v
    x, _ = digits_test_arrays()
    x = x[:17]  # not a multiple of 12: the simulation pads the last batch
    df = ir.load(build)
    vin = golden.quantize_input(df.input, x)
    want = golden.execute(df, x)[-1]
    for opts in (sim_opts, sim_opts.replace(stall_in=0.3, stall_out=0.3, ddr_bytes_per_cycle=3.0,
                                            ddr_latency=40)):  # fmt: skip
        run = rtl.simulate(build, vin, opts)
        assert np.array_equal(run.values, want)


def test_batched_cycles_follow_the_model(onnx_dir, sim_opts):
    """One stream, DDR-bound (1 byte a cycle, 300 cycles a pass): batch 4 needs a
    quarter of batch 1's cycles per frame, and each matches the model exactly."""
    onnx_path, d = onnx_dir
    x, _ = digits_test_arrays()
    opts = sim_opts.replace(ddr_bytes_per_cycle=1.0, ddr_latency=300)
    got = {}
    for b in (1, 4):
        build = _compile(d, onnx_path, {"mvu0": {"external": True, "batch": b}}, f"one{b}")
        df = ir.load(build)
        vin = golden.quantize_input(df.input, x[:16])
        cycles, run = _steady(build, vin, opts, 16)
        assert np.array_equal(run.values, golden.execute(df, x[:16])[-1])
        desc = json.loads((build / "rtl" / "top.json").read_text())
        model = max(
            desc["predicted_cycles_per_frame"],
            weight_stream_cycles_per_frame(desc["weight_streams"], 1.0, 300, DDR_FIFO),
        )
        got[b] = (cycles, model)
        assert abs(cycles - model) <= 1, (b, cycles, model)
    print(got)
    assert got[4][0] < 0.3 * got[1][0], got


@pytest.mark.slow
def test_alexnet_tiny_batched_at_the_board_ddr(tmp_path, sim_opts):
    """hwgq_alexnet_tiny with fc6-fc8 batched (4, 4, 2 frames a pass) and a conv layer
    batched over its pixels (5 of 25), at pynq-z2's DDR model (sustained bandwidth and
    latency per transfer of the board file): bit-exact on 16 frames and the steady state
    equal to the cycle model."""
    from halfwave.compiler.blocks.weight_port import board_ddr_options
    from halfwave.compiler.boards import load_board

    model = calibrated_model("hwgq_alexnet_tiny", seed=1)
    onnx_path = export_qonnx(model, None, tmp_path / "t.onnx")
    probe = tmp_path / "probe"
    api.compile(onnx_path, probe, board="pynq-z2", max_fps=True)
    mvus = ir.load(probe).mvus()
    convs = [n for n in mvus if n.vectors == 25]
    spec = {n.name: {"PE": n.PE, "SIMD": n.SIMD} for n in mvus}
    for n, b in zip([convs[-1], *[n for n in mvus if n.vectors == 1]], (5, 4, 4, 2), strict=True):
        spec[n.name].update(external=True, batch=b)
    (tmp_path / "fold.json").write_text(json.dumps(spec))
    build = tmp_path / "batched"
    api.compile(onnx_path, build, folding=tmp_path / "fold.json", board="pynq-z2")
    df = ir.load(build)
    x = api.verification_inputs(df, 16, seed=3)
    vin = golden.quantize_input(df.input, x)
    ddr = board_ddr_options(load_board("pynq-z2"))
    cycles, run = _steady(build, vin, sim_opts.replace(**ddr), 16)
    assert np.array_equal(run.values, golden.execute(df, x)[-1])
    assert cycles == run.predicted_cycles_per_frame, (cycles, run.predicted_cycles_per_frame)
