"""The options of one simulation, passed explicitly from the caller to the simulator.

Only the CLI (halfwave.flow.cli) and the test suite's conftest read the environment
(`SimOptions.from_env`); every module below them takes a `SimOptions`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from halfwave.compiler.blocks.weight_port import DDR_PREFETCH_WORDS

DDR_FIFO = DDR_PREFETCH_WORDS  # words of prefetch per weight stream in the DDR model


def default_sim_cache() -> Path:
    """Where simulator binaries are cached when the caller names no folder."""
    return Path.home() / ".cache" / "halfwave" / "sim"


@dataclass(frozen=True)
class SimOptions:
    """How to run a simulation (RTL under Verilator, HLS C simulation, system cosim)."""

    stall_in: float = 0.0  # probability of a random stall per cycle on the input stream
    stall_out: float = 0.0  # ... and on the output stream (back-pressure)
    seed: int = 0  # of the stall pattern
    taps: bool = False  # RTL: also log every node's output values (+define+HALFWAVE_TAPS)
    threads: int = 1  # Verilator threads
    # external weight streams: DDR bandwidth shared by all streams in bytes per cycle
    # (0: unlimited, one word a cycle each), cycles before each weight pass's first word,
    # words of prefetch per stream
    ddr_bytes_per_cycle: float = 0.0
    ddr_latency: int = 0
    ddr_fifo: int = DDR_FIFO
    cache_dir: Path = field(default_factory=default_sim_cache)  # simulator binaries

    def replace(self, **changes) -> SimOptions:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **changes) -> SimOptions:
        """The defaults the environment sets: HALFWAVE_SIM_CACHE (simulator cache),
        HALFWAVE_DDR_BYTES_PER_CYCLE and HALFWAVE_DDR_LATENCY (the DDR model); then
        `changes`. The CLI passes os.environ; nothing else should."""
        opts = cls()
        if env.get("HALFWAVE_SIM_CACHE"):
            opts = opts.replace(cache_dir=Path(env["HALFWAVE_SIM_CACHE"]))
        if env.get("HALFWAVE_DDR_BYTES_PER_CYCLE"):
            opts = opts.replace(ddr_bytes_per_cycle=float(env["HALFWAVE_DDR_BYTES_PER_CYCLE"]))
        if env.get("HALFWAVE_DDR_LATENCY"):
            opts = opts.replace(ddr_latency=int(env["HALFWAVE_DDR_LATENCY"]))
        return opts.replace(**changes)
