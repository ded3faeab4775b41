"""A named model's parsed description (training/models.parse_name), in a module of its
own so the architecture modules can name it without importing the registry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    topology: str
    hidden: tuple[int, ...]
    wbits: int  # 0: float; 2 for ternary weights
    abits: int  # 0: float ReLU
    act: str  # "hwgq" | "hwgq_nonuniform" | "sign" | "relu" | "float"
    ternary: str = ""  # "ttq" | "twn": ternary weights where W bits would be used
    dropout: tuple[float, float] = (0.0, 0.0)  # input, after each hidden activation
    stochastic: bool = False  # stochastic sign activations at training time
    loss: str = "cross_entropy"  # the model's default loss: "cross_entropy" | "square_hinge"
