"""Exact arithmetic for the numeric contract: per-channel affine maps with one square root.

Between a matrix-vector product and the next quantiser, a model applies scales, biases and
at most one BatchNorm. For an integer accumulator x every such chain is

    y(x) = (a*x + b) / sqrt(d) + c      with a, b, c, d rational, d > 0,

and comparisons of y(x) with a rational threshold are decided exactly (no rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import isqrt


def _sign(v: Fraction | int) -> int:
    return (v > 0) - (v < 0)


def exact(value: float) -> Fraction:
    """The exact rational value of a binary float (no decimal rounding)."""
    return Fraction(float(value))


def sign_of_l_minus_r_sqrt_d(left: Fraction, right: Fraction, d: Fraction) -> int:
    """Sign of left - right*sqrt(d), exactly, for d > 0."""
    if d == 1:
        return _sign(left - right)
    sl, sr = _sign(left), _sign(right)
    if sl >= 0 and sr <= 0:
        return 0 if sl == 0 and sr == 0 else 1
    if sl <= 0 and sr >= 0:
        return -1
    lhs, rhs = left * left, right * right * d
    return _sign(lhs - rhs) if sl > 0 else _sign(rhs - lhs)


@dataclass(frozen=True)
class Affine:
    """y(x) = (a*x + b)/sqrt(d) + c for one output channel."""

    a: Fraction
    b: Fraction = Fraction(0)
    c: Fraction = Fraction(0)
    d: Fraction = Fraction(1)

    def mul(self, k: Fraction) -> Affine:
        return Affine(self.a * k, self.b * k, self.c * k, self.d)

    def add(self, k: Fraction) -> Affine:
        return Affine(self.a, self.b, self.c + k, self.d)

    def batchnorm(self, gamma: Fraction, beta: Fraction, mean: Fraction, var_eps: Fraction):
        """(y - mean) * gamma / sqrt(var_eps) + beta; None if a second square root appears."""
        if self.d != 1 or var_eps <= 0:
            return None
        shift = self.b + self.c - mean
        return Affine(gamma * self.a, gamma * shift, beta, var_eps)

    def negated_input(self) -> Affine:
        """The same map as a function of x' = -x."""
        return Affine(-self.a, self.b, self.c, self.d)

    def compare(self, x: int, t: Fraction) -> int:
        """Sign of y(x) - t, exactly."""
        return sign_of_l_minus_r_sqrt_d(self.a * x + self.b, t - self.c, self.d)

    def slope_sign(self) -> int:
        return _sign(self.a)

    def solve_float(self, t: Fraction) -> float | None:
        """Approximate x with y(x) = t (a search hint only)."""
        if self.a == 0:
            return None
        root = float(self.d) ** 0.5 if self.d != 1 else 1.0
        return (float(t - self.c) * root - float(self.b)) / float(self.a)

    def value_float(self, x: float) -> float:
        root = float(self.d) ** 0.5 if self.d != 1 else 1.0
        return (float(self.a) * x + float(self.b)) / root + float(self.c)

    def scale_and_bias(self) -> tuple[float, float]:
        """Float64 (s, o) with y(x) ~= s*x + o (for outputs leaving the integer domain)."""
        root = float(self.d) ** 0.5 if self.d != 1 else 1.0
        return float(self.a) / root, float(self.b) / root + float(self.c)


def is_perfect_square(q: Fraction) -> bool:
    return (
        q >= 0
        and isqrt(q.numerator) ** 2 == q.numerator
        and (isqrt(q.denominator) ** 2 == q.denominator)
    )
