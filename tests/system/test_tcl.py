"""The generated Vivado project: the pieces a Zynq system needs are in the Tcl, with this
build's widths and parameters; no Vivado here, so the content is what is checked."""

from __future__ import annotations

import re

import pytest

from halfwave.compiler.boards import load_board
from halfwave.flow.board import bitstream, cosim


@pytest.mark.parametrize("board,ps", [("pynq-z2", "processing_system7"),
                                      ("zcu104", "zynq_ultra_ps_e")])  # fmt: skip
def test_vivado_tcl_has_the_system(tfc_build, board, ps):
    out = bitstream.write_vivado_project(tfc_build, load_board(board))
    tcl = (out / "create_project.tcl").read_text()
    p = cosim.system_params(tfc_build)
    for piece in (
        f'set part "{load_board(board).part}"',
        "ipx::package_project",
        "ipx::infer_bus_interfaces xilinx.com:interface:axis_rtl:1.0",
        "ipx::associate_bus_interfaces -busif s_axi_ctrl -clock ap_clk",
        f"xilinx.com:ip:{ps}",
        "xilinx.com:ip:axi_dma axi_dma_0",
        "CONFIG.c_include_sg {0}",
        f"CONFIG.c_m_axis_mm2s_tdata_width {{{p.tdata_in}}}",
        f"CONFIG.c_s_axis_s2mm_tdata_width {{{p.tdata_out}}}",
        "halfwave_accel:1.0 halfwave_0",
        f"CONFIG.MODEL_ID {{0x{p.model_id:08X}}}",
        "axi_dma_0/M_AXIS_MM2S] [get_bd_intf_pins halfwave_0/s_axis]",
        "halfwave_0/m_axis] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]",
        "SmartConnect",
        "make_wrapper",
        "launch_runs impl_1 -to_step write_bitstream",
        "report_utilization",
        "report_timing_summary",
        ".hwh",
    ):
        assert piece in tcl, piece
    assert "@" not in re.sub(r"#.*", "", tcl), "an unsubstituted template field"
    srcs = {f.name for f in (out / "src").iterdir()}
    assert {"axis_accel.v", "top.v", "hw_mvu.v"} <= srcs
    assert any(s.endswith(".mem") for s in srcs)


def test_bitstream_stops_before_vivado(tmp_path, monkeypatch, capsys):
    """`halfwave bitstream` on a Zynq board without vivado: every stage before Vivado
    runs, exit status 3, and the command that finishes the job is printed."""
    from halfwave.flow.cli import main

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no vivado
    rc = main(["bitstream", "tfc_w1a2", "--board", "pynq-z2", "--root", str(tmp_path),
               "--calibrate", "--frames", "4", "--synth", "estimate"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 3, out
    assert "UNTRAINED" in out.splitlines()[1]
    assert "0 mismatches vs golden, 0 vs PyTorch f64" in out
    assert "vivado -mode batch -source create_project.tcl" in out
    rep = (tmp_path / "tfc_w1a2-pynq-z2" / "system" / "pynq-z2" / "bitstream.md").read_text()
    assert rep.splitlines()[0].startswith("# model tfc_w1a2: UNTRAINED")
    assert (tmp_path / "tfc_w1a2-pynq-z2" / "report.md").read_text().startswith("# model")
    assert (tmp_path / "tfc_w1a2-pynq-z2" / "deploy" / "halfwave_driver.py").is_file()
