"""Ternary weights on digits, next to the binary and float versions of the same networks.

For tfc and cnv: the TTQ (and, for cnv, TWN) ternary model, the binary w1a2 model and the
float model, trained with the same epochs (the topology's default unless ``--epochs``;
existing checkpoints under ROOT/models are reused). Per model: test accuracy, the TTQ
scales snapped to the fixed-point grid (relative errors, p/n), the sparsity (zero codes)
per layer, the weight memory (bits per weight, against float32: TTQ's ~16x) from the
training side (training/size.py) and, for the quantised models, from the compiled
design's report (on-chip weight memory as the hardware stores it, sparsity per MVU).
With ``--bench`` also ``bench.bench_conv_model`` for cnv_w1a2 and cnv_ttq_a2 (compile
time, cycles/frame, RTL cycles/s; random weights, BatchNorm calibrated); with
``--verify N`` the verification ladder of the trained cnv_ttq_a2 on N test images (what
``make verify MODEL=cnv_ttq_a2 N=N`` prints).

``python -m halfwave.flow.bench.ternary [--root build] [--out bench/ternary.json]
[--bench] [--verify N]``. Numbers are recorded, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from .. import api
from ..cli import sim_options
from .results import write_results

MODELS = {
    "tfc": ("tfc_ttq_a2", "tfc_w1a2", "tfc_float"),
    "cnv": ("cnv_ttq_a2", "cnv_twn_a2", "cnv_w1a2", "cnv_float"),
}
BENCH_MODELS = ("cnv_w1a2", "cnv_ttq_a2")


def _trained(name: str, root: Path, epochs: int | None, log) -> dict:
    ckpt = root / "models" / f"{name}.pt"
    metrics = Path(str(ckpt) + ".json")
    if not (ckpt.is_file() and metrics.is_file()):
        log(f"train {name} ...")
        api.train(name, ckpt, epochs=epochs)
    return json.loads(metrics.read_text())


def _hardware(name: str, root: Path) -> dict:
    """Compile the trained model; the weight memory and sparsity the design holds."""
    ckpt, onnx_path, build = api.model_paths(name, root)
    api.export(name, ckpt, onnx_path)
    t = time.perf_counter()
    api.compile(onnx_path, build)
    compile_s = time.perf_counter() - t
    report = json.loads((build / "report.json").read_text())
    mvus = [r for r in report["layers"] if r["kind"] == "MVU"]
    weights = sum(r["shape"][0] * r["shape"][1] for r in mvus)
    return {
        "compile_s": round(compile_s, 2),
        "weight_memory_bits": report["total_weight_bits"],
        "float32_bits": 32 * weights,
        "compression_vs_float32": round(32 * weights / report["total_weight_bits"], 3),
        "layers": [
            {
                k: r[k]
                for k in (
                    "name",
                    "shape",
                    "mode",
                    "weight_dtype",
                    "weight_bits",
                    "sparsity",
                    "ternary_weights",
                )
                if k in r
            }  # fmt: skip
            for r in mvus
        ],
    }


def _ternary_summary(rows: list[dict], size: dict) -> dict:
    """Largest snapping error of Wp/Wn, sparsity over all ternary weights."""
    n = {r["layer"]: r["weights"] for r in size["layers"]}
    total = sum(n[r["layer"]] for r in rows)
    out = {"sparsity": sum(r["sparsity"] * n[r["layer"]] for r in rows) / total}
    errs = [e for r in rows for e in (r.get("wp_error"), r.get("wn_error"), r.get("alpha_error"))
            if e is not None]  # fmt: skip
    out["max_scale_error"] = max(errs)
    return out


def model_record(name: str, root: Path, epochs: int | None, log) -> dict:
    m = _trained(name, root, epochs, log)
    size = m["model_size"]
    rec = {
        "epochs": m["epochs"],
        "test_accuracy": m["test_accuracy"],
        "train_accuracy": m["train_accuracy"],
        "train_seconds": m["seconds"],
        "bits_per_weight": size["bits_per_weight"],
        "weight_bits": size["weight_bits"],
        "float32_bits": size["float_bits"],
        "compression_vs_float32": size["compression"],
        "weight_kib": round(size["weight_kib"], 2),
    }
    if "ternary" in m:
        rec["ternary"] = _ternary_summary(m["ternary"], size)
        rec["ternary_layers"] = m["ternary"]
    if not name.endswith("_float"):
        rec["hardware"] = _hardware(name, root)
    return rec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=Path("build"))
    p.add_argument("--out", type=Path, default=Path("bench/ternary.json"))
    p.add_argument("--epochs", type=int, default=None, help="default: the topology's")
    p.add_argument("--bench", action="store_true", help="also bench cnv_w1a2 and cnv_ttq_a2")
    p.add_argument("--verify", type=int, default=0, metavar="N", help="verify cnv_ttq_a2")
    a = p.parse_args(argv)
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
        "data": "digits (sklearn 8x8; cnv: upscaled to 3x32x32), test split",
        "models": {},
        "accuracy": {},
    }
    for topo, names in MODELS.items():
        for name in names:
            print(f"{name} ...", flush=True)
            results["models"][name] = model_record(name, a.root, a.epochs, print)
        results["accuracy"][topo] = {n: results["models"][n]["test_accuracy"] for n in names}
        epochs = {results["models"][n]["epochs"] for n in names}
        if len(epochs) > 1:
            print(f"warning: {topo} models trained with different epochs {sorted(epochs)}")
    if a.bench:
        from .results import CONV_MODELS, bench_conv_model

        results["bench"] = {}
        for name in BENCH_MODELS:
            print(f"bench {name} ...", flush=True)
            opts = sim_options()
            results["bench"][name] = bench_conv_model(name, CONV_MODELS[name], a.root, opts)
    if a.verify:
        print(f"verify cnv_ttq_a2 on {a.verify} images ...", flush=True)
        t = time.perf_counter()
        from halfwave.sim import hls

        rep = api.verify("cnv_ttq_a2", n=a.verify, root=a.root, hls=hls.available(), log=print,
                         opts=sim_options())  # fmt: skip
        results["verify_cnv_ttq_a2"] = {
            "frames": a.verify,
            "bit_exact": rep.ok,
            "seconds": round(time.perf_counter() - t, 1),
            "lines": rep.lines,
        }
    print(json.dumps(results["accuracy"], indent=1))
    return write_results(a.out, results)


if __name__ == "__main__":
    raise SystemExit(main())
