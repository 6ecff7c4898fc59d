"""Activations the fused kernels do not have (Keras's elu, selu, softplus, softsign, silu,
exponential, hard_sigmoid, relu6, mish, hard_silu, celu, the shrinks, squareplus, the sparse
and log sigmoids, thresholds): one Function, each activation a forward formula and its
derivative in array operations (numpy or CuPy), in the input's precision. At a kink the
derivative is torch's (elu takes its negative branch at 0; relu6, hard_sigmoid, hard_silu
and the clipping ones' slopes are open intervals). The losses of an input and a target taken
element by element (l1, huber, smooth l1, binary cross-entropy, KL divergence) are a second
Function of the same shape."""
from __future__ import annotations

import math

import numpy as np

from .function import Function
from .tensor_ops import xp_of

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def erf(xp, a):
    """The error function of each element (numpy has none: math.erf per element)."""
    if xp is np:
        return np.vectorize(math.erf, otypes=[a.dtype])(a)
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(a)


def _sigmoid(xp, x):
    # 1 / (1 + e^-x) with e^-|x| only (no overflow), accurate in relative terms for x << 0
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


def _softplus(xp, x):
    # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def _elu(xp, x, alpha):
    return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))


def _elu_slope(xp, x, alpha):
    return xp.where(x > 0, 1, alpha * xp.exp(xp.minimum(x, 0)))


def _silu_slope(xp, x, arg):
    s = _sigmoid(xp, x)
    return s * (1 + x * (1 - s))


def _mish_slope(xp, x, arg):
    t = xp.tanh(_softplus(xp, x))
    return t + x * _sigmoid(xp, x) * (1 - t * t)


def _hard_sigmoid(xp, x):
    return xp.clip(x + 3, 0, 6) / 6


def _inside(xp, x, lo, hi):
    return ((x > lo) & (x < hi)).astype(x.dtype)


def _keras_relu(xp, x, a):
    """Keras's relu(x, negative_slope, max_value, threshold): x where x > threshold (else 0),
    clipped to [0, max_value], minus negative_slope * relu(threshold - x)."""
    slope, top, t = a
    y = xp.where(x > t, x, 0) if t != 0 else xp.maximum(x, 0)
    if top is not None:
        y = xp.clip(y, 0, top)
    return y - slope * xp.maximum(t - x, 0) if slope else y


def _keras_relu_slope(xp, x, a):
    slope, top, t = a
    # x passes where x > threshold (a negative threshold passes negative x too, unless the
    # clip to [0, max_value] takes them); the clip's slope is 1 strictly inside
    up = x > t if t != 0 else x > 0
    if top is not None:
        up = up & (x > 0) & (x < top)
    return up.astype(x.dtype) + slope * (x < t)


# name: (f(xp, x, arg), f'(xp, x, arg)); arg: elu's alpha, softplus's (beta, threshold)
FORMULAS = {
    "elu": (_elu, _elu_slope),
    "selu": (lambda xp, x, a: SELU_SCALE * _elu(xp, x, SELU_ALPHA),
             lambda xp, x, a: SELU_SCALE * _elu_slope(xp, x, SELU_ALPHA)),
    # torch's softplus(x, beta, threshold): linear where beta * x > threshold
    "softplus": (lambda xp, x, a: xp.where(a[0] * x > a[1], x, _softplus(xp, a[0] * x) / a[0]),
                 lambda xp, x, a: xp.where(a[0] * x > a[1], 1, _sigmoid(xp, a[0] * x))),
    "softsign": (lambda xp, x, a: x / (xp.abs(x) + 1),
                 lambda xp, x, a: 1 / (xp.abs(x) + 1) ** 2),
    "silu": (lambda xp, x, a: x * _sigmoid(xp, x), _silu_slope),
    "exponential": (lambda xp, x, a: xp.exp(x), lambda xp, x, a: xp.exp(x)),
    "hard_sigmoid": (lambda xp, x, a: _hard_sigmoid(xp, x),
                     lambda xp, x, a: _inside(xp, x, -3, 3) / 6),
    "relu6": (lambda xp, x, a: xp.clip(x, 0, 6), lambda xp, x, a: _inside(xp, x, 0, 6)),
    "mish": (lambda xp, x, a: x * xp.tanh(_softplus(xp, x)), _mish_slope),
    "hard_silu": (lambda xp, x, a: x * _hard_sigmoid(xp, x),
                  lambda xp, x, a: _hard_sigmoid(xp, x) + x * _inside(xp, x, -3, 3) / 6),
    # arg: alpha
    "celu": (lambda xp, x, a: xp.maximum(x, 0) + a * xp.expm1(xp.minimum(x, 0) / a),
             lambda xp, x, a: xp.where(x > 0, 1, xp.exp(xp.minimum(x, 0) / a))),
    "tanh_shrink": (lambda xp, x, a: x - xp.tanh(x), lambda xp, x, a: xp.tanh(x) ** 2),
    "hard_tanh": (lambda xp, x, a: xp.clip(x, -1, 1), lambda xp, x, a: _inside(xp, x, -1, 1)),
    # arg: the threshold
    "soft_shrink": (lambda xp, x, a: xp.where(x > a, x - a, xp.where(x < -a, x + a, 0)),
                    lambda xp, x, a: (xp.abs(x) > a).astype(x.dtype)),
    "hard_shrink": (lambda xp, x, a: xp.where(xp.abs(x) > a, x, 0),
                    lambda xp, x, a: (xp.abs(x) > a).astype(x.dtype)),
    # arg: b
    "squareplus": (lambda xp, x, a: (x + xp.sqrt(x * x + a)) / 2,
                   lambda xp, x, a: (1 + x / xp.sqrt(x * x + a)) / 2),
    "sparse_plus": (lambda xp, x, a: xp.where(x <= -1, 0, xp.where(x < 1, (x + 1) ** 2 / 4, x)),
                    lambda xp, x, a: xp.where(x <= -1, 0, xp.where(x < 1, (x + 1) / 2, 1))),
    "sparse_sigmoid": (lambda xp, x, a: xp.clip((x + 1) / 2, 0, 1),
                       lambda xp, x, a: _inside(xp, x, -1, 1) / 2),
    "log_sigmoid": (lambda xp, x, a: -_softplus(xp, -x), lambda xp, x, a: _sigmoid(xp, -x)),
    # arg: (threshold, value): x where x > threshold, else value
    "threshold": (lambda xp, x, a: xp.where(x > a[0], x, a[1]),
                  lambda xp, x, a: (x > a[0]).astype(x.dtype)),
    # arg: (negative_slope, max_value, threshold)
    "keras_relu": (_keras_relu, _keras_relu_slope),
    # and the element-wise math of keras.ops
    "log1p": (lambda xp, x, a: xp.log1p(x), lambda xp, x, a: 1 / (1 + x)),
    "expm1": (lambda xp, x, a: xp.expm1(x), lambda xp, x, a: xp.exp(x)),
    "sin": (lambda xp, x, a: xp.sin(x), lambda xp, x, a: xp.cos(x)),
    "cos": (lambda xp, x, a: xp.cos(x), lambda xp, x, a: -xp.sin(x)),
    "sign": (lambda xp, x, a: xp.sign(x), lambda xp, x, a: xp.zeros_like(x)),
    "erf": (lambda xp, x, a: erf(xp, x),
            lambda xp, x, a: 2 / math.sqrt(math.pi) * xp.exp(-x * x)),
    "tan": (lambda xp, x, a: xp.tan(x), lambda xp, x, a: 1 / xp.cos(x) ** 2),
    "arctan": (lambda xp, x, a: xp.arctan(x), lambda xp, x, a: 1 / (1 + x * x)),
    "arcsin": (lambda xp, x, a: xp.arcsin(x), lambda xp, x, a: 1 / xp.sqrt(1 - x * x)),
    "arccos": (lambda xp, x, a: xp.arccos(x), lambda xp, x, a: -1 / xp.sqrt(1 - x * x)),
    "sinh": (lambda xp, x, a: xp.sinh(x), lambda xp, x, a: xp.cosh(x)),
    "cosh": (lambda xp, x, a: xp.cosh(x), lambda xp, x, a: xp.sinh(x)),
    "arcsinh": (lambda xp, x, a: xp.arcsinh(x), lambda xp, x, a: 1 / xp.sqrt(x * x + 1)),
    "arccosh": (lambda xp, x, a: xp.arccosh(x), lambda xp, x, a: 1 / xp.sqrt(x * x - 1)),
    "arctanh": (lambda xp, x, a: xp.arctanh(x), lambda xp, x, a: 1 / (1 - x * x)),
    "log2": (lambda xp, x, a: xp.log2(x), lambda xp, x, a: 1 / (x * math.log(2))),
    "log10": (lambda xp, x, a: xp.log10(x), lambda xp, x, a: 1 / (x * math.log(10))),
}


class ElementwiseActivation(Function):
    """``FORMULAS[name]`` applied to each element, with its argument ``arg``."""

    @staticmethod
    def forward(ctx, x, name, arg):
        xp = xp_of(x)
        f, _ = FORMULAS[name]
        ctx.save_for_backward(x)
        ctx.name, ctx.arg = name, arg
        return f(xp, x, arg).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        _, slope = FORMULAS[ctx.name]
        return (g * slope(xp_of(x), x, ctx.arg)).astype(g.dtype, copy=False), None, None


# ---- losses of an input and a target, element by element ------------------------------------
def _log_clamped(xp, p):
    """torch's binary cross-entropy clamps each log at -100, so a probability of exactly 0 or
    1 gives a finite loss."""
    with np.errstate(divide="ignore"):
        return xp.maximum(xp.log(p), -100)


def _bce(xp, x, t, a):
    return -(t * _log_clamped(xp, x) + (1 - t) * _log_clamped(xp, 1 - x))


# torch's floor of the gradient's denominator: 1e-12 as a float32, in every precision
_BCE_FLOOR = float(np.float32(1e-12))


def _bce_slope(xp, x, t, a):
    return (x - t) / xp.maximum((1 - x) * x, _BCE_FLOOR)


def _xlogx(xp, t):
    """t log t, 0 where t is 0 (torch's xlogy(t, t))."""
    positive = t > 0
    return xp.where(positive, t * xp.log(xp.where(positive, t, 1)), 0)


def _kl_div(xp, x, t, log_target):
    return xp.exp(t) * (t - x) if log_target else _xlogx(xp, t) - t * x


def _kl_div_target_slope(xp, x, t, log_target):
    if log_target:
        return xp.exp(t) * (t - x + 1)
    positive = t > 0
    return xp.where(positive, xp.log(xp.where(positive, t, 1)) + 1, 0) - x


# name: (loss(xp, input, target, arg), d loss / d input, d loss / d target); arg: huber's delta,
# smooth_l1's beta, kl_div's log_target. The slopes at the kinks are torch's.
LOSS_FORMULAS = {
    "l1": (lambda xp, x, t, a: xp.abs(x - t), lambda xp, x, t, a: xp.sign(x - t),
           lambda xp, x, t, a: -xp.sign(x - t)),
    "huber": (lambda xp, x, t, a: xp.where(xp.abs(x - t) < a, 0.5 * (x - t) ** 2,
                                           a * (xp.abs(x - t) - 0.5 * a)),
              lambda xp, x, t, a: xp.clip(x - t, -a, a),
              lambda xp, x, t, a: -xp.clip(x - t, -a, a)),
    "smooth_l1": (lambda xp, x, t, a: xp.where(xp.abs(x - t) < a, 0.5 * (x - t) ** 2 / a,
                                               xp.abs(x - t) - 0.5 * a),
                  lambda xp, x, t, a: xp.clip((x - t) / a, -1, 1),
                  lambda xp, x, t, a: -xp.clip((x - t) / a, -1, 1)),
    "binary_cross_entropy": (_bce, _bce_slope,
                             lambda xp, x, t, a: _log_clamped(xp, 1 - x) - _log_clamped(xp, x)),
    "kl_div": (_kl_div, lambda xp, x, t, a: -xp.exp(t) if a else -t, _kl_div_target_slope),
}


class ElementwiseLoss(Function):
    """``LOSS_FORMULAS[name]`` of each (input, target) pair of elements (same shapes), with its
    argument ``arg``; the target gets a gradient too when it asks for one."""

    @staticmethod
    def forward(ctx, x, t, name, arg):
        xp = xp_of(x)
        ctx.save_for_backward(x, t)
        ctx.name, ctx.arg = name, arg
        return LOSS_FORMULAS[name][0](xp, x, t, arg).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        xp = xp_of(x)
        _, d_input, d_target = LOSS_FORMULAS[ctx.name]
        gx = (g * d_input(xp, x, t, ctx.arg)).astype(g.dtype, copy=False) \
            if ctx.needs_input_grad[0] else None
        gt = (g * d_target(xp, x, t, ctx.arg)).astype(g.dtype, copy=False) \
            if ctx.needs_input_grad[1] else None
        return gx, gt, None, None
