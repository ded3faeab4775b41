"""`verify` on the convolutional models: trained on digits (upscaled), exported, compiled,
bit-exact at every layer boundary PyTorch f64 == QONNX f64 == golden == RTL (with random
stalls) on 100 test images, and the cycle model within 5% of the RTL."""

from __future__ import annotations

import json

import pytest

from halfwave.flow import api


@pytest.mark.parametrize("name, epochs, min_acc", [("cnv_w1a2", 1, 0.5),
                                                   ("hwgq_alexnet_tiny", 3, 0.5)])  # fmt: skip
def test_conv_model_bit_exact_in_rtl(tmp_path, name, epochs, min_acc):
    rep = api.verify(name, n=100, root=tmp_path, stall=0.2, epochs=epochs)
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    df = api.compile(tmp_path / "models" / f"{name}.onnx", tmp_path / name)
    exact = {c.dut: c for c in rep.comparisons if c.exact}
    assert exact["rtl"].frames == 100 and exact["rtl"].mismatched_frames == 0
    assert exact["rtl"].boundaries == len(df.nodes) + 1
    assert exact["qonnx-f64"].mismatched_frames == 0 and exact["golden"].mismatched_frames == 0
    metrics = json.loads((tmp_path / "models" / f"{name}.pt.json").read_text())
    assert metrics["test_accuracy"] > min_acc
    x = api.verification_inputs(df, 4)
    s = api.simulate(tmp_path / name, x, "rtl").stats  # no stalls: the cycle model
    assert abs(s["cycles_per_frame"] - s["predicted_cycles_per_frame"]) <= 0.05 * s[
        "predicted_cycles_per_frame"
    ], s
