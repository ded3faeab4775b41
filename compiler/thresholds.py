"""Integer thresholds: the exact step function from an accumulator to an output code.

A quantiser is a list of decisions ("steps") on the real pre-activation value y; the
output code is `base + number of steps passed`. Given the exact per-channel map
y(acc) (see exact.Affine), each step becomes the smallest integer accumulator that
passes it, so hardware computes `count = #(acc >= T_k)` with the same result for every
accumulator value, ties included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .exact import Affine


@dataclass(frozen=True)
class Step:
    """Passed when y > t (strict) or y >= t; `const` set means passed always/never."""

    t: Fraction | None = None
    strict: bool = False
    const: bool | None = None

    def passed(self, affine: Affine, x: int) -> bool:
        if self.const is not None:
            return self.const
        s = affine.compare(x, self.t)
        return s > 0 if self.strict else s >= 0

    def complement_on_negated(self) -> Step:
        """not(y >= t) == (-y) > -t: the complementary decision expressed on -y."""
        if self.const is not None:
            return Step(const=not self.const)
        return Step(-self.t, not self.strict)

    def through_clip(self, lo: Fraction | None, hi: Fraction | None) -> Step:
        """The decision on clip(y, lo, hi) expressed as a decision on y."""
        if self.const is not None:
            return self
        t, strict = self.t, self.strict
        if lo is not None and (t < lo or (t == lo and not strict)):
            return Step(const=True)
        if hi is not None and (t > hi or (t == hi and strict)):
            return Step(const=False)
        return self

    def scaled(self, k: Fraction) -> Step:
        """The decision on y expressed on y' = y / k (k > 0)."""
        return self if self.const is not None else Step(self.t / k, self.strict)


def _first_passing(step: Step, affine: Affine, lo: int, hi: int) -> int:
    """Smallest x in [lo, hi] passing `step` (monotone in x), or hi + 1 if none."""
    if step.const is not None:
        return lo if step.const else hi + 1

    def ok(x: int) -> bool:
        return step.passed(affine, x)

    guess = affine.solve_float(step.t)
    if guess is not None and math.isfinite(guess):
        g = min(max(math.ceil(guess), lo), hi + 1)
        for cand in (g, g + 1, g - 1):
            if lo <= cand <= hi + 1:
                above = cand == hi + 1 or ok(cand)
                below = cand == lo or not ok(cand - 1)
                if above and below:
                    return cand
    left, right = lo, hi + 1  # invariant: answer in [left, right]
    while left < right:
        mid = (left + right) // 2
        if ok(mid):
            right = mid
        else:
            left = mid + 1
    return left


def derive_thresholds(
    affines: list[Affine], steps: list[list[Step]], lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per channel c: thresholds T[c] (ascending) and whether the row is negated.

    For channel c and any integer acc in [lo, hi]:
        #(steps passed at y_c(acc)) == #(acc' >= T[c, k]),  acc' = -acc if negated[c] else acc
    A channel whose y decreases with acc is negated (its weights row is negated in the
    hardware) so that every threshold compares "greater or equal".
    """
    n_ch = len(affines)
    n_steps = len(steps[0]) if steps else 0
    out = np.zeros((n_ch, n_steps), dtype=np.int64)
    negated = np.zeros(n_ch, dtype=bool)
    for c, (aff, ch_steps) in enumerate(zip(affines, steps, strict=True)):
        a_lo, a_hi = lo, hi
        if aff.slope_sign() < 0:
            aff, a_lo, a_hi, negated[c] = aff.negated_input(), -hi, -lo, True
        if aff.slope_sign() == 0:
            const_steps = [
                s if s.const is not None else Step(const=s.passed(aff, 0)) for s in ch_steps
            ]
            out[c] = [_first_passing(s, aff, a_lo, a_hi) for s in const_steps]
        else:
            out[c] = [_first_passing(s, aff, a_lo, a_hi) for s in ch_steps]
    out.sort(axis=1)
    return out, negated


def count_steps_reference(affine: Affine, steps: list[Step], x: int) -> int:
    """Direct evaluation (the reference the thresholds must reproduce)."""
    return sum(s.passed(affine, x) for s in steps)
