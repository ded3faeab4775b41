"""hw/system/axis_upsize.v: DMA beats joined into MVU weight words (first beat in the
low bits, bits above OUT_W dropped), with random stalls on both sides; and its
throughput of one beat a cycle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from halfwave.sim import verilator as vl

BLOCK = Path(__file__).resolve().parents[2] / "hw" / "system" / "axis_upsize.v"


@pytest.mark.parametrize("in_w,beats,out_w", [(1024, 2, 1500), (64, 3, 192), (32, 1, 20)])
def test_axis_upsize(in_w, beats, out_w, sim_cache, tmp_path):
    rng = np.random.default_rng(in_w + beats)
    n_words = 37
    inb = rng.integers(0, 256, size=(n_words * beats, in_w // 8), dtype=np.uint8)
    binary = vl.build([BLOCK], "axis_upsize", {"IN_W": in_w, "BEATS": beats, "OUT_W": out_w},
                      sim_cache)  # fmt: skip
    bits = np.unpackbits(inb.reshape(n_words, -1), axis=1, bitorder="little")[:, :out_w]
    nb = -(-out_w // 8)
    pad = np.zeros((n_words, nb * 8 - out_w), dtype=np.uint8)
    want = np.packbits(np.concatenate([bits, pad], axis=1), axis=1, bitorder="little")
    for stall, seed in ((0.0, 0), (0.4, 1)):
        res = vl.run(binary, inb, in_w, out_w, n_words, tmp_path, stall_in=stall,
                     stall_out=stall, seed=seed)  # fmt: skip
        assert np.array_equal(res.out, want), f"stall {stall}"
        if stall == 0.0:  # one beat a cycle in, so a word every BEATS cycles
            gaps = np.diff(res.out_times.astype(np.int64))
            assert gaps.max() == beats, gaps
