"""Training: digits or a streamed image folder, on the CPU or CUDA, one process or many
(torch.distributed DDP under torchrun); per-epoch checkpoints, resume, metrics log.

Data: FC models take the digits vectors; convolutional models the digits as images of
their input size, or an image folder (imagefolder.py layouts) streamed by DataLoader
workers with augmentation (loader.py). Recipes (optimiser, schedule, batch, epochs) per
model in recipes.py: Adam + cosine for the digits models, the HWGQ paper's SGD recipes for
AlexNet and ResNets on image folders; ``--batch-size`` is global (each of N processes
takes batch / N). After each step latent binary weights are clipped to [-1, 1] and every
module with a ``constrain()`` method (TTQ's scales) applies it; TTQ's learned scales Wp, Wn
train with the learning rate times their initial magnitude (their own optimiser group per
layer). Losses: cross-entropy or square hinge (losses.py).

Multi-process: the same command in every process (torchrun); gradients all-reduced by
DDP; BatchNorm statistics synchronised across the ranks when the per-process batch is
below SYNC_BN_BELOW (or ``sync_bn="on"``); only rank 0 writes the checkpoint, the metrics
and the progress bar. Validation is sharded and its counts summed, so every rank returns
the same metrics.

Mixed precision (``amp``, CUDA only, off by default): autocast to bfloat16 for the
forward pass. It is off by default because the quantisers are not exact under it: the
BatchNorm outputs that the HWGQ / sign thresholds compare would be rounded to bfloat16's 8
significant bits, so training would see other activation codes than the float32 model
that is exported and compiled (export and verification always run float32/float64 from
the float32 weights, so a model trained with amp is still verified bit-exact).

Checkpoint (``out``, rewritten after every epoch): {"model", "state_dict"} as
:func:`load_checkpoint` reads, plus "train_state" (epoch, recipe, optimiser, scheduler and
RNG states) that ``resume`` continues from: training 1 epoch of a 2-epoch run, stopping
(``stop_after=1``) and resuming gives the weights of the straight 2-epoch run (the data
order and crops depend on the seed, epoch and sample only). Metrics: ``<out>.json`` at the
end, ``<out>.log.jsonl`` a line per epoch (and TensorBoard in ``<out>.tb/`` when
tensorboard is installed). Deterministic for a seed and thread count on the CPU."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from .data import digits_images, load_digits_split
from .distributed import (
    Context,
)
from .distributed import (
    all_sum as dist_all_sum,
)
from .distributed import (
    barrier as dist_barrier,
)
from .distributed import (
    setup as dist_setup,
)
from .distributed import (
    sync_batchnorm as dist_sync_batchnorm,
)
from .distributed import (
    teardown as dist_teardown,
)
from .errors import TrainingError
from .loader import ArrayDataset, FolderDataset, Shard, eval_loader, train_loader
from .losses import make_loss
from .models import build_model, default_loss, input_shape, is_conv, parse_name
from .recipes import Recipe, recipe, with_overrides
from .size import model_size

EVAL_BATCH = 256  # images per forward pass when measuring accuracy
SYNC_BN_BELOW = 32  # per-process batch under which BatchNorm is synchronised (auto)
TRAIN_ACCURACY_MAX = 100_000  # final train-set accuracy only for sets up to this size


class CheckpointError(TrainingError):
    """A file is not a halfwave checkpoint, or holds another model than expected."""


@dataclass(frozen=True)
class TrainOptions:
    """How to train, beyond the recipe (None: the recipe's value)."""

    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    weight_decay: float | None = None
    device: str = "auto"
    loss: str | None = None  # None: the model's default_loss (square hinge for qnn_mlp*)
    workers: int | None = None  # DataLoader worker processes; None: _default_workers
    augment: bool = True  # random-resized crop + flip on image folders
    sync_bn: str = "auto"  # "auto" | "on" | "off"
    amp: bool = False
    resume: Path | None = None
    max_steps: int | None = None  # cap on steps per epoch (benches, tests)
    stop_after: int | None = None  # stop after this epoch, as if interrupted
    progress: bool = True


@dataclass
class _Data:
    train: Dataset
    val: Dataset
    train_eval: Dataset  # the training samples without augmentation
    classes: tuple[str, ...]


def train(
    name: str,
    out: Path | str,
    epochs: int | None = None,
    seed: int = 0,
    lr: float | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    threads: int | None = None,
    data_dir: Path | str | None = None,
    ternary_threshold: float | None = None,
    **options,
) -> dict:
    """Train model ``name`` on the digits (or, convolutional models, the image folder
    ``data_dir``), save ``out`` (checkpoint, every epoch) and ``<out>.json`` (metrics),
    and return the metrics. ``options``: the fields of :class:`TrainOptions`. Runs on
    ``threads`` intra-op threads; default 1 for FC models (fastest for their small layers)
    and torch's default (the cores) for convolutional ones. ``ternary_threshold``: see
    :func:`build_model`."""
    opts = TrainOptions(epochs=epochs, lr=lr, batch_size=batch_size, progress=progress, **options)
    if opts.loss is None:
        opts = replace(opts, loss=default_loss(name))
    old_threads = torch.get_num_threads()
    if threads is None:
        threads = old_threads if is_conv(name) else 1
    torch.set_num_threads(threads)
    had_group = torch.distributed.is_available() and torch.distributed.is_initialized()
    ctx = dist_setup(opts.device)
    own_group = ctx.world > 1 and not had_group
    try:
        return _train(name, Path(out), seed, data_dir, ternary_threshold, opts, ctx)
    finally:
        torch.set_num_threads(old_threads)
        if own_group:
            dist_teardown(ctx)


def _datasets(name: str, model: nn.Module, data_dir, seed: int, augment: bool) -> _Data:
    if data_dir is not None:
        return _folder(name, model, data_dir, seed, augment)
    if not is_conv(name):
        s = load_digits_split()
    else:
        s = digits_images(input_shape(name)[1])
    train_set = ArrayDataset(s.x_train, s.y_train)
    return _Data(train_set, ArrayDataset(s.x_test, s.y_test), train_set, s.classes)


def _folder(name: str, model: nn.Module, data_dir, seed: int, augment: bool) -> _Data:
    """An image folder; FC models read it as the digits' format: grayscale, resized and
    centre-cropped to 8x8, flattened (no augmentation: a crop of 8x8 pixels is noise)."""
    from .imagefolder import list_image_folder

    listing = list_image_folder(data_dir)
    n_classes = getattr(model, "n_classes", None)
    if n_classes is not None and len(listing.classes) > n_classes:
        raise TrainingError(
            f"{data_dir}: {len(listing.classes)} classes, but {name} has {n_classes} outputs"
        )
    shape = input_shape(name)
    fc = len(shape) == 1
    size = math.isqrt(shape[0]) if fc else shape[1]
    if fc and size * size != shape[0]:
        raise TrainingError(f"{name}: {shape[0]} inputs are not a square image")
    augment = augment and not fc
    return _Data(
        FolderDataset(listing.train, size, train=augment, seed=seed, flat_gray=fc),
        FolderDataset(listing.val, size, train=False, flat_gray=fc),
        FolderDataset(listing.train, size, train=False, flat_gray=fc),
        listing.classes,
    )


def _param_groups(model: nn.Module, lr: float, weight_decay: float = 0.0) -> list[dict]:
    """One group for every parameter but TTQ's scales (two with ``weight_decay``: decay on
    weights of two or more dimensions only); each TTQ layer's Wp and Wn (modules with
    parameters ``wp`` and ``wn``) get ``lr`` times their initial magnitude, so that a step
    moves them by about ``lr`` relative (an absolute step of ``lr`` is as large as the
    scales of wide layers), and no decay."""
    scales, groups = set(), []
    for m in model.modules():
        wp, wn = getattr(m, "wp", None), getattr(m, "wn", None)
        # a TTQ layer exposes its quantiser's wp/wn too: each pair once
        if isinstance(wp, nn.Parameter) and isinstance(wn, nn.Parameter) and id(wp) not in scales:
            size = float(torch.stack([wp.detach(), wn.detach()]).mean())
            groups.append({"params": [wp, wn], "lr": lr * size, "weight_decay": 0.0})
            scales.update((id(wp), id(wn)))
    rest = [p for p in model.parameters() if id(p) not in scales]
    if not weight_decay:
        return [{"params": rest}, *groups]
    return [
        {"params": [p for p in rest if p.dim() > 1], "weight_decay": weight_decay},
        {"params": [p for p in rest if p.dim() <= 1], "weight_decay": 0.0},
        *groups,
    ]


def _optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    groups = _param_groups(model, r.lr, r.weight_decay)
    if r.optimizer == "adam":
        return torch.optim.Adam(groups, lr=r.lr)
    if r.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=r.lr, momentum=r.momentum)
    raise TrainingError(f"optimizer {r.optimizer!r}: expected adam or sgd")


def _schedule(opt: torch.optim.Optimizer, r: Recipe, total: int):
    if r.schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
        )
    if r.schedule == "poly":  # Caffe's "poly", power 1, per iteration
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / total))
    raise TrainingError(f"schedule {r.schedule!r}: expected cosine or poly")


def _constraints(model: nn.Module):
    """After each step: latent binary weights (modules with ``bits == 1`` and a weight
    parameter) clipped to [-1, 1]; ``constrain()`` of every module that has one."""
    binary = [
        m.weight
        for m in model.modules()
        if getattr(m, "bits", None) == 1 and isinstance(getattr(m, "weight", None), nn.Parameter)
    ]
    others = [m for m in model.modules() if callable(getattr(m, "constrain", None))]

    @torch.no_grad()
    def apply() -> None:
        for w in binary:
            w.clamp_(-1, 1)
        for m in others:
            m.constrain()

    return apply


def _rng_state(ctx: Context) -> dict:
    state = {"cpu": torch.get_rng_state()}
    if ctx.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(ctx.device)
    return state


def _set_rng_state(state: dict, ctx: Context) -> None:
    torch.set_rng_state(state["cpu"])
    if ctx.device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], ctx.device)


def _read(path: Path) -> dict:
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for garbage
        raise CheckpointError(
            f"{path}: not a halfwave checkpoint ({type(e).__name__}: {str(e)[:200]})"
        ) from None


def _resume_state(path: Path, name: str) -> dict:
    ckpt = _read(path)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("train_state"), dict):
        raise CheckpointError(f"{path}: no training state to resume from (not written by train)")
    if ckpt.get("model") != name:
        raise CheckpointError(f"{path}: holds model {ckpt.get('model')!r}, not {name!r}")
    return ckpt


def _save(out: Path, name: str, model: nn.Module, state: dict) -> None:
    sd = {
        k: v.detach().cpu() if isinstance(v, torch.Tensor) else v  # extra state: as is
        for k, v in model.state_dict().items()
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save({"model": name, "state_dict": sd, "train_state": state}, tmp)
    tmp.replace(out)  # a crash mid-write leaves the previous epoch's checkpoint


class _MetricsLog:
    """``<out>.log.jsonl`` (appended; one line per epoch) and TensorBoard when installed."""

    def __init__(self, out: Path, enabled: bool, fresh: bool):
        self.path = Path(str(out) + ".log.jsonl")
        self.enabled, self.tb = enabled, None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            self.path.write_text("")
        with contextlib.suppress(ImportError):  # tensorboard is optional
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out) + ".tb")

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k != "epoch":
                    self.tb.add_scalar(k, v, record["epoch"])
            self.tb.flush()

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _topk_counts(out: torch.Tensor, y: torch.Tensor) -> tuple[int, int]:
    k = min(5, out.shape[1])
    top = out.topk(k, dim=1).indices
    hit = top == y[:, None]
    return int(hit[:, 0].sum()), int(hit.any(1).sum())


@torch.no_grad()
def _evaluate(model: nn.Module, ds: Dataset, ctx: Context, workers: int) -> tuple:
    """(top-1, top-5) over the whole of ``ds`` (sharded over the ranks); None when empty."""
    model.eval()
    shard = Shard(ctx.rank, ctx.world)
    c1 = c5 = n = 0
    for x, y in eval_loader(ds, EVAL_BATCH, shard, workers):
        out = model(x.to(ctx.device).float())
        a, b = _topk_counts(out, y.to(ctx.device))
        c1, c5, n = c1 + a, c5 + b, n + len(y)
    c1, c5, n = dist_all_sum([c1, c5, n], ctx)
    return (None, None) if n == 0 else (c1 / n, c5 / n)


def _setup_recipe(name: str, data_dir, opts: TrainOptions, stored: dict | None) -> Recipe:
    base = recipe(parse_name(name).topology, data_dir is not None)
    if stored is not None:  # resume: the run's own recipe unless overridden
        base = Recipe(**stored)
    return with_overrides(
        base, epochs=opts.epochs, lr=opts.lr, batch_size=opts.batch_size,
        optimizer=opts.optimizer, weight_decay=opts.weight_decay,
    )  # fmt: skip


def _per_process_batch(r: Recipe, n_train: int, ctx: Context) -> int:
    if r.batch_size % ctx.world:
        raise TrainingError(
            f"batch {r.batch_size} does not divide among {ctx.world} processes (--batch-size)"
        )
    per = min(r.batch_size // ctx.world, n_train // ctx.world)  # a tiny set: one batch
    if per < 2:
        raise TrainingError(
            f"{n_train} training samples over {ctx.world} processes: BatchNorm needs at "
            f"least 2 per process and step"
        )
    return per


def _default_workers(data_dir) -> int:
    """Up to 4 decoding processes per rank for image folders; none for in-memory sets."""
    return 0 if data_dir is None else min(4, len(os.sched_getaffinity(0)))


def _train(name, out: Path, seed, data_dir, threshold, opts: TrainOptions, ctx: Context):
    torch.manual_seed(seed)
    model = build_model(name, threshold)
    ckpt = _resume_state(Path(opts.resume), name) if opts.resume is not None else None
    stored = ckpt["train_state"] if ckpt is not None else None
    r = _setup_recipe(name, data_dir, opts, stored["recipe"] if stored else None)
    data = _datasets(name, model, data_dir, seed, opts.augment and data_dir is not None)
    per = _per_process_batch(r, len(data.train), ctx)
    workers = opts.workers if opts.workers is not None else _default_workers(data_dir)
    if ckpt is not None:  # before the optimiser: Brevitas re-creates quantisers on a load
        model.load_state_dict(ckpt["state_dict"])
    model.to(ctx.device)
    sync = opts.sync_bn == "on" or (opts.sync_bn == "auto" and per < SYNC_BN_BELOW)
    if ctx.world > 1 and sync:
        model = dist_sync_batchnorm(model, ctx.device)
    pin = ctx.device.type == "cuda"
    loader = train_loader(data.train, per, Shard(ctx.rank, ctx.world), seed, workers, pin)
    steps = len(loader) if opts.max_steps is None else min(len(loader), opts.max_steps)
    opt = _optimizer(model, r)
    sched = _schedule(opt, r, max(1, r.epochs * steps))
    start = 0
    if ckpt is not None:
        if int(stored["epoch"]) > 0:  # an epoch-0 checkpoint holds the initial weights only
            opt.load_state_dict(stored["optimizer"])
            sched.load_state_dict(stored["scheduler"])
            _set_rng_state(stored["rng"], ctx)
        start = int(stored["epoch"])
    net = model
    if ctx.world > 1:
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    loop = _Loop(net, opt, sched, make_loss(opts.loss), _constraints(model), ctx, opts)
    log = _MetricsLog(out, ctx.main, fresh=ckpt is None)
    t0, c0 = time.perf_counter(), time.process_time()
    end = r.epochs if opts.stop_after is None else min(r.epochs, opts.stop_after)
    for epoch in range(start, end):
        loader.sampler.set_epoch(epoch)
        if isinstance(data.train, FolderDataset):
            data.train.set_epoch(epoch)
        rec = loop.epoch(loader, steps, f"{name} {epoch + 1}/{r.epochs}")
        top1, top5 = _evaluate(model, data.val, ctx, workers)
        log.write({"epoch": epoch + 1, **rec, "val_top1": top1, "val_top5": top5})
        state = {
            "epoch": epoch + 1, "recipe": asdict(r), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "rng": _rng_state(ctx), "seed": seed,
        }  # fmt: skip
        if ctx.main:
            _save(out, name, model, state)  # sync BatchNorm keeps BatchNorm's keys
        dist_barrier(ctx)
    log.close()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    metrics = _final_metrics(name, model, data, r, opts, ctx, workers, data_dir, seed)
    metrics.update(
        epochs_run=end - start, seconds=round(seconds, 2), cpu_seconds=round(cpu_seconds, 2),
        threads=torch.get_num_threads(), batch_per_process=per,
        images_per_second=round(loop.images / seconds, 2) if seconds > 0 else None,
    )  # fmt: skip
    if ctx.main:
        if end == start and ckpt is None:  # nothing trained: still leave a checkpoint
            _save(out, name, model, {"epoch": 0, "recipe": asdict(r), "seed": seed})
        Path(str(out) + ".json").write_text(json.dumps(metrics, indent=2) + "\n")
    dist_barrier(ctx)
    return metrics


class _Loop:
    """One epoch of steps: forward (autocast when asked, on CUDA), loss, backward, optimiser
    and schedule step, constraints; running loss and top-1 summed over the ranks."""

    def __init__(self, net, opt, sched, loss_fn, constrain, ctx: Context, opts: TrainOptions):
        self.net, self.opt, self.sched, self.loss_fn = net, opt, sched, loss_fn
        self.constrain, self.ctx, self.opts = constrain, ctx, opts
        self.amp = opts.amp and ctx.device.type == "cuda"
        self.images = 0

    def epoch(self, loader, steps: int, desc: str) -> dict:
        from tqdm import tqdm

        self.net.train()
        bar = tqdm(
            total=steps, desc=desc, unit="batch", disable=not (self.opts.progress and self.ctx.main)
        )
        loss_sum = correct = n = 0.0
        lr = self.opt.param_groups[0]["lr"]
        t = time.perf_counter()
        for i, (x, y) in enumerate(loader):
            if i >= steps:
                break
            x = x.to(self.ctx.device, non_blocking=True).float()
            y = y.to(self.ctx.device, non_blocking=True)
            self.opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
                out = self.net(x)
                loss = self.loss_fn(out.float(), y)
            loss.backward()
            self.opt.step()
            self.sched.step()
            self.constrain()
            loss_sum += float(loss.detach()) * len(y)
            correct += float((out.detach().argmax(1) == y).sum())
            n += len(y)
            bar.update(1)
            bar.set_postfix(loss=f"{loss_sum / n:.4f}")
        bar.close()
        seconds = time.perf_counter() - t
        loss_sum, correct, n = dist_all_sum([loss_sum, correct, n], self.ctx)
        self.images += int(n)
        return {
            "loss": loss_sum / n if n else None, "train_top1": correct / n if n else None,
            "lr": lr, "images": int(n), "seconds": round(seconds, 3),
            "images_per_second": round(n / seconds, 2) if seconds > 0 else None,
        }  # fmt: skip


def _final_metrics(name, model, data: _Data, r: Recipe, opts, ctx, workers, data_dir, seed):
    small = len(data.train_eval) <= TRAIN_ACCURACY_MAX
    train_top1 = _evaluate(model, data.train_eval, ctx, workers)[0] if small else None
    top1, top5 = _evaluate(model, data.val, ctx, workers)
    metrics = {
        "name": name, "epochs": r.epochs, "seed": seed, "lr": r.lr,
        "recipe": asdict(r), "loss": opts.loss, "device": ctx.device.type,
        "processes": ctx.world,
        "data": "digits" if data_dir is None else str(data_dir),
        "classes": list(data.classes),
        "train_accuracy": train_top1, "test_accuracy": top1, "test_top5": top5,
        "model_size": model_size(model.cpu()),
    }  # fmt: skip
    model.to(ctx.device)
    if parse_name(name).ternary:
        from .ternary import ternary_report

        metrics["ternary"] = ternary_report(model.cpu())
        model.to(ctx.device)
    return metrics


def load_checkpoint(path: Path | str, name: str | None = None) -> nn.Module:
    """Load a checkpoint written by :func:`train` (eval mode, float32, CPU). ``name``, when
    given, must match the model stored in it."""
    path = Path(path)
    ckpt = _read(path)
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
