"""A DAG design in HLS C simulation (halfwave_top with a fork and a join call): the
residual block of tests/sim/dag_blocks.py equals the golden executor at every node."""

from __future__ import annotations

import numpy as np
import pytest

from halfwave.sim import golden, hls
from tests.sim.dag_blocks import residual_df, use_tb_fork, write_hls_build

pytestmark = pytest.mark.skipif(not hls.available(), reason="no HLS C simulation toolchain")


def test_residual_hls_csim_bit_exact_at_every_node(tmp_path, sim_opts, monkeypatch):
    use_tb_fork(monkeypatch)
    df = residual_df()
    x = np.random.default_rng(2).integers(0, 4, (4, 4 * 8 * 8))
    vals = golden.execute(df, x)
    run = hls.simulate(write_hls_build(df, tmp_path), vals[0], sim_opts)
    assert len(run.values) == len(vals)
    for k, (got, want) in enumerate(zip(run.values, vals, strict=True)):
        assert np.array_equal(got, want), f"boundary {k}"
