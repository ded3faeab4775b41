"""The IR as a graph: Dataflow.inputs, its checks, save/load and golden execution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from test_block_kinds import fc_ir

from halfwave.compiler import ir
from halfwave.compiler.blocks import Block
from halfwave.compiler.errors import CompileError
from halfwave.sim import golden


@dataclass
class _Sum(Block):
    """A two-input join for these tests: elementwise sum."""

    name: str
    kind: str = "Sum"

    def input_count(self) -> int:
        return 2

    def run_inputs(self, xs: list[np.ndarray]) -> np.ndarray:
        return xs[0] + xs[1]


def _branchy() -> ir.Dataflow:
    """mvu0 forks to mvu1 and to the sum's second input: sum(mvu1(m0), m0)."""
    df = fc_ir([8, 8, 8])
    df.nodes[1].thresholds = np.zeros((8, 3), dtype=np.int64)
    df.nodes[1].out_dtype = ir.DataType.parse("UINT2")
    df.nodes.append(_Sum("sum"))
    df.inputs = {"sum": ["mvu1", "mvu0"]}
    return df


def test_chain_sources_are_the_nodes_before():
    df = fc_ir([8, 8, 8])
    assert df.sources(0) == [ir.INPUT] and df.sources(1) == ["mvu0"]
    assert df.is_chain()
    assert df.consumers() == {ir.INPUT: ["mvu0"], "mvu0": ["mvu1"], "mvu1": []}


def test_fork_consumers_and_golden():
    df = _branchy()
    df.check_graph()
    assert not df.is_chain()
    assert df.consumers()["mvu0"] == ["mvu1", "sum"]
    x = np.random.default_rng(0).integers(0, 4, (5, 8))
    outs = golden.execute(df, x)
    m0 = df.nodes[0].run(outs[0])
    assert np.array_equal(outs[3], df.nodes[1].run(m0) + m0)


def test_inputs_roundtrip(tmp_path):
    df = fc_ir([8, 8, 8])
    df.inputs = {"mvu1": ["mvu0"], "mvu0": [ir.INPUT]}
    ir.save(df, tmp_path)
    assert ir.load(tmp_path).inputs == df.inputs


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"sum": ["mvu1", "mvu9"]}, "'mvu9' is not an earlier node"),
        ({"sum": ["mvu1", "sum"]}, "'sum' is not an earlier node"),
        ({"sum": ["mvu1"]}, "1 inputs given, the block takes 2"),
        ({"sum": ["mvu1", "mvu0"], "nope": ["mvu0"]}, "unknown node 'nope'"),
        ({"sum": ["mvu0", "mvu0"]}, "node 'mvu1'.*feeds nothing"),
    ],
)
def test_bad_graph_is_one_sentence_naming_the_node(inputs, words):
    df = _branchy()
    df.inputs = inputs
    with pytest.raises(CompileError, match=words):
        df.check_graph()


def test_load_checks_the_graph(tmp_path):
    df = fc_ir([8, 8, 8])
    df.inputs = {"mvu1": ["mvu7"]}
    ir.save(df, tmp_path)
    with pytest.raises(CompileError, match="node 'mvu1'.*'mvu7' is not an earlier node"):
        ir.load(tmp_path)
