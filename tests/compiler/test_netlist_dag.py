"""The design as a DAG (compiler/netlist.py and its back ends): forks, per-input
repackers and FIFOs, joins and their edges; the branch-skew FIFO sizing of
compiler/fifos.py; chains unchanged. Uses the test-only fork and join of
tests/sim/dag_blocks.py (the RTL runs are in tests/sim/test_dag_rtl.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from halfwave.compiler import codegen_hls, netlist
from halfwave.compiler.codegen_rtl import top_verilog
from halfwave.compiler.errors import CompileError
from halfwave.compiler.fifos import analysis_depths, branch_skews, size_fifos
from halfwave.compiler.folding import fold
from halfwave.compiler.report import fifo_report
from halfwave.compiler.resources import estimate_design
from halfwave.compiler.streams import predicted_cycles_per_frame
from tests.compiler.test_block_kinds import conv_ir, fc_ir
from tests.sim.dag_blocks import residual_df, use_tb_fork


@pytest.fixture(autouse=True)
def _tb_fork(monkeypatch):
    use_tb_fork(monkeypatch)


def test_residual_netlist_forks_fifos_and_edges():
    net = netlist.build(residual_df())
    roles = [(p.role, p.block.name) for p in net.placed]
    assert roles == [
        ("fork", "fork_in"), ("repack", "repack0_0"), ("fifo", "fifo0"), ("layer", "swg0"),
        ("fifo", "fifo1"), ("layer", "mvu0"), ("repack", "repack2_0"), ("fifo", "fifo2"),
        ("layer", "swg1"), ("fifo", "fifo3"), ("layer", "mvu1"), ("fifo", "fifo4"),
        ("repack", "repack4_1_0"), ("fifo", "fifo4_1"), ("layer", "add"),
        ("adapter", "out_adapter"),
    ]  # fmt: skip
    fork = net.placed[0]
    assert fork.block.n_out == 2 and fork.outs == ("s_in_b0", "s_in_b1")
    assert fork.block.beats == 64  # one 4-lane bus beat a pixel
    add = net.layers()[-1]
    assert add.ins == ("f4", "f4_1")
    # the shortcut is repacked from the bus's 4 byte lanes to the Add's 2 UINT2 lanes
    rp = net.placed[12].block
    assert (rp.src.lanes, rp.src.width, rp.dst.lanes, rp.dst.width) == (4, 8, 2, 2)
    edges = {(e.src, e.dst, e.wire) for e in net.edges}
    assert {("in", "fork_in", "s_in"), ("fork_in", "repack0_0", "s_in_b0"),
            ("fork_in", "repack4_1_0", "s_in_b1"), ("fifo4", "add", "f4"),
            ("fifo4_1", "add", "f4_1"), ("add", "out_adapter", "n4"),
            ("out_adapter", "out", "m_out")} <= edges  # fmt: skip
    # every wire has one producer and one consumer
    wires = [e.wire for e in net.edges]
    assert len(wires) == len(set(wires)) == len(net.placed) + 2


def test_residual_top_v_wires_the_fork_and_the_join():
    v = top_verilog(residual_df())
    assert "tb_dag_fork #(.WIDTH(32), .N_OUT(2)) fork_in (" in v
    assert ".out_valid({s_in_b1_valid, s_in_b0_valid})" in v
    assert ".a_data(f4_data), .a_valid(f4_valid), .a_ready(f4_ready)" in v
    assert ".b_data(f4_1_data), .b_valid(f4_1_valid), .b_ready(f4_1_ready)" in v
    assert 'fwrite(fd, "fifo4_1 %0d %0d\\n", fifo4_1.max_level, fifo4_1_full_cycles)' in v
    for w in ("s_in_b0", "s_in_b1", "f4_1", "rp4_1_0"):
        assert f"wire {w}_valid, {w}_ready, {w}_last;" in v


def test_residual_hls_top_forks_and_joins():
    _, src, _ = codegen_hls.build_top(residual_df())
    assert "    tb_fork<32, 64>(s_in, s_in_b0, s_in_b1);\n" in src
    assert "    tb_add<2, 128, 2, 2, 3>(n3, rp4_1_0, n4);\n" in src
    assert "hls::stream<ap_uint<4> > rp4_1_0" in src and "depth=90" in src


def test_shortcut_fifo_holds_the_long_branch_delay():
    """hw_swg waits for whole input rows: each 3x3 pad-1 window of an 8x8 image needs
    the (3-1) = 2 rows of its first window complete, an MVU answers after 1 vector, and
    each of the 4 blocks holds 2 more output vectors at full rate: the shortcut holds
    16+1+16+1 + 4*2 + 1 (slack) = 43 pixels, 2 beats each at the Add's 2 lanes, on top of
    the Add's own 4 beats."""
    df = residual_df()
    assert branch_skews(df)[4, 1] == 43 and branch_skews(df)[4, 0] == 0
    assert df.fifo_depth["add:1"] == analysis_depths(df)[4, 1] == 4 + 43 * 2
    assert df.fifo_depth["add"] == 4
    assert all(v == 0 for (k, j), v in branch_skews(df).items() if (k, j) != (4, 1))


def test_fifo_overrides_by_input_and_report():
    df = size_fifos(residual_df(), {"add:1": 40})
    assert df.fifo_depth["add:1"] == 40
    rows = {r["name"]: r for r in fifo_report(df)["fifos"]}
    assert rows["fifo4_1"]["sized_by"] == "override (90)"
    assert rows["fifo4"]["sized_by"] == "analysis"
    assert fifo_report(df)["total"]["shortcut_bits"] == 40 * 4  # 2 UINT2 lanes a beat
    with pytest.raises(CompileError, match="unknown nodes: add:2"):
        size_fifos(df, {"add:2": 8})


def test_large_shortcut_fifo_goes_to_block_ram():
    """A 32x32 image with 128 channels, 4 lanes: the shortcut holds 2 * 64 + 2 + 8 + 1 =
    139 pixels of 32 beats (35584 bits), in block RAM; a smaller one stays in LUTs."""
    df = residual_df(c=128, hw=32, pe=4, simd=16, add_pe=4)
    net = netlist.build(df)
    f = next(p.block for p in net.fifos() if p.block.name == "fifo4_1")
    assert f.depth == 4 + 32 * 139 and f.width == 8 and f.style == "block"
    assert all(p.block.style == "auto" for p in net.fifos() if p.block.name != "fifo4_1")
    assert '.RAM_STYLE("block")) fifo4_1 (' in top_verilog(df)
    est = estimate_design(df)
    assert est.blocks["fifo4_1"].bram36 >= 1 and est.blocks["fork_in"] is not None


def test_predicted_cycles_is_the_slowest_node_of_the_graph():
    df = residual_df()
    assert predicted_cycles_per_frame(df) == 64 * 2 * 9  # the MVUs: NF=2, SF=9 a pixel
    slow_add = replace(df, nodes=[*df.nodes[:4], replace(df.nodes[4], PE=1)])
    assert predicted_cycles_per_frame(slow_add) == 64 * 2 * 9  # the Add: 64*4 < 1152


@pytest.mark.parametrize("df", [fold(fc_ir([64, 48, 30, 10]), 40), fold(conv_ir(3, 12, 8, 10))],
                         ids=["fc", "conv"])  # fmt: skip
def test_chain_with_explicit_inputs_renders_as_before(df):
    """Naming every node's producer explicitly changes nothing: no fork, fifo<k> names,
    the same top.v text and HLS top."""
    df = size_fifos(df)
    explicit = replace(df, inputs={n.name: df.sources(k) for k, n in enumerate(df.nodes)})
    assert top_verilog(explicit) == top_verilog(df)
    assert codegen_hls.build_top(explicit) == codegen_hls.build_top(df)
    net = netlist.build(df)
    assert [p.block.name for p in net.fifos()] == [f"fifo{k}" for k in range(len(df.nodes))]
    assert not any(p.role == "fork" for p in net.placed)


def test_optimiser_folds_every_branch_to_the_target():
    """Both branches and the join meet the target; the join takes its input 0's lanes and
    the shortcut is repacked to them; an unreachable target gives None."""
    from halfwave.compiler import optimize
    from halfwave.compiler.boards import load_board

    opt = optimize.Optimiser(residual_df(), load_board("pynq-z2"))
    weights = optimize.base_weights(opt.budget)
    for target in (2304, 576):
        df = size_fifos(opt.fold_for(target, weights))
        assert max(n.cycles_per_frame() for n in df.nodes) == target
        assert df.nodes[4].PE == df.nodes[3].PE
        net = netlist.build(df)
        fifo = next(p for p in net.fifos() if p.block.name == "fifo4_1")
        assert fifo.fmt.lanes == df.nodes[4].PE
    assert opt.fold_for(192, weights) is None  # SIMD divides 4 channels: 64 * 9 > 192


def test_shortcut_beyond_the_largest_fifo_is_refused_naming_the_join():
    """128 channels at 1 lane (the Add takes the last MVU's PE) on a 128-wide image:
    2 * 256 + 2 + 8 + 1 = 523 pixels of 128 beats, more than hw_fifo's 32768."""
    with pytest.raises(CompileError, match=r"node 'add'.*input 1 needs a 66944-beat FIFO"):
        residual_df(c=128, hw=128, pe=1, simd=16, add_pe=1)
