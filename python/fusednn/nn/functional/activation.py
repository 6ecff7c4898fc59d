"""Activations with torch's names, over the fused bias+activation Function (float32: one
kernel pass; float64: array formulas), the softmax Functions of autograd, and the array
formulas of the activations the kernels do not have (elu, selu, softplus, ...)."""
from __future__ import annotations

from ...autograd import Tensor
from ...autograd.elementwise import ElementwiseActivation
from ...autograd.fused import ActivationFunction
from ...autograd.tensor_ops import LogSoftmaxFunction, SoftmaxFunction


def _tensor(x, where):
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: expected a fusednn.Tensor, got {type(x).__name__}")
    return x


def relu(input: Tensor) -> Tensor:
    return ActivationFunction.apply(_tensor(input, "relu"), "relu", 0.0)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return ActivationFunction.apply(_tensor(input, "leaky_relu"), "leaky_relu", float(negative_slope))


def sigmoid(input: Tensor) -> Tensor:
    return ActivationFunction.apply(_tensor(input, "sigmoid"), "sigmoid", 0.0)


def tanh(input: Tensor) -> Tensor:
    return ActivationFunction.apply(_tensor(input, "tanh"), "tanh", 0.0)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU, the erf form (``approximate="none"``) or the tanh approximation (``"tanh"``)."""
    return _tensor(input, "gelu").gelu(approximate)


def _elementwise(name, input, arg=None):
    return ElementwiseActivation.apply(_tensor(input, name), name, arg)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return _elementwise("elu", input, float(alpha))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, x itself where beta x > threshold (torch's)."""
    if not beta > 0:
        raise ValueError(f"softplus: beta must be positive, got {beta}")
    return _elementwise("softplus", input, (float(beta), float(threshold)))


def _formula(name, formula, doc):
    """torch's function ``name``: ``formula`` of the elementwise table on a Tensor."""
    def activation(input: Tensor) -> Tensor:
        return _elementwise(formula, input)

    activation.__name__ = activation.__qualname__ = name
    activation.__doc__ = doc
    return activation


selu = _formula("selu", "selu", "scale * elu(x, alpha) with SELU's constants.")
softsign = _formula("softsign", "softsign", "x / (1 + |x|).")
silu = _formula("silu", "silu", "x * sigmoid(x) (Keras's swish).")
mish = _formula("mish", "mish", "x * tanh(softplus(x)).")
relu6 = _formula("relu6", "relu6", "min(max(x, 0), 6).")
hardsigmoid = _formula("hardsigmoid", "hard_sigmoid", "relu6(x + 3) / 6 (Keras 3's hard_sigmoid).")
hardswish = _formula("hardswish", "hard_silu", "x * hardsigmoid(x) (Keras 3's hard_silu).")
exponential = _formula("exponential", "exponential", "exp(x).")


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    return SoftmaxFunction.apply(_tensor(input, "softmax"), dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    return LogSoftmaxFunction.apply(_tensor(input, "log_softmax"), dim)


def activation_by_name(name, leaky_relu_slope: float = 0.01):
    """A callable Tensor -> Tensor for a Keras-style activation name (or a callable);
    "leaky_relu" with ``leaky_relu_slope`` (torch's default; Keras's is 0.2)."""
    if name is None or name in ("linear", "identity"):
        return lambda x: x
    if callable(name):
        return name
    table = {"relu": relu, "leaky_relu": lambda x: leaky_relu(x, leaky_relu_slope),
             "sigmoid": sigmoid, "tanh": tanh,
             "gelu": gelu, "gelu_tanh": lambda x: gelu(x, "tanh"), "softmax": softmax,
             "log_softmax": log_softmax, "elu": elu, "selu": selu, "softplus": softplus,
             "softsign": softsign, "silu": silu, "swish": silu, "mish": mish, "relu6": relu6,
             "hard_sigmoid": hardsigmoid, "hard_silu": hardswish, "hard_swish": hardswish,
             "exponential": exponential}
    if name not in table:
        raise ValueError(f"unknown activation {name!r} (known: {', '.join(table)})")
    return table[name]
