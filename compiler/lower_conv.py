"""Convolution pieces of the lowering: Conv/MaxPool geometry, im2col weight order, the
NCHW -> channel-fastest column permutation of the first FC layer after a flatten.

Streams carry images pixel by pixel (row-major), channels fastest; a convolution is a
SlidingWindow node (im2col on the stream) followed by an MVU whose columns are in
(ky, kx, c) order, run once per output pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datatypes import BIPOLAR, DataType
from .errors import CompileError
from .ir import SlidingWindow
from .onnx_graph import Node


@dataclass(frozen=True)
class Window:
    """Kernel, stride and padding (top, left, bottom, right) of a Conv or MaxPool."""

    KH: int
    KW: int
    SH: int
    SW: int
    pads: tuple[int, int, int, int]

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        t, left, b, r = self.pads
        return (h + t + b - self.KH) // self.SH + 1, (w + left + r - self.KW) // self.SW + 1


def window_of(node: Node, kernel: tuple[int, int] | None, chw: tuple[int, int, int]) -> Window:
    """Read kernel_shape/strides/pads/dilations (checked) of a 2-D Conv or MaxPool."""
    attrs = node.attrs
    ks = tuple(int(k) for k in attrs.get("kernel_shape", kernel or ()))
    if len(ks) != 2:
        raise CompileError(f"only 2-D {node.op} is supported (kernel {list(ks)})", node.name)
    if kernel is not None and ks != tuple(kernel):
        raise CompileError(
            f"kernel_shape {list(ks)} does not match the weights {list(kernel)}", node.name
        )
    strides = tuple(int(s) for s in attrs.get("strides", (1, 1)))
    dil = tuple(int(d) for d in attrs.get("dilations", (1, 1)))
    if dil != (1, 1):
        raise CompileError(f"dilations {list(dil)} are not supported (only 1)", node.name)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad not in ("NOTSET", "VALID"):
        raise CompileError(f"auto_pad={auto_pad} is not supported; give explicit pads", node.name)
    pads = tuple(int(p) for p in attrs.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4 or min(pads) < 0:
        raise CompileError(f"pads {list(pads)} must be 4 non-negative values", node.name)
    win = Window(ks[0], ks[1], strides[0], strides[1], pads)
    oh, ow = win.out_hw(chw[1], chw[2])
    if oh < 1 or ow < 1 or min(strides) < 1:
        raise CompileError(
            f"kernel {list(ks)} stride {list(strides)} pads {list(pads)} do not fit the "
            f"{chw[1]}x{chw[2]} input",
            node.name,
        )
    return win


def im2col_columns(values: np.ndarray) -> np.ndarray:
    """Conv weights (OC, IC, KH, KW) -> (OC, KH*KW*IC), columns in (ky, kx, c) order."""
    oc = values.shape[0]
    return np.ascontiguousarray(values.transpose(0, 2, 3, 1)).reshape(oc, -1)


def flatten_columns(values: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """FC weights (MH, C*H*W) indexed like PyTorch's NCHW flatten -> columns in stream
    order (h, w, c)."""
    c, h, w = chw
    mh = values.shape[0]
    return np.ascontiguousarray(values.reshape(mh, c, h, w).transpose(0, 2, 3, 1)).reshape(mh, -1)


def sliding_window(
    name: str, win: Window, chw: tuple[int, int, int], dt: DataType, conv: Node
) -> SlidingWindow:
    if dt == BIPOLAR and any(win.pads):
        raise CompileError(
            "zero padding of a bipolar (+-1) input has no code for 0; pad before the sign "
            "activation or use unpadded convolutions",
            conv.name,
        )
    return SlidingWindow(
        name,
        C=chw[0],
        IH=chw[1],
        IW=chw[2],
        KH=win.KH,
        KW=win.KW,
        SH=win.SH,
        SW=win.SW,
        pads=list(win.pads),
        dtype=dt.name,
        pad_value=0,
    )


def pool_window(node: Node, chw: tuple[int, int, int], pads_ok: bool = False) -> Window:
    """MaxPool geometry; padding (unless `pads_ok`: a pool on codes) and ceil_mode that
    changes the output are refused."""
    win = window_of(node, None, chw)
    if any(win.pads) and not pads_ok:
        raise CompileError(
            f"MaxPool padding {list(win.pads)} between a layer's matrix product and its "
            "quantiser is not supported (pad the quantised codes instead)",
            node.name,
        )
    if node.attrs.get("ceil_mode", 0):
        h, w = chw[1] + win.pads[0] + win.pads[2], chw[2] + win.pads[1] + win.pads[3]
        if (h - win.KH) % win.SH or (w - win.KW) % win.SW:
            raise CompileError(
                "MaxPool ceil_mode=1 with a partial last window is not supported", node.name
            )
    if node.attrs.get("storage_order", 0):
        raise CompileError("MaxPool storage_order=1 is not supported", node.name)
    if len(node.outputs) > 1 and node.outputs[1]:
        raise CompileError("MaxPool with an Indices output is not supported", node.name)
    return win
