"""Helpers shared by the training tests: QONNX execution and model randomisation."""

import os

import numpy as np
import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)  # one intra-op thread per worker: -n 2 fills two cores


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
    from halfwave.training.brevitas_layers import act_scale

    return [1.0] + [act_scale(a) for a in model.acts]


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


def qonnx_activation_boundaries(path, x: np.ndarray):
    """Run a QONNX file with qonnx's execute_onnx (float32, after cleanup_model); return
    the output and the float tensors at each quantiser boundary in graph order: the input
    Quant's output, then each activation's output (the Mul after Neg -> MultiThreshold ->
    Sub, or an activation BipolarQuant/Quant), found by walking the graph."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    w = cleanup_model(ModelWrapper(str(path)))
    ctx = execute_onnx(w, {"global_in": x}, return_full_exec_context=True)
    inits = {i.name for i in w.graph.initializer}
    bounds = []
    for n in w.graph.node:
        if n.op_type == "MultiThreshold":
            sub = w.find_consumer(n.output[0])
            mul = w.find_consumer(sub.output[0])
            assert (sub.op_type, mul.op_type) == ("Sub", "Mul")
            bounds.append(mul.output[0])
        elif n.op_type in ("Quant", "BipolarQuant") and n.input[0] not in inits:
            bounds.append(n.output[0])
    return ctx["global_out"], [ctx[b] for b in bounds]


def conv_boundary_scales(model):
    from halfwave.training.brevitas_layers import act_scale

    return [1.0] + [act_scale(a) for a in model.activations()]


@torch.no_grad()
def randomise_conv_bn(model, x: np.ndarray, seed: int):
    """randomise_bn for a convolutional model: every BatchNorm (conv and FC) gets random
    statistics and affine parameters chosen from the data, a quarter of the scales
    negative, so that every activation level occurs."""
    g = torch.Generator().manual_seed(seed)
    model.eval()

    def randomise(bn, z):
        dims = [0, 2, 3] if z.dim() == 4 else [0]
        c = z.shape[1]
        mean, std = z.mean(dims), z.std(dims) + 1e-3
        bn.running_mean.copy_(mean + 0.3 * std * torch.randn(c, generator=g))
        bn.running_var.copy_((std * (0.5 + torch.rand(c, generator=g))) ** 2)
        sign = torch.where(torch.rand(c, generator=g) < 0.25, -1.0, 1.0)
        bn.weight.copy_(sign * (0.5 + torch.rand(c, generator=g)))
        bn.bias.copy_(torch.rand(c, generator=g) * 1.5 - 0.3)

    h = model.inp(torch.from_numpy(x))
    for i, act in enumerate(model.conv_acts):
        layer = model.arch.convs[i]
        z = model.convs[i](h)
        if layer.pool is not None and layer.pool_before_bn:
            z = torch.nn.functional.max_pool2d(z, *layer.pool)
        randomise(model.conv_bns[i], z)
        h = model._post_act(i, act(model.conv_bns[i](z)))
    h = h.flatten(1)
    for lin, bn, act in zip(model.linears, model.bns, model.acts, strict=True):
        z = lin(h)
        randomise(bn, z)
        h = act(bn(z))
    model.out_scale.copy_(0.5 + torch.rand(model.n_classes, generator=g))
    model.out_bias.copy_(torch.randn(model.n_classes, generator=g))
    return model


def _conv_f64(x, w, attrs):
    """ONNX Conv (group 1, no dilation, no bias) in float64 numpy: ONNX Runtime has no
    float64 Conv kernel."""
    assert attrs.get("group", 1) == 1 and attrs.get("dilations", [1, 1]) == [1, 1]
    t, left, b, r = attrs.get("pads", [0, 0, 0, 0])
    s0, s1 = attrs.get("strides", [1, 1])
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))
    k0, k1 = w.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(xp, (k0, k1), axis=(2, 3))[:, :, ::s0, ::s1]
    return np.einsum("nchwij,ocij->nohw", win, w, optimize=True)


def qonnx_float64_boundaries(path, x: np.ndarray):
    """As :func:`qonnx_activation_boundaries`, executed in float64: Quant and BipolarQuant
    by qonnx's own functions without execute_onnx's float32 cast, Conv and
    GlobalAveragePool by numpy, every other node by qonnx's execute_node on a float64 copy
    of the graph."""
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_node
    from qonnx.custom_op.general.bipolar_quant import binary_quant
    from qonnx.custom_op.general.intquant import int_quant
    from qonnx.util.cleanup import cleanup_model

    w = cleanup_model(ModelWrapper(str(path)))
    m = w.model
    for i, t in enumerate(m.graph.initializer):
        arr = onnx.numpy_helper.to_array(t)
        if arr.dtype.kind == "f":  # not Reshape's int64 shapes
            arr = arr.astype(np.float64)
            m.graph.initializer[i].CopyFrom(onnx.numpy_helper.from_array(arr, t.name))
    for vi in [*m.graph.input, *m.graph.output, *m.graph.value_info]:
        if vi.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    w = ModelWrapper(m)
    ctx = {k: v for k, v in w.make_empty_exec_context().items()}
    ctx["global_in"] = np.asarray(x, dtype=np.float64)
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    inits = {i.name for i in m.graph.initializer}
    bounds = []
    for n in m.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Quant":
            mode = attrs.get("rounding_mode", b"ROUND").decode()
            ins = [ctx[i] for i in n.input[:4]]
            ctx[n.output[0]] = int_quant(*ins, attrs["signed"], attrs["narrow"], mode)
        elif n.op_type == "BipolarQuant":
            ctx[n.output[0]] = binary_quant(ctx[n.input[0]], ctx[n.input[1]])
        elif n.op_type == "Conv":
            ctx[n.output[0]] = _conv_f64(ctx[n.input[0]], ctx[n.input[1]], attrs)
        elif n.op_type == "GlobalAveragePool":  # no float64 kernel in ONNX Runtime
            ctx[n.output[0]] = ctx[n.input[0]].mean(axis=(2, 3), keepdims=True)
        else:
            execute_node(n, ctx, m.graph, opset)
        assert ctx[n.output[0]].dtype == np.float64, n.op_type
        if n.op_type == "MultiThreshold":
            sub = w.find_consumer(n.output[0])
            bounds.append(w.find_consumer(sub.output[0]).output[0])
        elif n.op_type in ("Quant", "BipolarQuant") and n.input[0] not in inits:
            bounds.append(n.output[0])
    return ctx["global_out"], [ctx[b] for b in bounds]


@torch.no_grad()
def pre_activations(model, x: torch.Tensor) -> list[np.ndarray]:
    """The tensors entering each activation quantiser (float64 model), boundary order."""
    h = model.inp(x)
    pre = []
    for i, act in enumerate(model.conv_acts):
        z = model._pre_act(i, h)
        pre.append(z.numpy())
        h = model._post_act(i, act(z))
    h = h.flatten(1)
    for lin, bn, act in zip(model.linears, model.bns, model.acts, strict=True):
        z = bn(lin(h))
        pre.append(z.numpy())
        h = act(z)
    return pre


def activation_thresholds(act) -> np.ndarray:
    """Where an activation's code changes (HWGQ, sign, uniform QuantReLU)."""
    from halfwave.training.brevitas_layers import act_scale
    from halfwave.training.brevitas_quant import HWGQReLU, SignAct

    if isinstance(act, HWGQReLU):
        return act.hwgq.thresholds.double().numpy()
    if isinstance(act, SignAct):
        return np.zeros(1)
    n = 2 ** int(act.act_quant.bit_width()) - 1  # uniform QuantReLU: (k + 0.5) * s
    return (np.arange(n) + 0.5) * act_scale(act)


def explain_float32(model, x, codes64, codes32, tol=1e-4):
    """Frames whose float32 codes differ from the float64 ones, each explained: at the
    first boundary where the frame differs, every differing code comes from a float64
    pre-activation within ``tol`` of a threshold (float32 rounding decides the side);
    later boundaries of that frame follow from it. Returns the disagreeing frames."""
    assert np.array_equal(codes64[0], codes32[0]), "input codes differ"
    pre = pre_activations(model, torch.from_numpy(x).double())
    acts = model.activations()
    frames = set()
    for b in range(1, len(codes64)):
        diff = codes64[b] != codes32[b]
        for f in np.unique(np.argwhere(diff)[:, 0]):
            if f in frames:
                continue  # already explained at an earlier boundary
            th = activation_thresholds(acts[b - 1])
            v = pre[b - 1][f][diff[f]]
            dist = np.abs(v[:, None] - th[None, :]).min(1)
            assert dist.max() <= tol, (
                f"frame {f}, boundary {b}: float32 code differs {dist.max():.3g} away from "
                f"any threshold (pre-activations {v[:4]})"
            )
            frames.add(int(f))
    return sorted(frames)
