"""Reset in the middle of a stream: each block recovers and is exact afterwards.

A generated wrapper passes the first AFTER input beats to the block (part of a vector,
image or window row), then holds its input, resets the block for two cycles and from
then on connects both streams straight through; outputs the block gives before the
reset are dropped. The stream after the reset is whole frames, checked against the
same numpy references as the blocks' own tests, with and without random stalls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import test_maxpool as tmp_
import test_mvu as tmv
import test_swg as tsw

from halfwave.compiler.blocks.mvu import write_mvu_mem_files
from halfwave.compiler.codegen_rtl import block_sources
from halfwave.sim import verilator as vl

RTL = Path(__file__).resolve().parents[2] / "hw" / "rtl"
SHARED = [RTL / f for f in ("hw_outbuf.v", *block_sources("hw_ram"))]


def reset_wrapper(module: str, params: dict[str, int | str], in_w: int, out_w: int,
                  after: int, path: Path) -> Path:  # fmt: skip
    """Verilog of `reset_tb`: `module` with `params`, reset after `after` input beats."""
    plist = ", ".join(f'.{k}("{v}")' if isinstance(v, str) else f".{k}({v})"
                      for k, v in params.items())  # fmt: skip
    path.write_text(f"""`default_nettype none
module reset_tb (
    input  wire clk, input wire rst,
    input  wire [{in_w - 1}:0] in_data, input wire in_valid, output wire in_ready,
    output wire [{out_w - 1}:0] out_data, output wire out_valid, input wire out_ready
);
    reg [31:0] n_in;
    reg [1:0]  phase;   // 0: first beats, outputs dropped; 1: block in reset; 2: through
    reg        held;
    wire pass = phase == 2'd2;
    wire open = (phase == 2'd0 && n_in != {after}) || pass;
    wire d_in_ready, d_out_valid;
    assign in_ready  = open && d_in_ready;
    assign out_valid = pass && d_out_valid;
    always @(posedge clk) begin
        if (rst) begin
            n_in <= 0; phase <= 2'd0; held <= 1'b0;
        end else begin
            if (in_valid && in_ready) n_in <= n_in + 1;
            if (phase == 2'd0 && n_in == {after}) phase <= 2'd1;
            if (phase == 2'd1) begin held <= 1'b1; if (held) phase <= 2'd2; end
        end
    end
    {module} #({plist}) dut (
        .clk(clk), .rst(rst || phase == 2'd1),
        .in_data(in_data), .in_valid(open && in_valid), .in_ready(d_in_ready),
        .out_data(out_data), .out_valid(d_out_valid), .out_ready(!pass || out_ready));
endmodule
`default_nettype wire
""")
    return path


def _run_both(binary, beats, in_w, out_w, n_out, tmp_path) -> list[np.ndarray]:
    outs = []
    for stall, seed in ((0.0, 1), (0.4, 7)):
        res = vl.run(binary, beats, in_w, out_w, n_out, tmp_path,
                     stall_in=stall, stall_out=stall, seed=seed)  # fmt: skip
        outs.append(res.out)
    return outs


@pytest.mark.parametrize("case", [tmv.CASES[0], tmv.CASES[2]], ids=tmv._case_id)
def test_mvu_recovers_from_reset_mid_vector(case, sim_cache: Path, tmp_path: Path) -> None:
    c = case
    rng = np.random.default_rng(50 + c.seed)
    w, x_codes, acc, acc_w, thr = tmv._setup(c, rng)
    sf, nf = -(-c.MW // c.SIMD), -(-c.MH // c.PE)
    wfile, _ = tmv._weight_file_values(c, w)
    write_mvu_mem_files(wfile, thr, c.PE, c.SIMD, c.W_W, acc_w, tmp_path / "mvu")
    lw, beats, expected = tmv.stimulus_and_expected(c, x_codes, acc, acc_w, thr)
    after = sf + sf // 2 + 1  # one vector and part of the next
    junk = np.random.default_rng(1).integers(0, 256, (after, beats.shape[1]), np.uint8)
    in_w, out_w = c.SIMD * c.IN_W, c.PE * lw
    tb = reset_wrapper("hw_mvu", tmv._params(c, acc_w), in_w, out_w, after, tmp_path / "tb.v")
    binary = vl.build([*tmv.SRCS, tb], "reset_tb", {}, sim_cache)
    for out in _run_both(binary, np.vstack([junk, beats]), in_w, out_w, c.vectors * nf, tmp_path):
        lanes = vl.unpack_lanes(out, c.PE, lw, signed=not c.N_T)
        got = vl.beats_to_vectors(lanes, nf * c.PE)[:, : c.MH]
        assert np.array_equal(got, expected), f"{c}"


@pytest.mark.parametrize("idx", [0, 3])
def test_swg_recovers_from_reset_mid_frame(idx, sim_cache: Path, tmp_path: Path) -> None:
    c = tsw.CASES[idx]
    rng = np.random.default_rng(60 + idx)
    width = c.SIMD * c.W
    img = rng.integers(0, 1 << c.W, (2, c.IH, c.IW, c.C))
    beats = vl.pack_lanes(vl.vectors_to_beats(img.reshape(-1, c.C), c.SIMD), c.W)
    expected = vl.vectors_to_beats(tsw.reference_windows(img, c), c.SIMD)
    after = (c.IH * c.IW * c.C // c.SIMD) // 2 + 1  # half an image and a beat
    junk = rng.integers(0, 256, (after, beats.shape[1]), np.uint8)
    tb = reset_wrapper("hw_swg", tsw._params(c), width, width, after, tmp_path / "tb.v")
    binary = vl.build([RTL / "hw_swg.v", *SHARED, tb], "reset_tb", {}, sim_cache)
    for out in _run_both(binary, np.vstack([junk, beats]), width, width, len(expected), tmp_path):
        assert np.array_equal(vl.unpack_lanes(out, c.SIMD, c.W, signed=False), expected), f"{c}"


@pytest.mark.parametrize("idx", [0, 2])
def test_maxpool_recovers_from_reset_mid_frame(idx, sim_cache: Path, tmp_path: Path) -> None:
    c = tmp_.CASES[idx]
    rng = np.random.default_rng(70 + idx)
    lo, hi = (-(1 << (c.W - 1)), 1 << (c.W - 1)) if c.SIGNED else (0, 1 << c.W)
    width = c.PE * c.W
    img = rng.integers(lo, hi, (2, c.IH, c.IW, c.C))
    beats = vl.pack_lanes(vl.vectors_to_beats(img.reshape(-1, c.C), c.PE), c.W)
    ref = tmp_.reference_pool(img, c).reshape(-1, c.C)
    expected = vl.vectors_to_beats(ref, c.PE)
    after = (c.IH * c.IW * c.C // c.PE) // 2 + 1
    junk = rng.integers(0, 256, (after, beats.shape[1]), np.uint8)
    inner = tmp_._wrapper(c, tmp_path / "maxpool_tb.v")  # module maxpool_tb: MIN_MASK set
    tb = reset_wrapper("maxpool_tb", {}, width, width, after, tmp_path / "tb.v")
    binary = vl.build([RTL / "hw_maxpool.v", *SHARED, inner, tb], "reset_tb", {}, sim_cache)
    for out in _run_both(binary, np.vstack([junk, beats]), width, width, len(expected), tmp_path):
        got = vl.unpack_lanes(out, c.PE, c.W, signed=bool(c.SIGNED))
        assert np.array_equal(got, expected), f"{c}"
