"""Keras's activations (``keras.activations``), on fusednn Tensors: the functions with Keras's
arguments and defaults, ``get`` / ``serialize`` / ``deserialize``. A function passed as a
layer's ``activation`` is taken by its name (``activation_name``), so the kernels fuse it where
they can and a saved model keeps it, as with the string."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..nn import functional as F


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32))


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if threshold != 0.0:
        raise NotImplementedError("relu: a threshold other than 0 is not supported")
    x = _tensor(x)
    y = F.leaky_relu(x, negative_slope) if negative_slope else F.relu(x)
    return y if max_value is None else y.clip(float("-inf"), float(max_value))


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


def elu(x, alpha=1.0):
    return F.elu(_tensor(x), alpha)


def gelu(x, approximate=False):
    return F.gelu(_tensor(x), "tanh" if approximate else "none")


def linear(x):
    return _tensor(x)


def softmax(x, axis=-1):
    return F.softmax(_tensor(x), axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(_tensor(x), axis)


swish, hard_swish = silu, hard_silu

ALL = {"relu": relu, "leaky_relu": leaky_relu, "relu6": relu6, "elu": elu, "selu": selu,
       "softplus": softplus, "softsign": softsign, "silu": silu, "swish": swish, "gelu": gelu,
       "tanh": tanh, "sigmoid": sigmoid, "exponential": exponential,
       "hard_sigmoid": hard_sigmoid, "hard_silu": hard_silu, "hard_swish": hard_swish,
       "mish": mish, "linear": linear, "softmax": softmax, "log_softmax": log_softmax}
for _name, _fn in ALL.items():
    # what a layer takes the function for: the string of the same meaning (default arguments)
    if not hasattr(_fn, "activation_name"):
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
