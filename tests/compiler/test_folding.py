import random

import pytest

from halfwave.compiler.folding import cheapest_folding


@pytest.mark.parametrize("seed", range(5))
def test_cheapest_folding_meets_target_with_fewest_lanes(seed):
    rng = random.Random(seed)
    mh, mw = rng.randint(1, 70), rng.randint(1, 90)
    target = rng.randint(1, mh * mw)
    pe, simd = cheapest_folding(mh, mw, target)
    cycles = -(-mh // pe) * -(-mw // simd)
    assert cycles <= target
    brute = min(
        p * s
        for p in range(1, mh + 1)
        for s in range(1, mw + 1)
        if -(-mh // p) * -(-mw // s) <= target
    )
    assert pe * simd == brute


def test_non_divisors_are_allowed():
    pe, simd = cheapest_folding(10, 64, 16)
    assert -(-10 // pe) * -(-64 // simd) <= 16
    pe, simd = cheapest_folding(7, 13, 4)
    assert (7 % pe, 13 % simd) != (0, 0)
