"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

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
