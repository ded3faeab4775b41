"""User-style Brevitas networks for the DAG tests: stock ``brevitas.nn`` layers with their
default quantisers, as a Brevitas user writes them (not halfwave's named models).

:func:`random_residual_net` (seeded): input QuantIdentity (signed 8-bit) -> stem
QuantConv2d 3x3 pad 1 -> BatchNorm2d -> QuantReLU -> three residual blocks -> global
average pool (``nn.AdaptiveAvgPool2d(1)``) -> flatten -> QuantLinear (float bias)::

    block a (form a, identity shortcut):
        y = relu_a2(q(bn2(conv2(relu_a1(bn1(conv1(x)))))) + q(x))
        q: ONE QuantIdentity (signed) applied to both Add inputs
    block b (form b, 1x1/2 conv shortcut; two BatchNorms):
        y = relu_b2(bn2(conv2(relu_b1(bn1(conv1_s2(x))))) + bn_sc(conv_sc_s2(x)))
    block c (form b, identity shortcut):
        y = relu_c2(bn2(conv2(relu_c1(bn1(conv1(x))))) + x)

Input 1x8x8 or 3x8x8, C channels (4..8) then 2C after block b (spatial 8 -> 4), weights of
2..4 bits (default ``Int8WeightPerTensorFloat``: per-tensor scale max|W| / (2^(b-1) - 1)),
activations of 2..4 bits (``QuantReLU``'s ``Uint8ActPerTensorFloat``, ``QuantIdentity``'s
``Int8ActPerTensorFloat``: learned per-tensor scales), all chosen by the seed; convs
without bias (a BatchNorm follows each), the final QuantLinear with a float bias.

"Random but fixed": every weight lies on its quantiser's grid (codes times a scale r),
and every learned activation scale is set to r, with r = m * 2^-e (m odd, 3..15): scales
are not powers of two, but each is the same number in float32 and float64, so the float32
export and the float64 model agree exactly. BatchNorm affine parameters are random (a
quarter of the scales negative) and the statistics are measured on :func:`example_input`,
so every activation level occurs.

:func:`preprocessed_net` (seeded): a chain with ``2 * x - 1`` pre-processing in front of
its first quantiser: x in [0, 1] -> 2x - 1 -> QuantIdentity (signed 8-bit) -> QuantConv2d
3x3 -> BatchNorm2d -> QuantReLU -> QuantConv2d 3x3 -> BatchNorm2d -> QuantReLU -> flatten
-> QuantLinear; input 1x8x8.

:func:`export_net` exports any of them with ``brevitas.export.export_qonnx`` (float32,
eval), input ``global_in``, output ``global_out``.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import onnx
import torch
from torch import nn

EXPORT_OPSET = 18


def _dyadic(rng: np.random.Generator, target: float) -> float:
    """m * 2^-e near ``target`` (m odd, 3..15): float32-exact, not a power of two."""
    m = int(rng.choice([3, 5, 7, 9, 11, 13, 15]))
    e = int(np.round(np.log2(m / target)))
    return float(m * 2.0**-e)


def _set_weights(layer: nn.Module, rng: np.random.Generator) -> None:
    """Weights on the grid of the default per-tensor quantiser (narrow, signed)."""
    bits = int(layer.weight_quant.bit_width())
    n = 2 ** (bits - 1) - 1
    fan_in = layer.weight[0].numel()
    r = _dyadic(rng, 1.0 / (n * np.sqrt(fan_in)))
    codes = rng.integers(-n, n + 1, size=tuple(layer.weight.shape))
    codes.reshape(-1)[rng.integers(codes.size)] = n * rng.choice([-1, 1])  # max|W| = n r
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(codes * r))


def _set_act_scale(act: nn.Module, rng: np.random.Generator, top: float) -> None:
    """The learned scale of a QuantReLU/QuantIdentity set to r = m * 2^-e, the largest
    level near ``top``: threshold = r * (its integer scale), exact in float32. Brevitas'
    default scaling first takes the scale from runtime statistics (its first training
    steps); it is marked done here, so the parameter is the scale from the start."""
    (impl,) = [m for m in act.modules() if hasattr(m, "collect_stats_steps")]
    impl.counter = impl.collect_stats_steps + 1  # statistics collected: use the parameter
    value = impl.value
    with torch.no_grad():
        int_scale = round(float(value) / float(act.act_quant.scale()))
        bits = int(act.act_quant.bit_width())
        levels = 2**bits - 1 if not act.act_quant.is_signed else 2 ** (bits - 1) - 1
        r = _dyadic(rng, top / levels)
        value.fill_(r * int_scale)


def _conv(cin, cout, k, stride, wbits):
    return qnn.QuantConv2d(cin, cout, k, stride, k // 2, bias=False, weight_bit_width=wbits)


class _Main(nn.Module):
    """conv1 -> bn1 -> relu -> conv2 -> bn2 (a block's main branch, ending at a BN)."""

    def __init__(self, cin, cout, stride, wbits, abits):
        super().__init__()
        self.conv1, self.bn1 = _conv(cin, cout, 3, stride, wbits), nn.BatchNorm2d(cout)
        self.relu = qnn.QuantReLU(bit_width=abits)
        self.conv2, self.bn2 = _conv(cout, cout, 3, 1, wbits), nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))


class FormA(nn.Module):
    """Identity shortcut; both Add inputs quantised by one shared QuantIdentity."""

    def __init__(self, c, wbits, abits):
        super().__init__()
        self.main = _Main(c, c, 1, wbits, abits)
        self.q = qnn.QuantIdentity(bit_width=abits + 1)
        self.out = qnn.QuantReLU(bit_width=abits)

    def forward(self, x):
        return self.out(self.q(self.main(x)) + self.q(x))


class FormB(nn.Module):
    """BN output + shortcut (identity, or a 1x1/2 conv with its own BN), then QuantReLU."""

    def __init__(self, cin, cout, stride, wbits, abits):
        super().__init__()
        self.main = _Main(cin, cout, stride, wbits, abits)
        self.downsample = stride != 1 or cin != cout
        if self.downsample:
            self.conv_sc, self.bn_sc = _conv(cin, cout, 1, stride, wbits), nn.BatchNorm2d(cout)
        self.out = qnn.QuantReLU(bit_width=abits)

    def forward(self, x):
        sc = self.bn_sc(self.conv_sc(x)) if self.downsample else x
        return self.out(self.main(x) + sc)


class ResidualNet(nn.Module):
    def __init__(self, cin: int, c: int, wbits: int, abits: int, classes: int):
        super().__init__()
        self.input_shape = (cin, 8, 8)
        self.inp = qnn.QuantIdentity(bit_width=8)
        self.stem = nn.Sequential(
            _conv(cin, c, 3, 1, wbits), nn.BatchNorm2d(c), qnn.QuantReLU(bit_width=abits)
        )
        self.blocks = nn.Sequential(
            FormA(c, wbits, abits),
            FormB(c, 2 * c, 2, wbits, abits),
            FormB(2 * c, 2 * c, 1, wbits, abits),
        )
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = qnn.QuantLinear(2 * c, classes, bias=True, weight_bit_width=wbits)

    def forward(self, x):
        return self.fc(self.gap(self.blocks(self.stem(self.inp(x)))).flatten(1))


class PreprocessedNet(nn.Module):
    def __init__(self, c: int, wbits: int, abits: int, classes: int):
        super().__init__()
        self.input_shape = (1, 8, 8)
        self.inp = qnn.QuantIdentity(bit_width=8)
        self.body = nn.Sequential(
            _conv(1, c, 3, 1, wbits), nn.BatchNorm2d(c), qnn.QuantReLU(bit_width=abits),
            _conv(c, c, 3, 1, wbits), nn.BatchNorm2d(c), qnn.QuantReLU(bit_width=abits),
        )  # fmt: skip
        self.fc = qnn.QuantLinear(c * 64, classes, bias=True, weight_bit_width=wbits)

    def forward(self, x):
        return self.fc(self.body(self.inp(2 * x - 1)).flatten(1))


def example_input(model: nn.Module, n: int = 16, seed: int = 0) -> np.ndarray:
    """float32 inputs for ``model``: uniform in [0, 1] for the pre-processed net (its
    input range), else normal with standard deviation 1.5 (past the input clamp)."""
    rng = np.random.default_rng(seed)
    shape = (n, *model.input_shape)
    if isinstance(model, PreprocessedNet):
        return rng.uniform(0, 1, size=shape).astype(np.float32)
    return (1.5 * rng.standard_normal(shape)).astype(np.float32)


@torch.no_grad()
def _fix(model: nn.Module, rng: np.random.Generator, seed: int) -> nn.Module:
    """Weights on their grids, dyadic activation scales, random BN affine parameters,
    BN statistics of one pass over :func:`example_input`; eval mode."""
    for m in model.modules():
        if isinstance(m, (qnn.QuantConv2d, qnn.QuantLinear)):
            _set_weights(m, rng)
            if m.bias is not None:
                m.bias.copy_(torch.from_numpy(rng.normal(0, 0.5, m.bias.shape)))
        elif isinstance(m, qnn.QuantReLU):
            _set_act_scale(m, rng, 3.0)
        elif isinstance(m, qnn.QuantIdentity):
            _set_act_scale(m, rng, 4.0 if m is model.inp else 2.0)
        elif isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            sign = np.where(rng.uniform(size=c) < 0.25, -1.0, 1.0)
            m.weight.copy_(torch.from_numpy(sign * rng.uniform(0.5, 1.5, c)))
            m.bias.copy_(torch.from_numpy(rng.uniform(-0.3, 1.5, c)))
            m.reset_running_stats()
            m.momentum = None  # cumulative: one pass gives the batch's statistics
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.train()
    model(torch.from_numpy(example_input(model, 64, seed)))
    return model.eval()


def random_residual_net(seed: int) -> ResidualNet:
    """A seeded user-style residual network (module docstring), eval mode, float32."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    cin, c = int(rng.choice([1, 3])), int(rng.integers(4, 9))
    wbits, abits = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    return _fix(ResidualNet(cin, c, wbits, abits, classes=int(rng.integers(3, 11))), rng, seed)


def preprocessed_net(seed: int) -> PreprocessedNet:
    """A seeded chain with ``2 * x - 1`` before its first quantiser (module docstring)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    c, wbits, abits = int(rng.integers(3, 7)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    return _fix(PreprocessedNet(c, wbits, abits, classes=int(rng.integers(3, 11))), rng, seed)


def export_net(model: nn.Module, path: Path | str, batch_size: int = 1) -> Path:
    """QONNX of ``model`` by Brevitas (float32, eval), I/O named global_in/global_out."""
    from brevitas.export import export_qonnx

    from halfwave.training.export import _global_average_pools, _rename

    m = copy.deepcopy(model).float().eval()
    x = torch.zeros(batch_size, *model.input_shape)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        proto = export_qonnx(m, x, opset_version=EXPORT_OPSET, verbose=False)
    _global_average_pools(proto.graph)
    _rename(proto.graph, proto.graph.input[0].name, "global_in")
    _rename(proto.graph, proto.graph.output[0].name, "global_out")
    path = Path(path)
    onnx.save(proto, str(path))
    return path
