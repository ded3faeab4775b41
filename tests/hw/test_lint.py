"""Every RTL block in hw/rtl lints clean under `verilator --lint-only -Wall` with its
default parameters: no warnings, no errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from halfwave.sim.verilator import verilator_env

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
SOURCES = sorted(RTL.glob("*.v"))


@pytest.mark.parametrize("src", SOURCES, ids=[s.name for s in SOURCES])
def test_lint_clean(src: Path) -> None:
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", src.stem, "-y", str(RTL),
           str(src)]  # fmt: skip
    proc = subprocess.run(cmd, env=verilator_env(), capture_output=True, text=True)
    report = "\n".join(ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%"))
    assert proc.returncode == 0 and not report, f"{' '.join(cmd)}\n{report}"
