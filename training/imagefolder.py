"""Image folders (torchvision's ImageFolder layout) read with Pillow.

Layouts:
- ``DIR/train/<class>/*`` and ``DIR/val/<class>/*`` (or ``DIR/test/<class>/*``): the given
  split; the classes are the folders under ``train/``, sorted by name, and every class
  under ``val/`` must be one of them.
- ``DIR/<class>/*``: a deterministic split: per class (in sorted order), the file names
  sorted, a seeded permutation (numpy default_rng(SPLIT_SEED), one generator for all
  classes in order) puts round(n * VAL_FRACTION) of them, at least one when the class
  has two or more, into the validation set.

Files ending in one of :data:`EXTENSIONS` (any case) are read; anything else is ignored.
Each image is converted to RGB, resized so that its shorter side is the target size
(Pillow's bilinear filter, which antialiases when shrinking; the longer side rounded to
the nearest pixel), then cropped to the central size x size square (left/top offset
rounded down). Pixels stay the integers 0..255: the arrays are uint8 (N, 3, S, S), the
model input is the same values as float."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import Split
from .errors import TrainingError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".gif", ".webp", ".tif", ".tiff")
VAL_FRACTION = 0.2
SPLIT_SEED = 0
VAL_NAMES = ("val", "test")


class ImageFolderError(TrainingError):
    """A folder that does not hold images in a layout this loader reads."""


def load_image(path: Path | str, size: int) -> np.ndarray:
    """One image as uint8 (3, size, size): RGB, shorter side resized to ``size``, central
    crop (see module docstring)."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        im = im.resize((nw, nh), Image.Resampling.BILINEAR)
        left, top = (nw - size) // 2, (nh - size) // 2
        im = im.crop((left, top, left + size, top + size))
        return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1).copy()


def _images(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def _class_dirs(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_image(path: Path | str, size: int) -> np.ndarray:
    """:func:`load_image`, a file that is not an image named in one sentence."""
    try:
        return load_image(path, size)
    except Exception as e:  # noqa: BLE001 - Pillow raises many kinds for bad files
        raise ImageFolderError(f"{path}: cannot read as an image ({e})") from None


def _stack(files: list[tuple[Path, int]], size: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.empty((len(files), 3, size, size), dtype=np.uint8)
    y = np.empty(len(files), dtype=np.int64)
    for i, (f, label) in enumerate(files):
        x[i], y[i] = read_image(f, size), label
    return x, y


@dataclass(frozen=True)
class FolderListing:
    """The files of an image folder, split, with their labels; no pixels read."""

    train: list[tuple[Path, int]]
    val: list[tuple[Path, int]]
    classes: tuple[str, ...]


def list_image_folder(root: Path | str, val_fraction: float = VAL_FRACTION) -> FolderListing:
    """The files under ``root``, split and labelled as the module docstring says; reads
    directory entries only (the loader opens each image when a batch needs it)."""
    root = Path(root)
    if not root.is_dir():
        raise ImageFolderError(f"{root}: no such folder")
    train_dir = root / "train"
    if train_dir.is_dir():
        val_dir = next((root / v for v in VAL_NAMES if (root / v).is_dir()), None)
        if val_dir is None:
            raise ImageFolderError(f"{root}: has train/ but neither val/ nor test/")
        classes = [d.name for d in _class_dirs(train_dir) if _images(d)]
        index = {c: i for i, c in enumerate(classes)}
        train = [(f, index[c]) for c in classes for f in _images(train_dir / c)]
        val = []
        for d in _class_dirs(val_dir):
            files = _images(d)
            if files and d.name not in index:
                raise ImageFolderError(f"{d}: class {d.name!r} has no training images")
            val += [(f, index[d.name]) for f in files]
    else:
        classes = [d.name for d in _class_dirs(root) if _images(d)]
        rng = np.random.default_rng(SPLIT_SEED)
        train, val = [], []
        for label, c in enumerate(classes):
            files = _images(root / c)
            n_val = max(1, round(len(files) * val_fraction)) if len(files) >= 2 else 0
            perm = rng.permutation(len(files))
            held = set(perm[:n_val].tolist())
            for i, f in enumerate(files):
                (val if i in held else train).append((f, label))
    if not classes or not train:
        raise ImageFolderError(
            f"{root}: no images found (expected {root}/<class>/*.png|jpg or "
            f"{root}/train/<class>/... and {root}/val/<class>/...)"
        )
    return FolderListing(train, val, tuple(classes))


def load_image_folder(root: Path | str, size: int, val_fraction: float = VAL_FRACTION) -> Split:
    """The images under ``root`` as a split held in memory (uint8 (N, 3, size, size),
    int64 labels, the class names in label order): for small folders, calibration and
    tests; training streams them instead (loader.py). See the module docstring for
    layouts and preprocessing."""
    listing = list_image_folder(root, val_fraction)
    x_train, y_train = _stack(listing.train, size)
    x_val, y_val = _stack(listing.val, size)
    return Split(x_train, y_train, x_val, y_val, listing.classes)
