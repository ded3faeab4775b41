"""torch.distributed for training: the process group torchrun describes (gloo on the CPU,
nccl on CUDA), the device each rank uses, BatchNorm synchronised across ranks, and the
``--nproc N`` shortcut that relaunches a command under torchrun.

Under torchrun every process runs the same command; RANK, LOCAL_RANK, WORLD_SIZE and the
rendezvous address come from the environment. Without them training runs in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from .errors import TrainingError


@dataclass(frozen=True)
class Context:
    """This process's place in the job."""

    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        """Whether this process writes checkpoints, logs and progress."""
        return self.rank == 0


def pick_device(device: str, local_rank: int = 0) -> torch.device:
    """``auto``: CUDA when present, else the CPU; ``cuda`` without CUDA is refused."""
    if device not in ("auto", "cpu", "cuda"):
        raise TrainingError(f"--device {device!r}: expected auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda: no CUDA device is available (torch sees none)")
    if device == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def launched() -> bool:
    """Whether torchrun (or an equivalent launcher) started this process as one of many."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str = "auto") -> Context:
    """Join the torchrun job (when there is one) and pick this rank's device."""
    if not launched():
        return Context(0, 1, 0, pick_device(device))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local)
    if not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Context(dist.get_rank(), dist.get_world_size(), local, dev)


def teardown(ctx: Context) -> None:
    if ctx.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


class _SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are those of the whole global batch, summed
    over the ranks by differentiable all-reduces (torch.distributed.nn): the CPU/gloo
    counterpart of nn.SyncBatchNorm, which takes GPU tensors only. Two passes (the sum,
    then the squared deviations from the global mean) keep float32 variances accurate."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0, *range(2, x.dim())]
        n = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        total = all_reduce(torch.cat([x.sum(dims), n]))
        count = total[-1]
        mean = total[:-1] / count
        shape = [1, -1] + [1] * (x.dim() - 2)
        var = all_reduce(((x - mean.view(shape)) ** 2).sum(dims)) / count
        if self.track_running_stats:
            self._update_running(mean.detach(), var.detach(), count.detach())
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    @torch.no_grad()
    def _update_running(self, mean, var, count) -> None:
        self.num_batches_tracked.add_(1)
        m = self.momentum if self.momentum is not None else 1 / float(self.num_batches_tracked)
        unbiased = var * count / (count - 1).clamp(min=1)
        self.running_mean.mul_(1 - m).add_(mean, alpha=m)
        self.running_var.mul_(1 - m).add_(unbiased, alpha=m)


_SYNCED: dict[type, type] = {}  # BatchNorm class -> its synchronised subclass


def _synced(cls: type) -> type:
    if cls not in _SYNCED:
        _SYNCED[cls] = type(f"Sync{cls.__name__}", (_SyncBatchNorm, cls), {})
    return _SYNCED[cls]


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` with every BatchNorm synchronised across the ranks: torch's SyncBatchNorm
    on CUDA; on the CPU each BatchNorm module (torch's or a subclass, such as the models'
    ONNX-order BatchNorm) switched to a subclass whose training forward all-reduces (same
    parameters, buffers, state-dict keys and inference forward)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not isinstance(m, _SyncBatchNorm):
            m.__class__ = _synced(type(m))
    return model


def plain_batchnorm(model: nn.Module) -> nn.Module:
    """Undo :func:`sync_batchnorm`'s CPU switch (for the model a caller gets back)."""
    plain = {v: k for k, v in _SYNCED.items()}
    for m in model.modules():
        if type(m) in plain:
            m.__class__ = plain[type(m)]
    return model


def all_sum(values: list[float], ctx: Context) -> list[float]:
    """``values`` summed over the ranks (float64)."""
    t = torch.tensor(values, dtype=torch.float64)
    if ctx.world > 1:
        t = t.to(ctx.device)
        dist.all_reduce(t)
    return t.cpu().tolist()


def barrier(ctx: Context) -> None:
    if ctx.world > 1:
        dist.barrier()


def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    """The command that runs ``halfwave ARGV`` in ``nproc`` processes on this machine."""
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc_per_node={nproc}", "-m", "halfwave.flow.cli", *argv,
    ]  # fmt: skip


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` less its ``--nproc N`` / ``--nproc=N``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def relaunch(nproc: int, argv: list[str]) -> int:
    """Run ``halfwave ARGV`` (less ``--nproc``) under torchrun with ``nproc`` processes;
    its exit status."""
    return subprocess.call(torchrun_command(nproc, without_nproc(argv)))
