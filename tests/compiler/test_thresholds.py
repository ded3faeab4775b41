"""Integer thresholds reproduce the quantiser for every accumulator value.

References come from a different path: Python's exact round() on Fractions (ties to
even) for rational maps, and 60-digit Decimal arithmetic for BatchNorm's square root.
"""

import random
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest

from halfwave.compiler.exact import Affine, sign_of_l_minus_r_sqrt_d
from halfwave.compiler.thresholds import Step, derive_thresholds

getcontext().prec = 60


def hw_count(thr, neg, c, acc):
    a = -acc if neg[c] else acc
    return int(np.sum(a >= thr[c]))


def quant_steps(s: Fraction, lo: int, hi: int) -> list[Step]:
    """Decisions of round_half_even(y/s) clipped to [lo, hi] (as lower.py builds them)."""
    return [Step((k - Fraction(1, 2)) * s, strict=k % 2 != 0) for k in range(lo + 1, hi + 1)]


def ref_round_code(y: Fraction, s: Fraction, lo: int, hi: int) -> int:
    return min(max(round(y / s), lo), hi)  # round() of a Fraction: exact, ties to even


@pytest.mark.parametrize("seed", range(6))
def test_rational_maps_with_ties(seed):
    """Power-of-two scales make exact ties y/s = k + 1/2 common; negative and zero slopes."""
    rng = random.Random(seed)
    lo_acc, hi_acc = -40, 40
    affines, steps, refs = [], [], []
    for _ in range(24):
        a = Fraction(rng.choice([-3, -1, 0, 1, 2, 5]), 2 ** rng.randint(0, 4))
        b = Fraction(rng.randint(-20, 20), 2 ** rng.randint(0, 3))
        s = Fraction(1, 2 ** rng.randint(0, 3))
        q_lo, q_hi = rng.choice([(0, 3), (-1, 1), (-2, 1), (0, 15), (-8, 7)])
        affines.append(Affine(a, b))
        steps.append(quant_steps(s, q_lo, q_hi))
        refs.append((a, b, s, q_lo, q_hi))
    n_steps = {len(s) for s in steps}
    for width in n_steps:
        idx = [i for i, s in enumerate(steps) if len(s) == width]
        thr, neg = derive_thresholds(
            [affines[i] for i in idx], [steps[i] for i in idx], lo_acc, hi_acc
        )
        for c, i in enumerate(idx):
            a, b, s, q_lo, q_hi = refs[i]
            for acc in range(lo_acc, hi_acc + 1):
                want = ref_round_code(a * acc + b, s, q_lo, q_hi) - q_lo
                assert hw_count(thr, neg, c, acc) == want, (refs[i], acc)


def test_hwgq_threshold_at_zero_is_strict():
    """HWGQ: y <= 0 -> 0; with y = acc * 0.25 the tie at acc = 0 must give code 0."""
    t = [Fraction(0), Fraction(807, 1000), Fraction(1345, 1000)]
    steps = [[Step(v, strict=True) for v in t]]
    thr, neg = derive_thresholds([Affine(Fraction(1, 4))], steps, -20, 20)
    assert not neg[0]
    assert hw_count(thr, neg, 0, 0) == 0
    assert hw_count(thr, neg, 0, 1) == 1
    for acc in range(-20, 21):
        y = Fraction(acc, 4)
        assert hw_count(thr, neg, 0, acc) == sum(y > v for v in t)


def _bn_value(acc, a, mean, var_eps, gamma, beta) -> Decimal:
    x = Decimal(a.numerator) / Decimal(a.denominator) * acc
    m = Decimal(mean.numerator) / Decimal(mean.denominator)
    v = (Decimal(var_eps.numerator) / Decimal(var_eps.denominator)).sqrt()
    g = Decimal(gamma.numerator) / Decimal(gamma.denominator)
    b = Decimal(beta.numerator) / Decimal(beta.denominator)
    return (x - m) / v * g + b


@pytest.mark.parametrize("seed", range(4))
def test_batchnorm_either_sign_and_zero_variance(seed):
    rng = np.random.default_rng(seed)
    t = [Fraction(float(v)) for v in np.float32([0.0, 0.807, 1.345])]
    affines, params = [], []
    for _ in range(32):
        a = Fraction(float(np.float32(rng.uniform(0.01, 0.3))))
        gamma = Fraction(float(np.float32(rng.choice([-1, 1]) * rng.uniform(0.1, 3))))
        if rng.random() < 0.1:
            gamma = Fraction(0)
        mean = Fraction(float(np.float32(rng.normal(0, 2))))
        var_eps = Fraction(float(np.float32(rng.choice([0.0, 1e-5, rng.uniform(0.1, 9)]))))
        var_eps += Fraction(float(np.float32(1e-5)))
        beta = Fraction(float(np.float32(rng.normal(0, 1))))
        affines.append(Affine(a).batchnorm(gamma, beta, mean, var_eps))
        params.append((a, mean, var_eps, gamma, beta))
    steps = [[Step(v, strict=True) for v in t]] * len(affines)
    thr, neg = derive_thresholds(affines, steps, -64, 64)
    dec_t = [Decimal(v.numerator) / Decimal(v.denominator) for v in t]
    for c, p in enumerate(params):
        for acc in range(-64, 65):
            y = _bn_value(acc, *p)
            assert hw_count(thr, neg, c, acc) == sum(y > v for v in dec_t), (p, acc)


def test_sqrt_comparison_against_decimal():
    rng = random.Random(1)
    for _ in range(2000):
        left = Fraction(rng.randint(-50, 50), rng.randint(1, 9))
        right = Fraction(rng.randint(-50, 50), rng.randint(1, 9))
        d = Fraction(rng.randint(1, 60), rng.randint(1, 9))
        got = sign_of_l_minus_r_sqrt_d(left, right, d)
        diff = (
            Decimal(left.numerator) / left.denominator
            - Decimal(right.numerator)
            / right.denominator
            * (Decimal(d.numerator) / d.denominator).sqrt()
        )
        want = 0 if abs(diff) < Decimal(10) ** -40 else (1 if diff > 0 else -1)
        assert got == want, (left, right, d)


def test_clip_and_constant_steps():
    s = Step(Fraction(1), strict=False)
    assert s.through_clip(Fraction(0), None) == s
    assert Step(Fraction(0)).through_clip(Fraction(0), None).const is True  # relu(y) >= 0
    assert Step(Fraction(0), True).through_clip(Fraction(0), None) == Step(Fraction(0), True)
    assert Step(Fraction(5)).through_clip(None, Fraction(4)).const is False
    thr, neg = derive_thresholds(
        [Affine(Fraction(0), Fraction(3))], [[Step(Fraction(1)), Step(Fraction(5))]], -8, 8
    )
    assert [hw_count(thr, neg, 0, a) for a in (-8, 0, 8)] == [1, 1, 1]
