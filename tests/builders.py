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

    def linear(self, mh: int, weights: str = "bipolar", per_channel=True, float_w=False):
        w = self.rng.normal(size=(self.n, mh)).astype(np.float32)
        if float_w:
            self.node("MatMul", [self.cur, self.const(w, "w")])
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
