"""Weight memory of a model: bits per weight per layer and in total, against the same
network with float32 weights (32 bits per weight).

Counted: the weights of every convolution and FC layer at the width they are stored at
(binary 1 bit, ternary 2 bits: the codes -1, 0, +1; k-bit k bits; float 32 bits). Not
counted: per-channel or per-layer scales (binary alpha, TTQ Wp/Wn, TWN alpha: folded into
thresholds and output scales, or a pair of small integers per ternary layer), BatchNorm
parameters (they become thresholds) and any padding a hardware folding adds."""

from __future__ import annotations

from torch import nn

from .brevitas_layers import QuantConv2d, QuantLinear
from .ternary import TERNARY_LAYERS

FLOAT_BITS = 32


def _kind(m: QuantLinear | QuantConv2d) -> tuple[str, int]:
    if isinstance(m, TERNARY_LAYERS):
        return f"ternary ({m.method})", 2
    if m.bits == 0:
        return "float", FLOAT_BITS
    if m.bits == 1:
        return "binary", 1
    return f"int{m.bits}", m.bits


def model_size(model: nn.Module) -> dict:
    """Per weight layer (module order) its kind, number of weights, bits per weight and
    weight bits; totals: weights, weight bits, bits of the float32 model, the
    compression (float bits / weight bits), the mean bits per weight, and KiB."""
    layers = []
    for name, m in model.named_modules():
        if not isinstance(m, (QuantLinear, QuantConv2d)):
            continue
        kind, bits = _kind(m)
        n = m.weight.numel()
        layers.append(
            {"layer": name, "kind": kind, "weights": n, "bits_per_weight": bits, "bits": n * bits}
        )
    n = sum(r["weights"] for r in layers)
    total = sum(r["bits"] for r in layers)
    return {
        "layers": layers,
        "weights": n,
        "weight_bits": total,
        "float_bits": FLOAT_BITS * n,
        "compression": FLOAT_BITS * n / total if total else None,
        "bits_per_weight": total / n if n else None,
        "weight_kib": total / 8 / 1024,
        "float_kib": FLOAT_BITS * n / 8 / 1024,
    }
