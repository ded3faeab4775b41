"""Random small conv nets (kernel 1..7, stride 1..4, padding 0..3, pools 2/2 and 3/2 fused
or after the activation, channels not multiples of PE/SIMD) bit-exact in RTL at every
node boundary under random stalls, and the cycle model within 5% without stalls."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from halfwave.flow import api

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compiler"))
from test_conv import random_conv_net  # noqa: E402


@pytest.mark.parametrize("seed", range(8))
def test_random_conv_net_in_rtl(tmp_path, seed, sim_opts):
    onnx_path = random_conv_net(seed).save(tmp_path / "net.onnx")
    rep = api.verify_onnx(onnx_path, tmp_path / "build", n=5, rtl=True, stall=0.4, opts=sim_opts)
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    rtl = [c for c in rep.comparisons if c.dut == "rtl"][0]
    df = api.compile(onnx_path, tmp_path / "build")
    assert rtl.mismatched_frames == 0 and rtl.boundaries == len(df.nodes) + 1
    x = api.verification_inputs(df, 8, seed=1)
    res = api.simulate(tmp_path / "build", x, "rtl", sim_opts)
    gold = api.simulate(tmp_path / "build", x, "golden")
    assert np.array_equal(res.values[-1], gold.values[-1])
    s = res.stats
    assert (
        abs(s["cycles_per_frame"] - s["predicted_cycles_per_frame"])
        <= 0.05 * s["predicted_cycles_per_frame"]
    ), s
