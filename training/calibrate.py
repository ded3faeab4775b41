"""Untrained models that look trained to the hardware: random weights, BatchNorm
statistics measured on real inputs so every activation level occurs."""

from __future__ import annotations

import numpy as np
import torch

from .data import digits_images, load_digits_split, random_images
from .errors import TrainingError
from .models import QuantMLP, build_model, input_shape, is_conv, parse_name, with_hidden

CNV_CALIBRATION_IMAGES = 64  # digits training images (32x32) for cnv models
ALEXNET_CALIBRATION_IMAGES = {"hwgq_alexnet": 8, "hwgq_alexnet_tiny": 64}
SMALL_CALIBRATION_IMAGES = 64  # generated images for the 32x32 residual models
LARGE_CALIBRATION_IMAGES = 8  # and for the 224x224 ones


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


def calibration_inputs(name: str, seed: int = 0) -> np.ndarray:
    """What :func:`calibrated_model` measures BatchNorm statistics on, float32: the digits
    training set (FC); its first 64 images at 32x32 (cnv); generated images of the
    model's input size, 8 (hwgq_alexnet, 224x224 residual models) or 64
    (hwgq_alexnet_tiny, 32x32 residual models) of them, from
    :func:`~halfwave.training.data.random_images` with ``seed``."""
    spec = parse_name(name)
    if not is_conv(name):
        return load_digits_split().x_train
    if spec.topology == "cnv":
        return digits_images(32).x_train[:CNV_CALIBRATION_IMAGES].astype(np.float32)
    shape = input_shape(name)
    n = ALEXNET_CALIBRATION_IMAGES.get(spec.topology)
    if n is None:  # residual/inception models (res_models.py): fewer images at 224x224
        n = LARGE_CALIBRATION_IMAGES if shape[1] > 64 else SMALL_CALIBRATION_IMAGES
    return random_images(n, shape, seed)


def calibrated_model(
    name: str, seed: int = 0, hidden: tuple[int, ...] | None = None, x: np.ndarray | None = None
) -> torch.nn.Module:
    """A freshly initialised model (optionally, FC only, with other hidden sizes)
    calibrated on x (default: :func:`calibration_inputs`)."""
    torch.manual_seed(seed)
    if hidden is None:
        model = build_model(name)
    else:
        if is_conv(name):
            raise TrainingError(f"{name}: other hidden sizes are for FC models only")
        spec = with_hidden(parse_name(name), hidden)
        model = QuantMLP(spec)
    return calibrate_batchnorm(model, calibration_inputs(name, seed) if x is None else x)
