"""Training throughput bench (bench/training.json): images/s of full training steps
(forward, loss, backward, SGD step, constraints) at the models' real input sizes, and of
the streaming loader (JPEG decode + random-resized crop + flip) per worker process.

Models: hwgq_alexnet (227 x 227, binary weights, 2-bit HWGQ activations) and, as long as
the registry has no hwgq_resnet18, a ResNet-18-shaped stand-in: a plain float32 torch
ResNet-18 (He et al. 2016, 224 x 224, BasicBlocks 2-2-2-2, 1000 classes) written here,
without quantisers, labelled "resnet18_float_standin" wherever it appears. The GPU figure
is measured only where a GPU is present (``--device cuda``); the projection of 90 ImageNet
epochs on 8 GPUs is made from a GPU figure only, never from the CPU one.

    python -m halfwave.training.bench_training --out bench/training.json"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

IMAGENET_TRAIN = 1_281_167  # ILSVRC-2012 training images


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


def resnet18_standin(classes: int = 1000) -> nn.Module:
    """Plain float ResNet-18 (the stand-in: not a halfwave model, no quantisers)."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
    ]  # fmt: skip
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [_Block(cin, cout, stride), _Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def _model(name: str) -> tuple[nn.Module, int, int]:
    if name == "resnet18_float_standin":
        return resnet18_standin(), 224, 1000
    from .models import build_model, input_shape

    m = build_model(name)
    return m, input_shape(name)[1], getattr(m, "n_classes", 1000)


def step_throughput(name: str, batch: int, steps: int, device: torch.device) -> dict:
    """Images/s of ``steps`` training steps after one warm-up step."""
    from .train import _constraints

    torch.manual_seed(0)
    model, size, classes = _model(name)
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    constrain = _constraints(model)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (batch, 3, size, size), generator=g).float().to(device)
    y = torch.randint(0, classes, (batch,), generator=g).to(device)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
        constrain()

    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "input": [3, size, size], "batch": batch, "steps": steps,
        "seconds": round(seconds, 3), "images_per_second": round(batch * steps / seconds, 2),
        "cpu_seconds": round(cpu, 3),  # all threads; less sensitive to other jobs' load
        "images_per_cpu_second": round(batch * steps / cpu, 2),
        "parameters": sum(p.numel() for p in model.parameters()),
    }  # fmt: skip


def loader_throughput(n: int, size: int, workers: int) -> dict:
    """Images/s of the training loader on ``n`` generated 500x375 JPEGs (about ImageNet's
    mean image size), decoded and augmented to ``size``."""
    from PIL import Image

    from .loader import FolderDataset, Shard, train_loader

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        files = []
        for i in range(n):
            a = rng.integers(0, 256, (15, 20, 3), dtype=np.uint8)
            p = Path(d) / f"{i}.jpg"
            Image.fromarray(a).resize((500, 375), Image.Resampling.BILINEAR).save(p, quality=90)
            files.append((p, 0))
        ds = FolderDataset(files, size, train=True)
        loader = train_loader(ds, 16, Shard(), seed=0, workers=workers)
        t = time.perf_counter()
        count = sum(len(y) for _, y in loader)
        seconds = time.perf_counter() - t
    return {
        "images": count, "size": size, "workers": workers, "seconds": round(seconds, 3),
        "images_per_second": round(count / seconds, 2),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("bench/training.json"))
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    a = p.parse_args(argv)
    device = torch.device(a.device)
    threads = torch.get_num_threads()
    models = {
        name: step_throughput(name, a.batch, a.steps, device)
        for name in ("hwgq_alexnet", "resnet18_float_standin")
    }
    for m in models.values():
        m["source"] = "measured: torch training steps on this machine, synthetic batch"
        ips = m["images_per_second"]
        m["epoch_hours_imagenet_this_device"] = round(IMAGENET_TRAIN / ips / 3600, 1)
    result = {
        "machine": {
            "device": a.device, "cpus": os.cpu_count(), "torch_threads": threads,
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(), "torch": torch.__version__,
        },
        "date": time.strftime("%Y-%m-%d"),
        "models": models,
        "resnet18_float_standin": "plain float32 torch ResNet-18 (no quantisers): "
        "hwgq_resnet18 is not in the model registry yet",
        "loader": loader_throughput(64, 227, 1),
        "gpu": None if a.device == "cpu" else "measured",
        "projection_90_epochs_8_gpus": None if a.device == "cpu" else "see models",
        "note": "no GPU in the session that measured this: the figures are CPU training "
        "steps on a shared 2-core machine (other jobs ran: see load_average); no GPU time "
        "and no 8-GPU projection are derived from them",
    }  # fmt: skip
    if a.device == "cuda":
        for m in models.values():
            m["projected_hours_90_epochs_8_gpus_linear"] = round(
                90 * IMAGENET_TRAIN / (8 * m["images_per_second"]) / 3600, 1
            )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
