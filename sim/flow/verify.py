"""The verification ladder: torch float64 -> QONNX execution -> golden -> RTL.

Every rung yields the integer values at every layer boundary (input values, then each
node's output); consecutive rungs are compared with ==, and a pair with no boundary in
common fails. Float outputs leave the integer domain only at the last layer: there the
accumulator is recovered from the float as round((y - bias) / scale), and the distance to
that integer is reported (the margin).

float32 runs (torch, QONNX) may disagree, but only where float32 rounding can decide a
quantiser: at the first boundary where a frame disagrees, every disagreeing value must
come from a float64 pre-quantiser value within F32_ULPS float32 ulps of a threshold
(`threshold_ulps`); later boundaries of that frame follow from it. Anything else fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from halfwave.compiler.ir import MVU, Boundary, Dataflow, MaxPool, TopK
from halfwave.sim import golden

MARGIN_LIMIT = 1e-3  # float error allowed when recovering an integer accumulator
# How close (in float32 ulps at the value's magnitude, quantiser units) a float64
# pre-quantiser value must be to a threshold for a float32 run to fall on the other side:
# BatchNorm and scaling in float32 cancel terms larger than the result, so the error of
# a value near a threshold is a few ulps of those terms, not of the result.
F32_ULPS = 256


@dataclass
class Rung:
    name: str
    values: list[np.ndarray | None]  # per boundary; None where the rung has no view
    margin: float = 0.0  # worst distance of a recovered value to its integer
    notes: list[str] = field(default_factory=list)
    # float64 QONNX rung: per boundary, every value's distance from its pre-quantiser
    # float64 value to the nearest threshold, in float32 ulps (None: no quantiser there)
    threshold_ulps: list[np.ndarray | None] | None = None


@dataclass
class Comparison:
    ref: str
    dut: str
    frames: int
    mismatched_frames: int
    boundaries: int
    first: str = ""  # first mismatch, human readable
    exact: bool = True  # False: a float32 run, disagreements allowed at thresholds only
    unexplained: int = 0  # float32: disagreeing frames not explained by a threshold
    worst_ulps: float = 0.0  # float32: the farthest explained value from its threshold
    why: str = ""  # float32: the first unexplained disagreement

    @property
    def ok(self) -> bool:
        """No boundary in common is a failure too: the pair proved nothing."""
        if self.boundaries == 0:
            return False
        return self.mismatched_frames == 0 if self.exact else self.unexplained == 0

    def line(self, extra: str = "") -> str:
        kind = "mismatches" if self.exact else "disagreements"
        s = (
            f"{self.dut:>12s} vs {self.ref:<12s}: {self.frames} frames, "
            f"{self.mismatched_frames} {kind} over {self.boundaries} boundaries"
        )
        if self.boundaries == 0:
            s += " (FAIL: no boundary in common)"
        if extra:
            s += f", {extra}"
        if not self.exact and self.mismatched_frames:
            s += (
                f"; {self.unexplained} frames NOT at a threshold (FAIL): {self.why}"
                if self.unexplained
                else f"; each a float32 rounding at a threshold (float64 value within "
                f"{self.worst_ulps:.2g} ulps, limit {F32_ULPS})"
            )
        if self.first:
            s += f"; first: {self.first}"
        return s


def compare(ref: Rung, dut: Rung, exact: bool = True) -> Comparison:
    bad = None
    frames = 0
    first = ""
    count = 0
    for b, (r, d) in enumerate(zip(ref.values, dut.values, strict=True)):
        if r is None or d is None:
            continue
        count += 1
        frames = len(r)
        if r.shape != d.shape:
            raise ValueError(f"boundary {b}: {ref.name} has shape {r.shape}, {dut.name} {d.shape}")
        rows = np.any(r != d, axis=1)
        bad = rows if bad is None else bad | rows
        if rows.any() and not first:
            f = int(np.flatnonzero(rows)[0])
            c = int(np.flatnonzero(r[f] != d[f])[0])
            first = (
                f"boundary {b}, frame {f}, element {c}: {ref.name}={r[f, c]} {dut.name}={d[f, c]}"
            )
    return Comparison(
        ref.name, dut.name, frames, int(bad.sum()) if bad is not None else 0, count, first, exact
    )


def recover_integers(f: np.ndarray, scale, bias=0.0) -> tuple[np.ndarray, float]:
    v = (np.asarray(f, dtype=np.float64) - np.asarray(bias)) / np.asarray(scale)
    r = np.round(v)
    return r.astype(np.int64), float(np.abs(v - r).max(initial=0.0))


def _last_raw(df: Dataflow) -> MVU | None:
    raws = [n for n in df.mvus() if n.out_dtype is None]
    return raws[-1] if raws else None


def boundary_of(n) -> Boundary | None:
    return getattr(n, "boundary", None)


def to_stream_order(a: np.ndarray, chw) -> np.ndarray:
    """A model tensor (N, ...) -> (N, values per frame) in stream order: images (N, C, H,
    W) become (N, H, W, C) flattened."""
    a = np.asarray(a)
    if chw:
        a = a.reshape(len(a), *chw).transpose(0, 2, 3, 1)
    return a.reshape(len(a), -1)


def activation_nodes(df: Dataflow) -> list[int]:
    """Indices of the nodes whose output is a quantised activation of the model (where a
    PyTorch model reports codes): thresholded MVUs not followed by a fused pool, fused
    pools and thresholded Adds, in the dataflow's (topological) order."""
    out = []
    for i, n in enumerate(df.nodes):
        if isinstance(n, MVU) and n.out_dtype is not None and n.boundary is not None:
            out.append(i)
        elif n.kind == "Add" and n.out_dtype is not None:  # a residual sum's quantiser
            out.append(i)
        elif isinstance(n, MaxPool) and n.fused:
            out.append(i)
    return out


def outputs_to_values(df: Dataflow, boundary_floats: list[np.ndarray | None]) -> Rung:
    """Float tensors at the boundaries (input first) -> integer values in stream order."""
    values: list[np.ndarray | None] = []
    margin = 0.0
    for i, f in enumerate(boundary_floats):
        if f is None:
            values.append(None)
            continue
        node = df.nodes[i - 1] if i > 0 else None
        if node is None:
            f = to_stream_order(f, df.input.shape if df.input.channels_last else None)
            v, m = recover_integers(f, df.input.scale)
        elif isinstance(node, TopK):
            values.append(np.asarray(f).reshape(len(f), -1).astype(np.int64))
            continue
        else:
            b = boundary_of(node)
            f = to_stream_order(f, b.chw)
            if getattr(node, "out_scale", None) is not None and node.out_dtype is None:
                per = len(node.out_scale)  # raw accumulators (an MVU's, an Add's)
                g = f.reshape(len(f), -1, per)
                v, m = recover_integers(g, node.out_scale, node.out_bias)
                v = v.reshape(len(f), -1)
            else:
                v, m = recover_integers(f, b.scale)
        margin = max(margin, m)
        values.append(v)
    return Rung("", values, margin)


def topk_from_previous(df: Dataflow, values: list[np.ndarray | None]) -> list:
    """A rung without its own TopK (the TopK was added by the compiler) gets the TopK of
    its own last-layer values, ranked by the model's float output order."""
    out = list(values)
    for i, n in enumerate(df.nodes):
        if isinstance(n, TopK) and out[i + 1] is None and out[i] is not None:
            out[i + 1] = golden.run_topk(n, out[i])
    return out


def compare_float32(ref: Rung, dut: Rung, ulps: list[np.ndarray | None] | None) -> Comparison:
    """A float32 rung against the exact one: at the first boundary where a frame
    disagrees, each disagreeing value must sit within F32_ULPS of a threshold in float64
    (`ulps`: Rung.threshold_ulps of the float64 QONNX rung)."""
    c = compare(ref, dut, exact=False)
    seen: set[int] = set()
    for b, (r, d) in enumerate(zip(ref.values, dut.values, strict=True)):
        if r is None or d is None:
            continue
        diff = r != d
        u = ulps[b] if ulps is not None else None
        for f in np.flatnonzero(diff.any(axis=1)):
            if f in seen:
                continue  # follows from the frame's first disagreement
            seen.add(int(f))
            far = None if u is None else float(u[f][diff[f]].max())
            if far is not None and far <= F32_ULPS:
                c.worst_ulps = max(c.worst_ulps, far)
                continue
            c.unexplained += 1
            if not c.why:
                c.why = (
                    f"boundary {b}, frame {f}: no quantiser there to round"
                    if far is None
                    else f"boundary {b}, frame {f}: {far:.3g} ulps from any threshold"
                )
    return c


SHAPE_OPS = ("Mul", "Div", "Add", "Sub", "Neg", "MaxPool")  # between quantiser and boundary


def threshold_ulps(model, ctx: dict, tensor: str) -> np.ndarray | None:
    """For every element of boundary `tensor`: how far its quantiser's float64 input is
    from the nearest threshold, in float32 ulps at the value's magnitude (quantiser
    units). None when `tensor` does not come from a quantiser through elementwise scalar
    ops (and at most one MaxPool, which commutes with a monotonic quantiser)."""
    from qonnx.util.basic import get_by_name

    node, pool = model.find_producer(tensor), None
    while node is not None and node.op_type in SHAPE_OPS:
        if node.op_type == "MaxPool":
            pool = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        data = [i for i in node.input if i and model.get_initializer(i) is None]
        node = model.find_producer(data[0]) if len(data) == 1 else None
    if node is None:
        return None
    x = np.asarray(ctx[node.input[0]], dtype=np.float64)
    if node.op_type == "Quant":
        q = x / ctx[node.input[1]] + ctx[node.input[2]]
        mode = get_by_name(node.attribute, "rounding_mode")
        halves = mode is None or mode.s.decode().startswith("ROUND")
    elif node.op_type == "BipolarQuant":
        q = x / ctx[node.input[1]]
    elif node.op_type == "MultiThreshold":
        q = x
    else:
        return None
    if pool is not None:  # pool(quantise(x)) == quantise(pool(x)) (monotonic quantiser)
        q = _maxpool_f64(q, **pool)
    if node.op_type == "Quant":  # ROUND: steps at k + 1/2; FLOOR/CEIL: at integers
        t = np.floor(q) + 0.5 if halves else np.round(q)
    elif node.op_type == "BipolarQuant":
        t = np.zeros_like(q)
    else:  # the nearest of the channel's thresholds (C or 1 rows; channels on axis 1)
        th = np.asarray(ctx[node.input[1]], dtype=np.float64)
        th = th.reshape(1, th.shape[0], *([1] * (q.ndim - 2)), th.shape[1])
        d = q[..., None] - th
        t = q - np.take_along_axis(d, np.abs(d).argmin(axis=-1)[..., None], axis=-1)[..., 0]
    mag = np.maximum(np.maximum(np.abs(q), np.abs(t)), 1.0).astype(np.float32)
    return np.abs(q - t) / np.spacing(mag).astype(np.float64)


# ---------------------------------------------------------------- QONNX execution rung


def _as_float64(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT:
            arr = numpy_helper.to_array(t).astype(np.float64)
            g.initializer[i].CopyFrom(numpy_helper.from_array(arr, t.name))
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = TensorProto.DOUBLE
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value" and a.t.data_type == TensorProto.FLOAT:
                    arr = numpy_helper.to_array(a.t).astype(np.float64)
                    a.t.CopyFrom(numpy_helper.from_array(arr))
    return m


def _execute_float64(model, x: np.ndarray) -> dict[str, np.ndarray]:
    """qonnx's execute_onnx casts Quant/BipolarQuant outputs to float32; the float64 rung
    runs the same op definitions (qonnx's int_quant / binary_quant) without that cast."""
    from qonnx.core.onnx_exec import execute_node
    from qonnx.custom_op.general.bipolar_quant import binary_quant
    from qonnx.custom_op.general.intquant import int_quant
    from qonnx.util.basic import get_by_name

    ctx = model.make_empty_exec_context()
    ctx = {
        k: (v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype == np.float32 else v)
        for k, v in ctx.items()
    }
    ctx[model.graph.input[0].name] = np.asarray(x, dtype=np.float64)
    opset = next((o.version for o in model.model.opset_import if o.domain in ("", "ai.onnx")), 18)
    for node in model.graph.node:
        if node.op_type == "Quant":
            attr = {
                a: get_by_name(node.attribute, a) for a in ("signed", "narrow", "rounding_mode")
            }
            mode = attr["rounding_mode"].s.decode() if attr["rounding_mode"] else "ROUND"
            ctx[node.output[0]] = int_quant(
                *(ctx[i] for i in node.input[:4]), attr["signed"].i, attr["narrow"].i, mode
            )
        elif node.op_type == "BipolarQuant":
            ctx[node.output[0]] = binary_quant(ctx[node.input[0]], ctx[node.input[1]])
        elif node.op_type in F64_OPS:  # onnxruntime has no float64 kernels
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            ins = [ctx[i] for i in node.input if i]
            ctx[node.output[0]] = F64_OPS[node.op_type](*ins, **attrs)
        else:
            execute_node(node, ctx, model.graph, opset)
    return ctx


def _windows(x: np.ndarray, kernel, strides, pads, fill: float) -> np.ndarray:
    """(N, C, H, W) -> (N, C, OH, OW, KH, KW) windows of the padded input."""
    t, left, b, r = pads
    x = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(2, 3))
    return win[:, :, :: strides[0], :: strides[1]]


def _conv_f64(x, w, bias=None, kernel_shape=None, strides=(1, 1), pads=(0, 0, 0, 0),
              group=1, dilations=(1, 1), **_):  # fmt: skip
    if group != 1 or tuple(dilations) != (1, 1):
        raise ValueError("float64 Conv: only group=1, dilation 1")
    win = _windows(x, w.shape[2:], strides, pads, 0.0)
    y = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


def _maxpool_f64(x, kernel_shape=None, strides=None, pads=(0, 0, 0, 0), **_):
    strides = strides or (1, 1)
    return _windows(x, kernel_shape, strides, pads, -np.inf).max(axis=(-2, -1))


def _avgpool_f64(x, kernel_shape=None, strides=None, pads=(0, 0, 0, 0), **_):
    """AveragePool without padding (the compiler refuses padded average pools)."""
    if any(pads):
        raise ValueError("float64 AveragePool: only unpadded windows")
    return _windows(x, kernel_shape, strides or (1, 1), pads, 0.0).mean(axis=(-2, -1))


def _global_avgpool_f64(x, **_):
    return x.mean(axis=(2, 3), keepdims=True)


F64_OPS = {"Conv": _conv_f64, "MaxPool": _maxpool_f64, "AveragePool": _avgpool_f64,
           "GlobalAveragePool": _global_avgpool_f64}  # fmt: skip


def qonnx_rung(onnx_path: Path, df: Dataflow, x: np.ndarray, float64: bool) -> Rung:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.util.cleanup import cleanup_model

    model = cleanup_model(ModelWrapper(str(onnx_path)))
    model = model.transform(ChangeBatchSize(len(x))).transform(InferShapes())
    if float64:
        m64 = ModelWrapper(_as_float64(model.model))
        ctx = _execute_float64(m64, x)
    else:
        iname = model.graph.input[0].name
        ctx = execute_onnx(
            model, {iname: np.asarray(x, dtype=np.float32)}, return_full_exec_context=True
        )
    floats: list[np.ndarray | None] = [ctx.get(df.input.tensor)]
    for n in df.nodes:
        b = boundary_of(n)
        floats.append(ctx.get(b.tensor) if b is not None else None)
    rung = outputs_to_values(df, floats)
    rung.name = "qonnx-f64" if float64 else "qonnx-f32"
    rung.values = topk_from_previous(df, rung.values)
    if float64:
        rung.threshold_ulps = [_input_ulps(m64, ctx, df)]
        rung.threshold_ulps += [_boundary_ulps(m64, ctx, n) for n in df.nodes]
    return rung


def _input_ulps(model, ctx: dict, df: Dataflow) -> np.ndarray | None:
    """The input quantiser's distances: float32 pre-processing (2*x - 1, mean/std) can
    put a value on the other side of a rounding step."""
    if df.input.kind == "integer" or df.input.tensor not in ctx:
        return None
    u = threshold_ulps(model, ctx, df.input.tensor)
    return None if u is None else to_stream_order(u, df.input.shape if df.input.channels_last
                                                  else None)  # fmt: skip


def _boundary_ulps(model, ctx: dict, node) -> np.ndarray | None:
    b = boundary_of(node)
    if b is None or b.tensor not in ctx:
        return None
    u = threshold_ulps(model, ctx, b.tensor)
    return None if u is None else to_stream_order(u, b.chw)


# ---------------------------------------------------------------- torch rung


def _in_graph_order(df: Dataflow, acts: list[int], codes: list, x: np.ndarray) -> list:
    """The model's codes (in its forward order) assigned to the dataflow's activation
    nodes (in a topological order of the exported graph, where independent branches may
    come in another order): each node takes the first unused code of its size equal to the
    golden values there, else the first unused code of its size (which the ladder then
    reports as a mismatch), so a wrong branch cannot hide."""
    gold = golden.execute(df, x)
    raw = [np.asarray(c) for c in codes]
    used: set[int] = set()
    out = []
    for i in acts:
        chw = df.nodes[i].boundary.chw
        fits = [j for j, c in enumerate(raw) if j not in used and c.size == gold[i + 1].size]
        if not fits:
            raise ValueError(f"node {df.nodes[i].name!r}: no PyTorch activation of its size")
        streams = {j: to_stream_order(raw[j], chw).astype(np.int64) for j in fits}
        same = [j for j in fits if np.array_equal(streams[j], gold[i + 1])]
        j = (same or fits)[0]
        used.add(j)
        out.append(streams[j])
    return out


def torch_rung(model, df: Dataflow, x: np.ndarray, float64: bool) -> Rung:
    import torch

    model = model.double() if float64 else model.float()
    model.eval()
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float64 if float64 else torch.float32)
    with torch.no_grad():
        y, codes = model.forward_with_codes(xt)
    acts = activation_nodes(df)
    if len(codes) != 1 + len(acts):
        raise ValueError(
            f"the PyTorch model has {len(codes) - 1} quantised activations, the "
            f"dataflow {len(acts)}"
        )
    values: list[np.ndarray | None] = [None] * (len(df.nodes) + 1)
    chw_in = df.input.shape if df.input.channels_last else None
    values[0] = to_stream_order(codes[0], chw_in).astype(np.int64)
    if df.is_chain():
        streams = [to_stream_order(c, df.nodes[i].boundary.chw).astype(np.int64)
                   for i, c in zip(acts, codes[1:], strict=True)]  # fmt: skip
    else:
        streams = _in_graph_order(df, acts, codes[1:], x)
    for i, v in zip(acts, streams, strict=True):
        values[i + 1] = v
    margin = 0.0
    raw = _last_raw(df)
    if raw is not None:
        idx = df.nodes.index(raw) + 1
        y = to_stream_order(y.detach().numpy(), raw.boundary.chw)
        g = y.reshape(len(x), -1, len(raw.out_scale))
        v, margin = recover_integers(g, raw.out_scale, raw.out_bias)
        values[idx] = v.reshape(len(x), -1)
    rung = Rung("torch-f64" if float64 else "torch-f32", values, margin)
    rung.values = topk_from_previous(df, rung.values)
    return rung


def golden_rung(df: Dataflow, x: np.ndarray) -> Rung:
    return Rung("golden", golden.execute(df, x))


# ---------------------------------------------------------------- FIFO high-water marks

SLOWDOWN_LIMIT = 0.02  # RTL cycles/frame this far above the cycle model is flagged


@dataclass
class FifoCheck:
    """The FIFO high-water marks of an RTL run against the depths the compiler chose."""

    lines: list[str]
    full: list[str]  # FIFOs whose high-water mark reached their depth
    slowdown: float | None  # measured / predicted cycles per frame - 1 (None: not checked)
    warnings: list[str]

    def as_dict(self, stats: dict) -> dict:
        """fifo_levels.json: every FIFO's depth, width, high-water mark and full cycles."""
        keys = ("cycles_per_frame", "predicted_cycles_per_frame", "cycles")
        return {
            **{k: stats[k] for k in keys if k in stats},
            "slowdown_pct": None if self.slowdown is None else round(100 * self.slowdown, 3),
            "full": self.full,
            "warnings": self.warnings,
            "fifos": stats.get("fifos", []),
        }


def fifo_check(stats: dict, steady: bool = True) -> FifoCheck:
    """Summarise the FIFOs of an RTL run (`stats` of api.simulate). A FIFO that filled
    up is normal in front of a slower node (its producer just runs ahead); it matters
    when the run is slower than the cycle model: then the full FIFOs are where the
    analysis may be too tight. `steady`: the run had no random stalls, so its cycles per
    frame are held to the prediction."""
    fifos = stats.get("fifos") or []
    if not fifos:
        return FifoCheck(["FIFOs: no high-water marks (a build without FIFO stats)"], [], None, [])
    full = [f["name"] for f in fifos if f["max_level"] >= f["depth"]]
    worst = max(fifos, key=lambda f: (f["max_level"] / f["depth"], f["depth"]))
    beats = sum(f["depth"] for f in fifos)
    bits = sum(f["depth"] * f["width"] for f in fifos)
    used = sum(f["max_level"] * f["width"] for f in fifos)
    lines = [
        f"FIFOs: {len(fifos)}, {beats} beats ({bits} bits), {len(full)} filled to their "
        f"depth; max fill {worst['max_level']}/{worst['depth']} ({worst['name']} before "
        f"{worst['node']}); high-water marks use {100 * used / max(1, bits):.1f}% of the bits",
        "  high-water/depth: "
        + ", ".join(f"{f['node']} {f['max_level']}/{f['depth']}" for f in fifos),
    ]
    slowdown, warnings = None, []
    ii, pred = stats.get("cycles_per_frame"), stats.get("predicted_cycles_per_frame")
    if steady and ii is not None and ii == ii and pred:  # ii is NaN for a single frame
        slowdown = ii / pred - 1
        if slowdown > SLOWDOWN_LIMIT:
            culprits = ", ".join(
                f"{f['name']} before {f['node']} ({f['depth']} deep, producer refused "
                f"{f['full_cycles']} cycles)"
                for f in fifos
                if f["name"] in full
            )
            warnings.append(
                f"warning: RTL {100 * slowdown:.1f}% slower than the cycle model ({ii:.1f} "
                f"vs {pred} cycles/frame); FIFOs filled to their depth: {culprits or 'none'}"
                + ("; their depths may be too tight" if culprits else "")
            )
    return FifoCheck(lines, full, slowdown, warnings)
