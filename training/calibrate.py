"""Untrained models that look trained to the hardware: random weights, BatchNorm
statistics measured on real inputs so every activation level occurs."""

from __future__ import annotations

import numpy as np
import torch

from .data import load_digits_split
from .models import QuantMLP, build_model, parse_name


def calibrate_batchnorm(model: torch.nn.Module, x: np.ndarray) -> torch.nn.Module:
    """Set every BatchNorm's running statistics to those of one pass over x."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        model(torch.tensor(np.asarray(x, dtype=np.float32)))
    model.eval()
    for m in bns:
        m.momentum = 0.1
    return model


def calibrated_model(
    name: str, seed: int = 0, hidden: tuple[int, ...] | None = None, x: np.ndarray | None = None
) -> QuantMLP:
    """A freshly initialised model (optionally with other hidden sizes) calibrated on x
    (default: the digits training set)."""
    torch.manual_seed(seed)
    if hidden is None:
        model = build_model(name)
    else:
        spec = parse_name(name)
        spec = type(spec)(
            f"{name}_h{'_'.join(map(str, hidden))}",
            spec.topology,
            tuple(hidden),
            spec.wbits,
            spec.abits,
            spec.act,
        )
        model = QuantMLP(spec)
    return calibrate_batchnorm(model, load_digits_split().x_train if x is None else x)
