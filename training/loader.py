"""Training and validation data as torch DataLoaders: an image folder streamed from disk
(each image opened by a worker when its batch is drawn, never the whole set in memory), or
an in-memory array split (the digits, the offline default).

Augmentation (training on an image folder, Pillow + numpy, no torchvision): a random-
resized crop (area 8-100 % of the image, aspect ratio 3/4-4/3 log-uniform, ten tries then
the largest central crop in that ratio range; the algorithm of torchvision's
RandomResizedCrop, Szegedy et al. 2015) resized bilinearly to size x size, then a
horizontal flip with probability 1/2. Validation: :func:`imagefolder.load_image` (shorter
side to the size, centre crop). Pixels stay 0..255 (uint8 across the worker boundary,
float32 in the batch the model gets).

Randomness is a function of (seed, epoch, sample index) only: the same sample gets the same
crop whatever the worker count, rank count or resume point, so DDP runs and resumed runs
see the data a single straight run sees. The order comes from a DistributedSampler
(seed + epoch), one rank or many."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .imagefolder import ImageFolderError, read_image

CROP_SCALE = (0.08, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)


def random_resized_crop(
    size_wh: tuple[int, int], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """A crop box (left, top, right, bottom) of an image of ``size_wh`` (see module
    docstring)."""
    w, h = size_wh
    area = w * h
    lo, hi = math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])
    for _ in range(10):
        target = area * rng.uniform(*CROP_SCALE)
        ratio = math.exp(rng.uniform(lo, hi))
        cw, ch = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
        if 0 < cw <= w and 0 < ch <= h:
            left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            return left, top, left + cw, top + ch
    ratio = min(max(w / h, CROP_RATIO[0]), CROP_RATIO[1])
    cw, ch = (w, round(w / ratio)) if w / h <= ratio else (round(h * ratio), h)
    cw, ch = min(cw, w), min(ch, h)
    left, top = (w - cw) // 2, (h - ch) // 2
    return left, top, left + cw, top + ch


def augmented_image(path: Path | str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One training image as uint8 (3, size, size): random-resized crop, random flip."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            box = random_resized_crop(im.size, rng)
            im = im.resize((size, size), Image.Resampling.BILINEAR, box=box)
    except Exception as e:  # noqa: BLE001 - Pillow raises many kinds for bad files
        raise ImageFolderError(f"{path}: cannot read as an image ({e})") from None
    a = np.asarray(im, dtype=np.uint8)
    if rng.random() < 0.5:
        a = a[:, ::-1]
    return np.ascontiguousarray(a.transpose(2, 0, 1))


class FolderDataset(Dataset):
    """Files with labels, each read when asked for: augmented (``train``) or resized and
    centre-cropped; a sample is (uint8 tensor (3, size, size), int64 label), or with
    ``flat_gray`` (FC models) the grayscale image flattened, (size * size,) uint8."""

    def __init__(
        self, files: Sequence[tuple[Path, int]], size: int, train: bool, seed: int = 0,
        flat_gray: bool = False,
    ):  # fmt: skip
        self.files, self.size, self.train, self.seed = list(files), size, train, seed
        self.flat_gray = flat_gray
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.files)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.files[i]
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            a = augmented_image(path, self.size, rng)
        else:
            a = read_image(path, self.size)
        if self.flat_gray:  # the mean of the channels, rounded half to even
            a = np.rint(a.astype(np.float64).mean(axis=0)).astype(np.uint8).reshape(-1)
        return torch.from_numpy(a), label


class ArrayDataset(Dataset):
    """An in-memory split (digits vectors or images), fetched a batch at a time."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(np.array(self.x[i])), int(self.y[i])

    def __getitems__(self, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.array(self.x[idx])), torch.from_numpy(self.y[idx].copy())


def _collate_batch(b):
    return b if isinstance(b, tuple) else torch.utils.data.default_collate(b)


@dataclass(frozen=True)
class Shard:
    """Which part of the data this process handles."""

    rank: int = 0
    world: int = 1


class ShardSampler(torch.utils.data.Sampler):
    """Indices rank, rank + world, ... in order, no padding: evaluation counts every
    sample exactly once across the ranks."""

    def __init__(self, n: int, shard: Shard):
        self.idx = list(range(shard.rank, n, shard.world))

    def __iter__(self):
        return iter(self.idx)

    def __len__(self) -> int:
        return len(self.idx)


def train_loader(
    ds: Dataset, batch: int, shard: Shard, seed: int, workers: int, pin: bool = False
) -> DataLoader:
    """Shuffled (seed + epoch, call ``loader.sampler.set_epoch``), ``batch`` samples per
    process, the last incomplete batch dropped (BatchNorm needs more than one sample, and
    every rank must take the same number of steps)."""
    sampler = DistributedSampler(
        ds, num_replicas=shard.world, rank=shard.rank, shuffle=True, seed=seed
    )
    return DataLoader(
        ds, batch_size=batch, sampler=sampler, num_workers=workers, drop_last=True,
        collate_fn=_collate_batch, pin_memory=pin, persistent_workers=False,
    )  # fmt: skip


def eval_loader(ds: Dataset, batch: int, shard: Shard, workers: int) -> DataLoader:
    return DataLoader(
        ds, batch_size=batch, sampler=ShardSampler(len(ds), shard), num_workers=workers,
        collate_fn=_collate_batch,
    )  # fmt: skip
