"""Ternary weights: Trained Ternary Quantization (TTQ, Zhu et al., ICLR 2017) and Ternary
Weight Networks (TWN, Li & Liu, 2016), per layer.

TTQ: with the threshold delta = t * max|W| (t = 0.05 by default), the weight is
    +Wp where W > delta,   0 where |W| <= delta,   -Wn where W < -delta,
Wp and Wn being two learned positive scalars per layer. Backward (the paper's eqs. 6-7 and
its released code): dL/dWp = sum of the upstream gradient g over the positive region;
dL/dWn = -(sum of g over the negative region) (the chain rule through -Wn: the paper's
eq. 6 writes the sum for the value -Wn); the latent full-precision weights get the scaled
gradient Wp*g (positive region), g (zero region), Wn*g (negative region). The threshold
carries no gradient.

TWN: delta = 0.7 * mean|W|, alpha = mean of |W| over |W| > delta; the weight is
alpha * {+1, 0, -1}; straight-through gradient to the latent weights (alpha constant).

Exactness. delta and the codes are computed in float64 from the (float32) latent weights,
so float32 training and float64 evaluation give the same codes. TTQ's Wp and Wn are
snapped, in the forward pass itself, to a common fixed-point grid (:func:`snap_scales`):
Wp = kp * 2^-f, Wn = kn * 2^-f with integers 1 <= kp, kn < 2^8, f chosen per layer so that
max(kp, kn) uses all 8 bits. Both are float32-exact and Wp/Wn = kp/kn is a ratio of small
integers, so the hardware computes sum(kp * x) - sum(kn * x) and one scale 2^-f: the float
model is exactly the exported one. Gradients pass the snapping straight through. TWN's
alpha is rounded to 16 significant bits (float32-exact) as the other weight scales.

Brevitas: :class:`TernaryWeightQuant` is a Brevitas weight quantiser (injector; its
tensor quantiser :class:`TernaryTensorQuant` holds Wp, Wn) usable with any
``brevitas.nn`` weight layer; :class:`TernaryLinear` and :class:`TernaryConv2d` are
``brevitas.nn.QuantLinear``/``QuantConv2d`` with it. Export (``brevitas.export.export_qonnx``,
through :class:`TernaryQONNXHandler`, registered with Brevitas' QONNXManager on import): one
QONNX ``Quant(W, S, 0, 2; signed 1, narrow 1, ROUND)`` with W the ternary float weights
(+Wp, 0, -Wn) and S the same shape, Wp where the code is 0 or +1 and Wn where it is -1
(TTQ); S is the scalar alpha for TWN. Quant computes S * clip(round(W / S), -1, 1) = W
exactly.

This module also holds the factories of the named models' layers (:func:`make_linear`,
:func:`make_conv`, :func:`make_act`), which choose between binary, k-bit and ternary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from brevitas.export.onnx.qonnx.handler import BrevitasWeightQuantProxyHandler
from brevitas.export.onnx.qonnx.manager import QONNXManager
from brevitas.inject import ExtendedInjector
from brevitas.proxy import WeightQuantProxyFromInjector
from torch import nn

from .brevitas_layers import QuantConv2d, QuantLinear
from .brevitas_layers import make_act as _make_act
from .quantizers import round_significant

TTQ_THRESHOLD = 0.05  # t: delta = t * max|W|
TWN_THRESHOLD = 0.7  # delta = 0.7 * mean|W|
SCALE_BITS = 8  # kp, kn < 2^SCALE_BITS
MIN_SCALE = 1e-6  # learned Wp, Wn are kept above this after each optimiser step
METHODS = ("ttq", "twn")


@dataclass(frozen=True)
class SnappedScales:
    """TTQ scales on the fixed-point grid: wp = kp * 2^-frac_bits, wn = kn * 2^-frac_bits.
    ``p/n`` is kp/kn in lowest terms; errors are |snapped - learned| / learned."""

    wp: float
    wn: float
    kp: int
    kn: int
    frac_bits: int
    p: int
    n: int
    wp_error: float
    wn_error: float


def snap_scales(wp: float, wn: float, bits: int = SCALE_BITS) -> SnappedScales:
    """Snap two positive scales to kp * 2^-f, kn * 2^-f, integers 1 <= kp, kn < 2^bits,
    f the largest with max(kp, kn) < 2^bits (round half to even). The larger scale then
    has a relative error <= 2^-bits, the smaller one (integer k) <= 1/(2k - 1); a learned
    scale below half a grid step becomes one step (k = 1)."""
    if not 2 <= bits <= 16:
        raise ValueError(f"scale bits must be in 2..16, got {bits}")
    wp, wn = float(wp), float(wn)
    if not (wp > 0 and wn > 0 and math.isfinite(wp) and math.isfinite(wn)):
        raise ValueError(f"TTQ scales must be positive and finite, got Wp={wp}, Wn={wn}")
    _, e = math.frexp(max(wp, wn))  # max = m * 2^e, 0.5 <= m < 1
    f = bits - e  # max * 2^f in [2^(bits-1), 2^bits)
    kp, kn = round(math.ldexp(wp, f)), round(math.ldexp(wn, f))
    if max(kp, kn) == 1 << bits:  # rounded up to 2^bits: one bit less of fraction
        f -= 1
        kp, kn = round(math.ldexp(wp, f)), round(math.ldexp(wn, f))
    kp, kn = max(kp, 1), max(kn, 1)
    sp, sn = math.ldexp(kp, -f), math.ldexp(kn, -f)
    g = math.gcd(kp, kn)
    return SnappedScales(sp, sn, kp, kn, f, kp // g, kn // g, abs(sp - wp) / wp, abs(sn - wn) / wn)


class _TtqFn(torch.autograd.Function):
    """Forward: +wp_s / 0 / -wn_s by the masks; backward: TTQ's gradient rules."""

    @staticmethod
    def forward(ctx, w, wp, wn, pos, neg, wp_s: float, wn_s: float):  # noqa: D401
        ctx.save_for_backward(pos, neg)
        ctx.scales = (wp_s, wn_s)
        neg_or_zero = torch.where(neg, w.new_tensor(-wn_s), w.new_zeros(()))
        return torch.where(pos, w.new_tensor(wp_s), neg_or_zero)

    @staticmethod
    def backward(ctx, g):
        pos, neg = ctx.saved_tensors
        wp_s, wn_s = ctx.scales
        factor = torch.where(
            pos, g.new_tensor(wp_s), torch.where(neg, g.new_tensor(wn_s), g.new_ones(()))
        )
        grad_wp = torch.where(pos, g, 0).sum()
        grad_wn = -torch.where(neg, g, 0).sum()
        return g * factor, grad_wp, grad_wn, None, None, None, None


class _TwnFn(torch.autograd.Function):
    """Forward: alpha * codes (exact); backward: straight through to the latent weights."""

    @staticmethod
    def forward(ctx, w, codes, alpha: float):  # noqa: D401
        return codes.to(w.dtype) * alpha

    @staticmethod
    def backward(ctx, g):
        return g, None, None


@dataclass(frozen=True)
class TernaryState:
    """A ternary layer's quantisation at its current weights (no gradient)."""

    method: str
    delta: float  # the threshold, float64
    codes: torch.Tensor  # int64, weight shape: -1, 0, +1
    wp: float  # learned (TTQ) or alpha before rounding (TWN)
    wn: float
    scales: SnappedScales  # TWN: wp = wn = alpha rounded to 16 significant bits


class TernaryTensorQuant(nn.Module):
    """Brevitas tensor quantiser of TTQ or TWN weights (see module docstring): returns
    (weights, scale, zero point, bit width 2), the scale elementwise (TTQ: Wp where the
    code is 0 or +1, Wn where it is -1) or the scalar alpha (TWN). ``threshold`` is t
    (TTQ) or the factor of mean|W| (TWN); it is kept in the checkpoint (extra state)."""

    def __init__(self, method: str, threshold: float | None, scale_bits: int):
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"ternary method must be one of {METHODS}, got {method!r}")
        self.method, self.scale_bits = method, int(scale_bits)
        if method == "ttq":
            self.wp = nn.Parameter(torch.tensor(1.0))
            self.wn = nn.Parameter(torch.tensor(1.0))
        default = TTQ_THRESHOLD if method == "ttq" else TWN_THRESHOLD
        self.threshold = float(default if threshold is None else threshold)

    @torch.no_grad()
    def set_threshold(self, threshold: float, weight: torch.Tensor) -> None:
        """Set t (TTQ) or the factor of mean|W| (TWN); TTQ's Wp and Wn restart at the
        mean magnitudes of the latent weights above and below the new threshold."""
        if not 0 < threshold < (1 if self.method == "ttq" else math.inf):
            raise ValueError(f"{self.method} threshold out of range: {threshold}")
        self.threshold = float(threshold)
        if self.method == "ttq":
            w = weight.double()
            delta = self.delta(w)
            self.wp.fill_(_mean_or(w[w > delta], delta))
            self.wn.fill_(_mean_or(-w[w < -delta], delta))

    def delta(self, w64: torch.Tensor) -> float:
        """The threshold on |W| (float64): t * max|W| (TTQ) or 0.7 * mean|W| (TWN)."""
        a = w64.abs()
        return self.threshold * float(a.max() if self.method == "ttq" else a.mean())

    def state(self, weight: torch.Tensor) -> TernaryState:
        w = weight.detach().double()
        delta = self.delta(w)
        pos, neg = w > delta, w < -delta
        codes = pos.long() - neg.long()
        if self.method == "ttq":
            wp, wn = float(self.wp.detach()), float(self.wn.detach())
            return TernaryState("ttq", delta, codes, wp, wn, snap_scales(wp, wn, self.scale_bits))
        alpha = _mean_or(w.abs()[pos | neg], max(delta, 1e-12))
        a = round_significant(alpha)
        err = abs(a - alpha) / alpha
        snapped = SnappedScales(a, a, 1, 1, 0, 1, 1, err, err)
        return TernaryState("twn", delta, codes, alpha, alpha, snapped)

    def forward(self, w: torch.Tensor):
        st = self.state(w)
        s = st.scales
        if self.method == "ttq":
            pos, neg = st.codes > 0, st.codes < 0
            wq = _TtqFn.apply(w, self.wp, self.wn, pos, neg, s.wp, s.wn)
            scale = torch.where(neg, s.wn, s.wp).to(w.dtype)
        else:
            wq = _TwnFn.apply(w, st.codes, s.wp)
            scale = w.new_tensor(s.wp)
        return wq, scale, w.new_zeros(()), w.new_tensor(2.0)

    @torch.no_grad()
    def constrain(self) -> None:
        if self.method == "ttq":
            self.wp.clamp_(min=MIN_SCALE)
            self.wn.clamp_(min=MIN_SCALE)

    def get_extra_state(self):
        return {"method": self.method, "threshold": self.threshold, "scale_bits": self.scale_bits}

    def set_extra_state(self, state) -> None:
        if state.get("method") != self.method:
            raise RuntimeError(f"checkpoint holds {state.get('method')!r} ternary weights")
        self.threshold = float(state["threshold"])
        self.scale_bits = int(state["scale_bits"])


class TernaryWeightProxy(WeightQuantProxyFromInjector):
    """The weight proxy of :class:`TernaryWeightQuant` (found by its export handler)."""


class TernaryWeightQuant(ExtendedInjector):
    """Brevitas weight quantiser: TTQ (``method="ttq"``) or TWN, e.g.
    ``QuantLinear(..., weight_quant=TernaryWeightQuant.let(method="twn"))``."""

    tensor_quant = TernaryTensorQuant
    proxy_class = TernaryWeightProxy
    method = "ttq"
    threshold = None
    scale_bits = SCALE_BITS
    bit_width = 2
    signed = True
    narrow_range = True


class TernaryQONNXHandler(BrevitasWeightQuantProxyHandler):
    """Exports ``Quant(W, S, 0, 2; signed, narrow, ROUND)`` with W the ternary weights
    themselves (Brevitas' weight handler would export the latent weights, which Quant with
    an elementwise TTQ scale does not map to their codes)."""

    handled_layer = TernaryWeightProxy

    def prepare_for_export(self, module: TernaryWeightProxy) -> None:
        super().prepare_for_export(module)
        self.ternary_weights = module.tracked_module_list[0].quant_weight().value.detach()

    def symbolic_execution(self, x: torch.Tensor):
        return super().symbolic_execution(self.ternary_weights.to(x.dtype))


if TernaryQONNXHandler not in QONNXManager.handlers:
    QONNXManager.handlers.append(TernaryQONNXHandler)


class _Ternary:
    """What :class:`TernaryLinear` and :class:`TernaryConv2d` add to their Brevitas layer:
    the method, threshold and scales of their :class:`TernaryTensorQuant`."""

    weight: nn.Parameter

    @property
    def tq(self) -> TernaryTensorQuant:
        return self.weight_quant.tensor_quant

    @property
    def method(self) -> str:
        return self.tq.method

    @property
    def threshold(self) -> float:
        return self.tq.threshold

    @property
    def wp(self) -> nn.Parameter:
        return self.tq.wp

    @property
    def wn(self) -> nn.Parameter:
        return self.tq.wn

    def set_threshold(self, threshold: float) -> None:
        self.tq.set_threshold(threshold, self.weight)

    def delta(self, w64: torch.Tensor) -> float:
        return self.tq.delta(w64)

    def ternary_state(self) -> TernaryState:
        return self.tq.state(self.weight)

    def constrain(self) -> None:
        """After an optimiser step: keep the learned scales positive."""
        self.tq.constrain()

    @torch.no_grad()
    def weight_codes_and_scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes (-1, 0, +1) and the elementwise scale (Wp on codes 0 and +1, Wn on -1;
        alpha everywhere for TWN), in weight dtype; codes * scale is the forward weight."""
        st = self.ternary_state()
        dt = self.weight.dtype
        scale = torch.where(st.codes < 0, st.scales.wn, st.scales.wp).to(dt)
        return st.codes.to(dt), scale

    def _ternary_repr(self) -> str:
        return f"{self.method}, threshold={self.threshold}"


def _ternary_quant(method: str, threshold: float | None, scale_bits: int):
    return TernaryWeightQuant.let(method=method, threshold=threshold, scale_bits=scale_bits)


def _mean_or(t: torch.Tensor, default: float) -> float:
    return float(t.mean()) if t.numel() else float(default)


class TernaryLinear(_Ternary, QuantLinear):
    """:class:`QuantLinear` (no bias) with TTQ or TWN weights, one scale pair per layer."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        method: str = "ttq",
        threshold: float | None = None,
        scale_bits: int = SCALE_BITS,
    ):
        quant = _ternary_quant(method, threshold, scale_bits)
        super().__init__(in_features, out_features, bits=2, per_channel=False, quant=quant)
        if self.method == "ttq":
            self.set_threshold(self.threshold)  # Wp, Wn from the initial weights

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, {self._ternary_repr()}"


class TernaryConv2d(_Ternary, QuantConv2d):
    """:class:`QuantConv2d` (no bias, group 1) with TTQ or TWN weights, per layer."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        pad: int = 0,
        method: str = "ttq",
        threshold: float | None = None,
        scale_bits: int = SCALE_BITS,
    ):
        quant = _ternary_quant(method, threshold, scale_bits)
        super().__init__(
            in_channels, out_channels, kernel, stride, pad, bits=2, per_channel=False, quant=quant
        )
        if self.method == "ttq":
            self.set_threshold(self.threshold)  # Wp, Wn from the initial weights

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel={self.kernel_size[0]}, "
            f"stride={self.stride[0]}, pad={self.padding[0]}, {self._ternary_repr()}"
        )


TERNARY_LAYERS = (TernaryLinear, TernaryConv2d)


def make_linear(spec, i: int, o: int, bits: int | None = None, per_channel: bool = True):
    """A named model's FC weight layer (``spec`` its ModelSpec): ``bits`` when given
    (fixed-precision layers such as AlexNet's fc8), else ternary for a ternary model,
    else W bits (0: float)."""
    if bits is None and spec.ternary and spec.wbits:
        return TernaryLinear(i, o, spec.ternary)
    return QuantLinear(i, o, spec.wbits if bits is None else bits, per_channel)


def make_conv(spec, cin: int, cout: int, kernel: int, stride: int, pad: int, bits=None):
    """A named model's convolution: ``bits`` when given (fixed-precision layers such as
    AlexNet's conv1), else ternary for a ternary model, else W bits."""
    if bits is None and spec.ternary and spec.wbits:
        return TernaryConv2d(cin, cout, kernel, stride, pad, spec.ternary)
    return QuantConv2d(cin, cout, kernel, stride, pad, spec.wbits if bits is None else bits)


def make_act(spec, index: int) -> nn.Module:
    """A named model's activation number ``index`` (its stochastic sign, if any, is
    seeded with the index)."""
    return _make_act(spec.act, spec.abits, spec.stochastic, seed=index)


def ternary_report(model: nn.Module) -> list[dict]:
    """Per ternary layer (module order): the method, threshold delta, learned and snapped
    scales, the grid (kp, kn, 2^-f; p/n in lowest terms), the relative snapping errors,
    and the sparsity (fraction of zero weights) with the fractions of +1 and -1 codes."""
    rows = []
    for name, m in model.named_modules():
        if not isinstance(m, TERNARY_LAYERS):
            continue
        st = m.ternary_state()
        s = st.scales
        n = st.codes.numel()
        row = {"layer": name, "method": st.method, "threshold": st.delta}
        if st.method == "ttq":
            row.update(
                wp=st.wp,
                wn=st.wn,
                wp_snapped=s.wp,
                wn_snapped=s.wn,
                kp=s.kp,
                kn=s.kn,
                frac_bits=s.frac_bits,
                ratio=f"{s.p}/{s.n}",
                wp_error=s.wp_error,
                wn_error=s.wn_error,
            )
        else:
            row.update(alpha=st.wp, alpha_snapped=s.wp, alpha_error=s.wp_error)
        row.update(
            sparsity=int((st.codes == 0).sum()) / n,
            positive=int((st.codes > 0).sum()) / n,
            negative=int((st.codes < 0).sum()) / n,
        )
        rows.append(row)
    return rows
