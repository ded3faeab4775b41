"""The digits data set (sklearn's bundled 8x8 digits) with a fixed train/test split.

Inputs are float32 (N, 64) holding the raw pixel values 0..16 exactly as sklearn returns
them; labels are int64."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TEST_SIZE = 0.25
SPLIT_SEED = 0


@dataclass(frozen=True)
class DigitsSplit:
    x_train: np.ndarray  # float32 (N, 64), values 0..16
    y_train: np.ndarray  # int64 (N,)
    x_test: np.ndarray
    y_test: np.ndarray


@lru_cache
def _split() -> DigitsSplit:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.data.astype(np.float32)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y
    )
    for a in (xtr, xte, ytr, yte):
        a.setflags(write=False)
    return DigitsSplit(xtr, ytr, xte, yte)


def load_digits_split() -> DigitsSplit:
    """Fixed stratified 75/25 split (random_state 0): 1347 train, 450 test samples."""
    return _split()


def digits_test_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The test inputs (float32 (450, 64), values 0..16) and labels (int64), as copies."""
    s = _split()
    return s.x_test.copy(), s.y_test.copy()
