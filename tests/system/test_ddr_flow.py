"""`halfwave bitstream` for a design that fits its board only with weights in DDR: the
optimiser moves weights off chip. On a Zynq board the system gets a weight DMA per
external layer, the co-simulation through the driver feeds them through the DDR model
at the board's bandwidth (bit-exact), and the Vivado Tcl builds the DMAs: exit 3 where
Vivado is absent. On the UART board (no DDR path in its system) top.v is checked in RTL
with the DDR model and the flow stops with exit status 4."""

from __future__ import annotations

import json

from halfwave.compiler import boards


def _tiny_board(tmp_path, monkeypatch, base: str, bram36: float) -> str:
    board_dir = tmp_path / "boards"
    board_dir.mkdir(exist_ok=True)
    doc = json.loads((boards.BOARD_DIR / f"{base}.json").read_text())
    name = f"tiny-{base}"
    doc.update(name=name, resources={**doc["resources"], "bram36": bram36})
    if "ebr" in doc["resources"]:
        doc["resources"]["ebr"] = int(2 * bram36)
    (board_dir / f"{name}.json").write_text(json.dumps(doc))
    for f in boards.BOARD_DIR.glob("*.lpf"):
        (board_dir / f.name).write_text(f.read_text())
    monkeypatch.setattr(boards, "BOARD_DIR", board_dir)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no vivado
    return name


def test_zynq_bitstream_with_weight_dmas(tmp_path, monkeypatch, capsys):
    from halfwave.flow.cli import main

    board = _tiny_board(tmp_path, monkeypatch, "pynq-z2", 2)  # 1.5 BRAM36 to use
    rc = main(["bitstream", "sfc_w1a2", "--board", board, "--root", str(tmp_path),
               "--calibrate", "--frames", "6", "--synth", "estimate"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 3, out
    assert "stream from DDR (one AXI DMA each" in out, out
    assert "6 frames, 0 mismatches vs golden, 0 vs PyTorch f64" in out, out
    build = tmp_path / f"sfc_w1a2-{board}"
    rep = json.loads((build / "system" / board / "bitstream.json").read_text())
    ext = rep["external_weights"]
    assert rep["exit_status"] == 3 and ext and rep["ddr"]["bytes_per_frame"] > 0
    assert rep["cosim"]["mismatched_frames_vs_golden"] == 0
    tcl = (build / "system" / board / "create_project.tcl").read_text()
    for k, node in enumerate(ext):
        assert f"{{{k} {node} " in tcl
    assert "xilinx.com:ip:axi_dma axi_dma_w$k" in tcl and "CONFIG.c_include_s2mm {0}" in tcl
    assert "-busif s_axis_w[lindex $ws 0] -clock ap_clk" in tcl
    assert "CONFIG.PCW_USE_S_AXI_HP$i {1}" in tcl
    shell = (build / "system" / board / "src" / "axis_accel.v").read_text()
    assert all(f"s_axis_w{k}_tdata" in shell for k in range(len(ext)))
    meta = json.loads((build / "deploy" / "meta.json").read_text())
    assert [e["node"] for e in meta["external_weights"]] == ext
    assert all((build / "deploy" / e["file"]).is_file() for e in meta["external_weights"])
    res = json.loads((build / "report.json").read_text())["resources"]["board"]
    assert res["ddr"]["external"] == ext
    assert "Weights in DDR" in (build / "report.md").read_text()


def test_uart_board_stops_for_ddr_weights(tmp_path, monkeypatch, capsys):
    from halfwave.flow.cli import main

    board = _tiny_board(tmp_path, monkeypatch, "ulx3s-85f", 1)
    rc = main(["bitstream", "sfc_w1a2", "--board", board, "--root", str(tmp_path),
               "--calibrate", "--frames", "3", "--synth", "estimate"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 4, out
    assert "3 frames, 0 mismatches vs golden" in out and "no DDR path" in out, out
    rep = json.loads((tmp_path / f"sfc_w1a2-{board}" / "system" / board /
                      "bitstream.json").read_text())  # fmt: skip
    assert rep["exit_status"] == 4 and rep["rtl_ddr"]["mismatched_frames_vs_golden"] == 0


def test_zynq_bitstream_with_batched_weights(tmp_path, monkeypatch, capsys):
    """hwgq_alexnet_tiny on a pynq-z2 with 5.5 BRAM36 and a DDR too slow for one pass of
    its external weights a frame: the optimiser batches the stream (B frames a pass),
    the driver runs whole batches through the system co-simulation, bit-exact, and the
    flow stops before Vivado (exit 3)."""
    from halfwave.compiler.ir import MVU
    from halfwave.flow.cli import main

    # the premise is weights that do not fit on chip: keep them out of LUT ROMs too (with
    # the optimiser's weight-ROM choice the tiny model's shallow layers fit in LUTs)
    monkeypatch.setattr(MVU, "rom_options", lambda self: ["auto"])
    board = _tiny_board(tmp_path, monkeypatch, "pynq-z2", 5.5)
    path = boards.BOARD_DIR / f"{board}.json"
    doc = json.loads(path.read_text())
    doc["ddr"]["dma_read_gb_per_s"] = 0.0002  # 2 bytes in 1,000 cycles
    path.write_text(json.dumps(doc))
    rc = main(["bitstream", "hwgq_alexnet_tiny", "--board", board, "--root", str(tmp_path),
               "--calibrate", "--frames", "5", "--synth", "estimate"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 3, out
    assert "5 frames, 0 mismatches vs golden" in out, out
    build = tmp_path / f"hwgq_alexnet_tiny-{board}"
    layers = json.loads((build / "report.json").read_text())["layers"]
    assert any(r.get("batch", 1) > 1 for r in layers if r.get("external")), layers
    meta = json.loads((build / "deploy" / "meta.json").read_text())
    assert meta["frame_batch"] > 1 and meta["batch"] % meta["frame_batch"] == 0
