"""The QNN paper's MLP on digits: deterministic vs stochastic binarization, next to FINN's
binary FC networks.

Trains (or reuses ROOT/models checkpoints) tfc/sfc/lfc_w1a1 (cross-entropy, their default
epochs) and qnn_mlp / qnn_mlp_stochastic (3x4096 binary units, dropout, square hinge loss,
Adam; stochastic: the sign activations binarised stochastically in training,
deterministically in eval and export) with ``--seeds`` seeds each, and records test and
train accuracy per seed with their mean. The exported qnn_mlp is what ``make verify
MODEL=qnn_mlp`` checks bit-exact; its pynq-z2 design (``--max``) is in bench/synth.json.

``python -m halfwave.flow.bench.qnn [--root build] [--out bench/qnn.json] [--seeds 1]``.
Numbers are recorded, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from .. import api
from .results import write_results

MODELS = ("tfc_w1a1", "sfc_w1a1", "lfc_w1a1", "qnn_mlp", "qnn_mlp_stochastic")


def _trained(name: str, seed: int, root: Path, log) -> dict:
    ckpt = root / "models" / (f"{name}.pt" if seed == 0 else f"{name}_seed{seed}.pt")
    metrics = Path(str(ckpt) + ".json")
    if not (ckpt.is_file() and metrics.is_file()):
        log(f"train {name} (seed {seed}) ...")
        api.train(name, ckpt, seed=seed)
    return json.loads(metrics.read_text())


def model_record(name: str, seeds: int, root: Path, log) -> dict:
    runs = [_trained(name, s, root, log) for s in range(seeds)]
    test = [r["test_accuracy"] for r in runs]
    return {
        "epochs": runs[0]["epochs"],
        "loss": runs[0]["loss"],
        "test_accuracy_per_seed": test,
        "train_accuracy_per_seed": [r["train_accuracy"] for r in runs],
        "test_accuracy_mean": round(statistics.fmean(test), 4),
        "train_seconds_per_seed": [r["seconds"] for r in runs],
        "weight_bits": runs[0]["model_size"]["weight_bits"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=Path("build"))
    p.add_argument("--out", type=Path, default=Path("bench/qnn.json"))
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--models", nargs="*", default=list(MODELS))
    a = p.parse_args(argv)
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
        "data": "digits (sklearn 8x8, 64 inputs), test split of 450 images",
        "models": {},
    }
    for name in a.models:
        print(f"{name} ...", flush=True)
        results["models"][name] = model_record(name, a.seeds, a.root, print)
    return write_results(a.out, results)


if __name__ == "__main__":
    raise SystemExit(main())
