"""Activations: float32 through the fused bias+activation kernel (scalar/AVX2/CUDA, one pass);
float64 through array formulas (the path gradient checks use)."""
from __future__ import annotations

import math

import numpy as np

from ...autograd import Function, Tensor
from ...autograd.ops import LogSoftmax, Softmax, xp_of
from .. import _kernels


def _erf(xp, a):
    if xp is np:
        return np.vectorize(math.erf, otypes=[a.dtype])(a)
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(a)


def _float64_forward(name, z, slope):
    xp = xp_of(z)
    if name == "relu":
        return xp.maximum(z, 0)
    if name == "leaky_relu":
        return xp.where(z > 0, z, z * slope)
    if name == "sigmoid":
        return 1 / (1 + xp.exp(-z))
    if name == "tanh":
        return xp.tanh(z)
    if name == "gelu":
        return 0.5 * z * (1 + _erf(xp, z / math.sqrt(2)))
    return 0.5 * z * (1 + xp.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))


def _float64_backward(name, g, s, slope):
    xp = xp_of(g)
    if name == "relu":
        return g * (s > 0)
    if name == "leaky_relu":
        return xp.where(s > 0, g, g * slope)
    if name == "sigmoid":
        return g * (1 - s) * s
    if name == "tanh":
        return g * (1 - s * s)
    if name == "gelu":
        cdf = 0.5 * (1 + _erf(xp, s / math.sqrt(2)))
        return g * (cdf + s * xp.exp(-0.5 * s * s) / math.sqrt(2 * math.pi))
    k = math.sqrt(2 / math.pi)
    t = xp.tanh(k * (s + 0.044715 * s ** 3))
    return g * (0.5 * (1 + t) + 0.5 * s * (1 - t * t) * k * (1 + 3 * 0.044715 * s * s))


def act_backward_array(name, g, saved, slope):
    """dL/dz from dL/dy and what the forward saved, through the kernel for float32."""
    if g.dtype != np.float32:
        return _float64_backward(name, g, saved, slope)
    device = "cpu" if isinstance(g, np.ndarray) else "cuda"
    g = _kernels.contiguous(g, name, "grad")
    dz = _kernels.empty(device, g.shape)
    _kernels.call(device, "bias_act_backward", _kernels.address(g), _kernels.address(saved),
                  _kernels.address(dz), 0, 1, 1, g.size, _kernels.ACTIVATIONS[name], slope)
    return dz


class Activation(Function):
    @staticmethod
    def forward(ctx, z, name, slope):
        ctx.name, ctx.slope = name, slope
        if z.dtype == np.float64:
            y = _float64_forward(name, z, slope)
        else:
            device = "cpu" if isinstance(z, np.ndarray) else "cuda"
            z = _kernels.contiguous(z, name, "input")
            y = _kernels.empty(device, z.shape)
            _kernels.call(device, "bias_act_forward", _kernels.address(z), 0,
                          _kernels.address(y), 0, 1, 1, z.size, _kernels.ACTIVATIONS[name], slope)
        ctx.save_for_backward(z if name in _kernels.SAVES_INPUT else y)
        return y

    @staticmethod
    def backward(ctx, g):
        return act_backward_array(ctx.name, g, ctx.saved_tensors[0], ctx.slope), None, None


def _tensor(x, where):
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: expected a fusednn.Tensor, got {type(x).__name__}")
    return x


def relu(input: Tensor) -> Tensor:
    return Activation.apply(_tensor(input, "relu"), "relu", 0.0)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return Activation.apply(_tensor(input, "leaky_relu"), "leaky_relu", float(negative_slope))


def sigmoid(input: Tensor) -> Tensor:
    return Activation.apply(_tensor(input, "sigmoid"), "sigmoid", 0.0)


def tanh(input: Tensor) -> Tensor:
    return Activation.apply(_tensor(input, "tanh"), "tanh", 0.0)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU, the erf form (``approximate="none"``) or the tanh approximation (``"tanh"``)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Activation.apply(_tensor(input, "gelu"), "gelu" if approximate == "none" else "gelu_tanh",
                            0.0)


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    return Softmax.apply(_tensor(input, "softmax"), dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    return LogSoftmax.apply(_tensor(input, "log_softmax"), dim)


def activation_by_name(name):
    """A callable Tensor -> Tensor for a Keras-style activation name (or a callable)."""
    if name is None or name in ("linear", "identity"):
        return lambda x: x
    if callable(name):
        return name
    table = {"relu": relu, "leaky_relu": leaky_relu, "sigmoid": sigmoid, "tanh": tanh,
             "gelu": gelu, "gelu_tanh": lambda x: gelu(x, "tanh"), "softmax": softmax,
             "log_softmax": log_softmax}
    if name not in table:
        raise ValueError(f"unknown activation {name!r} (known: {', '.join(table)})")
    return table[name]
