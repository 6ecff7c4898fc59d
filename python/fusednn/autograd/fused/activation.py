"""Activations through the fused bias+activation kernel (scalar/AVX2/CUDA, one pass) for
float32, and through array formulas for float64 (the path gradient checks use)."""
from __future__ import annotations

import math

import numpy as np

from ... import _backend
from ..function import Function
from ..elementwise import erf
from ..tensor_ops import xp_of

Act = _backend.Act

# Activation names the layers accept, and their kernel codes (fusednn/act_math.h).
_CODES = {None: Act.identity, "linear": Act.identity, "identity": Act.identity,
          **{name: code for name, code in Act.__members__.items()}}


def act_code(name, where: str):
    """The kernel's code for an activation name, or a ValueError naming ``where``."""
    try:
        return _CODES[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in _CODES if k is not None)
        raise ValueError(f"{where}: unknown activation {name!r} (known: None, {known})") from None


def fusable(name) -> bool:
    """Whether the fused kernels apply this activation themselves (else the layer applies it
    after them)."""
    return isinstance(name, str) and name in _CODES


def act_is_identity(name) -> bool:
    return _CODES[name] == Act.identity


def act_saves_input(name) -> bool:
    """Whether the backward reads the activation's input (else its output)."""
    return _backend.cpu_module().act_saves_input(_CODES[name])




def float64_forward(name, z, slope):
    xp = xp_of(z)
    if act_is_identity(name):
        return z
    if name == "relu":
        return xp.maximum(z, 0)
    if name == "leaky_relu":
        return xp.where(z > 0, z, z * slope)
    if name == "sigmoid":
        return 1 / (1 + xp.exp(-z))
    if name == "tanh":
        return xp.tanh(z)
    if name == "gelu":
        return 0.5 * z * (1 + erf(xp, z / math.sqrt(2)))
    return 0.5 * z * (1 + xp.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))


def float64_backward(name, g, s, slope):
    xp = xp_of(g)
    if act_is_identity(name):
        return g
    if name == "relu":
        return g * (s > 0)
    if name == "leaky_relu":
        return xp.where(s > 0, g, g * slope)
    if name == "sigmoid":
        return g * (1 - s) * s
    if name == "tanh":
        return g * (1 - s * s)
    if name == "gelu":
        cdf = 0.5 * (1 + erf(xp, s / math.sqrt(2)))
        return g * (cdf + s * xp.exp(-0.5 * s * s) / math.sqrt(2 * math.pi))
    k = math.sqrt(2 / math.pi)
    t = xp.tanh(k * (s + 0.044715 * s ** 3))
    return g * (0.5 * (1 + t) + 0.5 * s * (1 - t * t) * k * (1 + 3 * 0.044715 * s * s))


def act_backward_array(name, g, saved, slope):
    """dL/dz from dL/dy and what the forward saved, through the kernel for float32."""
    if g.dtype != np.float32:
        return float64_backward(name, g, saved, slope)
    g = _backend.contiguous(g, name, "grad")
    dz = _backend.empty(g, g.shape)
    _backend.call(g, "bias_act_backward", g, saved, dz, _CODES[name], slope)
    return dz


class ActivationFunction(Function):
    """y = act(z), one pass of the fused kernel."""

    @staticmethod
    def forward(ctx, z, name, slope):
        ctx.name, ctx.slope = name, slope
        if z.dtype == np.float64:
            y = float64_forward(name, z, slope)
        else:
            z = _backend.contiguous(z, name, "input")
            y = _backend.empty(z, z.shape)
            _backend.call(z, "bias_act_forward", z, y, _CODES[name], slope)
        ctx.save_for_backward(z if act_saves_input(name) else y)
        return y

    @staticmethod
    def backward(ctx, g):
        return act_backward_array(ctx.name, g, ctx.saved_tensors[0], ctx.slope), None, None
