"""Joins of the lowering: an Add or a channel Concat of two streams, folded exactly into
integer coefficients and thresholds.

An Add's inputs are each either quantised codes (`Quantized`: y = scale * x) or the raw
accumulators of an MVU through its per-channel exact affine map (`Raw`: y = A(acc), one
square root at most, from a BatchNorm). After the Add comes an optional Relu/Clip and a
quantiser, i.e. per channel a list of decisions "ya(a) + yb(b) >= t". The side with the
fewer values ("small", b) is enumerated: for each of its values the decision on the other
side is exactly "a >= T_k(b)" (the smallest passing a, found by exact comparison, square
roots decided by squaring with signs). hw_add computes z = D*a + N*b and counts
z >= theta_k; the smallest D (then N, theta_k) reproducing every T_k(b) is searched, so
the hardware decision equals the exact one for every pair of inputs in range (both
ranges are bounded: the codes' datatype, the MVU's accumulator range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from math import gcd

import numpy as np

from .datatypes import BIPOLAR, DataType
from .errors import CompileError
from .exact import Affine, sign_of_l_minus_r_sqrt_d
from .thresholds import Step

MAX_D = 4096  # largest coefficient on the enumerated-against side
D_BLOCK = 64  # D values tried at once
MAX_SMALL = 4096  # most values the enumerated side may take
MAX_MULT = 256  # largest Concat scale alignment factor


@dataclass
class Raw:
    """Raw accumulators of an MVU (hardware domain): y[c] = aff[c](acc), acc in [lo, hi]."""

    tensor: str
    aff: list[Affine]
    lo: int
    hi: int
    dtype: DataType
    chw: tuple[int, int, int] | None = None


@dataclass
class Mapped:
    """Codes x of a stream (dtype) whose model value is table[x]: a quantiser applied to
    quantised codes (a requantisation), which only an Add folds (into its thresholds)."""

    tensor: str
    table: dict[int, Fraction]
    dtype: DataType
    chw: tuple[int, int, int] | None = None
    # how to make it a stream of its own when no Add folds it: the codes it maps and
    # the quantiser (steps, p, q) on them (lower._requant_layer)
    base: object = None
    quant: object = None


@dataclass
class Side:
    """One Add input for one channel: y = u(x)/sqrt(d) + c with u = a*x + b, or
    y = table[x] (a is then the mean slope, for the search only)."""

    a: Fraction
    b: Fraction
    c: Fraction
    d: Fraction
    lo: int
    hi: int
    table: dict[int, Fraction] | None = None

    def __post_init__(self) -> None:
        root = math.sqrt(float(self.d))
        self._f = (float(self.a) / root, float(self.b) / root + float(self.c))
        self._ft = None if self.table is None else {k: float(v) for k, v in self.table.items()}

    def value_float(self, x: int) -> float:
        if self._ft is not None:
            return self._ft[x] / math.sqrt(float(self.d)) + float(self.c)
        return self._f[0] * x + self._f[1]

    def u(self, x: int) -> Fraction:
        return self.table[x] if self.table is not None else self.a * x + self.b

    def slope_float(self) -> float:
        return float(self.a) / math.sqrt(float(self.d))

    def values(self) -> range:
        return range(self.lo, self.hi + 1)


def side_of(desc, c: int) -> Side:
    aff = desc.aff[c] if isinstance(desc, Raw) else None
    if aff is not None:
        return Side(aff.a, aff.b, aff.c, aff.d, desc.lo, desc.hi)
    dt = desc.dtype
    lo, hi = (-1, 1) if dt == BIPOLAR else (dt.min, dt.max)
    if isinstance(desc, Mapped):
        slope = (desc.table[hi] - desc.table[lo]) / (hi - lo)
        one = Fraction(1)
        return Side(slope, Fraction(0), Fraction(0), one, lo, hi, dict(desc.table))
    return Side(desc.scale, Fraction(0), Fraction(0), Fraction(1), lo, hi)


def _sign(v: Fraction) -> int:
    return (v > 0) - (v < 0)


def sign_sum(u: Fraction, du: Fraction, v: Fraction, dv: Fraction, w: Fraction) -> int:
    """Sign of u/sqrt(du) + v/sqrt(dv) + w, exactly."""
    if du == dv:
        return sign_of_l_minus_r_sqrt_d(u + v, -w, du)
    s_alpha = _sign(u)
    s_beta = sign_of_l_minus_r_sqrt_d(v, -w, dv)  # sign of v/sqrt(dv) + w
    if s_alpha == 0 or s_beta == 0 or s_alpha == s_beta:
        return s_alpha or s_beta
    # opposite signs: compare alpha^2 = u^2/du with beta^2 = v^2/dv + w^2 + 2vw/sqrt(dv)
    diff = sign_of_l_minus_r_sqrt_d(u * u / du - v * v / dv - w * w, 2 * v * w, 1 / dv)
    return s_alpha if diff > 0 else (s_beta if diff < 0 else 0)


def _passes(step: Step, sa: Side, a: int, sb: Side, b: int) -> bool:
    if step.const is not None:
        return step.const
    ya, yb, t = sa.value_float(a), sb.value_float(b), float(step.t)
    if abs(ya + yb - t) > 1e-9 * (abs(ya) + abs(yb) + abs(t) + 1):  # far from the tie
        return ya + yb > t
    s = sign_sum(sa.u(a), sa.d, sb.u(b), sb.d, sa.c + sb.c - step.t)
    return s > 0 if step.strict else s >= 0


def _threshold(step: Step, sa: Side, sb: Side, b: int) -> int:
    """Smallest a in [sa.lo, sa.hi] passing the step at b (sa increasing), or hi + 1."""
    lo, hi = sa.lo, sa.hi
    if step.const is None and sa.a != 0 and sa.table is None:
        yb = sb.value_float(b)
        guess = ((float(step.t) - yb - float(sa.c)) * math.sqrt(float(sa.d)) - float(sa.b)) / float(
            sa.a
        )
        if math.isfinite(guess):
            g = min(max(math.ceil(guess), lo), hi + 1)
            for cand in (g, g + 1, g - 1):
                if lo <= cand <= hi + 1:
                    above = cand == hi + 1 or _passes(step, sa, cand, sb, b)
                    below = cand == lo or not _passes(step, sa, cand - 1, sb, b)
                    if above and below:
                        return cand
    left, right = lo, hi + 1
    while left < right:
        mid = (left + right) // 2
        if _passes(step, sa, mid, sb, b):
            right = mid
        else:
            left = mid + 1
    return left


@dataclass
class Fit:
    coef_a: int
    coef_b: int
    thresholds: list[int]


def _fit(xs: np.ndarray, t: np.ndarray, lo: int, hi: int, ratio: float) -> Fit | None:
    """Smallest D >= 0 with N, theta_k such that for every b in xs and a in [lo, hi]:
    D*a + N*b >= theta_k  <=>  a >= t[k, b]."""
    always, never = t <= lo, t > hi
    big = 1 << 62
    if np.all(always | never):  # the decision does not depend on a: D = 0
        for n in (1, -1):
            low = np.where(never, n * xs + 1, -big).max(axis=1)
            up = np.where(always, n * xs, big).min(axis=1)
            if np.all(low <= up):
                return Fit(0, n, [int(v) for v in np.where(low > -big, low, up)])
        return None
    n_off = np.array([0, -1, 1], dtype=np.int64)
    for start in range(1, MAX_D + 1, D_BLOCK):
        d = np.arange(start, min(start + D_BLOCK, MAX_D + 1), dtype=np.int64)
        n0 = np.round(d * ratio).astype(np.int64) if math.isfinite(ratio) else 0 * d
        dd = np.repeat(d, len(n_off))[:, None, None]  # candidates (D, N) in search order
        nn = (n0[:, None] + n_off[None, :]).reshape(-1)[:, None, None]
        low = np.where(always, -big, dd * (t - 1) + 1 + nn * xs).max(axis=2)
        up = np.where(never, big, dd * t + nn * xs).min(axis=2)
        ok = np.flatnonzero(np.all(low <= up, axis=1))
        if len(ok):
            i = int(ok[0])
            theta = np.where(low[i] > -big, low[i], np.where(up[i] < big, up[i], 0))
            return Fit(int(dd[i, 0, 0]), int(nn[i, 0, 0]), [int(v) for v in theta])
    return None


def fold_add(da, db, steps: list[list[Step]], name: str) -> tuple[list[Fit], bool]:
    """Per channel the integer form of the steps on ya(a) + yb(b); also whether the
    inputs were swapped (the enumerated side must be input b, the one with fewer values)."""
    n_a = _count(da)
    n_b = _count(db)
    swapped = n_a < n_b
    if swapped:
        da, db = db, da
    if min(n_a, n_b) > MAX_SMALL:
        raise CompileError(
            f"both inputs of the Add take more than {MAX_SMALL} values; halfwave folds an Add "
            "exactly when one side is a quantised tensor or a small accumulator",
            name,
        )
    fits = []
    for c, ch_steps in enumerate(steps):
        sa, sb = side_of(da, c), side_of(db, c)
        sign = 1
        if sa.a < 0:  # count in -a so that passing is monotone increasing
            table = None if sa.table is None else {-k: v for k, v in sa.table.items()}
            sa, sign = Side(-sa.a, sa.b, sa.c, sa.d, -sa.hi, -sa.lo, table), -1
        xs = np.array(list(sb.values()), dtype=np.int64)
        if sa.a == 0:
            t = np.array([[sa.lo if _passes(s, sa, sa.lo, sb, int(b)) else sa.hi + 1 for b in xs]
                          for s in ch_steps], dtype=np.int64)  # fmt: skip
        else:
            t = np.array([[_threshold(s, sa, sb, int(b)) for b in xs] for s in ch_steps],
                         dtype=np.int64)  # fmt: skip
        ratio = sb.slope_float() / sa.slope_float() if sa.a != 0 else math.inf
        fit = _fit(xs, t, sa.lo, sa.hi, ratio)
        if fit is None:
            raise CompileError(
                f"channel {c} of the Add has no exact integer form D*a + N*b >= theta with "
                f"D <= {MAX_D}; quantise both Add inputs with one shared quantiser",
                name,
            )
        fits.append(Fit(sign * fit.coef_a, fit.coef_b, fit.thresholds))
    return fits, swapped


def _count(desc) -> int:
    if isinstance(desc, Mapped):
        return len(desc.table)
    if isinstance(desc, Raw):
        return desc.hi - desc.lo + 1
    return 2 if desc.dtype == BIPOLAR else desc.dtype.max - desc.dtype.min + 1


def concat_scale(scales: list[Fraction], name: str) -> tuple[Fraction, list[int]]:
    """The common output scale s (the largest with every input scale an integer multiple
    of it) and the multipliers scale_i / s; refused when a multiplier exceeds MAX_MULT."""
    if any(s <= 0 for s in scales):
        raise CompileError("Concat inputs must be quantised with positive scales", name)
    num = 0
    den = 1
    for s in scales:
        num = gcd(num, s.numerator)
        den = den * s.denominator // gcd(den, s.denominator)
    out = Fraction(num, den)
    mults = [int(s / out) for s in scales]
    if max(mults) > MAX_MULT:
        raise CompileError(
            f"the Concat input scales {[float(s) for s in scales]} differ by a ratio that is "
            f"not a small integer fraction (multipliers {mults}); quantise the branches with "
            "one shared scale",
            name,
        )
    return out, mults
