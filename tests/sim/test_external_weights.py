"""External weights (weights in DDR): layers marked `"external": true` in folding.json
get a weight stream port on the generated top, fed in simulation from
rtl/<node>_wstream.bin by the harness's DDR model. Bit-exact against the golden executor
at every node boundary, with a slow DDR model too, and the cycles per frame follow the
bandwidth-aware model of compiler/blocks/weight_port.py on the figures report.json gives per
layer."""

from __future__ import annotations

import json
import shutil

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
def model_onnx(tmp_path_factory):
    d = tmp_path_factory.mktemp("ext")
    model = calibrated_model("tfc_w1a2", seed=5, hidden=HIDDEN)
    return model, export_qonnx(model, None, d / "m.onnx"), d


def _compile(d, onnx_path, external: tuple[str, ...], name: str):
    fold = {k: {**v, "external": k in external} for k, v in FOLD.items()}
    path = d / f"{name}.json"
    path.write_text(json.dumps(fold))
    build = d / name
    api.compile(onnx_path, build, folding=path)
    return build


def test_external_weights_bit_exact_with_stalls(model_onnx, sim_opts):
    """The whole ladder (torch f64 -> qonnx -> golden -> RTL taps) with two layers'
    weights in DDR, random stalls on the streams and a slow DDR model."""
    model, onnx_path, d = model_onnx
    fold = d / "fold_verify.json"
    fold.write_text(json.dumps({k: {**v, "external": k != "mvu2"} for k, v in FOLD.items()}))
    ddr = sim_opts.replace(ddr_bytes_per_cycle=3.0, ddr_latency=100)
    x, _ = digits_test_arrays()
    rep = api.verify_onnx(onnx_path, d / "verify", model, x=x[:40], stall=0.3, folding=fold,
                          opts=ddr)  # fmt: skip
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    exact = [c for c in rep.comparisons if c.exact]
    assert [c.dut for c in exact][-2:] == ["rtl", "rtl-port"]
    assert all(c.mismatched_frames == 0 for c in exact)
    desc = json.loads((d / "verify" / "rtl" / "top.json").read_text())
    assert [w["node"] for w in desc["weight_streams"]] == ["mvu0", "mvu1"]


def test_slow_ddr_cycles_follow_the_model(model_onnx, sim_opts):
    """Without external weights, with them and an unlimited DDR (same cycles), and with
    a DDR slower than the MVUs (bandwidth below their need, latency 100 per pass): the
    outputs stay exact and the measured cycles per frame are the model's."""
    _, onnx_path, d = model_onnx
    on_chip = _compile(d, onnx_path, (), "on_chip")
    one = _compile(d, onnx_path, ("mvu0",), "one")
    two = _compile(d, onnx_path, ("mvu0", "mvu1"), "two")
    x, _ = digits_test_arrays()
    x = x[:24]
    df = ir.load(on_chip)
    vin = golden.quantize_input(df.input, x)
    want = golden.execute(df, x)[-1]

    base = rtl.simulate(on_chip, vin, sim_opts)
    assert np.array_equal(base.values, want)
    measured = {"on_chip": base.cycles_per_frame}
    for build, label in ((one, "one"), (two, "two")):
        report = json.loads((build / "report.json").read_text())
        streams = [r["weight_stream"] for r in report["layers"] if r.get("external")]
        assert len(streams) == {"one": 1, "two": 2}[label]
        # an unlimited DDR: as fast as the ROMs
        fast = rtl.simulate(build, vin, sim_opts.replace(ddr_bytes_per_cycle=0, ddr_latency=0))
        assert np.array_equal(fast.values, want), label
        assert fast.cycles_per_frame == base.cycles_per_frame, label
        for bw, lat in ((2.0, 100), (5.0, 100), (16.0, 300)):
            opts = sim_opts.replace(ddr_bytes_per_cycle=bw, ddr_latency=lat)
            run = rtl.simulate(build, vin, opts)
            assert np.array_equal(run.values, want), (label, bw, lat)
            model = max(
                report["predicted_cycles_per_frame"],
                weight_stream_cycles_per_frame(streams, bw, lat, DDR_FIFO),
            )
            assert run.predicted_cycles_per_frame == int(np.ceil(model))
            measured[f"{label} bw={bw} L={lat}"] = (run.cycles_per_frame, round(model, 1))
            what = (label, bw, lat, run.cycles_per_frame, model)
            if label == "one":  # one stream: the model is exact
                assert abs(run.cycles_per_frame - model) <= 0.03 * model, what
            else:  # two streams sharing the DDR: between the model's bounds
                lower = weight_stream_cycles_per_frame(streams, bw, lat, DDR_FIFO, "lower")
                assert 0.97 * lower <= run.cycles_per_frame <= 1.01 * model, what
    print(measured)
    assert measured["two bw=2.0 L=100"][0] > 2 * base.cycles_per_frame


def test_external_outputs_are_deterministic_and_old_ir_loads(model_onnx, tmp_path):
    _, onnx_path, d = model_onnx
    a = _compile(d, onnx_path, ("mvu0", "mvu1"), "det_a")
    b = _compile(d, onnx_path, ("mvu0", "mvu1"), "det_b")
    for f in sorted((a / "rtl").iterdir()):
        assert f.read_bytes() == (b / "rtl" / f.name).read_bytes(), f.name
    assert (a / "dataflow.json").read_bytes() == (b / "dataflow.json").read_bytes()
    top_v = (a / "rtl" / "top.v").read_text()
    assert "input  wire [127:0] w_mvu0_tdata," in top_v and "output wire w_mvu1_tready," in top_v
    # the stream file is the weight memory's words, little-endian, in address order
    words = (a / "rtl" / "mvu0_weights.mem").read_text().split()
    data = (a / "rtl" / "mvu0_wstream.bin").read_bytes()
    assert len(data) == 16 * len(words)
    for k, w in enumerate(words):
        assert int.from_bytes(data[16 * k : 16 * (k + 1)], "little") == int(w, 16)
    # a dataflow.json written before the field existed loads with the weights on chip
    old = tmp_path / "old"
    shutil.copytree(a, old, ignore=shutil.ignore_patterns("rtl", "hls"))
    doc = json.loads((old / "dataflow.json").read_text())
    for n in doc["nodes"]:
        n.pop("external", None)
    (old / "dataflow.json").write_text(json.dumps(doc))
    assert not any(n.external for n in ir.load(old).mvus())
    assert [n.name for n in ir.load(a).mvus() if n.external] == ["mvu0", "mvu1"]


def test_padded_words_are_charged_as_the_dma_reads_them(model_onnx, sim_opts):
    """A 48-bit weight word is 6 bytes in the stream file but 8 in DDR (a DMA beat is
    8 * 2^k bits): the DDR model charges 8, and the measured cycles follow the model
    counted that way, not the 6-byte one (a quarter fewer cycles)."""
    _, onnx_path, d = model_onnx
    fold = {**FOLD, "mvu0": {"PE": 6, "SIMD": 8, "external": True}}
    (d / "padded.json").write_text(json.dumps(fold))
    build = d / "padded"
    api.compile(onnx_path, build, folding=d / "padded.json")
    (ws,) = json.loads((build / "rtl" / "top.json").read_text())["weight_streams"]
    assert (ws["width"], ws["word_bytes"], ws["ddr_word_bytes"]) == (48, 6, 8)
    x, _ = digits_test_arrays()
    df = ir.load(build)
    vin = golden.quantize_input(df.input, x[:16])
    run = rtl.simulate(build, vin, sim_opts.replace(ddr_bytes_per_cycle=2.0, ddr_latency=0))
    assert np.array_equal(run.values, golden.execute(df, x[:16])[-1])
    charged = weight_stream_cycles_per_frame([ws], 2.0, 0, DDR_FIFO)
    unpadded = weight_stream_cycles_per_frame([{**ws, "ddr_word_bytes": 6}], 2.0, 0, DDR_FIFO)
    assert charged > 1.3 * unpadded
    assert abs(run.cycles_per_frame - charged) <= 0.03 * charged, (run.cycles_per_frame, charged)
