"""End to end through the HLS back end: BUILD/hls compiled with g++ and C-simulated,
bit-exact with the golden executor and the RTL at every layer boundary; the CLI, the
self-checking Vitis testbench, deterministic generation, the Vivado wrapper."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from halfwave.compiler import ir
from halfwave.compiler.codegen_hls import TOP, write_hls
from halfwave.flow import api
from halfwave.sim import hls
from halfwave.sim import verilator as vl
from halfwave.training import calibrated_model, digits_test_arrays, export_qonnx

pytestmark = pytest.mark.skipif(not hls.available(), reason="g++ or hls4ml's ap_int.h missing")


def test_tfc_w1a2_end_to_end(tmp_path, sim_opts):
    """tfc_w1a2 (BatchNorm calibrated on digits) verified with the HLS rung on 200 digits,
    then the other checks on the same build (one test: one g++ and one Verilator build,
    not one per pytest-xdist worker)."""
    model = calibrated_model("tfc_w1a2", seed=5)
    onnx_path = export_qonnx(model, None, tmp_path / "tfc_w1a2.onnx")
    x, _ = digits_test_arrays()
    build = tmp_path / "build"
    rep = api.verify_onnx(onnx_path, build, model, x=x[:200], stall=0.2, hls=True, opts=sim_opts)
    _check_bit_exact(build, rep)
    _check_sim_cli_hls_backend(build, x[:50], tmp_path / "cli")
    _check_vitis_testbench_self_check(build)
    _check_generated_files_are_deterministic(build, tmp_path / "gen")
    _check_scripts_and_vivado_wrapper(build, tmp_path / "lint")


def _check_bit_exact(build: Path, rep: api.VerifyReport) -> None:
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    df = ir.load(build)
    hls_comps = {c.ref: c for c in rep.comparisons if c.dut == "hls"}
    assert set(hls_comps) == {"golden", "rtl"}
    for c in hls_comps.values():  # every node boundary, input included
        assert c.mismatched_frames == 0 and c.frames == 200
        assert c.boundaries == len(df.nodes) + 1
    assert rep.hls_stats["frames_per_s"] > 0


def _check_sim_cli_hls_backend(build: Path, x: np.ndarray, tmp_path: Path) -> None:
    from halfwave.flow.cli import main

    tmp_path.mkdir()
    np.save(tmp_path / "x.npy", x)
    args = ["sim", str(build), "--inputs", str(tmp_path / "x.npy"), "--out"]
    assert main([*args, str(tmp_path / "y_hls.npy"), "--backend", "hls", "--raw",
                 str(tmp_path / "raw")]) == 0  # fmt: skip
    assert main([*args, str(tmp_path / "y_gold.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "y_hls.npy"), np.load(tmp_path / "y_gold.npy"))
    gold = api.simulate(build, x, "golden").values
    raw = [np.load(tmp_path / "raw" / f"boundary{i}.npy") for i in range(len(gold))]
    assert all(np.array_equal(a, b) for a, b in zip(raw, gold, strict=True))


def _check_vitis_testbench_self_check(build: Path) -> None:
    """csim_main.cpp without arguments (what run_hls.tcl's csim_design and cosim_design
    run) checks hls/tb_input.bin against hls/tb_expected.bin."""
    binary = hls.build_csim(build)  # the literal constants: test_ternary_topk_literal_...
    proc = subprocess.run([str(binary)], cwd=build / "hls", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "differ" in proc.stdout and " 0 of " in proc.stdout
    expected = (build / "hls" / "tb_expected.bin").read_bytes()
    (build / "hls" / "tb_expected.bin").write_bytes(bytes([expected[0] ^ 1]) + expected[1:])
    try:
        proc = subprocess.run([str(binary)], cwd=build / "hls", capture_output=True, text=True)
        assert proc.returncode == 1, proc.stdout
    finally:
        (build / "hls" / "tb_expected.bin").write_bytes(expected)


def _check_generated_files_are_deterministic(build: Path, tmp_path: Path) -> None:
    df = ir.load(build)
    write_hls(df, tmp_path / "a")
    write_hls(df, tmp_path / "b")
    hls.write_testbench_vectors(build, df)  # rewrites build/hls/tb_*.bin
    names = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*"))
    assert names == sorted(str(p.relative_to(tmp_path / "b")) for p in (tmp_path / "b").rglob("*"))
    assert "params/mvu0.h" in names
    for name in names:
        if (tmp_path / "a" / name).is_file():
            a = (tmp_path / "a" / name).read_bytes()
            assert a == (tmp_path / "b" / name).read_bytes() == (build / "hls" / name).read_bytes()
    tb = (build / "hls" / "tb_input.bin").read_bytes()
    hls.write_testbench_vectors(build, df)
    assert (build / "hls" / "tb_input.bin").read_bytes() == tb


def _check_scripts_and_vivado_wrapper(build: Path, tmp_path: Path) -> None:
    """run_hls.tcl runs every step; top_hls.v (module `top`, the ports of rtl/top.v) is
    lint-clean around a stub with the ports Vitis HLS gives halfwave_top."""
    tmp_path.mkdir()
    tcl = (build / "hls" / "run_hls.tcl").read_text()
    for step in ("set_top halfwave_top", "csim_design", "csynth_design", "cosim_design",
                 "export_design -format ip_catalog", "set part     xc7z020clg400-1"):  # fmt: skip
        assert step in tcl
    desc = json.loads((build / "hls" / "top.json").read_text())
    ib, ob = desc["in"]["lanes"] * desc["in"]["width"], desc["out"]["lanes"] * desc["out"]["width"]
    stub = tmp_path / f"{TOP}.v"
    stub.write_text(
        f"""`default_nettype none
module {TOP} (
    input  wire ap_clk, input wire ap_rst_n,
    input  wire [{ib - 1}:0] in_stream_TDATA, input wire in_stream_TVALID,
    output wire in_stream_TREADY, input wire [{ib // 8 - 1}:0] in_stream_TKEEP,
    input  wire [{ib // 8 - 1}:0] in_stream_TSTRB, input wire [0:0] in_stream_TLAST,
    output wire [{ob - 1}:0] out_stream_TDATA, output wire out_stream_TVALID,
    input  wire out_stream_TREADY, output wire [{ob // 8 - 1}:0] out_stream_TKEEP,
    output wire [{ob // 8 - 1}:0] out_stream_TSTRB, output wire [0:0] out_stream_TLAST
);
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused = ap_clk ^ ap_rst_n ^ (^in_stream_TDATA) ^ in_stream_TVALID ^ (^in_stream_TKEEP)
        ^ (^in_stream_TSTRB) ^ in_stream_TLAST[0] ^ out_stream_TREADY;
    /* verilator lint_on UNUSEDSIGNAL */
    assign in_stream_TREADY = 1'b1;
    assign out_stream_TDATA = '0;
    assign out_stream_TVALID = 1'b0;
    assign out_stream_TKEEP = '1;
    assign out_stream_TSTRB = '1;
    assign out_stream_TLAST = 1'b0;
endmodule
`default_nettype wire
"""
    )
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", "top",
           str(build / "hls" / "top_hls.v"), str(stub)]  # fmt: skip
    proc = subprocess.run(cmd, env=vl.verilator_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_ternary_topk_literal_params_through_hls(tmp_path, sim_opts):
    """A hand-built FC network: TTQ ternary weights (Wp != Wn, BatchNorm scales of both
    signs: negated rows swap the scales), symmetric ternary, binary, and a TopK block;
    compiled with the parameters as the C++ constants Vitis HLS sees (hls/params/*.h:
    128-, 80- and 8-bit weight words). Every boundary equals the golden executor's."""
    from builders import FcBuilder

    b = FcBuilder(64, seed=7).quant_input(bits=4)
    b.linear(48, "ttq").batchnorm().hwgq()
    b.linear(40, "ternary").batchnorm().hwgq()
    b.linear(10, per_channel=False)
    onnx_path = b.save(tmp_path / "t.onnx")
    fold = tmp_path / "folding.json"
    fold.write_text(
        json.dumps(
            {
                "mvu0": {"PE": 3, "SIMD": 64},
                "mvu1": {"PE": 5, "SIMD": 40},
                "mvu2": {"PE": 2, "SIMD": 8},
            }
        )
    )
    df = api.compile(onnx_path, tmp_path / "b", folding=fold, topk=3)
    assert [n.kind for n in df.nodes] == ["MVU", "MVU", "MVU", "TopK"]
    assert [n.mode for n in df.mvus()] == ["ternary", "ternary", "signsel"]
    assert df.nodes[0].ternary[0] != df.nodes[0].ternary[1] and df.nodes[0].negated_rows
    x = np.random.default_rng(0).integers(0, 16, (150, 64)).astype(np.float32)
    gold = api.simulate(tmp_path / "b", x, "golden")
    res = hls.simulate(tmp_path / "b", gold.values[0], sim_opts, literal=True)
    assert len(res.values) == len(gold.values) == len(df.nodes) + 1
    for i, (g, h) in enumerate(zip(gold.values, res.values, strict=True)):
        assert np.array_equal(g, h), f"boundary {i}"


@pytest.mark.parametrize("name", ["cnv_w1a2", "hwgq_alexnet_tiny"])
def test_conv_models_bit_exact_in_hls_csim(tmp_path, name, sim_opts):
    """Convolutional models (BatchNorm calibrated): sliding windows (padding, strides),
    max-pools (overlapping, min channels), per-pixel MVUs (signsel; 8-bit MAC first
    layer in the AlexNet), every boundary equal to the golden executor on random images."""
    model = calibrated_model(name, seed=1)
    onnx_path = export_qonnx(model, None, tmp_path / f"{name}.onnx")
    df = api.compile(onnx_path, tmp_path / "b")
    assert {"SlidingWindow", "MaxPool"} <= {n.kind for n in df.nodes}
    shape = df.input.shape
    x = np.random.default_rng(0).integers(0, 256, (4, *shape)) * df.input.scale
    gold = api.simulate(tmp_path / "b", x, "golden")
    res = api.simulate(tmp_path / "b", x, "hls", sim_opts)
    assert len(res.values) == len(df.nodes) + 1
    for b, (g, h) in enumerate(zip(gold.values, res.values, strict=True)):
        assert np.array_equal(g, h), f"boundary {b} ({df.nodes[b - 1].name if b else 'input'})"
    assert np.array_equal(gold.output, res.output)
