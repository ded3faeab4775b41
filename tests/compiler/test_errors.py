"""Bad input gets one clear error naming the file or node, never a deep traceback."""

import numpy as np
import pytest
from builders import FcBuilder

from halfwave.compiler.compile import compile_model
from halfwave.compiler.errors import CompileError
from halfwave.compiler.lower import lower
from halfwave.compiler.onnx_graph import load_qonnx
from halfwave.flow.cli import main


def _good(tmp_path):
    b = FcBuilder(16, 0).quant_input()
    return b.linear(8).batchnorm().hwgq().linear(4).save(tmp_path / "good.onnx")


def test_truncated_file(tmp_path):
    data = _good(tmp_path).read_bytes()
    bad = tmp_path / "trunc.onnx"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CompileError, match="trunc.onnx"):
        load_qonnx(bad)


def test_missing_file(tmp_path):
    with pytest.raises(CompileError, match="no such file"):
        load_qonnx(tmp_path / "nope.onnx")


def test_unsupported_op_is_named(tmp_path):
    b = FcBuilder(16, 0).quant_input().linear(8)
    b.node("Sigmoid", [b.cur])
    path = b.save(tmp_path / "sig.onnx")
    with pytest.raises(CompileError, match=r"node 'Sigmoid_\d+': op 'Sigmoid' is not supported"):
        lower(load_qonnx(path))


def test_float_weights_are_refused(tmp_path):
    path = FcBuilder(16, 0).quant_input().linear(8, float_w=True).save(tmp_path / "f.onnx")
    with pytest.raises(CompileError, match=r"node 'MatMul_\d+': weights are float"):
        lower(load_qonnx(path))


def test_unquantised_input_is_refused(tmp_path):
    path = FcBuilder(16, 0).linear(8).save(tmp_path / "u.onnx")
    with pytest.raises(CompileError, match="not quantised"):
        lower(load_qonnx(path))


def test_two_matmuls_without_quantiser(tmp_path):
    path = FcBuilder(16, 0).quant_input().linear(8).linear(4).save(tmp_path / "mm.onnx")
    with pytest.raises(CompileError, match="without a quantiser"):
        lower(load_qonnx(path))


def test_non_integer_offset_is_refused(tmp_path):
    b = FcBuilder(16, 0).quant_input().linear(8).multithreshold(out_bias=-0.5)
    path = b.linear(4).save(tmp_path / "off.onnx")
    with pytest.raises(CompileError, match="not a multiple of its scale"):
        lower(load_qonnx(path))


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 3)
    assert main(["compile", str(bad), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.splitlines()) == 1


def test_cli_bad_folding_file(tmp_path, capsys):
    good = _good(tmp_path)
    fold = tmp_path / "fold.json"
    fold.write_text('{"mvu9": {"PE": 2}}')
    assert main(["compile", str(good), "--out", str(tmp_path / "b"), "--folding", str(fold)]) == 2
    assert "unknown nodes: mvu9" in capsys.readouterr().err


def test_compile_is_deterministic(tmp_path):
    good = _good(tmp_path)
    compile_model(good, tmp_path / "a")
    compile_model(good, tmp_path / "b")
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert any(str(f).endswith(".mem") for f in files)
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    # the IR round-trips through dataflow.json + params/*.npy
    from halfwave.compiler import ir

    df = ir.load(tmp_path / "a")
    assert np.array_equal(df.nodes[0].thresholds, ir.load(tmp_path / "b").nodes[0].thresholds)
