"""The numbers of halfwave's quantisers: HWGQ levels and thresholds (Lloyd's algorithm on
the half-normal density) and float32-exact rounding. The quantisers themselves are
Brevitas quantisers (brevitas_quant.py, ternary.py) used by brevitas.nn layers
(brevitas_layers.py).

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
