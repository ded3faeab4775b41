"""User-style Brevitas residual networks (tests/residual_nets.py, helper resmodels: stock
brevitas.nn layers, both Add forms, identity and 1x1/2 shortcuts, global average pool, a
final QuantLinear): lowered, golden integer values == float64 QONNX at every boundary and
== PyTorch float64 at the output."""

from __future__ import annotations

import numpy as np
import pytest

from halfwave.compiler.lower import lower
from halfwave.compiler.onnx_graph import load_qonnx
from halfwave.flow import verify as ladder

pytest.importorskip("halfwave.compiler.blocks.add")  # joinblocks' Add/Concat blocks
rn = pytest.importorskip("tests.residual_nets")
torch = pytest.importorskip("torch")


@pytest.mark.parametrize("seed", [0, 2])
def test_brevitas_residual_net_is_exact(seed, tmp_path):
    model = rn.random_residual_net(seed)
    path = rn.export_net(model, tmp_path / "res.onnx")
    df = lower(load_qonnx(path), f"res{seed}")
    df.check_graph()
    adds = [n for n in df.nodes if n.kind == "Add"]
    assert len(adds) == 3 and not df.is_chain()
    x = rn.example_input(model, 64, seed + 1)
    ref = ladder.qonnx_rung(path, df, x, float64=True)
    gold = ladder.golden_rung(df, x)
    cmp = ladder.compare(ref, gold)
    assert cmp.boundaries == sum(ladder.boundary_of(n) is not None for n in df.nodes) + 1
    assert cmp.mismatched_frames == 0, cmp.first
    for add in adds:  # every residual sum's codes vary
        assert len(np.unique(gold.values[df.nodes.index(add) + 1])) > 1
    with torch.no_grad():
        y = model.double()(torch.from_numpy(x.astype(np.float64))).numpy()
    last = df.nodes[-1]
    v, margin = ladder.recover_integers(y, last.out_scale, last.out_bias)
    assert margin < 1e-6 and np.array_equal(v, gold.values[-1])
