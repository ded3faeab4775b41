"""Training losses: cross-entropy, and the square hinge (L2-SVM) loss of the BNN/QNN papers
(Courbariaux, Hubara et al. 2016; Tang 2013 "Deep Learning using Linear Support Vector
Machines"): targets +1 for the true class and -1 for every other, the mean over the batch
and the classes of max(0, 1 - y * t)^2 for outputs y and targets t."""

from __future__ import annotations

import torch
from torch import nn

from .errors import TrainingError

LOSSES = ("cross_entropy", "square_hinge")


def square_hinge(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """mean(max(0, 1 - out * t)^2), t = +1 at the label, -1 elsewhere."""
    t = torch.full_like(out, -1.0).scatter_(1, labels[:, None], 1.0)
    return torch.clamp(1 - out * t, min=0).square().mean()


class SquareHinge(nn.Module):
    def forward(self, out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return square_hinge(out, labels)


def make_loss(name: str) -> nn.Module:
    if name == "cross_entropy":
        return nn.CrossEntropyLoss()
    if name == "square_hinge":
        return SquareHinge()
    raise TrainingError(f"--loss {name!r}: expected one of {', '.join(LOSSES)}")
