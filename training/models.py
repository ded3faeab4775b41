"""Models by name. Fully connected: FINN's TFC/SFC/LFC adapted to the 64-pixel digits;
convolutional (CNV, HWGQ AlexNet): see conv_models.py.

Names: ``<topology>_w<W>a<A>[_relu]`` and ``<topology>_float``, topology one of tfc (64),
sfc (256), lfc (1024 units per hidden layer; three hidden layers each) or cnv (FINN's CNV,
conv_models.py); ``hwgq_alexnet`` and ``hwgq_alexnet_tiny`` (binary weights, 2-bit uniform
HWGQ, 8-bit first and last layers; conv_models.py). Residual and inception models
(res_models.py): ``ttq_resnet20/32/44/56``, ``hwgq_resnet18[_tiny]``,
``hwgq_googlenet[_tiny]``.
W = 1: binary weights (sign * mean|W| per output channel); W = 2..8: signed narrow
uniform, per-channel scale. A = 1: sign activation; A >= 2: HWGQ uniform A-bit, or with
``_relu`` a uniform unsigned A-bit QuantReLU. The last layer uses a per-tensor weight
scale and is followed by a per-channel affine (scale and bias).

Ternary weights (ternary.py): ``<topology>_ttq_a<A>[_relu]`` (Trained Ternary
Quantization: learned Wp, Wn per layer, threshold 0.05 * max|W|) and
``<topology>_twn_a<A>[_relu]`` (Ternary Weight Networks: alpha per layer, threshold
0.7 * mean|W|), A = 2..8; ``hwgq_alexnet_ttq``, ``hwgq_alexnet_twn`` and their ``_tiny``
versions (hwgq_alexnet*'s binary layers become ternary; conv1 and fc8 stay 8-bit). Every
layer the binary model makes binary is ternary, the first and last FC/conv of tfc/sfc/lfc
and cnv included (as their binary versions, FINN style).

``qnn_mlp`` (Hubara et al., "Quantized Neural Networks", their MNIST MLP; issue 18):
3 hidden layers of 4096 units, binary weights and sign activations, BatchNorm, dropout
0.2 on the input and 0.5 after each hidden activation (training only), a linear (L2-SVM)
output layer, default loss the square hinge (``default_loss``). ``qnn_mlp_stochastic``:
the same with stochastic binarization of the activations at training time.

FC structure: input quantiser (UINT8, scale 1) -> [QuantLinear -> BatchNorm1d -> act] x 3
-> QuantLinear -> affine. Every layer is a ``brevitas.nn`` layer (brevitas_layers.py);
models are exported by ``brevitas.export.export_qonnx`` (export.py).
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from .brevitas_layers import (
    BN_EPS,
    BN_MOMENTUM,
    BatchNorm1d,
    CodeRecorder,
    check_codes,
    head_scale_init,
    input_quant,
)
from .conv_models import ARCHITECTURES, QuantCNN
from .errors import TrainingError
from .res_models import RES_ARCHITECTURES, ResidualCNN
from .spec import ModelSpec
from .ternary import TERNARY_LAYERS, make_act, make_linear

__all__ = ["BN_EPS", "BN_MOMENTUM"]

TOPOLOGIES = {
    "tfc": (64, 64, 64),
    "sfc": (256, 256, 256),
    "lfc": (1024, 1024, 1024),
    "qnn_mlp": (4096, 4096, 4096),
    # convolutional: output channels of the convolutions, then of the hidden FC layers
    "cnv": (64, 64, 128, 128, 256, 256, 512, 512),
    "hwgq_alexnet": (96, 256, 384, 384, 256, 4096, 4096),
    "hwgq_alexnet_tiny": (8, 16, 24, 24, 16, 64, 64),
}
FC_TOPOLOGIES = ("tfc", "sfc", "lfc", "qnn_mlp")
ALEXNETS = ("hwgq_alexnet", "hwgq_alexnet_tiny")  # 2-bit HWGQ, binary (or ternary) weights
QNN_NAMES = ("qnn_mlp", "qnn_mlp_stochastic")
RESIDUAL_NAMES = tuple(RES_ARCHITECTURES)  # res_models.py: TTQ (ttq_*) or W1A2 HWGQ
FIXED_NAMES = (*ALEXNETS, *(f"{a}_{m}" for a in ALEXNETS for m in ("ttq", "twn")), *QNN_NAMES)
IN_FEATURES = 64
N_CLASSES = 10
QNN_DROPOUT = (0.2, 0.5)  # input, hidden (BinaryNet's MNIST MLP)
NAME_RE = re.compile(
    r"^(tfc|sfc|lfc|cnv)_(?:(?:w([1-8])|(ttq|twn)_)a([1-8])(_relu|_hwgqnu)?|(float))$"
)


def default_loss(name: str) -> str:
    """The loss model ``name`` trains with by default (``square_hinge`` for qnn_mlp*)."""
    return parse_name(name).loss


def parse_name(name: str) -> ModelSpec:
    if name in QNN_NAMES:
        hidden = TOPOLOGIES["qnn_mlp"]
        stoch = name.endswith("_stochastic")
        return ModelSpec(
            name, "qnn_mlp", hidden, 1, 1, "sign", "", QNN_DROPOUT, stoch, "square_hinge"
        )
    if name in RESIDUAL_NAMES:
        tern = "ttq" if name.startswith("ttq_") else ""
        return ModelSpec(name, name, (), 2 if tern else 1, 2, "hwgq", tern)
    if name in FIXED_NAMES:
        topo = next(a for a in sorted(ALEXNETS, key=len, reverse=True) if name.startswith(a))
        tern = name[len(topo) + 1 :]
        return ModelSpec(name, topo, TOPOLOGIES[topo], 2 if tern else 1, 2, "hwgq", tern)
    m = NAME_RE.match(name)
    if not m:
        raise TrainingError(
            f"unknown model name {name!r}: expected <tfc|sfc|lfc|cnv>_w<1-8>a<1-8>[_relu], "
            f"<tfc|sfc|lfc|cnv>_<ttq|twn>_a<2-8>[_relu], <tfc|sfc|lfc|cnv>_float, "
            f"hwgq_alexnet[_tiny][_ttq|_twn], qnn_mlp[_stochastic], "
            f"{', '.join(RESIDUAL_NAMES)}"
        )
    topo, w, tern, a, suffix, flt = m.groups()
    hidden = TOPOLOGIES[topo]
    if flt:
        return ModelSpec(name, topo, hidden, 0, 0, "float")
    w, a, tern = (2 if tern else int(w)), int(a), tern or ""
    if a == 1:
        if tern:
            raise TrainingError(
                f"model name {name!r}: ternary weights need multi-bit activations (a2..a8)"
            )
        if suffix:
            raise TrainingError(f"model name {name!r}: a1 is the sign activation, no suffix")
        act = "sign"
    elif suffix == "_relu":
        act = "relu"
    elif suffix == "_hwgqnu":
        act = "hwgq_nonuniform"
    else:
        act = "hwgq"
    return ModelSpec(name, topo, hidden, w, a, act, tern)


def with_hidden(spec: ModelSpec, hidden: tuple[int, ...]) -> ModelSpec:
    """``spec`` with other hidden sizes (FC models), named after them."""
    return replace(spec, name=f"{spec.name}_h{'_'.join(map(str, hidden))}", hidden=tuple(hidden))


class QuantMLP(nn.Module):
    """An FC model (see module docstring); ``linears``/``bns``/``acts`` per hidden layer,
    ``out_linear`` and the affine ``out_scale``/``out_bias``."""

    input_shape = (IN_FEATURES,)  # one sample, without the batch axis
    n_classes = N_CLASSES

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.name = spec.name
        self.inp = input_quant(spec.wbits != 0)
        self.in_drop = nn.Dropout(spec.dropout[0])
        sizes = (IN_FEATURES, *spec.hidden)
        self.linears = nn.ModuleList(
            make_linear(spec, i, o) for i, o in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.bns = nn.ModuleList(
            BatchNorm1d(o, eps=BN_EPS, momentum=BN_MOMENTUM) for o in spec.hidden
        )
        self.acts = nn.ModuleList(make_act(spec, i) for i in range(len(spec.hidden)))
        self.drops = nn.ModuleList(nn.Dropout(spec.dropout[1]) for _ in spec.hidden)
        self.out_linear = make_linear(spec, sizes[-1], N_CLASSES, per_channel=False)
        self.out_scale = nn.Parameter(torch.full((N_CLASSES,), head_scale_init(self.out_linear)))
        self.out_bias = nn.Parameter(torch.zeros(N_CLASSES))

    def _head(self, x):
        return self.out_linear(x) * self.out_scale + self.out_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.in_drop(self.inp(x))
        for lin, bn, act, drop in zip(self.linears, self.bns, self.acts, self.drops, strict=True):
            x = drop(act(bn(lin(x))))
        return self._head(x)

    @torch.no_grad()
    def forward_with_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, list[np.ndarray]]:
        """Output (eval mode) and the integer codes at every quantiser boundary: input
        codes, then each hidden activation's codes, as int64 (N, C) arrays. Checks (in
        float64) that each boundary tensor divided by its scale is exactly an integer."""
        check_codes(self.spec)
        x = x.to(self.out_scale.dtype)
        rec = CodeRecorder(self.name)
        x = rec(self.inp, x, "input")
        for i, (lin, bn, act) in enumerate(zip(self.linears, self.bns, self.acts, strict=True)):
            x = rec(act, bn(lin(x)), f"activation {i}")
        return self._head(x), rec.codes


def is_conv(name: str) -> bool:
    """Whether model ``name`` is convolutional (image input (N, 3, H, W))."""
    return parse_name(name).topology not in FC_TOPOLOGIES


def input_shape(name: str) -> tuple[int, ...]:
    """One input sample's shape (no batch axis): (64,) for FC models, (3, H, W) else."""
    spec = parse_name(name)
    if spec.topology in FC_TOPOLOGIES:
        return (IN_FEATURES,)
    if spec.topology in RES_ARCHITECTURES:
        return RES_ARCHITECTURES[spec.topology].input_shape
    return ARCHITECTURES[spec.topology].input_shape


def build_model(name: str, ternary_threshold: float | None = None) -> nn.Module:
    """A freshly initialised model by name (see module docstring): a :class:`QuantMLP`,
    or a :class:`~halfwave.training.conv_models.QuantCNN` for convolutional names.
    ``ternary_threshold`` (ternary models): TTQ's t (default 0.05) or TWN's factor of
    mean|W| (default 0.7), for every ternary layer; kept in checkpoints."""
    spec = parse_name(name)
    if spec.topology in FC_TOPOLOGIES:
        model = QuantMLP(spec)
    elif spec.topology in RES_ARCHITECTURES:
        model = ResidualCNN(spec)
    else:
        model = QuantCNN(spec)
    if ternary_threshold is not None:
        if not spec.ternary:
            raise TrainingError(f"{name}: a ternary threshold needs a ternary model (_ttq/_twn)")
        for m in model.modules():
            if isinstance(m, TERNARY_LAYERS):
                m.set_threshold(ternary_threshold)
    return model
