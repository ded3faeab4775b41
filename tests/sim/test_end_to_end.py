"""End to end: PyTorch float64 == QONNX (float64) == golden executor == RTL (Verilator),
at every layer boundary the rung can see, with random stalls on the RTL streams."""

import json

import numpy as np
import pytest

from halfwave.flow import api
from halfwave.training import calibrated_model, digits_test_arrays, export_qonnx


def _assert_exact(rep: api.VerifyReport, rtl_boundaries: int | None = None):
    """Every exact rung agrees; the RTL rung (its taps) covers every node boundary, and
    the RTL output port is compared with the golden executor's last boundary."""
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    exact = {c.dut: c for c in rep.comparisons if c.exact}
    assert exact and all(c.mismatched_frames == 0 for c in exact.values())
    assert exact["rtl-port"].ref == "golden" and exact["rtl-port"].boundaries == 1
    assert rep.verdict.startswith("BIT-EXACT (") and " = rtl" in rep.verdict
    if rtl_boundaries is not None:
        assert exact["rtl"].boundaries == rtl_boundaries


def test_trained_tfc_w1a2_bit_exact_in_rtl(tmp_path, sim_opts):
    """The real thing: train tfc_w1a2 on digits, export, compile, 200 test digits."""
    rep = api.verify("tfc_w1a2", n=200, root=tmp_path, stall=0.3, opts=sim_opts)
    _assert_exact(rep, rtl_boundaries=5)  # input, 3 hidden layers, output
    metrics = json.loads((tmp_path / "models" / "tfc_w1a2.pt.json").read_text())
    assert metrics["test_accuracy"] > 0.9
    assert rep.comparisons[0].frames == 200


@pytest.mark.parametrize(
    "name, hidden, folding",
    [
        ("tfc_w1a1", (37, 23, 50), {"mvu0": {"PE": 5, "SIMD": 7}, "mvu1": {"PE": 4, "SIMD": 9}}),
        ("tfc_w1a2", (29, 64, 11), {"mvu0": {"PE": 3, "SIMD": 64}, "mvu2": {"PE": 11, "SIMD": 5}}),
        ("tfc_w2a2", (45, 17, 33), {"mvu0": {"PE": 1, "SIMD": 1}, "mvu3": {"PE": 10, "SIMD": 33}}),
    ],
)
def test_random_networks_odd_sizes_and_folding(tmp_path, name, hidden, folding, sim_opts):
    model = calibrated_model(name, seed=len(hidden) + hidden[0], hidden=hidden)
    onnx_path = export_qonnx(model, None, tmp_path / f"{name}.onnx")
    fold = tmp_path / "folding.json"
    fold.write_text(json.dumps(folding))
    x, _ = digits_test_arrays()
    rep = api.verify_onnx(
        onnx_path, tmp_path / "build", model, x=x[:120], stall=0.5, folding=fold, opts=sim_opts
    )
    _assert_exact(rep)


def test_cycle_model_matches_rtl_without_stalls(tmp_path, sim_opts):
    model = calibrated_model("tfc_w1a2", seed=3)
    onnx_path = export_qonnx(model, None, tmp_path / "m.onnx")
    x, _ = digits_test_arrays()
    rep = api.verify_onnx(onnx_path, tmp_path / "build", model, x=x[:300], opts=sim_opts)
    _assert_exact(rep)
    s = rep.rtl_stats
    err = abs(s["cycles_per_frame"] - s["predicted_cycles_per_frame"]) / s["cycles_per_frame"]
    assert err <= 0.02, s


def test_sim_cli_writes_model_output(tmp_path):
    model = calibrated_model("tfc_w1a2", seed=4)
    onnx_path = export_qonnx(model, None, tmp_path / "m.onnx")
    build = tmp_path / "b"
    api.compile(onnx_path, build)
    x, _ = digits_test_arrays()
    np.save(tmp_path / "x.npy", x[:50])
    from halfwave.flow.cli import main

    for backend in ("golden", "rtl"):
        out = tmp_path / f"y_{backend}.npy"
        assert (
            main(
                [
                    "sim",
                    str(build),
                    "--inputs",
                    str(tmp_path / "x.npy"),
                    "--backend",
                    backend,
                    "--out",
                    str(out),
                    "--raw",
                    str(tmp_path / f"raw_{backend}"),
                ]
            )
            == 0
        )
    import torch

    with torch.no_grad():
        y_torch = model.double()(torch.as_tensor(x[:50], dtype=torch.float64)).numpy()
    y_gold, y_rtl = np.load(tmp_path / "y_golden.npy"), np.load(tmp_path / "y_rtl.npy")
    assert np.array_equal(y_gold, y_rtl)  # same accumulators, same float formula
    assert np.array_equal(np.argmax(y_gold, 1), np.argmax(y_torch, 1))
    raw = sorted((tmp_path / "raw_golden").glob("*.npy"))
    assert len(raw) == 5


def test_topk_block_in_rtl(tmp_path, sim_opts):
    """A network whose output scale is the same for every class ends in a TopK block."""
    from builders import FcBuilder

    b = FcBuilder(64, 11).quant_input()
    b.linear(48).batchnorm().hwgq().linear(10, per_channel=False)
    onnx_path = b.save(tmp_path / "t.onnx")
    api.compile(onnx_path, tmp_path / "b", topk=3)
    x = np.random.default_rng(0).integers(0, 17, (150, 64)).astype(np.float32)
    gold = api.simulate(tmp_path / "b", x, "golden")
    rtl = api.simulate(tmp_path / "b", x, "rtl", sim_opts.replace(stall_in=0.3, stall_out=0.3))
    assert gold.output.shape == (150, 3)
    assert np.array_equal(gold.output, rtl.output)
    acc = gold.values[-2]
    order = np.argsort(-acc, axis=1, kind="stable")[:, :3]  # larger first, ties: lower index
    assert np.array_equal(gold.output, order)
