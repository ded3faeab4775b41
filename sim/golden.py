"""Golden integer executor of the dataflow IR (vectorised numpy, no hardware details).

Computes exactly what the hardware computes, node by node, on integer values.
"""

from __future__ import annotations

import numpy as np

from halfwave.compiler.ir import MVU, Dataflow, InputQuant, MaxPool, SlidingWindow, TopK


def quantize_input(inq: InputQuant, x: np.ndarray) -> np.ndarray:
    """Float model input (batch first) -> integer values (N, n_in), as the model's own
    input quantiser does it (float64 arithmetic, round half to even, clip)."""
    x = np.asarray(x, dtype=np.float64)
    if inq.channels_last:  # (N, C, H, W) -> stream order (N, H, W, C)
        x = x.reshape(len(x), *inq.shape).transpose(0, 2, 3, 1)
    flat = x.reshape(len(x), -1)
    if inq.kind == "integer":
        if not np.all(flat == np.round(flat)):
            raise ValueError("the model takes integer inputs, but X holds fractions")
        return flat.astype(np.int64)
    if inq.kind == "bipolar":
        return np.where(flat / inq.scale >= 0, 1, -1).astype(np.int64)
    from halfwave.compiler.datatypes import DataType

    dt = DataType.parse(inq.dtype)
    v = flat / inq.scale + inq.zero_point
    rounding = {"ROUND": np.round, "HALF_EVEN": np.round, "FLOOR": np.floor, "CEIL": np.ceil}
    v = rounding[inq.rounding](np.clip(v, dt.min, dt.max))
    return (v - inq.zero_point).astype(np.int64)


def _matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer x @ w.T (float64 BLAS when every partial sum fits in 2^52)."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).max(initial=0)) * w.shape[1]
    if bound < 2.0**52:
        return np.rint(x.astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w.T.astype(np.int64)


def run_mvu(node: MVU, x: np.ndarray) -> np.ndarray:
    """Values (N, vectors*MW) -> values (N, vectors*MH); raw accumulators when the node has
    no thresholds. XNOR accumulators are popcounts: (dot + MW) / 2."""
    n = len(x)
    return _run_mvu_vectors(node, x.reshape(n * node.vectors, node.MW)).reshape(n, -1)


def _run_mvu_vectors(node: MVU, x: np.ndarray) -> np.ndarray:
    acc = _matmul(x, node.weights)
    if node.mode == "xnor":
        acc = (acc + node.MW) // 2
    if node.thresholds is None:
        return acc
    count = (acc[:, :, None] >= node.thresholds[None, :, :]).sum(axis=-1)
    if node.out_dtype == "BIPOLAR":
        return 2 * count - 1
    return node.out_base + count


def run_topk(node: TopK, x: np.ndarray) -> np.ndarray:
    """Indices of the K largest values, larger first, equal values lower index first."""
    return np.argsort(-x, axis=1, kind="stable")[:, : node.K].astype(np.int64)


def run_swg(node: SlidingWindow, x: np.ndarray) -> np.ndarray:
    """Pixels (N, IH*IW*C) -> windows (N, OH*OW*KH*KW*C), element (ky, kx, c) of window
    (oy, ox) = padded image[oy*SH + ky, ox*SW + kx, c]."""
    n = len(x)
    img = x.reshape(n, node.IH, node.IW, node.C)
    t, left, b, r = node.pads
    img = np.pad(img, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=node.pad_value)
    win = np.lib.stride_tricks.sliding_window_view(img, (node.KH, node.KW), axis=(1, 2))
    win = win[:, :: node.SH, :: node.SW][:, : node.OH, : node.OW]  # (N, OH, OW, C, KH, KW)
    return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n, -1)


def run_maxpool(node: MaxPool, x: np.ndarray) -> np.ndarray:
    """Pixels (N, IH*IW*C) -> (N, OH*OW*C): max over each window (min for min_channels)."""
    n = len(x)
    img = x.reshape(n, node.IH, node.IW, node.C)
    win = np.lib.stride_tricks.sliding_window_view(img, (node.KH, node.KW), axis=(1, 2))
    win = win[:, :: node.SH, :: node.SW][:, : node.OH, : node.OW]  # (N, OH, OW, C, KH, KW)
    out = win.max(axis=(-2, -1))
    if node.min_channels:
        ch = np.asarray(node.min_channels)
        out[..., ch] = win[..., ch, :, :].min(axis=(-2, -1))
    return out.reshape(n, -1)


RUN = {MVU: run_mvu, TopK: run_topk, SlidingWindow: run_swg, MaxPool: run_maxpool}


def execute(df: Dataflow, x: np.ndarray) -> list[np.ndarray]:
    """Integer values at every boundary: [input values, node 0 output, node 1 output, ...],
    each (N, elements per frame) in stream order."""
    values = [quantize_input(df.input, x)]
    for node in df.nodes:
        values.append(RUN[type(node)](node, values[-1]))
    return values


def dequantize_output(df: Dataflow, values: np.ndarray) -> np.ndarray:
    """The model's output from the last node's integer values."""
    last = df.nodes[-1]
    if isinstance(last, TopK):
        return values
    if last.out_scale is not None:
        return values * np.asarray(last.out_scale) + np.asarray(last.out_bias)
    return values * last.boundary.scale
