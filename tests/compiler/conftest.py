"""Small Brevitas networks exported with brevitas.export.export_qonnx (not our exporter)."""

from pathlib import Path

import numpy as np
import pytest
import torch


def _randomise_bn(model: torch.nn.Module, gen: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 3)
            m.running_var.copy_(torch.rand(n, generator=gen) * 20 + 0.05)
            m.weight.data.copy_(
                (torch.rand(n, generator=gen) * 2 + 0.2) * torch.sign(torch.randn(n, generator=gen))
            )
            m.bias.data.copy_(torch.randn(n, generator=gen))
            m.running_var[0] = 0.0  # a zero-variance channel
            m.weight.data[1] = 0.0  # a constant channel


def brevitas_net(kind: str) -> torch.nn.Module:
    import brevitas.nn as qnn
    from brevitas.quant import (
        Int8ActPerTensorFixedPoint,
        Int8WeightPerTensorFixedPoint,
        SignedBinaryActPerTensorConst,
        SignedBinaryWeightPerTensorConst,
        Uint8ActPerTensorFixedPoint,
    )

    bn = torch.nn.BatchNorm1d
    if kind == "w1a2_relu":  # binary weights x signed 8-bit input, BN, QuantReLU
        layers = [
            qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
            qnn.QuantLinear(
                64,
                30,
                bias=False,
                weight_bit_width=1,
                weight_quant=SignedBinaryWeightPerTensorConst,
            ),
            bn(30),
            qnn.QuantReLU(bit_width=2, return_quant_tensor=True),
            qnn.QuantLinear(30, 10, bias=True, weight_bit_width=2),
        ]
    elif kind == "w4a2_signed":  # per-channel 4-bit weights, biases, signed activations
        layers = [
            qnn.QuantIdentity(bit_width=6, return_quant_tensor=True),
            qnn.QuantLinear(
                64, 20, bias=True, weight_bit_width=4, weight_scaling_per_output_channel=True
            ),
            bn(20),
            qnn.QuantHardTanh(
                bit_width=2, max_val=1.0, min_val=-1.0, narrow_range=True, return_quant_tensor=True
            ),
            qnn.QuantLinear(
                20,
                17,
                bias=False,
                weight_bit_width=1,
                weight_quant=SignedBinaryWeightPerTensorConst,
            ),
            bn(17),
            qnn.QuantIdentity(bit_width=3, return_quant_tensor=True),
            qnn.QuantLinear(17, 10, bias=True, weight_bit_width=3),
        ]
    elif kind == "w1a1":  # BNN: bipolar inputs and activations -> XNOR
        act = dict(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
        layers = [
            qnn.QuantIdentity(**act),
            qnn.QuantLinear(64, 40, bias=False, weight_quant=SignedBinaryWeightPerTensorConst),
            bn(40),
            qnn.QuantIdentity(**act),
            qnn.QuantLinear(40, 24, bias=False, weight_quant=SignedBinaryWeightPerTensorConst),
            bn(24),
            qnn.QuantIdentity(**act),
            qnn.QuantLinear(24, 10, bias=False, weight_quant=SignedBinaryWeightPerTensorConst),
        ]
    elif kind == "ternary_relu":  # symmetric ternary weights (Brevitas' own), uniform ReLUs
        from brevitas.quant import SignedTernaryWeightPerTensorConst as Ternary

        layers = [
            qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
            qnn.QuantLinear(64, 32, bias=False, weight_quant=Ternary),
            bn(32),
            qnn.QuantReLU(bit_width=2, return_quant_tensor=True),
            qnn.QuantLinear(32, 24, bias=True, weight_quant=Ternary),
            bn(24),
            qnn.QuantReLU(bit_width=3, return_quant_tensor=True),
            qnn.QuantLinear(24, 10, bias=True, weight_quant=Ternary),
        ]
        with torch.no_grad():  # Brevitas' constant scale is 0.1: |w| > 0.05 is nonzero
            for m in layers:
                if isinstance(m, qnn.QuantLinear):
                    m.weight.mul_(0.7 * 0.1 / m.weight.abs().mean())
                    m.weight[1] = 0.0  # an all-zero row
    elif kind == "pow2_ties":  # power-of-two scales, no BN: exact rounding ties happen
        layers = [
            qnn.QuantIdentity(
                act_quant=Int8ActPerTensorFixedPoint, bit_width=5, return_quant_tensor=True
            ),
            qnn.QuantLinear(
                64, 16, bias=False, weight_bit_width=3, weight_quant=Int8WeightPerTensorFixedPoint
            ),
            qnn.QuantReLU(
                act_quant=Uint8ActPerTensorFixedPoint, bit_width=3, return_quant_tensor=True
            ),
            qnn.QuantLinear(
                16, 10, bias=False, weight_bit_width=3, weight_quant=Int8WeightPerTensorFixedPoint
            ),
        ]
    else:
        raise ValueError(kind)
    return torch.nn.Sequential(*layers)


@pytest.fixture(scope="session")
def brevitas_onnx(tmp_path_factory):
    """kind -> (path to a Brevitas-exported QONNX file, float32 test inputs)."""
    from brevitas.export import export_qonnx

    cache: dict[str, tuple[Path, np.ndarray]] = {}

    def get(kind: str):
        if kind not in cache:
            gen = torch.Generator().manual_seed(7)
            torch.manual_seed(7)
            net = brevitas_net(kind)
            _randomise_bn(net, gen)
            net.eval()
            x = torch.randn(300, 64, generator=gen) * 2
            with torch.no_grad():
                net(x)
            path = tmp_path_factory.mktemp(kind) / f"{kind}.onnx"
            export_qonnx(net, torch.randn(1, 64), export_path=str(path))
            cache[kind] = (path, x.numpy())
        return cache[kind]

    return get
