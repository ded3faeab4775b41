"""hw/system blocks lint clean under `verilator --lint-only -Wall --default-language
1364-2005` (plain Verilog-2005; the wrappers around a generated top.v: warnings in the
generated design itself are not theirs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from halfwave.sim.verilator import verilator_env

SYSTEM = Path(__file__).resolve().parents[2] / "hw" / "system"
BLOCKS = ("uart_rx", "uart_tx", "bytes_to_beats", "beats_to_bytes", "uart_frame", "axis_upsize")
TOPS = ("uart_system", "axis_ctrl", "ulx3s_top")
V2005 = ["--default-language", "1364-2005"]


def _lint(top: str, files: list[Path]) -> str:
    cmd = ["verilator", "--lint-only", "-Wall", "-Wno-PINCONNECTEMPTY", *V2005, "--top-module",
           top, *map(str, files)]  # fmt: skip
    proc = subprocess.run(cmd, env=verilator_env(), capture_output=True, text=True)
    lines = (proc.stdout + proc.stderr).splitlines()
    return "\n".join(ln for ln in lines if ln.startswith("%") and "hw/system" in ln)


@pytest.mark.parametrize("block", BLOCKS)
def test_block_lint_clean(block):
    assert not _lint(block, [SYSTEM / f"{block}.v"])


@pytest.mark.parametrize("top", TOPS)
def test_wrapper_lint_clean(top, tfc_build):
    rtl = tfc_build / "rtl"
    lib = [rtl / s for s in json.loads((rtl / "top.json").read_text())["sources"]]
    assert not _lint(top, [*lib, *sorted(SYSTEM.glob("*.v"))])


def test_generated_axi_shell_lint_clean(tfc_build):
    """BUILD/system/axis_accel.v (cosim.axi_shell) around top.v, no weight streams; with
    them: tests/system/test_weight_dma.py."""
    from halfwave.flow.board import cosim

    files = cosim.build_sources(tfc_build, "axi")
    cmd = ["verilator", "--lint-only", "-Wall", "-Wno-PINCONNECTEMPTY", *V2005, "--top-module",
           "axis_accel", *map(str, files)]  # fmt: skip
    proc = subprocess.run(cmd, env=verilator_env(), capture_output=True, text=True)
    bad = [ln for ln in (proc.stdout + proc.stderr).splitlines()
           if ln.startswith("%") and "system" in ln]  # fmt: skip
    assert not bad, "\n".join(bad)
