"""Seeded mutation test: bad QONNX files never crash the compiler and never build wrong
hardware. Every mutant (truncated/flipped bytes, dropped nodes, changed attributes,
initialisers of the wrong shape/dtype or holding NaN/Inf or other values, unsupported
ops, dangling or swapped inputs) is either refused with one CompileError sentence (exit
2 via the CLI) or compiles, and then golden == QONNX float64 on random inputs."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from builders import ConvBuilder, FcBuilder

from halfwave.flow.bench import fuzz as fz

N_MUTANTS = 330


@pytest.fixture(scope="module")
def sources(tmp_path_factory, brevitas_onnx) -> dict:
    """A small Brevitas conv network, a Brevitas FC one (conftest), and two hand-built
    nets (builders) with a fused max-pool, HWGQ MultiThresholds and BatchNorm."""
    tmp = tmp_path_factory.mktemp("fuzz_src")
    src = {"brevitas_conv": fz.brevitas_sources(tmp / "brevitas")["conv"]}
    src["brevitas_fc"] = brevitas_onnx("w4a2_signed")[0]
    conv = ConvBuilder((2, 7, 7), seed=4).quant_input(bits=2).conv(4, 3).maxpool(2, 2)
    src["builder_conv"] = conv.batchnorm().hwgq().flatten().linear(3).save(tmp / "bconv.onnx")
    fc = FcBuilder(10, seed=5).quant_input().linear(6).batchnorm().hwgq().linear(4)
    src["builder_fc"] = fc.multithreshold().linear(3).save(tmp / "bfc.onnx")
    return src


def test_sources_compile_and_verify(sources, tmp_path):
    for name, path in sources.items():
        assert fz.run_mutant(path.read_bytes(), tmp_path / name, full=False) == ("built", "")


def test_mutants_are_refused_in_one_sentence_or_built_right(sources, tmp_path):
    outcomes = fz.fuzz(sources, N_MUTANTS, seed=19, work=tmp_path, full=False, timeout_s=60)
    bad = [o for o in outcomes if o.status not in ("refused", "built")]
    counts = Counter(o.status for o in outcomes)
    print(fz.summary(outcomes))
    assert not bad, "\n".join(f"{o.kind}/{o.source}#{o.index}: {o.message}" for o in bad[:5])
    # the mutations really reach both sides: refusals and accepted-and-verified models
    assert counts["refused"] > N_MUTANTS // 2 and counts["built"] > 10
    assert {o.kind for o in outcomes} == set(fz.MUTATIONS)


def test_cli_exits_2_with_one_line_on_a_handful(sources, tmp_path):
    """The same mutants through the `halfwave compile` console entry in a subprocess:
    exit 2 and the in-process sentence for refusals, exit 0 for the built ones."""
    picked: dict[str, tuple] = {}
    for kind, _src, i, data in fz.mutants(sources, 60, seed=23):
        status, msg = fz.run_mutant(data, tmp_path / f"p{i}", full=False)
        key = "built" if status == "built" else f"refused-{kind}"
        if key not in picked and (status == "built" or kind in ("truncate", "dangling_input",
                                                                "init_nonfinite")):  # fmt: skip
            picked[key] = (i, data, status, msg)
    assert len(picked) == 4, list(picked)
    for i, data, status, msg in picked.values():
        path = tmp_path / f"cli{i}.onnx"
        path.write_bytes(data)
        run = subprocess.run(
            [sys.executable, "-m", "halfwave.flow.cli", "compile", str(path),
             "--out", str(tmp_path / f"cli{i}")],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert "Traceback" not in run.stderr, run.stderr
        if status == "built":
            assert run.returncode == 0, run.stderr
        else:
            assert run.returncode == 2
            lines = run.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0] == f"error: {msg}".replace(
                str(tmp_path / f"p{i}" / "mutant.onnx"), str(path)
            )
