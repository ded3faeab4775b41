"""Training on digits or an image folder (CPU), checkpoints and their loading.

Data: FC models take the digits vectors; convolutional models the digits as images of
their input size (data.digits_images), or the images of an image folder (imagefolder.py)
resized to it. Recipe (quantised and float models alike): Adam, cosine learning-rate
decay, batch 64, cross-entropy; latent binary weights are clipped to [-1, 1] after each
step; TTQ's learned scales Wp, Wn train with the learning rate times their initial
magnitude (their own Adam group per layer) and are kept positive. Deterministic for a
given seed and thread count. The metrics include the weight memory (size.py) and, for
ternary models, per layer the snapped scales, their errors and the sparsity."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from halfwave.compiler.errors import HalfwaveError

from .data import Split, digits_images, load_digits_split
from .imagefolder import ImageFolderError
from .models import QuantMLP, build_model, is_conv
from .quantizers import QuantConv2d, QuantLinear
from .size import model_size
from .ternary import TERNARY_LAYERS, ternary_report

DEFAULT_EPOCHS = {
    "tfc": 40,
    "sfc": 40,
    "lfc": 30,
    "cnv": 4,
    "hwgq_alexnet": 1,
    "hwgq_alexnet_tiny": 10,
}
DEFAULT_LR = 1e-2
BATCH_SIZE = 64
EVAL_BATCH = 256  # images per forward pass when measuring accuracy


class CheckpointError(HalfwaveError, ValueError):
    """A file is not a halfwave checkpoint, or holds another model than expected."""


def _floats(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x, dtype=np.float32).copy())


def _accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float | None:
    if len(y) == 0:
        return None  # no samples
    model.eval()
    step = len(x) if x.ndim == 2 else EVAL_BATCH  # FC: the whole set in one pass
    with torch.no_grad():
        pred = np.concatenate(
            [model(_floats(x[i : i + step])).argmax(1).numpy() for i in range(0, len(x), step)]
        )
    return float((pred == y).mean())


def training_data(model: nn.Module, data_dir: Path | str | None = None) -> Split:
    """The split a model trains on: digits vectors (FC), digits images of the model's
    input size (convolutional), or the images of ``data_dir`` (convolutional only)."""
    if isinstance(model, QuantMLP):
        if data_dir is not None:
            raise ImageFolderError(
                f"{model.name}: image folders need a convolutional model (cnv_*, "
                f"hwgq_alexnet*); FC models train on the digits vectors"
            )
        return load_digits_split()
    _, h, w = model.input_shape
    if data_dir is None:
        return digits_images(h)
    from .imagefolder import load_image_folder

    data = load_image_folder(data_dir, h)
    if len(data.classes) > model.n_classes:
        raise ImageFolderError(
            f"{data_dir}: {len(data.classes)} classes, but {model.name} has "
            f"{model.n_classes} outputs"
        )
    return data


def _param_groups(model: nn.Module, lr: float) -> list[dict]:
    """One group for every parameter but TTQ's scales; each TTQ layer's Wp and Wn get
    ``lr`` times their initial magnitude, so that an Adam step moves them by about ``lr``
    relative (an absolute step of ``lr`` is as large as the scales of wide layers)."""
    scales, groups = set(), []
    for m in model.modules():
        if isinstance(m, TERNARY_LAYERS) and m.method == "ttq":
            pair = [m.wp, m.wn]
            size = float(torch.stack([p.detach() for p in pair]).mean())
            groups.append({"params": pair, "lr": lr * size})
            scales.update(id(p) for p in pair)
    rest = [p for p in model.parameters() if id(p) not in scales]
    return [{"params": rest}, *groups]


def train(
    name: str,
    out: Path | str,
    epochs: int | None = None,
    seed: int = 0,
    lr: float = DEFAULT_LR,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    threads: int | None = None,
    data_dir: Path | str | None = None,
    ternary_threshold: float | None = None,
) -> dict:
    """Train model ``name`` on the digits training split (or, for a convolutional model,
    on the image folder ``data_dir``), save ``out`` (checkpoint) and ``<out>.json``
    (metrics), and return the metrics. Runs on ``threads`` intra-op threads; default 1
    for FC models (fastest for their small layers) and torch's default (the cores) for
    convolutional ones. ``ternary_threshold``: see :func:`build_model`."""
    old_threads = torch.get_num_threads()
    if threads is None:
        threads = old_threads if is_conv(name) else 1
    torch.set_num_threads(threads)
    try:
        return _train(
            name, Path(out), epochs, seed, lr, batch_size, progress, data_dir, ternary_threshold
        )
    finally:
        torch.set_num_threads(old_threads)


def _train(name, out, epochs, seed, lr, batch_size, progress, data_dir, threshold) -> dict:
    from tqdm import tqdm

    torch.manual_seed(seed)
    model = build_model(name, threshold)
    epochs = DEFAULT_EPOCHS[model.spec.topology] if epochs is None else epochs
    data = training_data(model, data_dir)
    xtr = data.x_train
    ytr = torch.from_numpy(data.y_train.copy())
    opt = torch.optim.Adam(_param_groups(model, lr), lr=lr)
    steps_per_epoch = math.ceil(len(xtr) / batch_size)
    total = max(1, epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )
    gen = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    binary = [
        m.weight
        for m in model.modules()
        if isinstance(m, (QuantLinear, QuantConv2d)) and m.bits == 1
    ]
    ternary = [m for m in model.modules() if isinstance(m, TERNARY_LAYERS)]
    t0, c0 = time.perf_counter(), time.process_time()
    bar = tqdm(range(epochs), desc=name, disable=not progress, unit="epoch")
    for _ in bar:
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total_loss = 0.0
        for i in range(0, len(xtr), batch_size):
            idx = perm[i : i + batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            opt.zero_grad()
            loss = loss_fn(model(_floats(xtr[idx.numpy()])), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                for w in binary:
                    w.clamp_(-1, 1)
                for m in ternary:
                    m.constrain()
            total_loss += float(loss.detach()) * len(idx)
        bar.set_postfix(loss=f"{total_loss / len(xtr):.4f}")
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    metrics = {
        "name": name,
        "epochs": epochs,
        "seed": seed,
        "lr": lr,
        "data": "digits" if data_dir is None else str(data_dir),
        "classes": list(data.classes),
        "train_accuracy": _accuracy(model, data.x_train, data.y_train),
        "test_accuracy": _accuracy(model, data.x_test, data.y_test),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),  # all threads; wall seconds vary with load
        "threads": torch.get_num_threads(),
        "model_size": model_size(model),
    }
    if ternary:
        metrics["ternary"] = ternary_report(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": name, "state_dict": model.state_dict()}, out)
    Path(str(out) + ".json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def load_checkpoint(path: Path | str, name: str | None = None) -> nn.Module:
    """Load a checkpoint written by :func:`train` (eval mode, float32). ``name``, when
    given, must match the model stored in it."""
    path = Path(path)
    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for garbage
        raise CheckpointError(
            f"{path}: not a halfwave checkpoint ({type(e).__name__}: {str(e)[:200]})"
        ) from None
    if (
        not isinstance(ckpt, dict)
        or not isinstance(ckpt.get("model"), str)
        or not isinstance(ckpt.get("state_dict"), dict)
    ):
        raise CheckpointError(
            f"{path}: not a halfwave checkpoint (expected a dict with 'model' and 'state_dict')"
        )
    stored = ckpt["model"]
    if name is not None and stored != name:
        raise CheckpointError(f"{path}: holds model {stored!r}, not {name!r}")
    try:
        model = build_model(stored)
        model.load_state_dict(ckpt["state_dict"])
    except (ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: cannot load model {stored!r}: {e}") from None
    return model.eval()
