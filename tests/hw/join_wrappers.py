"""Test wrappers around the join and fork blocks for the single-stream Verilator harness
(sim/verilator.py): generated Verilog whose DUT instance is the block's own `rtl()`
rendered with its `rtl_join_ports` / `fork_ports`, so the tests check those too.

join_tb (Add, Concat): a host beat is {mode (2 bits), mask (k bits), beat_{k-1}, ...,
beat_0}: beat i goes into a 4-deep FIFO of input i when mask bit i is set, the host
beat is taken when every FIFO has room, and `mode` (taken with each host beat) sets the
stall pattern of tb_gate between each FIFO and its DUT input (independent LFSRs).
The DUT output is the harness output.

fork_tb (Fork): the host beat is {modes (2 bits per output), data}; output j passes a
tb_gate of its own mode into a FIFO of {cycle (32 bits), data}; the input's transfer
cycles go into one more FIFO. A harness output beat is {t_in, t_{n-1}, d_{n-1}, ...,
t_0, d_0}, one beat of every FIFO (all beats k of the same input beat).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from halfwave.compiler.blocks.base import Block
from halfwave.compiler.blocks.fork import Fork

HERE = Path(__file__).resolve().parent
RTL = HERE.parents[1] / "hw" / "rtl"
GATE = HERE / "tb" / "tb_gate.v"
SEEDS = ["16'hace1", "16'h1d2b", "16'h5a17", "16'hb00f", "16'h7e3c", "16'h2468", "16'hc0de",
         "16'h9f31"]  # fmt: skip


def join_wrapper(blk: Block, path: Path) -> tuple[Path, int, int]:
    """Write join_tb for `blk`; returns (file, host input bits, output bits)."""
    fmts = blk.in_formats()
    k = len(fmts)
    offs = np.concatenate([[0], np.cumsum([f.bits for f in fmts])]).astype(int)
    data_w = int(offs[-1])
    in_w = data_w + k + 2
    out_w = blk.out_format().bits
    lines = [
        "`default_nettype none",
        "module join_tb (",
        "    input wire clk, input wire rst,",
        f"    input wire [{in_w - 1}:0] in_data, input wire in_valid, output wire in_ready,",
        f"    output wire [{out_w - 1}:0] out_data, output wire out_valid, input wire out_ready",
        ");",
        "    reg [1:0] mode;",
        f"    wire [{k - 1}:0] mask = in_data[{data_w + k - 1}:{data_w}];",
        f"    wire [{k - 1}:0] room;",
        "    assign in_ready = &room;",
        "    wire take = in_valid && in_ready;",
        "    always @(posedge clk) begin",
        "        if (rst) mode <= 2'd0;",
        f"        else if (take) mode <= in_data[{in_w - 1}:{data_w + k}];",
        "    end",
    ]
    for i, f in enumerate(fmts):
        lines += [
            f"    wire [{f.bits - 1}:0] q{i}_data, x{i}_data;",
            f"    wire q{i}_valid, q{i}_ready, x{i}_valid, x{i}_ready;",
            f"    assign x{i}_data = q{i}_data;",
            f"    hw_fifo #(.WIDTH({f.bits}), .DEPTH(4)) u_q{i} (.clk(clk), .rst(rst),",
            f"        .in_data(in_data[{offs[i] + f.bits - 1}:{offs[i]}]), "
            f".in_valid(take && mask[{i}]), .in_ready(room[{i}]),",
            f"        .out_data(q{i}_data), .out_valid(q{i}_valid), .out_ready(q{i}_ready),",
            "        .level(), .max_level());",
            f"    tb_gate #(.SEED({SEEDS[i]})) u_g{i} (.clk(clk), .rst(rst), .mode(mode),",
            f"        .s_valid(q{i}_valid), .s_ready(q{i}_ready), "
            f".m_valid(x{i}_valid), .m_ready(x{i}_ready));",
        ]
    lines += [
        f"    wire [{out_w - 1}:0] y_data;",
        "    wire y_valid, y_ready;",
        "    assign out_data = y_data;",
        "    assign out_valid = y_valid;",
        "    assign y_ready = out_ready;",
        blk.rtl().render(blk.rtl_join_ports([f"x{i}" for i in range(k)], "y")),
        "endmodule",
        "`default_nettype wire",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path, in_w, out_w


def join_host_beats(beats: list[np.ndarray], masks: np.ndarray, mode: int,
                    fmts: list) -> np.ndarray:  # fmt: skip
    """Host beats: host beat j carries beats[i][row_i] for each i with masks[j, i] set
    (rows taken in order), `mode` on each. Returns (n, bytes) uint8."""
    k = len(fmts)
    offs = np.concatenate([[0], np.cumsum([f.bits for f in fmts])]).astype(int)
    in_w = int(offs[-1]) + k + 2
    nbytes = -(-in_w // 8)
    pos = [0] * k
    out = np.zeros((len(masks), nbytes), np.uint8)
    for j, m in enumerate(masks):
        word = mode << (int(offs[-1]) + k)
        for i in range(k):
            if m[i]:
                word |= int(beats[i][pos[i]]) << int(offs[i])
                word |= 1 << (int(offs[-1]) + i)
                pos[i] += 1
        out[j] = np.frombuffer(word.to_bytes(nbytes, "little"), np.uint8)
    assert all(p == len(b) for p, b in zip(pos, beats, strict=True))
    return out


def beat_words(lanes: np.ndarray, width: int) -> list[int]:
    """(n, lanes) lane values (two's complement taken modulo 2^width) -> beat integers."""
    m = (1 << width) - 1
    return [sum((int(v) & m) << (k * width) for k, v in enumerate(row)) for row in lanes]


def fork_wrapper(fork: Fork, path: Path) -> tuple[Path, int, int]:
    """Write fork_tb for `fork`; returns (file, host input bits, output bits)."""
    w, n = fork.width, fork.n_out
    in_w = w + 2 * n
    out_w = n * (w + 32) + 32
    lines = [
        "`default_nettype none",
        "module fork_tb (",
        "    input wire clk, input wire rst,",
        f"    input wire [{in_w - 1}:0] in_data, input wire in_valid, output wire in_ready,",
        f"    output wire [{out_w - 1}:0] out_data, output wire out_valid, input wire out_ready",
        ");",
        "    reg [31:0] now;",
        f"    reg [{2 * n - 1}:0] modes;",
        f"    wire [{w - 1}:0] x_data = in_data[{w - 1}:0];",
        "    wire x_valid, x_ready;",
        f"    wire [{n}:0] have, room;",
        f"    assign x_valid = in_valid && room[{n}];",
        f"    assign in_ready = x_ready && room[{n}];",
        "    wire fire = in_valid && in_ready;",
        "    always @(posedge clk) begin",
        "        if (rst) begin now <= 32'd0; modes <= 0; end",
        "        else begin",
        "            now <= now + 32'd1;",
        f"            if (fire) modes <= in_data[{in_w - 1}:{w}];",
        "        end",
        "    end",
        "    wire pop = out_valid && out_ready;",
        "    assign out_valid = &have;",
        "    hw_fifo #(.WIDTH(32), .DEPTH(8)) u_tin (.clk(clk), .rst(rst),",
        f"        .in_data(now), .in_valid(fire), .in_ready(room[{n}]),",
        f"        .out_data(out_data[{out_w - 1}:{out_w - 32}]), .out_valid(have[{n}]), "
        ".out_ready(pop), .level(), .max_level());",
    ]
    for j in range(n):
        lines += [
            f"    wire [{w - 1}:0] y{j}_data;",
            f"    wire y{j}_valid, y{j}_ready, g{j}_valid;",
            f"    tb_gate #(.SEED({SEEDS[j]})) u_g{j} (.clk(clk), .rst(rst), "
            f".mode(modes[{2 * j + 1}:{2 * j}]),",
            f"        .s_valid(y{j}_valid), .s_ready(y{j}_ready), .m_valid(g{j}_valid), "
            f".m_ready(room[{j}]));",
            f"    hw_fifo #(.WIDTH({w + 32}), .DEPTH(8)) u_o{j} (.clk(clk), .rst(rst),",
            f"        .in_data({{now, y{j}_data}}), .in_valid(g{j}_valid), .in_ready(room[{j}]),",
            f"        .out_data(out_data[{(j + 1) * (w + 32) - 1}:{j * (w + 32)}]), "
            f".out_valid(have[{j}]), .out_ready(pop), .level(), .max_level());",
        ]
    lines += [
        fork.rtl().render(fork.fork_ports("x", [f"y{j}" for j in range(n)])),
        "endmodule",
        "`default_nettype wire",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path, in_w, out_w
