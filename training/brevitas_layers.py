"""The weight layers and activations halfwave's named models are built from: ``brevitas.nn``
layers with the quantisers of brevitas_quant.py (and ternary.py), plus how to read the
integer codes at an activation (for the verification ladder).

Weights (no bias): W = 1 binary, sign(W) with scale 1 (latent weights clipped to [-1, 1]
in place, Brevitas' own quantiser); W = 2..8 signed narrow uniform with a power-of-two
scale per output channel (or per tensor), Brevitas' fixed-point quantiser (a power of two
is the same number in float32 and float64); W = 0 float."""

from __future__ import annotations

import brevitas.nn as qnn
import numpy as np
import torch
from brevitas.quant import Uint8ActPerTensorFloatMaxInit
from brevitas.quant.fixed_point import (
    Int8WeightPerChannelFixedPoint,
    Int8WeightPerTensorFixedPoint,
)
from torch import nn

from .brevitas_quant import BinaryWeight, HWGQReLU, InputQuant, SignAct

BN_EPS = float(np.float32(1e-5))  # float32-exact so the exported epsilon equals it
BN_MOMENTUM = 0.1
RELU_INIT_MAX = 3.0  # initial max of a learned-scale QuantReLU


class _OnnxOrderBatchNorm:
    """Inference BatchNorm computed in ONNX's order, (x - mean) / sqrt(var + eps) * gamma +
    beta, in eval mode outside export. PyTorch's kernel computes x * a + (beta - mean * a)
    with a fused multiply-add, which turns an accumulator equal to the mean (frequent with
    binary weights of scale 1 and BatchNorm calibrated on a batch) into +-1e-16 instead of
    0, on the wrong side of HWGQ's first threshold (0, strict) for the exact hardware."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        exporting = torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting()
        if self.training or exporting or self.running_mean is None:
            return super().forward(x)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean, var = self.running_mean.reshape(shape), self.running_var.reshape(shape)
        y = (x - mean) / torch.sqrt(var + self.eps)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y


class BatchNorm1d(_OnnxOrderBatchNorm, nn.BatchNorm1d):
    """``nn.BatchNorm1d``; inference in ONNX's order (see :class:`_OnnxOrderBatchNorm`)."""


class BatchNorm2d(_OnnxOrderBatchNorm, nn.BatchNorm2d):
    """``nn.BatchNorm2d``; inference in ONNX's order (see :class:`_OnnxOrderBatchNorm`)."""


def weight_quant(bits: int, per_channel: bool):
    """The Brevitas weight quantiser for ``bits`` (None: float weights)."""
    if bits == 0:
        return None
    if bits == 1:
        return BinaryWeight
    base = Int8WeightPerChannelFixedPoint if per_channel else Int8WeightPerTensorFixedPoint
    return base.let(bit_width=bits)


class QuantLinear(qnn.QuantLinear):
    """``brevitas.nn.QuantLinear`` without bias, weights of ``bits`` bits (0: float)."""

    def __init__(
        self, in_features: int, out_features: int, bits: int, per_channel=True, quant=None
    ):
        wq = quant if quant is not None else weight_quant(bits, per_channel)
        super().__init__(in_features, out_features, bias=False, weight_quant=wq)
        self.bits, self.per_channel = bits, per_channel


class QuantConv2d(qnn.QuantConv2d):
    """``brevitas.nn.QuantConv2d`` without bias (square kernel, group 1, zero padding)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        pad: int = 0,
        bits: int = 1,
        per_channel: bool = True,
        quant=None,
    ):
        wq = quant if quant is not None else weight_quant(bits, per_channel)
        super().__init__(
            in_channels, out_channels, kernel, stride, pad, bias=False, weight_quant=wq
        )
        self.bits, self.per_channel = bits, per_channel

    def out_size(self, size: int) -> int:
        k, s, p = self.kernel_size[0], self.stride[0], self.padding[0]
        return (size + 2 * p - k) // s + 1


def head_scale_init(head: nn.Module) -> float:
    """Initial output scale of a model whose head is ``head``: for binary weights (scale
    1) the mean |W| of its initial latent weights (kaiming uniform: 0.5 / sqrt(fan in)),
    so that the first logits are as large as with a mean|W| weight scale; else 1."""
    if getattr(head, "bits", None) != 1:
        return 1.0
    return float(head.weight.detach().abs().mean())


def input_quant(quantised: bool) -> nn.Module:
    """The model input: unsigned 8-bit, scale 1 (quantised models), else identity."""
    return qnn.QuantIdentity(act_quant=InputQuant) if quantised else nn.Identity()


def make_act(act: str, bits: int, stochastic: bool = False, seed: int = 0) -> nn.Module:
    """An activation: ``float`` ReLU, ``sign``, ``relu`` (learned-scale k-bit QuantReLU),
    ``hwgq`` / ``hwgq_nonuniform`` (k-bit HWGQ)."""
    if act == "float":
        return nn.ReLU()
    if act == "sign":
        return SignAct(stochastic=stochastic, seed=seed)
    if act == "relu":
        return qnn.QuantReLU(
            act_quant=Uint8ActPerTensorFloatMaxInit, bit_width=bits, max_val=RELU_INIT_MAX
        )
    return HWGQReLU(bit_width=bits, uniform=act == "hwgq")


def act_scale(act: nn.Module) -> float:
    """The scale of an activation's integer codes (value = code * scale)."""
    if isinstance(act, HWGQReLU):
        if not act.hwgq.uniform:
            raise ValueError("non-uniform HWGQ has no integer code scale")
        return float(act.hwgq.table.step)
    if isinstance(act, (SignAct,)):
        return 1.0
    return float(act.act_quant.scale().detach())


@torch.no_grad()
def quantize(act: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(output, integer codes, scale) of activation ``act`` (or the input quantiser) on x."""
    y = act(x)
    if isinstance(act, HWGQReLU):
        return y, act.hwgq.codes(x), act_scale(act)
    s = act_scale(act)
    return y, torch.round(y / s).long(), s


def check_codes(spec) -> None:
    """Refuse to read codes of a model (its ModelSpec) without integer activation codes."""
    if spec.act == "float":
        raise ValueError(f"{spec.name}: a float model has no quantiser boundaries")
    if spec.act == "hwgq_nonuniform":
        raise ValueError(f"{spec.name}: non-uniform HWGQ has no integer code scale")


class CodeRecorder:
    """Collects the integer codes at quantiser boundaries, checking (in float64) that each
    boundary tensor divided by its scale is exactly its integer code."""

    def __init__(self, name: str):
        self.name = name
        self.codes: list[np.ndarray] = []

    def __call__(self, act: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
        y, c, scale = quantize(act, x)
        ratio = y / scale
        exact = torch.equal(ratio, torch.round(ratio)) and torch.equal(ratio.long(), c)
        if y.dtype == torch.float64 and not exact:
            raise AssertionError(f"{self.name}: {what} / scale is not its integer code")
        self.codes.append(c.cpu().numpy().astype(np.int64))
        return y
