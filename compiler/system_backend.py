"""The system backend: what wraps a BUILD's rtl/top.v for a board, as text.

Plain functions over `SystemParams` (the stream formats and weight streams of
rtl/top.json): the Zynq accelerator IP's top `axis_accel.v` (hw/system/axis_ctrl.v and
one axis_upsize.v per external weight stream around top.v), the open ECP5 board's
`system_top.v` (the UART board top with this build's parameters) and the Vivado Tcl
(hw/system/vivado_system.tcl.in with this build's sources, weight DMAs and generics).
The board flow (halfwave.flow.board) writes them and runs the tools.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import halfwave.hw

from .boards import Board
from .codegen_rtl import dma_word_bytes
from .errors import CompileError

SYSTEM_DIR = Path(halfwave.hw.__file__).resolve().parent / "system"
UART_FILES = (
    "uart_rx.v", "uart_tx.v", "uart_frame.v", "bytes_to_beats.v", "beats_to_bytes.v",
    "uart_system.v",
)  # fmt: skip
AXI_FILES = ("axis_ctrl.v", "axis_upsize.v")  # + the generated axis_accel.v
WEIGHT_DMA_MAX_BITS = 1024  # the AXI DMA's widest MM2S stream; wider words: axis_upsize
# Vivado facts per Zynq board; a board file may override them with a "vivado" object.
VIVADO = {
    "pynq-z1": {"board_part": "www.digilentinc.com:pynq-z1:part0:1.0", "ps": "ps7"},
    "pynq-z2": {"board_part": "tul.com.tw:pynq-z2:part0:1.0", "ps": "ps7"},
    "zcu104": {"board_part": "xilinx.com:zcu104:part0:1.1", "ps": "zynq_us"},
    "ultra96-v2": {"board_part": "avnet.com:ultra96v2:part0:1.2", "ps": "zynq_us"},
}


@dataclass(frozen=True)
class WeightDma:
    """One external weight stream as its DMA sees it: every MVU word padded to `beats`
    beats of `tdata` bits (first beat = low bits), the words of a pass in memory order."""

    node: str
    port: str  # top.v's port prefix (w_<node>_t)
    width: int  # bits of an MVU weight word
    tdata: int  # bits per DMA beat (8 * 2^k, at most WEIGHT_DMA_MAX_BITS)
    beats: int  # DMA beats per word
    words_per_pass: int
    passes_per_frame: float  # vectors / batch: a fraction when a batch spans frames
    file: str  # rtl/<node>_wstream.bin: one pass, ceil(width/8) bytes a word

    @property
    def word_bytes(self) -> int:
        return self.beats * self.tdata // 8

    @property
    def bytes_per_pass(self) -> int:
        return self.word_bytes * self.words_per_pass


def weight_dma(w: dict) -> WeightDma:
    """The DMA form of one rtl/top.json "weight_streams" entry."""
    bits = int(w["width"])
    tdata = min(8 * dma_word_bytes(bits), WEIGHT_DMA_MAX_BITS)
    return WeightDma(
        node=w["node"], port=w["port"], width=bits, tdata=tdata, beats=-(-bits // tdata),
        words_per_pass=int(w["words_per_pass"]), passes_per_frame=float(w["passes_per_frame"]),
        file=w["file"],
    )  # fmt: skip


@dataclass(frozen=True)
class SystemParams:
    """What a system wrapper needs to know about a BUILD's top.v (from rtl/top.json)."""

    in_bytes: int  # bytes per input beat of top
    out_bytes: int
    in_beats: int  # beats per frame (vectors x beats per vector)
    out_beats: int
    model_id: int  # crc32 of top.v: the driver checks it against the bitstream's
    in_lanes: int
    in_width: int
    in_count: int
    in_vectors: int
    out_lanes: int
    out_width: int
    out_count: int
    out_vectors: int
    out_signed: bool
    in_dtype: str
    out_dtype: str
    cycles_per_frame: int  # predicted initiation interval of top
    weights: tuple[WeightDma, ...] = ()  # external weight streams (weights in DDR)

    @property
    def n_ext_weights(self) -> int:
        return len(self.weights)

    @property
    def in_frame_bytes(self) -> int:
        return self.in_bytes * self.in_beats

    @property
    def out_frame_bytes(self) -> int:
        return self.out_bytes * self.out_beats

    @property
    def tdata_in(self) -> int:
        return axis_width(self.in_bytes)

    @property
    def tdata_out(self) -> int:
        return axis_width(self.out_bytes)

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["weights"] = [{**asdict(w), "word_bytes": w.word_bytes,
                           "bytes_per_pass": w.bytes_per_pass} for w in self.weights]  # fmt: skip
        return {**doc, "n_ext_weights": self.n_ext_weights,
                "in_frame_bytes": self.in_frame_bytes, "out_frame_bytes": self.out_frame_bytes,
                "tdata_in": self.tdata_in, "tdata_out": self.tdata_out}  # fmt: skip


def axis_width(nbytes: int) -> int:
    """AXI DMA stream widths are 8 * 2^k bits: the smallest that holds nbytes."""
    w = 8
    while w < 8 * nbytes:
        w *= 2
    return w


def system_params(build: Path) -> SystemParams:
    rtl = Path(build) / "rtl"
    desc = json.loads((rtl / "top.json").read_text())
    fi, fo = desc["in"], desc["out"]
    for f in (fi, fo):
        if (f["lanes"] * f["width"]) % 8:
            raise CompileError(f"{rtl / 'top.json'}: bus of {f['lanes']}x{f['width']} bits is "
                             "not byte-aligned")  # fmt: skip
    per = lambda f: -(-f["count"] // f["lanes"]) * f.get("vectors", 1)  # noqa: E731
    return SystemParams(
        in_bytes=fi["lanes"] * fi["width"] // 8,
        out_bytes=fo["lanes"] * fo["width"] // 8,
        in_beats=per(fi),
        out_beats=per(fo),
        model_id=zlib.crc32((rtl / "top.v").read_bytes()),
        in_lanes=fi["lanes"], in_width=fi["width"], in_count=fi["count"],
        in_vectors=fi.get("vectors", 1),
        out_lanes=fo["lanes"], out_width=fo["width"], out_count=fo["count"],
        out_vectors=fo.get("vectors", 1), out_signed=bool(fo["signed"]),
        in_dtype=fi["dtype"], out_dtype=fo["dtype"],
        cycles_per_frame=max(int(desc["predicted_cycles_per_frame"]), _ddr_cycles(build)),
        weights=tuple(weight_dma(w) for w in desc.get("weight_streams", [])),
    )  # fmt: skip


def _ddr_cycles(build: Path) -> int:
    """Cycles per frame the board's DDR allows the external weights (report.json of a
    `compile --board`), 0 when there are none: top.json's prediction leaves it out."""
    rep = Path(build) / "report.json"
    if not rep.is_file():
        return 0
    board = json.loads(rep.read_text()).get("resources", {}).get("board") or {}
    return int((board.get("ddr") or {}).get("ddr_cycles_per_frame", 0))


def uart_verilog_params(p: SystemParams, clks_per_bit: int) -> dict[str, int]:
    return {
        "IN_BYTES": p.in_bytes, "OUT_BYTES": p.out_bytes,
        "IN_FRAME_BYTES": p.in_frame_bytes, "OUT_FRAME_BYTES": p.out_frame_bytes,
        "MODEL_ID": p.model_id, "CLKS_PER_BIT": clks_per_bit,
    }  # fmt: skip


def axi_verilog_params(p: SystemParams) -> dict[str, int]:
    return {
        "IN_BYTES": p.in_bytes, "OUT_BYTES": p.out_bytes, "TDATA_IN": p.tdata_in,
        "TDATA_OUT": p.tdata_out, "IN_BEATS": p.in_beats, "OUT_BEATS": p.out_beats,
        "MODEL_ID": p.model_id,
    }  # fmt: skip


def axi_shell_verilog(p: SystemParams) -> str:
    """axis_accel.v: the accelerator IP's top (AXI4-Lite registers, input/output
    AXI4-Streams, one AXI4-Stream slave per external weight stream) around rtl/top.v.
    Generated because its port list follows the design's weight streams."""
    params = axi_verilog_params(p)
    pdecl = ",\n".join(
        f"    parameter {'[31:0]  ' if k == 'MODEL_ID' else 'integer '}{k:<9s} = "
        + (f"32'h{v:08x}" if k == "MODEL_ID" else str(v))
        for k, v in params.items()
    )
    wports = "".join(
        f"    // weight stream {k}: {w.node} (weights in DDR), {w.beats} beat(s) of "
        f"{w.tdata} bits a {w.width}-bit word\n"
        f"    input  wire [{w.tdata - 1}:0] s_axis_w{k}_tdata,\n"
        f"    input  wire s_axis_w{k}_tvalid,\n"
        f"    output wire s_axis_w{k}_tready,\n"
        f"    /* verilator lint_off UNUSEDSIGNAL */\n"
        f"    input  wire s_axis_w{k}_tlast,  // words are counted, not delimited\n"
        f"    /* verilator lint_on UNUSEDSIGNAL */\n"
        for k, w in enumerate(p.weights)
    )
    wires = "".join(f"    wire [{w.width - 1}:0] w{k}_data;\n    wire w{k}_valid, w{k}_ready;\n"
                    for k, w in enumerate(p.weights))  # fmt: skip
    upsizers = "".join(
        f"    axis_upsize #(.IN_W({w.tdata}), .BEATS({w.beats}), .OUT_W({w.width})) "
        f"u_w{k} (\n        .clk(ap_clk), .rst(acc_rst),\n"
        f"        .in_data(s_axis_w{k}_tdata), .in_valid(s_axis_w{k}_tvalid), "
        f".in_ready(s_axis_w{k}_tready),\n"
        f"        .out_data(w{k}_data), .out_valid(w{k}_valid), .out_ready(w{k}_ready)\n"
        "    );\n"
        for k, w in enumerate(p.weights)
    )
    wconn = "".join(f"        .{w.port}data(w{k}_data), .{w.port}valid(w{k}_valid), "
                    f".{w.port}ready(w{k}_ready),\n" for k, w in enumerate(p.weights))  # fmt: skip
    names = ", ".join(w.node for w in p.weights) or "none"
    return f"""// axis_accel.v — generated by halfwave (compiler/system_backend.py); do not edit.
// The accelerator IP for a Zynq: hw/system/axis_ctrl.v (s_axis, m_axis, s_axi_ctrl)
// around rtl/top.v. External weight streams ({names}): one AXI4-Stream slave
// s_axis_w<k> each, fed by an MM2S-only AXI DMA from DDR, joined into MVU words by
// hw/system/axis_upsize.v. Parameters: this build's stream formats (see axis_ctrl.v).
`default_nettype none
module axis_accel #(
{pdecl}
) (
    input  wire ap_clk,
    input  wire ap_rst_n,  // active low
    // AXI4-Stream in (input frames)
    input  wire [TDATA_IN-1:0] s_axis_tdata,
    input  wire s_axis_tvalid,
    output wire s_axis_tready,
    input  wire s_axis_tlast,
    // AXI4-Stream out (output frames)
    output wire [TDATA_OUT-1:0] m_axis_tdata,
    output wire [TDATA_OUT/8-1:0] m_axis_tkeep,
    output wire m_axis_tvalid,
    input  wire m_axis_tready,
    output wire m_axis_tlast,
{wports}    // AXI4-Lite control
    input  wire [5:0] s_axi_ctrl_awaddr,
    input  wire s_axi_ctrl_awvalid,
    output wire s_axi_ctrl_awready,
    input  wire [31:0] s_axi_ctrl_wdata,
    input  wire [3:0] s_axi_ctrl_wstrb,
    input  wire s_axi_ctrl_wvalid,
    output wire s_axi_ctrl_wready,
    output wire [1:0] s_axi_ctrl_bresp,
    output wire s_axi_ctrl_bvalid,
    input  wire s_axi_ctrl_bready,
    input  wire [5:0] s_axi_ctrl_araddr,
    input  wire s_axi_ctrl_arvalid,
    output wire s_axi_ctrl_arready,
    output wire [31:0] s_axi_ctrl_rdata,
    output wire [1:0] s_axi_ctrl_rresp,
    output wire s_axi_ctrl_rvalid,
    input  wire s_axi_ctrl_rready
);
    wire acc_rst, acc_in_valid, acc_in_ready, acc_out_valid, acc_out_ready;
    wire [8*IN_BYTES-1:0] acc_in_data;
    wire [8*OUT_BYTES-1:0] acc_out_data;
{wires}    axis_ctrl #(
        .IN_BYTES(IN_BYTES), .OUT_BYTES(OUT_BYTES), .TDATA_IN(TDATA_IN),
        .TDATA_OUT(TDATA_OUT), .IN_BEATS(IN_BEATS), .OUT_BEATS(OUT_BEATS),
        .MODEL_ID(MODEL_ID), .N_EXT_WEIGHTS({p.n_ext_weights})
    ) u_ctrl (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast),
        .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep),
        .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast),
        .s_axi_ctrl_awaddr(s_axi_ctrl_awaddr), .s_axi_ctrl_awvalid(s_axi_ctrl_awvalid),
        .s_axi_ctrl_awready(s_axi_ctrl_awready), .s_axi_ctrl_wdata(s_axi_ctrl_wdata),
        .s_axi_ctrl_wstrb(s_axi_ctrl_wstrb), .s_axi_ctrl_wvalid(s_axi_ctrl_wvalid),
        .s_axi_ctrl_wready(s_axi_ctrl_wready), .s_axi_ctrl_bresp(s_axi_ctrl_bresp),
        .s_axi_ctrl_bvalid(s_axi_ctrl_bvalid), .s_axi_ctrl_bready(s_axi_ctrl_bready),
        .s_axi_ctrl_araddr(s_axi_ctrl_araddr), .s_axi_ctrl_arvalid(s_axi_ctrl_arvalid),
        .s_axi_ctrl_arready(s_axi_ctrl_arready), .s_axi_ctrl_rdata(s_axi_ctrl_rdata),
        .s_axi_ctrl_rresp(s_axi_ctrl_rresp), .s_axi_ctrl_rvalid(s_axi_ctrl_rvalid),
        .s_axi_ctrl_rready(s_axi_ctrl_rready),
        .acc_rst(acc_rst), .acc_in_data(acc_in_data), .acc_in_valid(acc_in_valid),
        .acc_in_ready(acc_in_ready), .acc_out_data(acc_out_data),
        .acc_out_valid(acc_out_valid), .acc_out_ready(acc_out_ready)
    );
{upsizers}    top u_top (
        .clk(ap_clk), .rst(acc_rst),
{wconn}        .in_data(acc_in_data), .in_valid(acc_in_valid), .in_ready(acc_in_ready),
        .out_data(acc_out_data), .out_valid(acc_out_valid), .out_ready(acc_out_ready),
        .out_last()
    );
endmodule
`default_nettype wire
"""


def ecp5_top_verilog(p: SystemParams, board: str, top: str, baud: int, clks_per_bit: int) -> str:
    """system_top.v of an open ECP5 board: its board top `top` (hw/system, e.g.
    ulx3s_top.v) with this build's stream formats; see hw/system/uart_frame.v for the
    protocol."""
    return f"""// system_top.v — generated by halfwave for '{board}'; do not edit.
// The board top ({top}) with this build's stream formats; see hw/system/uart_frame.v
// for the protocol. UART: {baud} baud ({clks_per_bit} cycles per bit).
`default_nettype none
module system_top (
    input  wire       clk_25mhz,
    input  wire       ftdi_txd,
    output wire       ftdi_rxd,
    input  wire [0:0] btn,
    output wire [7:0] led,
    output wire       wifi_gpio0
);
    {top} #(
        .IN_BYTES({p.in_bytes}), .OUT_BYTES({p.out_bytes}),
        .IN_FRAME_BYTES({p.in_frame_bytes}), .OUT_FRAME_BYTES({p.out_frame_bytes}),
        .MODEL_ID(32'h{p.model_id:08x}), .CLKS_PER_BIT({clks_per_bit})
    ) u_board (
        .clk_25mhz(clk_25mhz), .ftdi_txd(ftdi_txd), .ftdi_rxd(ftdi_rxd), .btn(btn),
        .led(led), .wifi_gpio0(wifi_gpio0)
    );
endmodule
`default_nettype wire
"""


@dataclass(frozen=True)
class VivadoTarget:
    """What the Tcl needs to know about a Zynq board (hw/boards/<name>.json + VIVADO)."""

    name: str
    part: str
    board_part: str
    ps: str  # ps7 (Zynq-7000) or zynq_us (Zynq UltraScale+)
    clock_mhz: float


def vivado_target(board: Board) -> VivadoTarget:
    """A compiler.boards.Board as the Vivado Tcl sees it; the board file's "vivado"
    object overrides the VIVADO facts."""
    v = {"board_part": "", "ps": "ps7", **VIVADO.get(board.name, {}), **board.doc.get("vivado", {})}
    return VivadoTarget(board.name, board.part, v["board_part"], v["ps"], board.clock_mhz)


def vivado_tcl(p: SystemParams, target: VivadoTarget, sources: list[str], mems: list[str],
               model: str) -> str:  # fmt: skip
    """create_project.tcl: hw/system/vivado_system.tcl.in with this build's sources
    (`sources`: top.v's library, in rtl/top.json order), memory files, weight DMAs and
    the accelerator IP's generics."""
    params = axi_verilog_params(p)
    subst = {
        "@PART@": target.part,
        "@BOARD_PART@": target.board_part,
        "@PS@": target.ps,
        "@CLOCK_MHZ@": f"{target.clock_mhz:g}",
        "@SOURCES@": " ".join(["axis_accel.v", *AXI_FILES, *sources]),
        # {k node tdata}: weight DMA axi_dma_w<k> feeds the IP's s_axis_w<k>
        "@WEIGHT_STREAMS@": " ".join(
            f"{{{k} {w.node} {w.tdata}}}" for k, w in enumerate(p.weights)
        ),  # fmt: skip
        "@MEMS@": " ".join(sorted(mems)),
        # MODEL_ID is a [31:0] vector: a bit string for IP-XACT, a sized literal for HDL
        "@PARAMS@": " ".join(
            f"CONFIG.{k} {{{f'0x{val:08X}' if k == 'MODEL_ID' else val}}}"
            for k, val in params.items()
        ),
        "@GENERICS@": " ".join(
            f"{k}=" + (f"32'h{val:08x}" if k == "MODEL_ID" else str(val))
            for k, val in params.items()
        ),
        "@TDATA_IN@": str(p.tdata_in),
        "@TDATA_OUT@": str(p.tdata_out),
        "@BOARD@": target.name,
        "@MODEL@": model,
    }
    tmpl = (SYSTEM_DIR / "vivado_system.tcl.in").read_text()
    for k, val in subst.items():
        tmpl = tmpl.replace(k, val)
    return tmpl
