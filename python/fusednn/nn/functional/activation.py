"""Activations with torch's names, over the fused bias+activation Function (float32: one
kernel pass; float64: array formulas), the softmax Functions of autograd, and the array
formulas of the activations the kernels do not have (elu, selu, softplus, ...)."""
from __future__ import annotations

from ...autograd import Tensor
from ...autograd.elementwise import ElementwiseActivation
from ...autograd.fused import ActivationFunction
from ...autograd.tensor_ops import LogSoftmaxFunction, SoftmaxFunction, SparsemaxFunction


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


tanhshrink = _formula("tanhshrink", "tanh_shrink", "x - tanh(x).")
logsigmoid = _formula("logsigmoid", "log_sigmoid", "log(sigmoid(x)), without overflow.")
sparse_plus = _formula("sparse_plus", "sparse_plus",
                       "0 for x <= -1, (x + 1)^2 / 4 inside, x for x >= 1 (Keras's).")
sparse_sigmoid = _formula("sparse_sigmoid", "sparse_sigmoid",
                          "clip((x + 1) / 2, 0, 1) (Keras's).")


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return _elementwise("celu", input, float(alpha))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val]; its slope is 1 strictly inside (torch's)."""
    if (min_val, max_val) == (-1.0, 1.0):
        return _elementwise("hard_tanh", input)
    if not min_val < max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must be below max_val {max_val}")
    return _tensor(input, "hardtanh").clip(min_val, max_val)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return _elementwise("soft_shrink", input, float(lambd))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return _elementwise("hard_shrink", input, float(lambd))


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """x where x > threshold, else ``value`` (torch's F.threshold, Keras's threshold)."""
    return _elementwise("threshold", input, (float(threshold), float(value)))


def squareplus(input: Tensor, b: float = 4.0) -> Tensor:
    """(x + sqrt(x^2 + b)) / 2 (Keras's)."""
    if b < 0:
        raise ValueError(f"squareplus: b must be >= 0, got {b}")
    return _elementwise("squareplus", input, float(b))


def keras_relu(input: Tensor, negative_slope: float = 0.0, max_value=None,
               threshold: float = 0.0) -> Tensor:
    """Keras's relu: x where x > threshold (else 0), clipped to [0, max_value], minus
    negative_slope * relu(threshold - x)."""
    if negative_slope < 0:
        raise ValueError(f"relu: negative_slope must be >= 0, got {negative_slope}")
    if max_value is not None and max_value < 0:
        raise ValueError(f"relu: max_value must be >= 0, got {max_value}")
    top = None if max_value is None else float(max_value)
    return _elementwise("keras_relu", input, (float(negative_slope), top, float(threshold)))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), a and b the two halves of ``dim``."""
    x = _tensor(input, "glu")
    n = x.shape[dim]
    if n % 2:
        raise ValueError(f"glu: the size of dim {dim} must be even, got shape {x.shape}")
    axis = dim % x.ndim
    first = tuple(slice(None) if i != axis else slice(0, n // 2) for i in range(x.ndim))
    second = tuple(slice(None) if i != axis else slice(n // 2, n) for i in range(x.ndim))
    return x[first] * sigmoid(x[second])


def sparsemax(input: Tensor, dim: int = -1) -> Tensor:
    """The Euclidean projection of each slice along ``dim`` onto the probability simplex
    (Martins & Astudillo, 2016): max(x - tau, 0), summing to 1, often exactly 0."""
    return SparsemaxFunction.apply(_tensor(input, "sparsemax"), dim)


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
             "exponential": exponential, "celu": celu, "glu": glu, "tanh_shrink": tanhshrink,
             "hard_tanh": hardtanh, "soft_shrink": softshrink, "hard_shrink": hardshrink,
             "squareplus": squareplus, "sparse_plus": sparse_plus,
             "sparse_sigmoid": sparse_sigmoid, "log_sigmoid": logsigmoid,
             "sparsemax": sparsemax}
    if name not in table:
        raise ValueError(f"unknown activation {name!r} (known: {', '.join(table)})")
    return table[name]
