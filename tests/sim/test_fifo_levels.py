"""FIFO depths confirmed by RTL simulation: every FIFO's high-water mark (hw_fifo's
max_level, written by the generated top under +define+HALFWAVE_FIFO_STATS) is reported
by `simulate`, `halfwave sim` (BUILD/fifo_levels.json) and `halfwave verify`; with the
analysis's depths the designs run at the predicted cycles/frame, and a deliberately
undersized FIFO fills to its depth and the slowdown is flagged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from halfwave.flow import api
from halfwave.sim.verilator import verilator_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from builders import ConvBuilder, FcBuilder  # noqa: E402


def _check_levels(build: Path, rep: api.VerifyReport, n_nodes: int) -> list[dict]:
    """Bit-exact, every FIFO reported with 1 <= high-water mark <= depth, the run at the
    predicted cycles/frame, nothing flagged."""
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    doc = json.loads((build / "fifo_levels.json").read_text())
    fifos = doc["fifos"]
    assert [f["name"] for f in fifos] == [f"fifo{k}" for k in range(n_nodes)]
    assert all(1 <= f["max_level"] <= f["depth"] for f in fifos), fifos
    assert fifos == rep.rtl_stats["fifos"]
    assert abs(doc["slowdown_pct"]) <= 2.0, doc
    assert rep.fifos is not None and not rep.fifos.warnings, rep.fifos.warnings
    assert any(line.startswith("FIFOs: ") for line in rep.lines)
    assert not any("warning" in line for line in rep.lines)
    return fifos


def test_cnv_like_conv_net_fifos_within_depth(tmp_path, sim_opts):
    """Binary 3x3 convolutions with 2-bit activations after an 8-bit first layer and a
    fused max-pool, then an FC head (cnv_w1a2 in small)."""
    b = ConvBuilder((3, 12, 12), seed=7).quant_input(bits=8)
    b.conv(16, 3, weights="int8").batchnorm().hwgq()
    b.conv(16, 3).maxpool(2, 2).batchnorm().hwgq()
    b.conv(32, 3).batchnorm().hwgq()
    b.flatten().linear(24).batchnorm().hwgq().linear(10)
    onnx_path = b.save(tmp_path / "net.onnx")
    rep = api.verify_onnx(onnx_path, tmp_path / "build", n=6, opts=sim_opts)
    df = api.compile(onnx_path, tmp_path / "build")
    fifos = _check_levels(tmp_path / "build", rep, len(df.nodes))
    # the FIFO before the first SlidingWindow fills (the input runs ahead), not the rest
    assert fifos[0]["max_level"] == fifos[0]["depth"]


@pytest.fixture
def tfc_onnx(tmp_path) -> Path:
    from halfwave.training import calibrated_model, export_qonnx

    return export_qonnx(calibrated_model("tfc_w1a2", seed=5), None, tmp_path / "tfc.onnx")


def test_tfc_w1a2_fifos_within_depth(tmp_path, tfc_onnx, sim_opts):
    from halfwave.training import digits_test_arrays

    x, _ = digits_test_arrays()
    rep = api.verify_onnx(tfc_onnx, tmp_path / "build", x=x[:100], opts=sim_opts)
    _check_levels(tmp_path / "build", rep, 4)


def _fc_net(tmp_path: Path, fifo_depth: int | None) -> tuple[Path, Path]:
    """Two 64x64 layers folded to the same 64 cycles/frame: the second reads its 8 input
    beats during row fold 0 only, so the FIFO between them must hold a vector."""
    b = FcBuilder(64, 3).quant_input()
    b.linear(64).batchnorm().hwgq().linear(64).batchnorm().hwgq().linear(10)
    onnx_path = b.save(tmp_path / "net.onnx")
    folding = {"mvu0": {"PE": 8, "SIMD": 8}, "mvu1": {"PE": 8, "SIMD": 8}}
    folding["mvu2"] = {"PE": 2, "SIMD": 8}
    if fifo_depth is not None:
        folding["mvu1"]["fifo_depth"] = fifo_depth
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps(folding))
    return onnx_path, fold


def test_undersized_fifo_fills_and_slowdown_is_flagged(tmp_path, capsys, sim_opts):
    from halfwave.flow.cli import main

    x = np.random.default_rng(0).integers(0, 256, (40, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    onnx_path, fold = _fc_net(tmp_path, None)
    rep = api.verify_onnx(onnx_path, tmp_path / "ok", x=x, folding=fold, opts=sim_opts)
    fifos = _check_levels(tmp_path / "ok", rep, 3)
    assert fifos[1]["max_level"] < fifos[1]["depth"] == 10  # SF + 2

    # the same design with a 2-deep FIFO in front of mvu1: CLI compile and RTL sim
    build = tmp_path / "small"
    assert main(["compile", str(onnx_path), "--out", str(build), "--folding", str(fold),
                 "--fifo-depth", "mvu1=2"]) == 0  # fmt: skip
    assert main(["sim", str(build), "--inputs", str(tmp_path / "x.npy"), "--backend", "rtl",
                 "--out", str(tmp_path / "y.npy")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    doc = json.loads((build / "fifo_levels.json").read_text())
    f1 = doc["fifos"][1]
    assert f1["node"] == "mvu1" and f1["max_level"] == f1["depth"] == 2, doc
    assert f1["full_cycles"] > 0 and "fifo1" in doc["full"]
    assert doc["slowdown_pct"] > 10, doc
    assert "warning: RTL" in out and "fifo1 before mvu1 (2 deep" in out, out
    report = json.loads((build / "report.json").read_text())
    assert report["fifos"]["fifos"][1]["sized_by"] == "override (10)"

    # verify with the folding file's fifo_depth: still bit-exact, the slowdown flagged
    onnx_path, fold = _fc_net(tmp_path, 2)
    rep = api.verify_onnx(onnx_path, tmp_path / "small2", x=x, folding=fold, opts=sim_opts)
    print("\n".join(rep.lines))
    assert rep.ok
    assert rep.fifos.full and "fifo1" in rep.fifos.full and rep.fifos.slowdown > 0.1
    assert any("fifo1 before mvu1" in w for w in rep.fifos.warnings)
    assert any(line.startswith("warning: RTL") for line in rep.lines)
    # with random stalls the cycle model is not expected to hold: nothing flagged
    rep = api.verify_onnx(
        onnx_path, tmp_path / "small2", x=x, folding=fold, stall=0.3, opts=sim_opts
    )
    assert rep.ok and rep.fifos.slowdown is None and not rep.fifos.warnings


def test_fifo_stats_add_no_lint_warnings(tmp_path):
    """`verilator --lint-only -Wall` on the generated top: the FIFO statistics (with and
    without taps) add no warning to those of the plain top."""
    onnx_path, fold = _fc_net(tmp_path, None)
    api.compile(onnx_path, tmp_path / "b", folding=fold)
    rtl = tmp_path / "b" / "rtl"

    def lint(*defines: str) -> set[str]:
        cmd = ["verilator", "--lint-only", "-Wall", "-Wno-fatal", "--top-module", "top",
               *(f"+define+{d}" for d in defines), *sorted(map(str, rtl.glob("*.v")))]  # fmt: skip
        proc = subprocess.run(cmd, env=verilator_env(), capture_output=True, text=True)
        assert "%Error" not in proc.stderr.replace("%Error: Exiting", ""), proc.stderr
        return {ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%W")}

    plain = lint()
    assert lint("HALFWAVE_FIFO_STATS") == plain
    assert lint("HALFWAVE_FIFO_STATS", "HALFWAVE_TAPS") - plain == set()
