"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

from halfwave.sim.options import SimOptions

REPO = Path(__file__).resolve().parents[1]

# one simulator cache for block tests and end-to-end runs (halfwave.sim.rtl reads it too)
os.environ.setdefault("HALFWAVE_SIM_CACHE", str(REPO / "build" / "simcache"))


@pytest.fixture(scope="session")
def sim_cache() -> Path:
    """Cache folder for Verilator simulator binaries, shared by runs and xdist workers
    (builds are keyed by content hash and renamed into place atomically).
    HALFWAVE_SIM_CACHE overrides the default build/simcache."""
    path = Path(os.environ["HALFWAVE_SIM_CACHE"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def sim_opts(sim_cache: Path) -> SimOptions:
    """Simulation options as the CLI would read them from the environment (the library
    below the CLI never reads it): the shared simulator cache, HALFWAVE_DDR_*."""
    return SimOptions.from_env(os.environ, cache_dir=sim_cache)
