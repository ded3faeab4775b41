"""`halfwave bitstream` for a design that fits its board only with weights in DDR: the
optimiser moves weights off chip, the top is checked bit-exact in RTL with the board's
DDR bandwidth feeding its weight streams, and the flow stops with exit status 4 (the
system wrappers have no weight DMA yet)."""

from __future__ import annotations

import json

from halfwave.compiler import boards


def test_bitstream_stops_for_ddr_weights(tmp_path, monkeypatch, capsys):
    from halfwave.flow.cli import main

    board_dir = tmp_path / "boards"
    board_dir.mkdir()
    doc = json.loads((boards.BOARD_DIR / "pynq-z2.json").read_text())
    doc.update(name="tiny", resources={**doc["resources"], "bram36": 2})  # 1.5 to use
    (board_dir / "tiny.json").write_text(json.dumps(doc))
    monkeypatch.setattr(boards, "BOARD_DIR", board_dir)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no vivado
    rc = main(["bitstream", "sfc_w1a2", "--board", "tiny", "--root", str(tmp_path),
               "--calibrate", "--frames", "6", "--synth", "estimate"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 4, out
    assert "stream from DDR" in out and "6 frames, 0 mismatches vs golden" in out, out
    build = tmp_path / "sfc_w1a2-tiny"
    rep = json.loads((build / "system" / "tiny" / "bitstream.json").read_text())
    assert rep["exit_status"] == 4 and rep["external_weights"]
    assert rep["rtl_ddr"]["mismatched_frames_vs_golden"] == 0
    assert rep["ddr"]["bytes_per_frame"] > 0
    res = json.loads((build / "report.json").read_text())["resources"]["board"]
    assert res["ddr"]["external"] == rep["external_weights"]
    assert "Weights in DDR" in (build / "report.md").read_text()
