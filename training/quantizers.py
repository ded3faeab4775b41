"""Quantisers of halfwave models: HWGQ, sign, uniform activations; binary and k-bit weights.

Every constant a quantiser multiplies or compares with (HWGQ step, levels, thresholds,
weight scales) is exactly representable in float32, so that the float64 PyTorch model and
the float32 QONNX export use the same numbers. Steps and weight scales are further rounded
to 16 significant bits, which makes ``code * step`` and the HWGQ midpoints exact in
float32 too (codes have at most 8 bits).

Tie rules (the hardware reproduces them exactly):
- HWGQ: code = number of thresholds t_k with x > t_k (strict); x <= 0 gives code 0.
- sign: x >= 0 gives +1, x < 0 gives -1.
- binary weights: W >= 0 gives +1.
- uniform (input, QuantReLU, k-bit weights): clamp, then round half to even.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

BACKWARDS = ("clipped", "relu", "log_tailed")
SIG_BITS = 16  # significant bits kept in steps and weight scales


def round_significant(x: float, bits: int = SIG_BITS) -> float:
    """Round a positive float to ``bits`` significant bits (half to even): float32-exact."""
    if x == 0.0:
        return 0.0
    m, e = math.frexp(x)  # x = m * 2**e, 0.5 <= |m| < 1
    return math.ldexp(round(m * 2**bits), e - bits)


def round_significant_tensor(t: torch.Tensor, bits: int = SIG_BITS) -> torch.Tensor:
    """Elementwise :func:`round_significant` for a float64 tensor (no gradient)."""
    m, e = torch.frexp(t.detach().double())
    return torch.ldexp(torch.round(m * 2.0**bits), (e - bits).double())


# ---------------------------------------------------------------------------------------
# Lloyd's algorithm on the half-normal density (unit Gaussian restricted to x > 0)


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))) if x != math.inf else 1.0


def _pdf(x: float) -> float:
    return math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi) if x != math.inf else 0.0


def _mass(a: float, b: float) -> float:  # P(a < X <= b), X half-normal
    return 2.0 * (_cdf(b) - _cdf(a))


def _moment(a: float, b: float) -> float:  # E[X; a < X <= b]
    return 2.0 * (_pdf(a) - _pdf(b))


@lru_cache
def lloyd_uniform_step(bits: int, iters: int = 10_000) -> float:
    """Optimal step of the levels k*step (k = 1..2^bits-1) for the half-normal density,
    thresholds 0 then the midpoints (k + 0.5) * step (Lloyd iteration, float64)."""
    n = 2**bits - 1
    step = 1.0
    for _ in range(iters):
        t = [0.0] + [(k + 0.5) * step for k in range(1, n)] + [math.inf]
        num = sum((k + 1) * _moment(t[k], t[k + 1]) for k in range(n))
        den = sum((k + 1) ** 2 * _mass(t[k], t[k + 1]) for k in range(n))
        new = num / den
        if abs(new - step) < 1e-15:
            break
        step = new
    return step


@lru_cache
def lloyd_nonuniform_levels(bits: int, iters: int = 20_000) -> tuple[float, ...]:
    """Lloyd-Max levels (2^bits - 1 of them) for the half-normal density; thresholds are
    0 then the midpoints between consecutive levels."""
    n = 2**bits - 1
    step = lloyd_uniform_step(bits)
    q = [(k + 1) * step for k in range(n)]
    for _ in range(iters):
        t = [0.0] + [(q[k] + q[k + 1]) / 2 for k in range(n - 1)] + [math.inf]
        new = [_moment(t[k], t[k + 1]) / _mass(t[k], t[k + 1]) for k in range(n)]
        if max(abs(a - b) for a, b in zip(new, q, strict=True)) < 1e-15:
            break
        q = new
    return tuple(q)


@dataclass(frozen=True)
class HwgqTable:
    """Levels (codes 1..2^bits-1; code 0 is 0.0) and thresholds of an HWGQ quantiser.
    ``step`` is set for the uniform variant (level k = k * step). All float32-exact."""

    bits: int
    uniform: bool
    levels: tuple[float, ...]
    thresholds: tuple[float, ...]
    step: float | None


@lru_cache
def hwgq_table(bits: int, uniform: bool = True) -> HwgqTable:
    """HWGQ constants. Uniform: the Lloyd step truncated to 3 decimals as in the released
    HWGQ code (2 bits: 0.538), then rounded to 16 significant bits so that every level
    k * step and midpoint is exact in float32 (float32 and float64 runs agree). Non-uniform:
    Lloyd-Max levels rounded to float32, thresholds 0 then float32 midpoints."""
    if not 1 <= bits <= 8:
        raise ValueError(f"HWGQ bits must be in 1..8, got {bits}")
    n = 2**bits - 1
    if uniform:
        step = round_significant(math.floor(lloyd_uniform_step(bits) * 1000) / 1000)
        levels = tuple(k * step for k in range(1, n + 1))
        thresholds = (0.0,) + tuple((k + 0.5) * step for k in range(1, n))
        return HwgqTable(bits, True, levels, thresholds, step)
    f32 = [float(torch.tensor(v, dtype=torch.float32)) for v in lloyd_nonuniform_levels(bits)]
    mids = [
        float(torch.tensor((a + b) / 2, dtype=torch.float32))
        for a, b in zip(f32, f32[1:], strict=False)
    ]
    return HwgqTable(bits, False, tuple(f32), (0.0, *mids), None)


# ---------------------------------------------------------------------------------------
# Autograd functions


class _HwgqFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, thresholds, values, q_max, mode):  # noqa: D401
        code = (x.unsqueeze(-1) > thresholds).sum(-1)
        ctx.save_for_backward(x)
        ctx.q_max = q_max
        ctx.mode = mode
        return values[code]

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        q_max = ctx.q_max
        if ctx.mode == "relu":
            g = (x > 0).to(grad.dtype)
        elif ctx.mode == "clipped":
            g = ((x > 0) & (x <= q_max)).to(grad.dtype)
        else:  # log_tailed
            tau = q_max - 1.0
            tail = 1.0 / torch.clamp(x - tau, min=1.0)
            g = torch.where(x > q_max, tail, ((x > 0) & (x <= q_max)).to(grad.dtype))
        return grad * g, None, None, None, None


class _SignFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """+1 where x >= 0 else -1; hard-tanh straight-through gradient (1 on |x| <= 1)."""
    return _SignFn.apply(x)


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()  # torch.round: half to even


# ---------------------------------------------------------------------------------------
# Activation modules. Each has quantize(x) -> (float output, integer codes, scale or None).


class HWGQ(nn.Module):
    """Half-wave Gaussian quantiser (Cai et al.), forward as in the released code."""

    def __init__(self, bits: int = 2, uniform: bool = True, backward: str = "clipped"):
        super().__init__()
        if backward not in BACKWARDS:
            raise ValueError(f"HWGQ backward must be one of {BACKWARDS}, got {backward!r}")
        self.bits, self.uniform, self.backward_mode = bits, uniform, backward
        table = hwgq_table(bits, uniform)
        self.table = table
        self.register_buffer("thresholds", torch.tensor(table.thresholds, dtype=torch.float32))
        self.register_buffer(
            "values", torch.tensor((0.0, *table.levels), dtype=torch.float32)
        )  # value of each code

    @property
    def q_max(self) -> float:
        return self.table.levels[-1]

    @property
    def step(self) -> float | None:
        return self.table.step

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return (x.unsqueeze(-1) > self.thresholds.to(x.dtype)).sum(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        th, vals = self.thresholds.to(x.dtype), self.values.to(x.dtype)
        return _HwgqFn.apply(x, th, vals, self.q_max, self.backward_mode)

    def quantize(self, x):
        return self.forward(x), self.codes(x), self.step

    def extra_repr(self) -> str:
        kind = "uniform" if self.uniform else "nonuniform"
        return f"bits={self.bits}, {kind}, backward={self.backward_mode}"


class SignAct(nn.Module):
    """Bipolar activation (BNN/QNN): +1 for x >= 0, -1 otherwise."""

    def forward(self, x):
        return sign_ste(x)

    def quantize(self, x):
        y = self.forward(x)
        return y, y.detach().round().long(), 1.0


class UniformReLU(nn.Module):
    """Unsigned k-bit uniform activation (Brevitas QuantReLU semantics): code =
    round_half_even(clamp(x / s, 0, 2^k - 1)); learned scale s, float32-exact with 16
    significant bits, LSQ-style gradient."""

    def __init__(self, bits: int = 2, init_max: float = 3.0):
        super().__init__()
        self.bits = bits
        self.n = 2**bits - 1
        self.scale_param = nn.Parameter(torch.tensor(init_max / self.n))

    def scale(self, dtype=torch.float64) -> torch.Tensor:
        s = self.scale_param.abs().clamp_min(1e-4)
        s_exact = round_significant_tensor(s).to(s.dtype)
        return (s + (s_exact - s).detach()).to(dtype)

    def _codes_float(self, x):
        s = self.scale(x.dtype)
        v = torch.clamp(x / s, 0, self.n)
        return _round_ste(v), s

    def forward(self, x):
        v, s = self._codes_float(x)
        return v * s

    def quantize(self, x):
        v, s = self._codes_float(x)
        return v * s, v.detach().long(), float(s.detach())


class SignedUniformAct(nn.Module):
    """Signed narrow k-bit uniform activation (QuantHardTanh / QuantIdentity semantics):
    code = round_half_even(clamp(x / s, -(2^(k-1)-1), 2^(k-1)-1))."""

    def __init__(self, bits: int = 2, init_max: float = 2.0):
        super().__init__()
        self.bits = bits
        self.n = 2 ** (bits - 1) - 1
        self.scale_param = nn.Parameter(torch.tensor(init_max / max(self.n, 1)))

    scale = UniformReLU.scale

    def _codes_float(self, x):
        s = self.scale(x.dtype)
        v = torch.clamp(x / s, -self.n, self.n)
        return _round_ste(v), s

    forward = UniformReLU.forward
    quantize = UniformReLU.quantize


class InputQuant(nn.Module):
    """Unsigned 8-bit input quantiser, scale 1.0, zero point 0, round half to even."""

    bits = 8
    scale = 1.0

    def forward(self, x):
        return torch.clamp(torch.round(x), 0, 255)

    def quantize(self, x):
        y = self.forward(x)
        return y, y.long(), 1.0


# ---------------------------------------------------------------------------------------
# Weight quantisers


class _BinaryFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        return grad * (w.abs() <= 1).to(grad.dtype)


class _WeightQuant:
    """Weight quantisation shared by :class:`QuantLinear` and :class:`QuantConv2d`: the
    scale is reduced over every axis but the first (output channel)."""

    weight: nn.Parameter
    bits: int
    per_channel: bool

    def _reduce(self, t: torch.Tensor, op) -> torch.Tensor:
        ones = (1,) * (t.dim() - 1)
        if self.per_channel:
            return op(t.reshape(t.shape[0], -1), dim=1, keepdim=True).reshape(t.shape[0], *ones)
        return op(t.reshape(-1), dim=0, keepdim=True).reshape(1, *ones).expand(t.shape[0], *ones)

    def weight_codes_and_scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Integer weight codes (weight shape) and the scale (out, 1, ...), both in weight
        dtype and differentiable (STE); scale values are float32-exact."""
        w = self.weight
        if self.bits == 1:
            alpha = self._reduce(w.abs(), torch.mean)
            exact = self._reduce(w.detach().double().abs(), torch.mean).float().to(w.dtype)
            alpha = alpha + (exact - alpha).detach()
            return _BinaryFn.apply(w), alpha
        n = 2 ** (self.bits - 1) - 1
        mx = self._reduce(w.detach().double().abs(), torch.amax)
        mx = torch.where(mx > 0, mx, torch.ones_like(mx))
        scale = round_significant_tensor(mx / n).to(w.dtype)
        codes = _round_ste(torch.clamp(w / scale, -n, n))
        return codes, scale

    def quant_weight(self) -> torch.Tensor:
        if self.bits == 0:
            return self.weight
        codes, scale = self.weight_codes_and_scale()
        return codes * scale


class QuantLinear(_WeightQuant, nn.Module):
    """Linear layer without bias, weights quantised on the fly.

    bits == 1: W_q = sign(W) * alpha, alpha = mean|W| (per output channel or per tensor),
    computed in float64 and rounded to float32 (STE through the rounding).
    bits >= 2: signed narrow uniform, scale = max|W| / (2^(bits-1) - 1) rounded to 16
    significant bits, codes round half to even; STE.
    bits == 0: float weights (baseline models)."""

    def __init__(self, in_features: int, out_features: int, bits: int, per_channel=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.bits, self.per_channel = bits, per_channel
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x):
        return x @ self.quant_weight().t()

    def extra_repr(self):
        return (
            f"{self.in_features}, {self.out_features}, bits={self.bits}, "
            f"per_channel={self.per_channel}"
        )


class QuantConv2d(_WeightQuant, nn.Module):
    """2-D convolution without bias (group 1), weights (out, in, k, k) quantised on the fly
    exactly as :class:`QuantLinear` does, the scale being reduced over (in, k, k): shape
    (out, 1, 1, 1) per output channel."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        pad: int = 0,
        bits: int = 1,
        per_channel: bool = True,
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel, self.stride, self.pad = kernel, stride, pad
        self.bits, self.per_channel = bits, per_channel
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel, kernel))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def out_size(self, size: int) -> int:
        return (size + 2 * self.pad - self.kernel) // self.stride + 1

    def forward(self, x):
        return nn.functional.conv2d(x, self.quant_weight(), None, self.stride, self.pad)

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel={self.kernel}, "
            f"stride={self.stride}, pad={self.pad}, bits={self.bits}, "
            f"per_channel={self.per_channel}"
        )
