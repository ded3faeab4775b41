"""Residual and inception models: the ResNets of the TTQ and HWGQ papers and GoogLeNet.

Every model: input quantiser (UINT8, scale 1) -> stem conv (8-bit weights, power-of-two
scale per output channel) -> BN -> HWGQ 2-bit -> body -> global average pool -> flatten ->
FC (8-bit weights, per-channel scale, no bias) -> per-class affine (``out_scale``,
``out_bias``), as the other named models' heads. Every other conv has the model's weights
(binary: sign, scale 1; ternary: TTQ), no bias, and is followed by a BatchNorm. Every
activation is HWGQ 2-bit uniform (:class:`~halfwave.training.brevitas_quant.HWGQReLU`),
whose scale (step) is a constant of the bit width, so every activation tensor of a model
has the same scale. Convolutions are square, group 1, zero-padded; max pools pad with
-inf and round down (ceil_mode 0).

BasicBlock (both ResNet families; the quantisation points are explicit)::

    out = act_out(bn2(conv2(act1(bn1(conv1(x))))) + shortcut(x))

x is the block input (an HWGQ output, or a max pool of one); conv1 3x3/s pad 1, conv2 3x3/1
pad 1; shortcut(x) = x where shape is kept, else bn_sc(conv_sc(x)) with conv_sc 1x1/s (the
model's weights, "option B"). Exported (export.py) the Add reads a BatchNormalization output
and either the previous quantiser's output (the ``Mul`` ending HWGQ's
Neg -> MultiThreshold -> Sub -> Mul, or a MaxPool of it) or a second BatchNormalization
output (downsampling blocks); the Add's output goes to the next HWGQ.

``ttq_resnet20/32/44/56`` (He et al. 2016, CIFAR variant; input 3x32x32): conv 3x3/1 pad 1,
16 ch -> three stages of n = (depth - 2) / 6 BasicBlocks of 16, 32, 64 channels (stride 2
at the first block of stages 2 and 3, with a 1x1/2 conv shortcut) -> GAP -> FC 10. TTQ
ternary weights in every block conv and shortcut conv; the stem conv and the FC have
8-bit weights, where the TTQ paper keeps them full precision. Spatial 32 -> 32 -> 16 -> 8.
The 1x1/2 shortcut ends in its own 2-bit HWGQ (act_out(bn2(...) + act_sc(bn_sc(conv_sc x))),
a quantised shortcut as in many quantised ResNets): TTQ's 8-bit fixed-point weight
magnitudes make both accumulators of a downsampling Add take > 10^4 values, where no
small exact integer form of "a1*acc1 + a2*acc2 >= t" exists (halfwave refuses such an Add
in one sentence); with the shortcut quantised the Add is "BatchNorm + codes", decided
exactly with a threshold per shortcut code.

``hwgq_resnet18`` (He et al. ResNet-18 as in the HWGQ paper; input 3x224x224): conv 7x7/2
pad 3, 64 ch -> BN -> HWGQ -> max pool 3/2 pad 1 -> four stages of two BasicBlocks of 64,
128, 256, 512 channels (stride 2 and a 1x1/2 conv shortcut at the first block of stages
2..4) -> GAP -> FC 1000. Binary weights (W1A2) except the stem conv and the FC (8-bit, as
the paper keeps the first and last layers full precision). Spatial 224 -> 112 -> 56 -> 56
-> 28 -> 14 -> 7.

``hwgq_resnet18_tiny`` (input 3x32x32): the same layer kinds at CI size: conv 7x7/2 pad 3,
16 ch -> BN -> HWGQ -> max pool 3/2 pad 1 -> stage 1: one identity block of 16; stage 2:
two blocks of 32 (a 1x1/2 conv shortcut, then an identity block); stage 3: one block of
64 (1x1/2 conv shortcut) -> GAP -> FC 10. Spatial 32 -> 16 -> 8 -> 8 -> 4 -> 2.

Inception block (GoogLeNet, Szegedy et al. 2015), four branches joined by a channel
Concat in this order: 1x1; 1x1 -> 3x3 pad 1; 1x1 -> 5x5 pad 2; max pool 3/1 pad 1 -> 1x1.
Every conv -> BN -> HWGQ, so every branch ends in its own HWGQ and the Concat joins four
quantised tensors of equal scale (HWGQ's constant step; nothing learned can make them
differ). The max-pool branch pools the block input (an HWGQ output or a max pool of one).

``hwgq_googlenet_tiny`` (input 3x32x32): conv 3x3/2 pad 1, 16 ch -> max pool 3/2 pad 1 ->
inception (8; 8->16; 4->8; 8) = 40 ch -> inception (16; 12->24; 4->8; 8) = 56 ch -> max pool
3/2 pad 1 -> inception (16; 16->32; 4->8; 8) = 64 ch -> GAP -> FC 10. Spatial 32 -> 16 -> 8
-> 4. W1A2 HWGQ, stem conv and FC 8-bit.

``hwgq_googlenet`` (input 3x224x224): GoogLeNet v1 without the auxiliary heads, LRN and
dropout: conv 7x7/2 pad 3, 64 -> max pool 3/2 pad 1 -> conv 1x1 64 -> conv 3x3 pad 1 192 ->
max pool 3/2 pad 1 -> 3a, 3b -> max pool -> 4a..4e -> max pool -> 5a, 5b -> GAP -> FC 1000
(the paper's channel table; its pools round up without padding, here they pad 1 and round
down, which gives the same sizes 112 -> 56 -> 28 -> 14 -> 7). W1A2 HWGQ, conv1 and FC 8-bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .brevitas_layers import (
    BN_EPS,
    BN_MOMENTUM,
    BatchNorm2d,
    CodeRecorder,
    check_codes,
    head_scale_init,
    input_quant,
)
from .spec import ModelSpec
from .ternary import make_act, make_conv, make_linear

FIXED_BITS = 8  # stem conv and FC weights


@dataclass(frozen=True)
class Stem:
    out: int
    kernel: int
    stride: int
    pad: int
    pool: tuple[int, int, int] | None  # max pool (kernel, stride, padding)


@dataclass(frozen=True)
class ResNetArch:
    input_shape: tuple[int, int, int]
    stem: Stem
    stages: tuple[tuple[int, int, int], ...]  # (channels, blocks, stride of the first)
    classes: int
    # the 1x1 conv shortcut ends in its own HWGQ (TTQ: see the module docstring)
    quant_shortcut: bool = False


@dataclass(frozen=True)
class InceptionSpec:
    c1: int  # 1x1 branch
    c3r: int  # 1x1 reduction before the 3x3
    c3: int
    c5r: int  # 1x1 reduction before the 5x5
    c5: int
    pool_proj: int  # 1x1 after the 3x3/1 max pool

    @property
    def out(self) -> int:
        return self.c1 + self.c3 + self.c5 + self.pool_proj


POOL = "pool"  # a 3/2 pad 1 max pool between inception blocks


@dataclass(frozen=True)
class GoogLeNetArch:
    input_shape: tuple[int, int, int]
    stem: tuple[Stem, ...]  # conv layers (with an optional pool after each)
    body: tuple[InceptionSpec | str, ...]
    classes: int


def _cifar_resnet(depth: int) -> ResNetArch:
    n = (depth - 2) // 6
    return ResNetArch(
        (3, 32, 32), Stem(16, 3, 1, 1, None), ((16, n, 1), (32, n, 2), (64, n, 2)), 10, True
    )


_I = InceptionSpec
RES_ARCHITECTURES: dict[str, ResNetArch | GoogLeNetArch] = {
    **{f"ttq_resnet{d}": _cifar_resnet(d) for d in (20, 32, 44, 56)},
    "hwgq_resnet18": ResNetArch(
        (3, 224, 224),
        Stem(64, 7, 2, 3, (3, 2, 1)),
        ((64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)),
        1000,
    ),
    "hwgq_resnet18_tiny": ResNetArch(
        (3, 32, 32), Stem(16, 7, 2, 3, (3, 2, 1)), ((16, 1, 1), (32, 2, 2), (64, 1, 2)), 10
    ),
    "hwgq_googlenet_tiny": GoogLeNetArch(
        (3, 32, 32),
        (Stem(16, 3, 2, 1, (3, 2, 1)),),
        (_I(8, 8, 16, 4, 8, 8), _I(16, 12, 24, 4, 8, 8), POOL, _I(16, 16, 32, 4, 8, 8)),
        10,
    ),
    "hwgq_googlenet": GoogLeNetArch(
        (3, 224, 224),
        (Stem(64, 7, 2, 3, (3, 2, 1)), Stem(64, 1, 1, 0, None), Stem(192, 3, 1, 1, (3, 2, 1))),
        (
            _I(64, 96, 128, 16, 32, 32),
            _I(128, 128, 192, 32, 96, 64),
            POOL,
            _I(192, 96, 208, 16, 48, 64),
            _I(160, 112, 224, 24, 64, 64),
            _I(128, 128, 256, 24, 64, 64),
            _I(112, 144, 288, 32, 64, 64),
            _I(256, 160, 320, 32, 128, 128),
            POOL,
            _I(256, 160, 320, 32, 128, 128),
            _I(384, 192, 384, 48, 128, 128),
        ),
        1000,
    ),
}


def _bn(c: int) -> BatchNorm2d:
    return BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


def _quant(act: nn.Module, x: torch.Tensor, rec: CodeRecorder | None, what: str):
    """``act(x)``, recording the codes when ``rec`` is given."""
    return act(x) if rec is None else rec(act, x, what)


class _Counter:
    """Hands out activation indices (they seed stochastic activations, none here)."""

    def __init__(self):
        self.n = 0

    def act(self, spec: ModelSpec) -> nn.Module:
        self.n += 1
        return make_act(spec, self.n - 1)


class ConvBNAct(nn.Module):
    """conv -> BN -> act (``bits``: fixed weight bits; None: the model's weights)."""

    def __init__(self, spec, acts: _Counter, cin, cout, kernel, stride=1, pad=0, bits=None):
        super().__init__()
        self.conv = make_conv(spec, cin, cout, kernel, stride, pad, bits)
        self.bn = _bn(cout)
        self.act = acts.act(spec)

    def forward(self, x, rec=None, what="conv"):
        return _quant(self.act, self.bn(self.conv(x)), rec, what)

    def activations(self) -> list[nn.Module]:
        return [self.act]


class BasicBlock(nn.Module):
    """``act_out(bn2(conv2(act1(bn1(conv1(x))))) + shortcut(x))`` (module docstring)."""

    def __init__(self, spec, acts: _Counter, cin: int, cout: int, stride: int,
                 quant_shortcut: bool = False):  # fmt: skip
        super().__init__()
        self.conv1 = make_conv(spec, cin, cout, 3, stride, 1)
        self.bn1 = _bn(cout)
        self.act1 = acts.act(spec)
        self.conv2 = make_conv(spec, cout, cout, 3, 1, 1)
        self.bn2 = _bn(cout)
        self.downsample = stride != 1 or cin != cout
        if self.downsample:
            self.conv_sc = make_conv(spec, cin, cout, 1, stride, 0)
            self.bn_sc = _bn(cout)
        self.act_sc = acts.act(spec) if self.downsample and quant_shortcut else None
        self.act_out = acts.act(spec)

    def shortcut(self, x: torch.Tensor, rec=None, what="block") -> torch.Tensor:
        if not self.downsample:
            return x
        y = self.bn_sc(self.conv_sc(x))
        return y if self.act_sc is None else _quant(self.act_sc, y, rec, f"{what} shortcut")

    def forward(self, x, rec=None, what="block"):
        h = _quant(self.act1, self.bn1(self.conv1(x)), rec, f"{what} act1")
        y = self.bn2(self.conv2(h)) + self.shortcut(x, rec, what)
        return _quant(self.act_out, y, rec, f"{what} out")

    def activations(self) -> list[nn.Module]:
        return [self.act1, *([self.act_sc] if self.act_sc is not None else []), self.act_out]


class Inception(nn.Module):
    """Four branches (1x1; 1x1 -> 3x3; 1x1 -> 5x5; max pool 3/1 -> 1x1), each ending in its
    own HWGQ, joined by a channel Concat."""

    def __init__(self, spec, acts: _Counter, cin: int, s: InceptionSpec):
        super().__init__()
        self.b1 = ConvBNAct(spec, acts, cin, s.c1, 1)
        self.b3 = nn.ModuleList(
            [ConvBNAct(spec, acts, cin, s.c3r, 1), ConvBNAct(spec, acts, s.c3r, s.c3, 3, 1, 1)]
        )
        self.b5 = nn.ModuleList(
            [ConvBNAct(spec, acts, cin, s.c5r, 1), ConvBNAct(spec, acts, s.c5r, s.c5, 5, 1, 2)]
        )
        self.pool = nn.MaxPool2d(3, 1, 1)
        self.bp = ConvBNAct(spec, acts, cin, s.pool_proj, 1)

    def forward(self, x, rec=None, what="inception"):
        y1 = self.b1(x, rec, f"{what} 1x1")
        y3 = self.b3[1](self.b3[0](x, rec, f"{what} 3x3 reduce"), rec, f"{what} 3x3")
        y5 = self.b5[1](self.b5[0](x, rec, f"{what} 5x5 reduce"), rec, f"{what} 5x5")
        yp = self.bp(self.pool(x), rec, f"{what} pool proj")
        return torch.cat([y1, y3, y5, yp], 1)

    def activations(self) -> list[nn.Module]:
        parts = [self.b1, *self.b3, *self.b5, self.bp]
        return [a for p in parts for a in p.activations()]


def _pool(p: tuple[int, int, int] | None) -> nn.Module:
    return nn.Identity() if p is None else nn.MaxPool2d(p[0], p[1], p[2])


class ResidualCNN(nn.Module):
    """A model of :data:`RES_ARCHITECTURES` (module docstring): ``inp``, ``stem`` (a list
    of ConvBNAct with ``stem_pools``), ``body`` (BasicBlocks, Inceptions or max pools),
    ``gap``, ``out_linear`` and the affine ``out_scale``/``out_bias``."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        arch = RES_ARCHITECTURES[spec.topology]
        self.spec, self.name, self.arch = spec, spec.name, arch
        self.input_shape = arch.input_shape
        self.n_classes = arch.classes
        acts = _Counter()
        self.inp = input_quant(True)
        stems = arch.stem if isinstance(arch, GoogLeNetArch) else (arch.stem,)
        cin = arch.input_shape[0]
        self.stem, self.stem_pools = nn.ModuleList(), nn.ModuleList()
        for i, s in enumerate(stems):
            bits = FIXED_BITS if i == 0 else None  # the first conv: 8-bit weights
            self.stem.append(ConvBNAct(spec, acts, cin, s.out, s.kernel, s.stride, s.pad, bits))
            self.stem_pools.append(_pool(s.pool))
            cin = s.out
        self.body = nn.ModuleList()
        if isinstance(arch, ResNetArch):
            for cout, blocks, stride in arch.stages:
                for b in range(blocks):
                    self.body.append(BasicBlock(spec, acts, cin, cout, stride if b == 0 else 1,
                                                arch.quant_shortcut))  # fmt: skip
                    cin = cout
        else:
            for item in arch.body:
                if item == POOL:
                    self.body.append(nn.MaxPool2d(3, 2, 1))
                else:
                    self.body.append(Inception(spec, acts, cin, item))
                    cin = item.out
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.features = cin
        self.out_linear = make_linear(spec, cin, arch.classes, FIXED_BITS, True)
        scale = head_scale_init(self.out_linear)
        self.out_scale = nn.Parameter(torch.full((arch.classes,), scale))
        self.out_bias = nn.Parameter(torch.zeros(arch.classes))

    def activations(self) -> list[nn.Module]:
        """The activation quantisers in forward (and exported graph) order."""
        out = [a for s in self.stem for a in s.activations()]
        for m in self.body:
            if hasattr(m, "activations"):
                out += m.activations()
        return out

    def _forward(self, x: torch.Tensor, rec: CodeRecorder | None) -> torch.Tensor:
        x = _quant(self.inp, x, rec, "input")
        for i, (s, pool) in enumerate(zip(self.stem, self.stem_pools, strict=True)):
            x = pool(s(x, rec, f"stem {i}"))
        for i, m in enumerate(self.body):
            x = m(x) if isinstance(m, nn.MaxPool2d) else m(x, rec, f"body {i}")
        x = self.gap(x).flatten(1)
        return self.out_linear(x) * self.out_scale + self.out_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(x, None)

    @torch.no_grad()
    def forward_with_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, list[np.ndarray]]:
        """Output and the int64 codes at every quantiser boundary (NCHW): the input, then
        each activation of :meth:`activations`, in that order (each taken at the
        quantiser, before any pool or Concat that follows). Checks in float64 that each
        boundary tensor divided by its scale is exactly its integer code."""
        check_codes(self.spec)
        rec = CodeRecorder(self.name)
        out = self._forward(x.to(self.out_scale.dtype), rec)
        return out, rec.codes
