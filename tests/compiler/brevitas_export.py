"""Shared by the tests of stock Brevitas models: random BatchNorm statistics (gamma of
either sign, so some rows are negated) and brevitas.export.export_qonnx in eval mode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch


def export_eval(net: torch.nn.Module, x0: torch.Tensor, path: Path, gen: torch.Generator) -> Path:
    """Randomise every BatchNorm of `net` (seeded by `gen`), then export it on `x0`."""
    from brevitas.export import export_qonnx

    for bn in [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]:
        mean, var, gamma, beta = torch.randn(4, bn.num_features, generator=gen)
        bn.running_mean.copy_(mean), bn.running_var.copy_(var.abs() + 0.2)
        bn.weight.data.copy_(gamma), bn.bias.data.copy_(beta + 1)
    net.eval()
    export_qonnx(net, x0, export_path=str(path))
    return Path(path)


def export_cache(tmp_path_factory, export) -> Callable[[str], tuple[Path, object]]:
    """kind -> export(kind, path) once per session folder (a fixture's body)."""
    cache: dict = {}

    def get(kind: str):
        if kind not in cache:
            cache[kind] = export(kind, tmp_path_factory.mktemp(kind) / f"{kind}.onnx")
        return cache[kind]

    return get
