"""Convolutional models: FINN's CNV and the AlexNet of the released HWGQ code.

Every layer has binary weights (sign * mean|W| per output channel), no bias, a BatchNorm
and a quantised activation, except where stated. Convolutions are square, group 1,
zero-padded; max pools have no padding and round down (ceil_mode 0). Tensors are NCHW;
the flatten before the FC layers is PyTorch's (C, H, W) order.

``cnv_w<W>a<A>[_relu]``, ``cnv_float`` (FINN's CNV; input 3x32x32, UINT8 pixels, scale 1):
    conv 64 -> conv 64 -> pool 2/2 -> conv 128 -> conv 128 -> pool 2/2 -> conv 256 ->
    conv 256 -> FC 512 -> FC 512 -> FC 10 -> affine; every conv 3x3, stride 1, no padding;
    each conv/FC but the last is followed by BN -> act, the pools come after the
    activation (FINN style). Spatial sizes 32 -> 30 -> 28 -> 14 -> 12 -> 10 -> 5 -> 3 -> 1.
    Weights and activations as the FC models (models.py): W bits everywhere, the first
    conv included; the last FC has a per-tensor weight scale.

``hwgq_alexnet`` (input 3x227x227, UINT8 pixels, scale 1; 2-bit uniform HWGQ):
    conv1 96 11x11/4 (8-bit weights, per-channel scale) -> pool 3/2 -> BN -> HWGQ;
    conv2 256 5x5 pad 2 -> pool 3/2 -> BN -> HWGQ (pool before BN in conv1 and conv2);
    conv3 384, conv4 384, conv5 256 3x3 pad 1 -> BN -> HWGQ, then pool 3/2 after conv5;
    fc6 4096, fc7 4096 -> BN -> HWGQ; fc8 1000 (8-bit weights, per-channel scale) -> affine.
    Spatial sizes 227 -> 55 -> 27 -> 27 -> 13 -> 13 -> 6; fc6 has 256*6*6 = 9216 inputs.
    No LRN, no dropout.

``hwgq_alexnet_tiny``: the same layer kinds, kernels, strides, paddings and pool overlaps
    on input 3x99x99 with channels 8, 16, 24, 24, 16, FC 64, 64 and 10 classes.
    Spatial sizes 99 -> 23 -> 11 -> 11 -> 5 -> 5 -> 2 (every pool exact: (n - 3) even),
    so fc6 has 16*2*2 = 64 inputs and the flatten order matters.

Ternary versions (ternary.py; one TTQ scale pair or TWN alpha per layer):
``cnv_ttq_a<A>[_relu]``, ``cnv_twn_a<A>[_relu]``: every CNV layer ternary, the first conv
and the last FC included (where cnv_w1a<A> is binary). ``hwgq_alexnet_ttq``,
``hwgq_alexnet_twn`` (and ``_tiny``): conv2..conv5, fc6 and fc7 ternary; conv1 and fc8
keep their 8-bit weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .brevitas_layers import (
    BN_EPS,
    BN_MOMENTUM,
    BatchNorm1d,
    BatchNorm2d,
    CodeRecorder,
    check_codes,
    head_scale_init,
    input_quant,
)
from .spec import ModelSpec
from .ternary import make_act, make_conv, make_linear


@dataclass(frozen=True)
class ConvLayer:
    out: int  # output channels
    kernel: int
    stride: int = 1
    pad: int = 0  # zero padding on every side
    pool: tuple[int, int] | None = None  # max pool (kernel, stride), no padding
    pool_before_bn: bool = False  # conv -> pool -> BN -> act; else conv -> BN -> act -> pool
    wbits: int | None = None  # weight bits; None: the model's W


@dataclass(frozen=True)
class Architecture:
    input_shape: tuple[int, int, int]  # (C, H, W)
    convs: tuple[ConvLayer, ...]
    hidden: tuple[int, ...]  # FC layers followed by BN -> act
    classes: int
    head_bits: int | None  # last FC's weight bits; None: the model's W
    head_per_channel: bool


def _cnv() -> Architecture:
    c = ConvLayer
    return Architecture(
        (3, 32, 32),
        (c(64, 3), c(64, 3, pool=(2, 2)), c(128, 3), c(128, 3, pool=(2, 2)), c(256, 3), c(256, 3)),
        (512, 512),
        10,
        None,
        False,
    )


def _alexnet(chans: tuple[int, ...], hidden: tuple[int, ...], size: int, classes: int):
    c1, c2, c3, c4, c5 = chans
    return Architecture(
        (3, size, size),
        (
            ConvLayer(c1, 11, 4, 0, pool=(3, 2), pool_before_bn=True, wbits=8),
            ConvLayer(c2, 5, 1, 2, pool=(3, 2), pool_before_bn=True),
            ConvLayer(c3, 3, 1, 1),
            ConvLayer(c4, 3, 1, 1),
            ConvLayer(c5, 3, 1, 1, pool=(3, 2)),
        ),
        hidden,
        classes,
        8,
        True,
    )


ARCHITECTURES = {
    "cnv": _cnv(),
    "hwgq_alexnet": _alexnet((96, 256, 384, 384, 256), (4096, 4096), 227, 1000),
    "hwgq_alexnet_tiny": _alexnet((8, 16, 24, 24, 16), (64, 64), 99, 10),
}


def _pool(x: torch.Tensor, pool: tuple[int, int]) -> torch.Tensor:
    return F.max_pool2d(x, pool[0], pool[1])


class QuantCNN(nn.Module):
    """A convolutional model of :data:`ARCHITECTURES` (see module docstring).

    Parameters: ``convs``/``conv_bns``/``conv_acts`` per convolution, ``linears``/``bns``/
    ``acts`` per hidden FC layer, ``out_linear`` and the affine ``out_scale``/``out_bias``."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        arch = ARCHITECTURES[spec.topology]
        self.spec, self.name, self.arch = spec, spec.name, arch
        self.input_shape = arch.input_shape
        self.n_classes = arch.classes
        quant = spec.wbits != 0

        def bits(b):  # None: the model's weights (ternary, or W bits)
            return b if quant else 0

        self.inp = input_quant(quant)
        chans, h = arch.input_shape[0], arch.input_shape[1]
        self.convs, self.conv_bns = nn.ModuleList(), nn.ModuleList()
        self.shapes: list[tuple[int, int, int]] = []  # (C, H, W) after each conv block
        for layer in arch.convs:
            conv = make_conv(
                spec, chans, layer.out, layer.kernel, layer.stride, layer.pad, bits(layer.wbits)
            )
            self.convs.append(conv)
            self.conv_bns.append(BatchNorm2d(layer.out, eps=BN_EPS, momentum=BN_MOMENTUM))
            h = conv.out_size(h)
            if layer.pool is not None:
                k, s = layer.pool
                if h < k:
                    raise ValueError(f"{spec.name}: pool {k}/{s} on a {h}x{h} map")
                h = (h - k) // s + 1
            chans = layer.out
            self.shapes.append((chans, h, h))
        self.conv_acts = nn.ModuleList(make_act(spec, i) for i in range(len(arch.convs)))
        self.flat_features = chans * h * h
        sizes = (self.flat_features, *arch.hidden)
        self.linears = nn.ModuleList(
            make_linear(spec, i, o, bits(None)) for i, o in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.bns = nn.ModuleList(
            BatchNorm1d(o, eps=BN_EPS, momentum=BN_MOMENTUM) for o in arch.hidden
        )
        n = len(arch.convs)
        self.acts = nn.ModuleList(make_act(spec, n + i) for i in range(len(arch.hidden)))
        self.out_linear = make_linear(
            spec, sizes[-1], arch.classes, bits(arch.head_bits), arch.head_per_channel
        )
        self.out_scale = nn.Parameter(torch.full((arch.classes,), head_scale_init(self.out_linear)))
        self.out_bias = nn.Parameter(torch.zeros(arch.classes))

    def activations(self) -> list[nn.Module]:
        """The activation quantisers in boundary order (convolutions, then FC layers)."""
        return [*self.conv_acts, *self.acts]

    def _head(self, x):
        return self.out_linear(x) * self.out_scale + self.out_bias

    def _pre_act(self, i: int, x: torch.Tensor) -> torch.Tensor:
        layer = self.arch.convs[i]
        z = self.convs[i](x)
        if layer.pool is not None and layer.pool_before_bn:
            z = _pool(z, layer.pool)
        return self.conv_bns[i](z)

    def _post_act(self, i: int, y: torch.Tensor) -> torch.Tensor:
        layer = self.arch.convs[i]
        if layer.pool is not None and not layer.pool_before_bn:
            y = _pool(y, layer.pool)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        for i, act in enumerate(self.conv_acts):
            x = self._post_act(i, act(self._pre_act(i, x)))
        x = x.flatten(1)
        for lin, bn, act in zip(self.linears, self.bns, self.acts, strict=True):
            x = act(bn(lin(x)))
        return self._head(x)

    @torch.no_grad()
    def forward_with_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, list[np.ndarray]]:
        """Output and the integer codes at every quantiser boundary, as int64 arrays: the
        input codes (N, C, H, W), each convolution's activation codes (N, C, H, W, NCHW as
        the model computes them; taken at the activation, i.e. before a pool that follows
        it), then each hidden FC activation's codes (N, C). Checks that each boundary
        tensor divided by its scale is exactly an integer (in float64)."""
        check_codes(self.spec)
        x = x.to(self.out_scale.dtype)
        rec = CodeRecorder(self.name)
        x = rec(self.inp, x, "input")
        for i, act in enumerate(self.conv_acts):
            x = self._post_act(i, rec(act, self._pre_act(i, x), f"conv activation {i}"))
        x = x.flatten(1)
        for i, (lin, bn, act) in enumerate(zip(self.linears, self.bns, self.acts, strict=True)):
            x = rec(act, bn(lin(x)), f"fc activation {i}")
        return self._head(x), rec.codes
