"""The QNN paper's MLP (qnn_mlp: 3x4096 binary units, square hinge head) through the
ladder: random latent weights, BatchNorm calibrated, exported by Brevitas; torch f64 ==
QONNX f64 == golden == RTL (random stalls) at every boundary. The stochastic variant
exports the deterministic sign: the same graph as qnn_mlp with the same weights."""

from __future__ import annotations

import json

import onnx
import torch

from halfwave.compiler import ir
from halfwave.flow import api


def test_qnn_mlp_calibrated_bit_exact_in_rtl(tmp_path, sim_opts):
    from halfwave.training import calibrated_model, export_qonnx

    model = calibrated_model("qnn_mlp")
    onnx_path = export_qonnx(model, None, tmp_path / "qnn_mlp.onnx")
    build = tmp_path / "qnn_mlp"
    rep = api.verify_onnx(onnx_path, build, model.double(), n=6, stall=0.2, opts=sim_opts)
    print("\n".join(rep.lines))
    assert rep.ok, "\n".join(rep.lines)
    exact = {c.dut: c for c in rep.comparisons if c.exact}
    assert exact["rtl"].frames == 6 and exact["rtl"].mismatched_frames == 0
    assert exact["rtl"].boundaries == 5  # input and the four layers
    layers = [r for r in json.loads((build / "report.json").read_text())["layers"]]
    assert [(r["mode"], r["shape"]) for r in layers] == [
        ("signsel", [4096, 64]), ("xnor", [4096, 4096]), ("xnor", [4096, 4096]),
        ("xnor", [10, 4096]),
    ]  # fmt: skip

    stoch = calibrated_model("qnn_mlp_stochastic")
    stoch.load_state_dict(model.state_dict())
    p = export_qonnx(stoch, None, tmp_path / "stoch.onnx")
    a, b = onnx.load(onnx_path), onnx.load(p)
    assert [n.op_type for n in a.graph.node] == [n.op_type for n in b.graph.node]
    x = torch.from_numpy(api.verification_inputs(ir.load(build), 4))
    stoch.eval()
    model.eval()
    assert torch.equal(stoch.double()(x.double()), model.double()(x.double()))
