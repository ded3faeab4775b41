"""Hand-built QONNX graphs (onnx.helper) for forms Brevitas does not emit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QONNX = "qonnx.custom_op.general"


class FcBuilder:
    def __init__(self, n_in: int, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.k = 0
        self.n = n_in
        self.cur = "global_in"
        self.n_in = n_in

    def _name(self, p: str) -> str:
        self.k += 1
        return f"{p}_{self.k}"

    def const(self, arr, p="c") -> str:
        name = self._name(p)
        self.inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], domain: str = "", **attrs) -> str:
        out = self._name(op.lower())
        self.nodes.append(
            helper.make_node(op, inputs, [out], name=self._name(op), domain=domain, **attrs)
        )
        self.cur = out
        return out

    def quant_input(self, bits=8, scale=1.0, signed=0):
        self.node(
            "Quant",
            [self.cur, self.const(scale), self.const(0.0), self.const(bits)],
            QONNX,
            signed=signed,
            narrow=0,
            rounding_mode="ROUND",
        )
        return self

    def ternary_weights(self, wt: np.ndarray, kind: str, axis: int) -> str:
        """Ternary weights: "ternary" = Brevitas-style 2-bit narrow Quant, one scale;
        "ttq" = halfwave's two-scale form: Quant with an elementwise scale, Wp on the +1
        codes and Wn on the -1 codes (fixed-point values whose ratio is not a power of 2).
        Zero rows/columns (along `axis`) are included."""
        t = 0.7 * np.abs(wt).mean()
        codes = np.where(wt > t, 1, np.where(wt < -t, -1, 0)).astype(np.float32)
        np.moveaxis(codes, axis, 0)[0] = 0  # an all-zero output channel
        if kind == "ternary":
            scale = np.float32(0.375)
        else:
            wp, wn = np.float32(13 / 16), np.float32(9 / 32)
            scale = np.where(codes < 0, wn, wp).astype(np.float32)
        ins = [self.const(codes * scale, "w"), self.const(scale), self.const(0.0),
               self.const(2.0)]  # fmt: skip
        return self.node("Quant", ins, QONNX, signed=1, narrow=1, rounding_mode="ROUND")

    def linear(self, mh: int, weights: str = "bipolar", per_channel=True, float_w=False):
        w = self.rng.normal(size=(self.n, mh)).astype(np.float32)
        if float_w:
            self.node("MatMul", [self.cur, self.const(w, "w")])
        elif weights in ("ternary", "ttq"):
            x = self.cur
            self.node("MatMul", [x, self.ternary_weights(w, weights, axis=1)])
        else:
            scale = (
                np.abs(w).mean(axis=0, keepdims=True)
                if per_channel
                else np.float32(np.abs(w).mean())
            )
            x = self.cur
            wq = self.node("BipolarQuant", [self.const(w, "w"), self.const(scale)], QONNX)
            self.node("MatMul", [x, wq])
        self.n = mh
        return self

    def batchnorm(self):
        n = self.n
        gamma = self.rng.uniform(0.2, 2, n) * self.rng.choice([-1, 1], n)
        var = self.rng.uniform(0.5, 30, n)
        var[0] = 0.0
        self.node(
            "BatchNormalization",
            [
                self.cur,
                self.const(gamma),
                self.const(self.rng.normal(0, 1, n)),
                self.const(self.rng.normal(0, 4, n)),
                self.const(var),
            ],
            epsilon=1e-5,
        )
        return self

    def hwgq(self, step=0.538, thresholds=(0.0, 0.807, 1.345)):
        """step * #(x > t_k), written with MultiThreshold's >= via negation."""
        t = np.float32(thresholds)
        neg = self.node("Neg", [self.cur])
        mt = self.node(
            "MultiThreshold",
            [neg, self.const(np.sort(-t)[None, :])],
            QONNX,
            out_dtype=f"UINT{len(t).bit_length()}",
            data_layout="NC",
        )
        del neg, mt
        self.node("Sub", [self.const(float(len(t))), self.cur])
        self.node("Mul", [self.cur, self.const(np.float32(step))])
        return self

    def multithreshold(self, n_t=3, out_bias=-2.0):
        thr = np.sort(self.rng.normal(0, 2, (self.n, n_t)), axis=1)
        self.node(
            "MultiThreshold",
            [self.cur, self.const(thr)],
            QONNX,
            out_dtype="INT2",
            out_bias=out_bias,
            data_layout="NC",
        )
        return self

    def bipolar_act(self):
        self.node("BipolarQuant", [self.cur, self.const(1.0)], QONNX)
        return self

    def op(self, op: str, *consts):
        self.node(op, [self.cur, *[self.const(c) for c in consts]])
        return self

    def save(self, path: Path) -> Path:
        graph = helper.make_graph(
            self.nodes,
            "fc",
            [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [1, self.n_in])],
            [helper.make_tensor_value_info(self.cur, TensorProto.FLOAT, [1, self.n])],
            self.inits,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)]
        )
        onnx.save(model, str(path))
        return path


class ConvBuilder(FcBuilder):
    """Image networks: (N, C, H, W) input, Conv/MaxPool/BatchNorm/activations, then a
    Flatten and FcBuilder's layers."""

    def __init__(self, chw: tuple[int, int, int], seed: int = 0):
        super().__init__(int(np.prod(chw)), seed)
        self.chw = tuple(chw)
        self.in_chw = tuple(chw)

    def conv(self, oc: int, k, stride=1, pads=(0, 0, 0, 0), weights="bipolar", bias=False):
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        c, h, w = self.chw
        wt = self.rng.normal(size=(oc, c, kh, kw)).astype(np.float32)
        x = self.cur
        if weights == "bipolar":
            scale = np.abs(wt).mean(axis=(1, 2, 3), keepdims=True)
            wq = self.node("BipolarQuant", [self.const(wt, "w"), self.const(scale)], QONNX)
        elif weights in ("ternary", "ttq"):
            wq = self.ternary_weights(wt, weights, axis=0)
        else:  # signed narrow k-bit, per-channel scale
            bits = int(weights.removeprefix("int"))
            scale = np.abs(wt).max(axis=(1, 2, 3), keepdims=True) / (2 ** (bits - 1) - 1)
            wq = self.node(
                "Quant",
                [self.const(wt, "w"), self.const(scale), self.const(0.0), self.const(bits)],
                QONNX,
                signed=1,
                narrow=1,
                rounding_mode="ROUND",
            )
        ins = [x, wq] + ([self.const(self.rng.normal(0, 3, oc))] if bias else [])
        self.node("Conv", ins, kernel_shape=[kh, kw], strides=[sh, sw], pads=list(pads), group=1)
        t, left, b, r = pads
        self.chw = (oc, (h + t + b - kh) // sh + 1, (w + left + r - kw) // sw + 1)
        self.n = oc
        return self

    def maxpool(self, k: int, s: int):
        c, h, w = self.chw
        self.node("MaxPool", [self.cur], kernel_shape=[k, k], strides=[s, s])
        self.chw = (c, (h - k) // s + 1, (w - k) // s + 1)
        return self

    def hwgq(self, step=0.538, thresholds=(0.0, 0.807, 1.345)):
        t = np.float32(thresholds)
        self.node("Neg", [self.cur])
        self.node(
            "MultiThreshold",
            [self.cur, self.const(np.sort(-t)[None, :])],
            QONNX,
            out_dtype=f"UINT{len(t).bit_length()}",
            data_layout="NCHW" if len(self.chw) == 3 and self.n == self.chw[0] else "NC",
        )
        self.node("Sub", [self.const(float(len(t))), self.cur])
        self.node("Mul", [self.cur, self.const(np.float32(step))])
        return self

    def quant_input(self, bits=8, scale=1.0, signed=0):
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        self.calib = self.rng.integers(lo, hi + 1, size=(16, *self.in_chw)) * scale
        return super().quant_input(bits, scale, signed)

    def batchnorm(self):
        """BatchNorm with statistics measured on random inputs (so that the activation's
        codes spread), perturbed, with negative scales and one zero-variance channel."""
        n = self.n
        y = self._execute_partial()
        axes = (0, 2, 3) if y.ndim == 4 else (0,)
        mean = y.mean(axis=axes) + self.rng.normal(0, 0.2, n) * (y.std(axis=axes) + 1)
        var = y.var(axis=axes) * self.rng.uniform(0.5, 2, n) + 1e-3
        var[0] = 0.0
        gamma = self.rng.uniform(0.3, 1.5, n) * self.rng.choice([-1, 1], n)
        self.node(
            "BatchNormalization",
            [
                self.cur,
                self.const(gamma),
                self.const(self.rng.normal(0.6, 0.5, n)),
                self.const(mean),
                self.const(var),
            ],
            epsilon=1e-5,
        )
        return self

    def _execute_partial(self) -> np.ndarray:
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.transformation.infer_shapes import InferShapes

        graph = helper.make_graph(
            self.nodes,
            "partial",
            [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [16, *self.in_chw])],
            [helper.make_tensor_value_info(self.cur, TensorProto.FLOAT, None)],
            self.inits,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)]
        )
        wrapped = ModelWrapper(model).transform(InferShapes())
        out = execute_onnx(wrapped, {"global_in": self.calib.astype(np.float32)})
        return np.asarray(out[self.cur], dtype=np.float64)

    flat = False

    def flatten(self):
        self.node("Flatten", [self.cur], axis=1)
        self.n = int(np.prod(self.chw))
        self.flat = True
        return self

    def save(self, path: Path) -> Path:
        out_shape = [1, self.n] if self.flat else [1, *self.chw]
        graph = helper.make_graph(
            self.nodes,
            "conv",
            [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [1, *self.in_chw])],
            [helper.make_tensor_value_info(self.cur, TensorProto.FLOAT, out_shape)],
            self.inits,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)]
        )
        onnx.save(model, str(path))
        return path
