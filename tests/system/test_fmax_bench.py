"""The timing bench's parts that need no tool: nextpnr's critical path parsed into
source, sink, ns and the block instances it crosses; the block wrapper's registers."""

from __future__ import annotations

from halfwave.compiler.blocks.base import Instance
from halfwave.flow.bench import fmax

LOG = """Info: Critical path report for clock 'clk' (posedge -> posedge):
Info:       type curr  total name
Info:   clk-to-q  0.52  0.52 Source u_board.u_sys.u_top.mvu2.s2_psum_Q.Q
Info:    routing  0.98  1.50 Net x (25,36) -> (26,36)
Info:                          Sink u_board.u_sys.u_top.mvu2.acc_LUT4.B
Info:      logic  0.45  1.95 Source u_board.u_sys.u_top.mvu2.acc_LUT4.F
Info:    routing  0.50  2.45 Net y (26,36) -> (26,37)
Info:                          Sink u_board.u_sys.u_frame.q_FF.M
Info:      setup  0.00  2.45 Source u_board.u_sys.u_frame.q_FF.M
Info: 0.97 ns logic, 1.48 ns routing

Info: Max frequency for clock 'clk': 408.16 MHz (PASS at 150.00 MHz)
"""


def test_critical_path_names_source_sink_and_blocks():
    cp = fmax.critical_path(LOG)
    assert cp["source"] == "u_board.u_sys.u_top.mvu2.s2_psum_Q.Q"
    assert cp["sink"] == "u_board.u_sys.u_frame.q_FF.M"
    assert (cp["logic_ns"], cp["routing_ns"]) == (0.97, 1.48)
    assert cp["blocks"] == ["top.mvu2", "system.u_frame"]
    assert fmax.critical_path("no report") == {}


def test_wrapper_registers_every_input_and_output():
    inst = Instance("hw_fifo", "fifo0", (("WIDTH", "8"), ("DEPTH", "4")), (2,))
    ports = {"clk": ("input", 1), "rst": ("input", 1), "in_data": ("input", 8),
             "in_valid": ("input", 1), "in_ready": ("output", 1),
             "out_data": ("output", 8)}  # fmt: skip
    v = fmax.wrapper_verilog(inst, ports)
    assert "reg [10:0] sh;" in v  # 10 input bits + the load bit of the output chain
    assert ".rst(sh[0:0])" in v and ".in_data(sh[8:1])" in v and ".in_valid(sh[9:9])" in v
    assert ".in_ready(o[0:0])" in v and ".out_data(o[8:1])" in v
    assert "oq <= sh[10] ? {o, 1'b0}" in v and "hw_fifo #(.WIDTH(8), .DEPTH(4)) u_blk" in v
