"""halfwave's quantisers as Brevitas quantisers, usable in any Brevitas model.

- :class:`HWGQReLU`: the half-wave Gaussian quantiser (Cai et al.) as a ``brevitas.nn``
  activation layer with the three backward variants (clipped, vanilla, log-tailed). Its
  proxy has a QONNX export handler, registered with Brevitas' ``QONNXManager`` on import,
  that emits ``Neg -> MultiThreshold -> Sub -> Mul``: ``step * #(x > t_k)``, the strict
  ``>`` of HWGQ written with MultiThreshold's ``>=`` (the form halfwave's compiler reads).
- :data:`BinaryWeight`: Brevitas' signed binary weights with the constant scale 1 (codes
  +-1, latent weights clipped in place to [-1, 1]).
- :class:`SignAct`: Brevitas' signed binary activation (scale 1, hard-tanh straight-through
  gradient), optionally stochastic at training time (Hubara et al.: +1 with probability
  hard_sigmoid(x) = clip((x + 1) / 2, 0, 1), from a seeded generator); deterministic
  ``x >= 0`` in eval mode and at export.
- :data:`InputQuant`: unsigned 8-bit input, constant scale 1, round half to even.

Every constant a quantiser multiplies or compares with is float32-exact (see
quantizers.py), so that the float64 model and the float32 export agree bit for bit.
"""

from __future__ import annotations

import brevitas.nn as qnn
import torch
from brevitas.core.quant import ClampedBinaryQuant
from brevitas.core.scaling import ScalingImplType
from brevitas.export.onnx.function import DynamoFn
from brevitas.export.onnx.handler import ONNXBaseHandler
from brevitas.export.onnx.qonnx.function import DOMAIN_STRING, DOMAIN_VERSION
from brevitas.export.onnx.qonnx.manager import QONNXManager
from brevitas.inject import ExtendedInjector
from brevitas.proxy import ActQuantProxyFromInjector
from brevitas.quant import (
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFloat,
)
from torch import nn

from .errors import TrainingError
from .quantizers import BACKWARDS, hwgq_table

BACKWARD_ALIASES = {"vanilla": "relu"}  # the paper's name for the plain ReLU backward


class BinaryWeight(SignedBinaryWeightPerTensorConst):
    """Binary weights sign(W) (W >= 0 -> +1), scale 1; latent weights clipped to [-1, 1]."""

    scaling_const = 1.0


class InputQuant(Uint8ActPerTensorFloat):
    """Unsigned 8-bit input quantiser: clamp(round_half_even(x), 0, 255), scale 1."""

    scaling_impl_type = ScalingImplType.CONST
    scaling_const = 255.0  # max value; scale = 255 / (2^8 - 1) = 1 exactly
    max_val = 255.0


# ---------------------------------------------------------------------------------------
# HWGQ


class _HwgqFn(torch.autograd.Function):
    """Forward: code = #(x > t_k), value = level[code]; backward: the chosen variant."""

    @staticmethod
    def forward(ctx, x, thresholds, values, q_max: float, mode: str):  # noqa: D401
        ctx.save_for_backward(x)
        ctx.q_max, ctx.mode = q_max, mode
        return values[(x.unsqueeze(-1) > thresholds).sum(-1)]

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * hwgq_gradient(x, ctx.q_max, ctx.mode), None, None, None, None


def hwgq_gradient(x: torch.Tensor, q_max: float, mode: str) -> torch.Tensor:
    """d HWGQ(x) / dx of the backward variant (Cai et al., section 4): ``relu`` (vanilla):
    1 on x > 0; ``clipped``: 1 on 0 < x <= q_max; ``log_tailed``: as clipped, and
    1 / (x - tau) beyond q_max with tau = q_max - 1 (continuous at q_max)."""
    inside = ((x > 0) & (x <= q_max)).to(x.dtype)
    if mode == "relu":
        return (x > 0).to(x.dtype)
    if mode == "clipped":
        return inside
    tau = q_max - 1.0
    return torch.where(x > q_max, 1.0 / torch.clamp(x - tau, min=1.0), inside)


class HWGQTensorQuant(nn.Module):
    """Brevitas tensor quantiser of HWGQ: returns (value, scale, zero point, bit width).
    Uniform: value = step * code, scale = step. Non-uniform levels have no integer scale:
    scale 1 (such a layer trains but is not exported)."""

    def __init__(self, bit_width: int, backward: str, uniform: bool):
        super().__init__()
        mode = BACKWARD_ALIASES.get(backward, backward)
        if mode not in BACKWARDS:
            raise ValueError(
                f"HWGQ backward must be one of clipped, vanilla (relu), log_tailed; "
                f"got {backward!r}"
            )
        self.mode, self.uniform, self.bits = mode, bool(uniform), int(bit_width)
        self.table = hwgq_table(self.bits, self.uniform)
        self.register_buffer("thresholds", torch.tensor(self.table.thresholds), persistent=False)
        levels = (0.0, *self.table.levels)
        self.register_buffer("values", torch.tensor(levels), persistent=False)

    @property
    def q_max(self) -> float:
        return self.table.levels[-1]

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return (x.unsqueeze(-1) > self.thresholds.to(x.dtype)).sum(-1)

    def forward(self, x: torch.Tensor):
        th, vals = self.thresholds.to(x.dtype), self.values.to(x.dtype)
        y = _HwgqFn.apply(x, th, vals, self.q_max, self.mode)
        scale = x.new_tensor(self.table.step if self.uniform else 1.0)
        return y, scale, x.new_zeros(()), x.new_tensor(float(self.bits))


class HWGQActProxy(ActQuantProxyFromInjector):
    """The proxy of :class:`HWGQReLU` (its own class so that the export handler finds it)."""

    @property
    def hwgq(self) -> HWGQTensorQuant:
        return self.fused_activation_quant_proxy.tensor_quant


class HWGQActQuant(ExtendedInjector):
    """Brevitas injector of HWGQ: ``bit_width``, ``backward``, ``uniform`` may be overridden
    with ``.let(...)`` or as layer keyword arguments."""

    tensor_quant = HWGQTensorQuant
    proxy_class = HWGQActProxy
    bit_width = 2
    backward = "clipped"
    uniform = True
    signed = False
    narrow_range = False


class HWGQReLU(qnn.QuantIdentity):
    """HWGQ activation layer, e.g. ``HWGQReLU(bit_width=2, backward="log_tailed")``."""

    def __init__(
        self,
        bit_width: int = 2,
        backward: str = "clipped",
        uniform: bool = True,
        return_quant_tensor: bool = False,
        **kwargs,
    ):
        quant = HWGQActQuant.let(bit_width=bit_width, backward=backward, uniform=uniform)
        super().__init__(act_quant=quant, return_quant_tensor=return_quant_tensor, **kwargs)

    @property
    def hwgq(self) -> HWGQTensorQuant:
        return self.act_quant.hwgq


class _MultiThresholdFn(torch.autograd.Function):
    """QONNX MultiThreshold (``x >= t``, count per element; eager numerics for tracing)."""

    @staticmethod
    def symbolic(g, x, thresholds, out_dtype: str, data_layout: str):
        ret = g.op(
            f"{DOMAIN_STRING}::MultiThreshold",
            x,
            thresholds,
            out_dtype_s=out_dtype,
            data_layout_s=data_layout,
        )
        ret.setType(x.type())
        return ret

    @staticmethod
    def forward(ctx, x, thresholds, out_dtype: str, data_layout: str):
        return (x.unsqueeze(-1) >= thresholds.reshape(-1)).sum(-1).to(x.dtype)


class _MultiThresholdDynamo(DynamoFn):
    @staticmethod
    def symbolic(x, thresholds, out_dtype: str, data_layout: str):
        return torch.onnx.ops.symbolic(
            f"{DOMAIN_STRING}::MultiThreshold",
            (x, thresholds),
            {"out_dtype": out_dtype, "data_layout": data_layout},
            dtype=x.dtype,
            shape=x.shape,
            version=DOMAIN_VERSION,
        )


class MultiThresholdOp:
    torchscript = _MultiThresholdFn
    dynamo = _MultiThresholdDynamo


class HWGQExportError(TrainingError):
    """An HWGQ layer that has no QONNX form halfwave's compiler reads."""


class HWGQQONNXHandler(ONNXBaseHandler):
    """QONNX export of :class:`HWGQActProxy`: ``step * (N - MultiThreshold(-x, -t))``."""

    handled_layer = HWGQActProxy

    def prepare_for_export(self, module: HWGQActProxy) -> None:
        tq = module.hwgq
        if not tq.uniform:
            raise HWGQExportError(
                "non-uniform HWGQ has no integer code scale; halfwave's hardware path "
                "supports uniform HWGQ only"
            )
        t = torch.tensor(tq.table.thresholds, dtype=torch.float32)
        self.n = len(tq.table.thresholds)
        self.bits = tq.bits
        self.neg_thresholds = torch.sort(-t).values.reshape(1, self.n)
        self.step = float(tq.table.step)

    def symbolic_execution(self, x: torch.Tensor):
        layout = "NCHW" if x.dim() == 4 else "NC"
        thr = self.neg_thresholds.to(x.dtype)
        count = self.export_op(MultiThresholdOp, -x, thr, f"UINT{self.bits}", layout)
        y = (self.n - count) * self.step
        scale = x.new_tensor(self.step)
        return y, scale, x.new_zeros(()), x.new_tensor(float(self.bits))


def _register(manager) -> None:
    if HWGQQONNXHandler not in manager.handlers:
        manager.handlers.append(HWGQQONNXHandler)


_register(QONNXManager)


# ---------------------------------------------------------------------------------------
# Sign activation, deterministic or stochastic


class StochasticBinaryQuant(ClampedBinaryQuant):
    """Brevitas' clamped binary quantiser (sign, hard-tanh straight-through gradient);
    with ``stochastic`` and in training mode, +1 with probability hard_sigmoid(x) =
    clip((x + 1) / 2, 0, 1) instead (Hubara et al.), drawn from ``generator`` (seeded
    with ``seed``) with the same straight-through gradient."""

    def __init__(self, scaling_impl, tensor_clamp_impl, stochastic: bool = False, seed: int = 0):
        super().__init__(scaling_impl=scaling_impl, tensor_clamp_impl=tensor_clamp_impl)
        self.stochastic = bool(stochastic)
        self.generator = torch.Generator().manual_seed(int(seed))

    def forward(self, x: torch.Tensor):
        y, scale, zp, bw = super().forward(x)
        if not (self.stochastic and self.training):
            return y, scale, zp, bw
        p = hard_sigmoid(x.detach())
        u = torch.rand(x.shape, generator=self.generator, dtype=x.dtype).to(x.device)
        sample = torch.where(u < p, 1.0, -1.0).to(x.dtype) * scale
        return y + (sample - y).detach(), scale, zp, bw


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """clip((x + 1) / 2, 0, 1): the probability of +1 in stochastic binarization."""
    return torch.clamp((x + 1) / 2, 0, 1)


class SignActQuant(SignedBinaryActPerTensorConst):
    """Sign activation (scale 1), ``stochastic`` at training time when set."""

    tensor_quant = StochasticBinaryQuant
    stochastic = False
    seed = 0


class SignAct(qnn.QuantIdentity):
    """Bipolar activation: +1 for x >= 0, -1 otherwise (eval and export); optionally
    stochastic in training mode (see :class:`StochasticBinaryQuant`)."""

    def __init__(self, stochastic: bool = False, seed: int = 0, **kwargs):
        quant = SignActQuant.let(stochastic=stochastic, seed=seed)
        super().__init__(act_quant=quant, **kwargs)
