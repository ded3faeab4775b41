"""halfwave's quantisers in a plain Brevitas model (not one of halfwave's named models):
exported by brevitas.export.export_qonnx itself (the handlers registered on import),
compiled, and bit-exact at every boundary torch f64 == QONNX f64 == golden == RTL."""

import numpy as np
import onnx
import torch
from brevitas.export.onnx.qonnx.manager import QONNXManager

from halfwave.training.brevitas_layers import CodeRecorder
from halfwave.training.brevitas_quant import (
    BinaryWeight,
    HWGQQONNXHandler,
    HWGQReLU,
    InputQuant,
    SignAct,
)
from halfwave.training.data import load_digits_split
from halfwave.training.ternary import TernaryQONNXHandler, TernaryWeightQuant


def test_handlers_registered_with_brevitas():
    assert HWGQQONNXHandler in QONNXManager.handlers
    assert TernaryQONNXHandler in QONNXManager.handlers


class _Net(torch.nn.Module):
    """Brevitas layers only: 8-bit input, binary FC -> BN -> 2-bit HWGQ (log-tailed),
    TTQ FC -> BN -> 3-bit HWGQ (vanilla), TWN FC -> BN -> sign, binary head."""

    def __init__(self):
        import brevitas.nn as qnn

        super().__init__()
        ttq = TernaryWeightQuant.let(method="ttq", threshold=None)
        twn = TernaryWeightQuant.let(method="twn", threshold=None)
        self.inp = qnn.QuantIdentity(act_quant=InputQuant)
        self.fc = torch.nn.ModuleList(
            [
                qnn.QuantLinear(64, 24, bias=False, weight_quant=BinaryWeight),
                qnn.QuantLinear(24, 20, bias=False, weight_quant=ttq),
                qnn.QuantLinear(20, 16, bias=False, weight_quant=twn),
            ]
        )
        self.bns = torch.nn.ModuleList(torch.nn.BatchNorm1d(n) for n in (24, 20, 16))
        self.acts = torch.nn.ModuleList(
            [HWGQReLU(2, backward="log_tailed"), HWGQReLU(3, backward="vanilla"), SignAct()]
        )
        self.head = qnn.QuantLinear(16, 10, bias=False, weight_quant=BinaryWeight)
        with torch.no_grad():  # TTQ: Wp, Wn on the initial weights' magnitudes
            tq = self.fc[1].weight_quant.tensor_quant
            tq.set_threshold(tq.threshold, self.fc[1].weight)

    def forward(self, x):
        x = self.inp(x)
        for fc, bn, act in zip(self.fc, self.bns, self.acts, strict=True):
            x = act(bn(fc(x)))
        return self.head(x)

    @torch.no_grad()
    def forward_with_codes(self, x):
        """For the verification ladder's torch rung: the codes at every quantiser."""
        rec = CodeRecorder("net")
        x = rec(self.inp, x.to(self.head.weight.dtype), "input")
        for i, (fc, bn, act) in enumerate(zip(self.fc, self.bns, self.acts, strict=True)):
            x = rec(act, bn(fc(x)), f"activation {i}")
        return self.head(x), rec.codes


def test_brevitas_model_with_hwgq_ttq_twn_bit_exact_in_rtl(tmp_path):
    from brevitas.export import export_qonnx

    from halfwave.flow import api

    torch.manual_seed(0)
    net = _Net()
    x = load_digits_split().x_train[:400].astype(np.float32)
    net.train()
    with torch.no_grad():  # BatchNorm statistics from the data: every level occurs
        for bn in net.bns:
            bn.momentum = None
        net(torch.from_numpy(x))
    net.eval()
    path = tmp_path / "net.onnx"
    export_qonnx(net, torch.zeros(1, 64), export_path=str(path), opset_version=18)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops.count("MultiThreshold") == 2 and ops.count("BipolarQuant") == 3
    rep = api.verify_onnx(path, tmp_path / "build", net, x=x[:40])
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    exact = {c.dut: c for c in rep.comparisons if c.exact}
    assert exact["rtl"].frames == 40 and exact["rtl"].mismatched_frames == 0
    assert exact["qonnx-f64"].mismatched_frames == 0  # vs torch f64, every boundary
    _, codes = net.double().forward_with_codes(torch.from_numpy(x[:40]).double())
    assert [len(np.unique(c)) for c in codes[1:]] == [4, 8, 2]
