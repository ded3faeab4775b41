"""`verify` on the convolutional models: trained on digits (upscaled), exported, compiled,
bit-exact at every layer boundary PyTorch f64 == QONNX f64 == golden == RTL (with random
stalls) on 100 test images, and the cycle model within 5% of the RTL."""

from __future__ import annotations

import json

import pytest

from halfwave.flow import api


@pytest.mark.parametrize("name, epochs, min_acc", [("cnv_w1a2", 1, 0.5),
                                                   ("hwgq_alexnet_tiny", 3, 0.5)])  # fmt: skip
def test_conv_model_bit_exact_in_rtl(tmp_path, name, epochs, min_acc, sim_opts):
    rep = api.verify(name, n=100, root=tmp_path, stall=0.2, epochs=epochs, opts=sim_opts)
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
    s = api.simulate(tmp_path / name, x, "rtl", sim_opts).stats  # no stalls: the cycle model
    assert (
        abs(s["cycles_per_frame"] - s["predicted_cycles_per_frame"])
        <= 0.05 * s["predicted_cycles_per_frame"]
    ), s


def test_cnv_ttq_a2_calibrated_bit_exact_in_rtl(tmp_path, sim_opts):
    """The ternary CNV (TTQ, every layer ternary) without training: random latent weights,
    BatchNorm calibrated on images, exported; torch f64 == QONNX f64 == golden == RTL (with
    stalls) at every boundary on 10 images, sparsity per layer in the report."""
    from halfwave.training import calibrated_model, export_qonnx, ternary_report

    model = calibrated_model("cnv_ttq_a2")
    onnx_path = export_qonnx(model, None, tmp_path / "cnv_ttq_a2.onnx")
    build = tmp_path / "cnv_ttq_a2"
    rep = api.verify_onnx(onnx_path, build, model.double(), n=10, stall=0.2, opts=sim_opts)
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    df = api.compile(onnx_path, build)
    exact = {c.dut: c for c in rep.comparisons if c.exact}
    assert exact["rtl"].frames == 10 and exact["rtl"].mismatched_frames == 0
    assert exact["rtl"].boundaries == len(df.nodes) + 1
    assert all(exact[k].mismatched_frames == 0 for k in ("qonnx-f64", "golden"))
    layers = [r for r in json.loads((build / "report.json").read_text())["layers"]
              if r["kind"] == "MVU"]  # fmt: skip
    assert [r["mode"] for r in layers] == ["ternary"] * 9
    sparsity = [t["sparsity"] for t in ternary_report(model)]
    assert [r["sparsity"] for r in layers] == sparsity


def test_hwgq_alexnet_tiny_ttq_calibrated_golden_equals_qonnx(tmp_path, sim_opts):
    """Ternary HWGQ AlexNet (tiny): conv2..conv5, fc6, fc7 ternary (TTQ), conv1 and fc8
    8-bit; exported, compiled, torch f64 == QONNX f64 == golden at every boundary."""
    from halfwave.training import calibrated_model, export_qonnx

    model = calibrated_model("hwgq_alexnet_tiny_ttq")
    onnx_path = export_qonnx(model, None, tmp_path / "alex.onnx")
    rep = api.verify_onnx(
        onnx_path, tmp_path / "alex", model.double(), n=3, rtl=False, opts=sim_opts
    )
    print("\n".join(rep.lines))
    assert rep.ok and all(c.mismatched_frames == 0 for c in rep.comparisons if c.exact)
    df = api.compile(onnx_path, tmp_path / "alex")
    modes = [n.mode for n in df.nodes if n.kind == "MVU"]
    assert modes == ["mac", *["ternary"] * 6, "mac"]
