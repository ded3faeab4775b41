"""The Verilog under hw/ is plain Verilog-2005 and lints clean; illegal parameters stop.

- Every .v file under hw/ parses with Yosys `read_verilog` without -sv, and every
  hw/rtl block and self-contained hw/system block lints clean under
  `verilator --lint-only -Wall --default-language 1364-2005` (the system tops around a
  generated top.v: tests/system/test_lint_system.py).
- Each block also lints clean at parameter sets other than its defaults (the convolution
  blocks at every simulated geometry: test_swg.py, test_maxpool.py).
- A parameter check prints `ERROR: <instance>: NAME=<value> must ...` and calls $finish:
  Yosys stops elaborating at that check's line (here); a Verilator simulation stops at
  time 0 with the message (test_mvu.py, test_swg.py, test_maxpool.py, test_topk.py).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from halfwave.flow.synth import run_yosys
from halfwave.sim import verilator as vl

HW = Path(__file__).resolve().parents[2] / "hw"
RTL = HW / "rtl"
SYSTEM = HW / "system"
SOURCES = sorted(RTL.glob("*.v"))
ALL_V = sorted(HW.rglob("*.v"))
# hw/system files that instantiate the generated top.v: linted with one there
NEED_TOP = {"uart_system.v", "ulx3s_top.v"}
STANDALONE = SOURCES + [f for f in sorted(SYSTEM.glob("*.v")) if f.name not in NEED_TOP]
V2005 = ["--default-language", "1364-2005"]


def _gargs(params: dict[str, int | str]) -> list[str]:
    """-G options; a str that is a sized literal (128'h...: hw_concat's packed lists) goes
    unquoted, other strs as strings."""
    return [f'-G{k}="{v}"' if isinstance(v, str) and not re.fullmatch(r"\d+'[hdb][0-9a-fA-F_]+", v)
            else f"-G{k}={v}" for k, v in params.items()]  # fmt: skip


def lint(top: str, params: dict[str, int | str], files: list[Path]) -> str:
    """The % lines of a strict Verilog-2005 lint of `top` (empty when clean)."""
    cmd = ["verilator", "--lint-only", "-Wall", *V2005, "--top-module", top, "-y", str(RTL),
           *_gargs(params), *map(str, files)]  # fmt: skip
    proc = subprocess.run(cmd, env=vl.verilator_env(), capture_output=True, text=True)
    report = "\n".join(ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%"))
    return report if (proc.returncode or report) else ""


@pytest.mark.parametrize("src", STANDALONE, ids=[s.name for s in STANDALONE])
def test_lint_clean_verilog_2005(src: Path) -> None:
    assert not lint(src.stem, {}, [src])


def test_every_file_is_plain_verilog_2005_for_yosys(tmp_path: Path) -> None:
    """read_verilog without -sv (Verilog-2005 mode) on each file: a SystemVerilog cast or
    fill literal is a syntax error there."""
    for f in ALL_V:
        (tmp_path / f.name).write_bytes(f.read_bytes())
    cmds = [f"read_verilog -defer {f.name}" for f in ALL_V]
    text = run_yosys(cmds, tmp_path, tmp_path / "yosys.log")
    assert "Executing Verilog-2005 frontend" in text


PARAM_SETS = [
    ("hw_fifo", dict(WIDTH=1, DEPTH=2, RAM_STYLE="registers")),
    ("hw_fifo", dict(WIDTH=100, DEPTH=5, RAM_STYLE="block")),
    ("hw_fifo", dict(WIDTH=100, DEPTH=600, RAM_STYLE="block", OUT_REG=2)),
    ("hw_fifo", dict(WIDTH=13, DEPTH=33, RAM_STYLE="distributed", LEVEL_W=8)),
    ("hw_ram", dict(WIDTH=1, DEPTH=1, ROM=1, INIT_FILE="x.mem")),
    ("hw_ram", dict(WIDTH=72, DEPTH=1024, RAM_STYLE="block")),
    ("hw_ram", dict(WIDTH=9, DEPTH=7, SYNC_READ=0, RAM_STYLE="registers")),
    ("hw_outbuf", dict(WIDTH=1)),
    ("hw_outbuf", dict(WIDTH=300)),
    ("hw_mvu", dict(MW=8, MH=4, PE=4, SIMD=8, ACC_W=5)),  # one beat in, one out: SF = NF = 1
    (
        "hw_mvu",
        dict(
            MW=7,
            MH=5,
            PE=2,
            SIMD=3,
            MODE=1,
            IN_W=3,
            IN_SIGNED=1,
            ACC_W=8,
            N_T=3,
            OUT_W=2,
            OUT_BIAS=-1,
            ROM_STYLE="block",
        ),
    ),  # fmt: skip
    (
        "hw_mvu",
        dict(MW=12, MH=4, PE=2, SIMD=3, MODE=2, IN_W=8, W_W=8, ACC_W=20, ROM_STYLE="distributed"),
    ),  # fmt: skip
    (
        "hw_mvu",
        dict(
            MW=16,
            MH=6,
            PE=3,
            SIMD=4,
            MODE=3,
            IN_W=2,
            W_W=2,
            ACC_W=10,
            WP=3,
            WN=2,
            N_T=1,
            SWAP_FILE="s.mem",
        ),
    ),  # fmt: skip
    ("hw_mvu", dict(MW=64, MH=16, PE=4, SIMD=16, ACC_W=8, N_T=1, WEIGHT_SOURCE="stream")),
    # batched weight streams (one word for B vectors): B a power of two or not, NF = SF = 1
    ("hw_mvu", dict(MW=64, MH=16, PE=4, SIMD=16, ACC_W=8, N_T=1, WEIGHT_SOURCE="stream", BATCH=4)),
    ("hw_mvu", dict(MW=8, MH=4, PE=4, SIMD=8, ACC_W=5, WEIGHT_SOURCE="stream", BATCH=13)),
    (
        "hw_avgpool",
        dict(C=3, IH=5, IW=7, KH=5, KW=7, SH=5, SW=7, PE=3, W=1, BIPOLAR=1, OUT_W=7),
    ),  # global pool of +-1: one-word banks
    (
        "hw_avgpool",
        dict(
            C=8,
            IH=9,
            IW=10,
            KH=2,
            KW=3,
            SH=3,
            SW=4,
            PE=2,
            W=4,
            SIGNED=1,
            OUT_W=7,
            RAM_STYLE="block",
        ),
    ),  # gaps between windows
    ("hw_avgpool", dict(C=2, IH=3, IW=3, KH=1, KW=1, SH=1, SW=1, PE=1, W=8, OUT_W=8)),
    ("hw_mvu", dict(MW=40, MH=6, PE=3, SIMD=20, ACC_W=7, N_T=2, OUT_W=2, TREE_PIPE=1)),
    ("hw_mvu", dict(MW=30, MH=8, PE=4, SIMD=14, MODE=1, IN_W=3, ACC_W=9, TREE_PIPE=2)),
    ("hw_fork", dict(WIDTH=1, N_OUT=8)),
    ("hw_fork", dict(WIDTH=300, N_OUT=3)),
    (
        "hw_add",
        dict(
            C=6,
            PE=3,
            A_W=14,
            A_SIGNED=1,
            B_W=2,
            ACC_W=17,
            CW=5,
            N_T=3,
            OUT_W=2,
            OUT_BIAS=-2,
            COEF_FILE="c.mem",
            THRESH_FILE="t.mem",
        ),
    ),  # residual (b)
    (
        "hw_add",
        dict(
            C=4,
            PE=4,
            A_W=1,
            A_BIPOLAR=1,
            B_W=1,
            B_BIPOLAR=1,
            ACC_W=3,
            N_T=1,
            THRESH_FILE="t.mem",
            ROM_STYLE="block",
        ),
    ),  # bipolar in and out, CF = 1
    (
        "hw_add",
        dict(C=5, PE=1, A_W=8, B_W=8, B_SIGNED=1, ACC_W=12, CW=4, COEF_A=-3, COEF_B=7),
    ),  # raw z, constant coefficients
    (
        "hw_concat",
        dict(
            N=3,
            PE=2,
            IN_W=4,
            OUT_W=7,
            CS="128'h000000060004_0002",
            WS="64'h030104",
            MULTS="128'hfffe_0003_0001",
            SIGNED_MASK="8'h01",
            BIPOLAR_MASK="8'h02",
        ),
    ),  # fmt: skip
    (
        "hw_concat",
        dict(
            N=8,
            PE=1,
            IN_W=1,
            OUT_W=1,
            CS="128'h0001000100010001000100010001_0001",
            WS="64'h0101010101010101",
        ),
    ),  # bipolar pass-through, 8 inputs
    ("hw_lanetree", dict(N=1, STRUCT=1)),
    ("hw_lanetree", dict(N=33, IN_W=2, OP=2, PIPE=3, OUT_W=9, STRUCT=1)),
    ("hw_lanetree", dict(N=7, IN_W=3, OP=0, PIPE=1, OUT_W=4)),
    ("hw_tadd", dict(W=6, OW=4, CI=1, STRUCT=1)),
    ("hw_tadd", dict(W=5, OW=4, STRUCT=1)),
    ("hw_carry", dict(W=6)),
    ("hw_topk", dict(N=1, PE=1, K=1, ACC_W=1)),
    ("hw_topk", dict(N=10, PE=3, K=10, ACC_W=9, IDX_W=6)),
    ("hw_lane_repack", dict(IN_LANES=1, IN_LW=2, OUT_LANES=64, OUT_LW=3, COUNT=100, SIGNED=1)),
    ("hw_lane_repack", dict(IN_LANES=96, IN_LW=2, OUT_LANES=32, OUT_LW=2, COUNT=96, SIGNED=0)),
    ("hw_lane_repack", dict(IN_LANES=7, IN_LW=9, OUT_LANES=2, OUT_LW=4, COUNT=13)),
    ("hw_outbuf", dict(WIDTH=9, DEPTH=5)),
    ("hw_outbuf", dict(WIDTH=3, DEPTH=16)),
    ("hw_mvu", dict(MODE=1, IN_W=2, N_T=3, OUT_W=2, TREE_PIPE=2, THR_PIPE=1, MEM_PIPE=1)),
    ("hw_mvu", dict(MODE=3, W_W=2, IN_W=2, MEM_PIPE=1, THR_PIPE=1)),
    ("hw_mvu", dict(WEIGHT_SOURCE="stream", BATCH=2, N_T=2, OUT_W=2, THR_PIPE=1, MEM_PIPE=1)),
    ("axis_upsize", dict(IN_W=64, BEATS=1, OUT_W=40)),
    ("axis_upsize", dict(IN_W=32, BEATS=5, OUT_W=150)),
    ("axis_ctrl", dict(IN_BYTES=8, OUT_BYTES=8, TDATA_IN=64, TDATA_OUT=64)),
    ("bytes_to_beats", dict(NBYTES=1)),
    ("beats_to_bytes", dict(NBYTES=3)),
    ("uart_rx", dict(CLKS_PER_BIT=4)),
    ("uart_tx", dict(CLKS_PER_BIT=2)),
]


def _file(top: str) -> Path:
    return RTL / f"{top}.v" if (RTL / f"{top}.v").is_file() else SYSTEM / f"{top}.v"


@pytest.mark.parametrize("top, params", PARAM_SETS, ids=lambda v: v if isinstance(v, str) else "")
def test_lint_clean_at_parameter_sets(top: str, params: dict) -> None:
    assert not lint(top, params, [_file(top)]), params


# (module, illegal parameters, the message)
ILLEGAL = [
    ("hw_mvu", dict(MW=4, MH=4, PE=2, SIMD=8, ACC_W=4), "SIMD=8 must be in 1..MW=4"),
    ("hw_mvu", dict(MODE=3, W_W=1, IN_W=2), "MODE 3 (TERNARY) needs W_W=2, got W_W=1"),
    ("hw_mvu", dict(BATCH=2), "BATCH=2 must be 1, or > 1 with the weight stream"),
    ("hw_swg", dict(C=6, SIMD=4), "SIMD=4 must divide C=6"),
    ("hw_maxpool", dict(IH=2, KH=3), "the window KH=3 x KW=3 exceeds the image IH=2 x IW=7"),
    (
        "hw_avgpool",
        dict(KH=3, OUT_W=8),
        "strides SH=2, SW=2 must be >= the window KH=3, KW=2 (no overlap)",
    ),  # fmt: skip
    ("hw_fifo", dict(DEPTH=1), "DEPTH=1 must be >= 2"),
    ("hw_fork", dict(N_OUT=9), "N_OUT=9 must be in 2..8"),
    ("hw_add", dict(C=6, PE=4), "PE=4 must divide C=6"),
    ("hw_add", dict(CW=2, COEF_A=2), "COEF_A=2 and COEF_B=1 must fit CW=2 signed bits"),
    ("hw_concat", dict(PE=3), "PE=3 must divide C_0=2"),
    ("hw_concat", dict(N=9), "N=9 must be in 2..8"),
    ("hw_topk", dict(N=4, K=5), "K=5 must be in 1..N=4"),
    ("hw_lane_repack", dict(IN_LANES=257), "IN_LANES=257 must be in 1..256"),
    ("hw_ram", dict(ROM=1, SYNC_READ=0), "ROM=1 needs SYNC_READ=1 (got 0)"),
    ("hw_outbuf", dict(WIDTH=0), "WIDTH=0 must be >= 1"),
    ("hw_outbuf", dict(DEPTH=1), "DEPTH=1 must be >= 2"),
    ("hw_mvu", dict(THR_PIPE=2), "THR_PIPE=2 must be 0 or 1"),
    ("hw_lanetree", dict(OP=1, IN_W=2), "OP=1 (XNOR) needs IN_W=1, got 2"),
    ("hw_tadd", dict(W=4, OW=5), "OW=5 must be in 1..W=4"),
    ("axis_upsize", dict(IN_W=8, BEATS=2, OUT_W=17), "OUT_W=17 must be in 1..IN_W*BEATS=16"),
    ("uart_rx", dict(CLKS_PER_BIT=3), "CLKS_PER_BIT=3 must be >= 4"),
]


def _check_line(top: str, message: str) -> int:
    """Line of the $finish of the check whose message format gives `message`."""
    lines = _file(top).read_text().splitlines()
    for i, ln in enumerate(lines):
        fmt = re.search(r'\$display\("ERROR: %m: (.*?)"(,|\))', ln)
        pattern = fmt and re.escape(fmt.group(1)).replace("%0d", r"-?\d+")
        if pattern and re.fullmatch(pattern, message):
            return next(k + 1 for k in range(i, len(lines)) if "$finish;" in lines[k])
    raise AssertionError(f"no check in {top}.v prints {message!r}")


ILLEGAL_IDS = [f"{t}-{m.split()[0]}" for t, _, m in ILLEGAL]


@pytest.mark.parametrize("top, params, message", ILLEGAL, ids=ILLEGAL_IDS)
def test_illegal_parameters_stop_yosys_elaboration(tmp_path, top, params, message) -> None:
    src = _file(top)
    files = sorted({src, *SOURCES})
    for f in files:
        (tmp_path / f.name).write_bytes(f.read_bytes())
    sets = " ".join(f'-chparam {k} "{v}"' if isinstance(v, str) else f"-chparam {k} {v}"
                    for k, v in params.items())  # fmt: skip
    cmds = [f"read_verilog -defer {' '.join(f.name for f in files)}",
            f"hierarchy -top {top} {sets}"]  # fmt: skip
    with pytest.raises(Exception, match=r"\$finish"):
        run_yosys(cmds, tmp_path, tmp_path / "yosys.log")
    log = (tmp_path / "yosys.log").read_text()
    assert f"{src.name}:{_check_line(top, message)}: ERROR:System task `$finish' executed" in log
