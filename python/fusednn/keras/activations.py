"""Keras's activations (``keras.activations``), on fusednn Tensors: the functions with Keras's
arguments and defaults, ``get`` / ``serialize`` / ``deserialize``. A function passed as a
layer's ``activation`` is taken by its name (``activation_name``), so the kernels fuse it where
they can and a saved model keeps it, as with the string."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..nn import functional as F
from ..nn.functional import activation as FA


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32))


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's: x where x > threshold (else 0), clipped to [0, max_value], minus
    negative_slope * relu(threshold - x)."""
    x = _tensor(x)
    if threshold == 0.0 and max_value is None:
        return F.leaky_relu(x, negative_slope) if negative_slope else F.relu(x)
    return FA.keras_relu(x, negative_slope, max_value, threshold)


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_tensor(x), negative_slope)


def _plain(name, fn):
    """Keras's activation ``name``: ``fn`` on a Tensor (an array is made one)."""
    def activation(x):
        return fn(_tensor(x))

    activation.__name__ = activation.__qualname__ = name
    return activation


relu6, selu, softplus = _plain("relu6", F.relu6), _plain("selu", F.selu), \
    _plain("softplus", F.softplus)
softsign, silu, mish = _plain("softsign", F.softsign), _plain("silu", F.silu), \
    _plain("mish", F.mish)
tanh, sigmoid, exponential = _plain("tanh", F.tanh), _plain("sigmoid", F.sigmoid), \
    _plain("exponential", F.exponential)
hard_sigmoid, hard_silu = _plain("hard_sigmoid", F.hardsigmoid), \
    _plain("hard_silu", F.hardswish)
tanh_shrink, hard_tanh = _plain("tanh_shrink", FA.tanhshrink), _plain("hard_tanh", FA.hardtanh)
sparse_plus, sparse_sigmoid = _plain("sparse_plus", FA.sparse_plus), \
    _plain("sparse_sigmoid", FA.sparse_sigmoid)
log_sigmoid = _plain("log_sigmoid", FA.logsigmoid)


def elu(x, alpha=1.0):
    return F.elu(_tensor(x), alpha)


def gelu(x, approximate=False):
    return F.gelu(_tensor(x), "tanh" if approximate else "none")


def linear(x):
    return _tensor(x)


def celu(x, alpha=1.0):
    return FA.celu(_tensor(x), alpha)


def glu(x, axis=-1):
    return FA.glu(_tensor(x), axis)


def soft_shrink(x, threshold=0.5):
    return FA.softshrink(_tensor(x), threshold)


def hard_shrink(x, threshold=0.5):
    return FA.hardshrink(_tensor(x), threshold)


def squareplus(x, b=4):
    return FA.squareplus(_tensor(x), b)


def threshold(x, threshold, default_value):
    return FA.threshold(_tensor(x), threshold, default_value)


def sparsemax(x, axis=-1):
    """The projection onto the probability simplex: each slice sums to 1 (Keras 3.15's sums
    the running sums of its support instead, so its rows do not sum to 1 once more than one
    value survives; fusednn gives the projection Keras's docs describe)."""
    return FA.sparsemax(_tensor(x), axis)


def softmax(x, axis=-1):
    return F.softmax(_tensor(x), axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(_tensor(x), axis)


swish, hard_swish = silu, hard_silu

ALL = {"relu": relu, "leaky_relu": leaky_relu, "relu6": relu6, "elu": elu, "selu": selu,
       "softplus": softplus, "softsign": softsign, "silu": silu, "swish": swish, "gelu": gelu,
       "tanh": tanh, "sigmoid": sigmoid, "exponential": exponential,
       "hard_sigmoid": hard_sigmoid, "hard_silu": hard_silu, "hard_swish": hard_swish,
       "mish": mish, "linear": linear, "softmax": softmax, "log_softmax": log_softmax,
       "celu": celu, "glu": glu, "tanh_shrink": tanh_shrink, "hard_tanh": hard_tanh,
       "soft_shrink": soft_shrink, "hard_shrink": hard_shrink, "squareplus": squareplus,
       "sparse_plus": sparse_plus, "sparse_sigmoid": sparse_sigmoid, "log_sigmoid": log_sigmoid,
       "sparsemax": sparsemax, "threshold": threshold}
for _name, _fn in ALL.items():
    # what a layer takes the function for: the string of the same meaning (default arguments)
    if not hasattr(_fn, "activation_name") and _name != "threshold":  # threshold has no default
        _fn.activation_name = None if _name == "linear" else _name


def get(identifier):
    """The activation function for a name, a function, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in ALL:
        return ALL[identifier]
    raise ValueError(f"unknown activation {identifier!r} (known: {', '.join(ALL)})")


def serialize(activation) -> str:
    name = getattr(activation, "activation_name", "missing")
    if name == "missing" or ALL.get(name or "linear") is None:
        raise ValueError(f"cannot serialize {activation!r}: not one of keras.activations")
    return name or "linear"


def deserialize(name):
    return get(name)
