"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sim_cache() -> Path:
    """Cache folder for Verilator simulator binaries, shared by runs and xdist workers
    (builds are keyed by content hash and renamed into place atomically).
    HALFWAVE_SIMCACHE overrides the default build/simcache."""
    path = Path(os.environ.get("HALFWAVE_SIMCACHE", REPO / "build" / "simcache"))
    path.mkdir(parents=True, exist_ok=True)
    return path
