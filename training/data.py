"""The digits data set (sklearn's bundled 8x8 digits) with a fixed train/test split, as
vectors for the FC models and as images for the convolutional ones; generated images.

Vectors: float32 (N, 64) holding the raw pixel values 0..16 exactly as sklearn returns
them. Images: (N, 3, S, S) pixels 0..255 (uint8 in the cached splits, float32 in the test
arrays handed out): 8x8 digits scaled to 0..255 (round half up of v * 255 / 16), resized
to S x S by Pillow's bilinear filter, the grey channel repeated three times. Labels are
int64."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TEST_SIZE = 0.25
SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """A train/test split: digits vectors or images, or an image folder's images."""

    x_train: np.ndarray  # float32 (N, 64), values 0..16; or images (N, 3, H, W) 0..255
    y_train: np.ndarray  # int64 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))


DigitsSplit = Split  # the name it had before image folders


@lru_cache
def _split() -> Split:
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
    return Split(xtr, ytr, xte, yte)


def load_digits_split() -> Split:
    """Fixed stratified 75/25 split (random_state 0): 1347 train, 450 test samples."""
    return _split()


def digits_test_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The test inputs (float32 (450, 64), values 0..16) and labels (int64), as copies."""
    s = _split()
    return s.x_test.copy(), s.y_test.copy()


def _digits_to_images(x: np.ndarray, size: int) -> np.ndarray:
    """(N, 64) values 0..16 -> read-only uint8 (N, 3, size, size) (a broadcast view)."""
    from PIL import Image

    pix = ((x.reshape(-1, 8, 8).astype(np.int64) * 255 + 8) // 16).astype(np.uint8)
    out = np.empty((len(pix), size, size), dtype=np.uint8)
    for i, p in enumerate(pix):
        img = Image.fromarray(p, mode="L").resize((size, size), Image.Resampling.BILINEAR)
        out[i] = np.asarray(img)
    out.setflags(write=False)
    return np.broadcast_to(out[:, None], (len(out), 3, size, size))


@lru_cache(maxsize=4)
def digits_images(size: int = 32) -> Split:
    """The digits split (same samples and order as :func:`load_digits_split`) as uint8
    images (N, 3, size, size), read-only."""
    s = _split()
    return Split(
        _digits_to_images(s.x_train, size), s.y_train, _digits_to_images(s.x_test, size), s.y_test
    )


def digits_test_images(size: int = 32, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` (default all 450) test images as float32 (n, 3, size, size), values
    0..255, and their labels (int64), as copies."""
    s = digits_images(size)
    n = len(s.y_test) if n is None else n
    return s.x_test[:n].astype(np.float32), s.y_test[:n].copy()


def random_images(n: int, shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """``n`` generated images, float32 (n, C, H, W) with integer pixels 0..255: smooth
    random colour fields (random 5x5 grids resized bilinearly) with a random contrast,
    plus pixel noise. Deterministic for a seed."""
    from PIL import Image

    c, h, w = shape
    rng = np.random.default_rng(seed)
    out = np.empty((n, c, h, w), dtype=np.float32)
    for i in range(n):
        contrast = rng.uniform(0.3, 1.0)
        for ch in range(c):
            grid = rng.integers(0, 256, size=(5, 5)).astype(np.uint8)
            smooth = np.asarray(
                Image.fromarray(grid, mode="L").resize((w, h), Image.Resampling.BILINEAR)
            ).astype(np.float64)
            noise = rng.normal(0.0, 20.0, size=(h, w))
            v = 128.0 + contrast * (smooth - 128.0) + noise
            out[i, ch] = np.clip(np.rint(v), 0, 255)
    return out


def digits_test_inputs(name: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The digits test inputs shaped for model ``name`` (float32; the first ``n``, default
    all 450): vectors (n, 64) for FC models, images (n, 3, S, S) for convolutional
    ones; and the labels."""
    from .models import input_shape

    shape = input_shape(name)
    if len(shape) == 1:
        x, y = digits_test_arrays()
        return (x, y) if n is None else (x[:n], y[:n])
    return digits_test_images(shape[1], n)
