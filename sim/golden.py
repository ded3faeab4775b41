"""Golden integer executor of the dataflow IR (vectorised numpy, no hardware details).

Computes exactly what the hardware computes, node by node, on integer values: each
block's `run` (compiler/blocks) is its golden model.
"""

from __future__ import annotations

import numpy as np

from halfwave.compiler.ir import INPUT, MVU, Dataflow, InputQuant, MaxPool, SlidingWindow, TopK


def quantize_input(inq: InputQuant, x: np.ndarray, preprocessed: bool = False) -> np.ndarray:
    """Float model input (batch first) -> integer values (N, n_in): the host
    pre-processing (compiler/preprocess.py) unless `preprocessed` (x is then what the
    quantiser reads), then the model's own input quantiser (float64 arithmetic, round
    half to even, clip)."""
    if inq.preprocess is not None and not preprocessed:
        x = inq.preprocess.apply(x)
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
    dt = inq.dtype
    v = flat / inq.scale + inq.zero_point
    rounding = {"ROUND": np.round, "HALF_EVEN": np.round, "FLOOR": np.floor, "CEIL": np.ceil}
    v = rounding[inq.rounding](np.clip(v, dt.min, dt.max))
    return (v - inq.zero_point).astype(np.int64)


def run_mvu(node: MVU, x: np.ndarray) -> np.ndarray:
    return node.run(x)


def run_topk(node: TopK, x: np.ndarray) -> np.ndarray:
    return node.run(x)


def run_swg(node: SlidingWindow, x: np.ndarray) -> np.ndarray:
    return node.run(x)


def run_maxpool(node: MaxPool, x: np.ndarray) -> np.ndarray:
    return node.run(x)


def execute(df: Dataflow, x: np.ndarray, preprocessed: bool = False) -> list[np.ndarray]:
    """Integer values at every boundary: [input values, node 0 output, node 1 output, ...],
    each (N, elements per frame) in stream order. `preprocessed`: x is the input
    quantiser's input (the host pre-processing already applied)."""
    values = [quantize_input(df.input, x, preprocessed)]
    by_name = {INPUT: values[0]}
    for k, node in enumerate(df.nodes):
        xs = [by_name[src] for src in df.sources(k)]
        out = node.run_inputs(xs)  # the block's golden model (compiler/blocks)
        by_name[node.name] = out
        values.append(out)
    return values


def dequantize_output(df: Dataflow, values: np.ndarray) -> np.ndarray:
    """The model's output from the last node's integer values."""
    last = df.nodes[-1]
    if isinstance(last, TopK):
        return values
    if last.out_scale is not None:
        return values * np.asarray(last.out_scale) + np.asarray(last.out_bias)
    return values * last.boundary.scale
