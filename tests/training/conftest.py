"""Helpers shared by the training tests: QONNX execution and model randomisation."""

import numpy as np
import pytest
import torch


def qonnx_boundaries(path, x: np.ndarray):
    """Run a QONNX file with qonnx (after cleanup_model); return the output and the float
    tensors entering each Gemm as activations (the quantiser boundaries, in order)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    w = cleanup_model(ModelWrapper(str(path)))
    ctx = execute_onnx(w, {"global_in": x}, return_full_exec_context=True)
    inits = {i.name for i in w.graph.initializer}
    acts = [
        ctx[n.input[0]] for n in w.graph.node if n.op_type == "Gemm" and n.input[0] not in inits
    ]
    quant_in = [n for n in w.graph.node if n.input[0] == "global_in"][0].output[0]
    return ctx["global_out"], [ctx[quant_in], *acts[1:]]


def boundary_scales(model):
    return [1.0] + [a.quantize(torch.zeros(1, dtype=torch.float64))[2] for a in model.acts]


def to_codes(tensors, scales):
    out = []
    for t, s in zip(tensors, scales, strict=True):
        r = t.astype(np.float64) / s
        assert np.array_equal(r, np.round(r)), "QONNX boundary / scale is not an integer"
        out.append(r.astype(np.int64))
    return out


@torch.no_grad()
def randomise_bn(model, x: np.ndarray, seed: int):
    """Give a (float32) model random BatchNorm statistics and affine parameters, chosen
    from the data so that every activation level occurs; negative BN scales included."""
    g = torch.Generator().manual_seed(seed)
    model.eval()
    h = model.inp(torch.from_numpy(x))
    for lin, bn, act in zip(model.linears, model.bns, model.acts, strict=True):
        z = lin(h)
        c = z.shape[1]
        mean, std = z.mean(0), z.std(0) + 1e-3
        bn.running_mean.copy_(mean + 0.3 * std * torch.randn(c, generator=g))
        bn.running_var.copy_((std * (0.5 + torch.rand(c, generator=g))) ** 2)
        sign = torch.where(torch.rand(c, generator=g) < 0.25, -1.0, 1.0)
        bn.weight.copy_(sign * (0.5 + torch.rand(c, generator=g)))
        bn.bias.copy_(torch.rand(c, generator=g) * 1.5 - 0.3)
        h = act(bn(z))
    model.out_scale.copy_(0.5 + torch.rand(10, generator=g))
    model.out_bias.copy_(torch.randn(10, generator=g))
    return model


@pytest.fixture(scope="session")
def digits_x():
    from halfwave.training import digits_test_arrays

    return digits_test_arrays()[0]
