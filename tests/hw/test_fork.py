"""hw_fork under Verilator (tests/hw/join_wrappers.py's fork_tb, the instance as
compiler.blocks.fork renders it): every output stream is the input stream; the input
beat leaves exactly in the cycle its last output takes it; an output that is ready takes
a beat as soon as it is presented, however long another output stalls (the input then
waits); one beat per cycle when all are ready. Random stalls on the input and on every
output (independent patterns), and 64-cycle stretches of one stalled output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from join_wrappers import GATE, RTL, fork_wrapper

from halfwave.compiler.blocks.fork import Fork
from halfwave.compiler.codegen_rtl import block_sources
from halfwave.compiler.errors import CompileError
from halfwave.sim import verilator as vl

CASES = [Fork("fk", 8, 2, beats=300), Fork("fk", 5, 3, beats=300)]


def _run(fork: Fork, binary: Path, tmp: Path, modes: list[int], stall_in: float,
         stall_out: float, seed: int):  # fmt: skip
    rng = np.random.default_rng(seed)
    w, n = fork.width, fork.n_out
    data = rng.integers(0, 1 << w, fork.beats)
    mode_bits = sum(m << (2 * j) for j, m in enumerate(modes))
    in_w = w + 2 * n
    beats = vl.pack_lanes(np.array([[int(d) | (mode_bits << w)] for d in data]), in_w)
    out_w = n * (w + 32) + 32
    res = vl.run(binary, beats, in_w, out_w, fork.beats, tmp, stall_in=stall_in,
                 stall_out=stall_out, seed=seed)  # fmt: skip
    words = [int.from_bytes(bytes(r), "little") for r in res.out]
    t_in = np.array([x >> (out_w - 32) for x in words])
    outs = [np.array([(x >> (j * (w + 32))) & ((1 << w) - 1) for x in words]) for j in range(n)]
    times = [np.array([(x >> (j * (w + 32) + w)) & 0xFFFFFFFF for x in words]) for j in range(n)]
    for j in range(n):
        assert np.array_equal(outs[j], data), f"{fork}: output {j} differs, modes {modes}"
    # the input beat leaves in the cycle its last output takes it
    assert np.array_equal(t_in, np.max(times, axis=0)), f"{fork} modes {modes}"
    return t_in, times


@pytest.mark.parametrize("fork", CASES, ids=lambda f: f"w{f.width}-n{f.n_out}")
def test_fork(fork: Fork, sim_cache: Path, tmp_path: Path) -> None:
    fork.check()
    tb, _, _ = fork_wrapper(fork, tmp_path / "fork_tb.v")
    srcs = [RTL / "hw_fork.v", *(RTL / f for f in block_sources("hw_fifo")), GATE, tb]
    binary = vl.build(srcs, "fork_tb", {}, sim_cache)
    n = fork.n_out

    # no stalls: one beat per cycle, every output takes it in the same cycle
    t_in, times = _run(fork, binary, tmp_path, [0] * n, 0.0, 0.0, 1)
    assert set(np.diff(t_in).tolist()) == {1}, "not one beat per cycle"

    # random stalls on the input, every output and the harness output
    for seed, modes in ((2, [1] * n), (3, [2, 1, 2][:n]), (4, [2] * n)):
        _run(fork, binary, tmp_path, modes, 0.3, 0.2, seed)

    # output 0 stalled in 64-cycle stretches, the others always ready: they take each
    # beat in the cycle after the previous one left, the input waits for output 0
    t_in, times = _run(fork, binary, tmp_path, [3] + [0] * (n - 1), 0.0, 0.0, 5)
    for j in range(1, n):
        assert np.array_equal(times[j][1:], t_in[:-1] + 1), f"output {j} waited"
    lag = times[0] - times[1]
    assert lag.max() >= 32, "output 0 never stalled for long"
    assert (lag == 0).sum() > fork.beats // 4, "output 0 never ran at full rate"


def test_fork_refuses_bad_parameters(sim_cache: Path, tmp_path: Path) -> None:
    binary = vl.build([RTL / "hw_fork.v"], "hw_fork", {"N_OUT": 9}, sim_cache)
    with pytest.raises(vl.SimError, match=r"ERROR: \S*hw_fork: N_OUT=9 must be in 2..8"):
        vl.run(binary, np.zeros((1, 1), np.uint8), 8, 72, 1, tmp_path, max_idle=100)
    with pytest.raises(CompileError, match="node 'f9': n_out=1 must be in 2..8"):
        Fork("f9", 4, 1).check()
    with pytest.raises(CompileError, match="a Fork needs its beats per frame"):
        Fork("f9", 4, 2).hls_fork("a", ["b", "c"])
