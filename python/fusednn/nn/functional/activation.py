"""Activations with torch's names, over the fused bias+activation Function (float32: one
kernel pass; float64: array formulas) and the softmax Functions of autograd."""
from __future__ import annotations

from ...autograd import Tensor
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


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    return SoftmaxFunction.apply(_tensor(input, "softmax"), dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    return LogSoftmaxFunction.apply(_tensor(input, "log_softmax"), dim)


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
