"""``keras.ops``'s neural-network functions beyond the activations of :mod:`.core`:
``normalize``, ``moments``, the cross-entropies of one target and output (Keras's argument
order: target first), and the remaining activations."""
from __future__ import annotations

from ...autograd import Tensor
from ...nn import losses as _losses
from .. import activations as _activations
from .core import _axes, _t, maximum, mean, norm, var


def relu6(x): return _activations.relu6(x)
def hard_sigmoid(x): return _activations.hard_sigmoid(x)
def hard_silu(x): return _activations.hard_silu(x)
def softsign(x): return _activations.softsign(x)
def log_sigmoid(x): return _activations.log_sigmoid(x)


hard_swish = hard_silu


def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(norm(x), epsilon) over ``axis`` (epsilon: Keras's 1e-7 by default)."""
    x = _t(x)
    eps = _losses.EPSILON if epsilon is None else float(epsilon)
    if order in (2, None):  # the floor on the squared sum: a zero vector's gradient is 1/eps
        squares = (x * x).sum(axis=_axes(axis, x.ndim), keepdims=True)
        return x / maximum(squares, Tensor(eps * eps, dtype=x.dtype, device=x.device)).sqrt()
    return x / maximum(norm(x, order, axis, keepdims=True), Tensor(eps, dtype=x.dtype,
                                                                  device=x.device))


def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and the (population) variance over ``axes``."""
    return mean(x, axes, keepdims), var(x, axes, keepdims)


def _pair(target, output):
    """The target in the output's type (taken from its own array, not through float32)."""
    output = _t(output)
    data = target.data if isinstance(target, Tensor) else target
    return Tensor(data, device=output.device, dtype=output.dtype), output


def binary_crossentropy(target, output, from_logits=False):
    """Of each element (no reduction): probabilities clipped to [1e-7, 1 - 1e-7]."""
    target, output = _pair(target, output)
    if target.shape != output.shape:
        raise ValueError(f"binary_crossentropy: target shape {target.shape} does not match "
                         f"output shape {output.shape}")
    return _losses.binary_crossentropy_elements(output, target, from_logits)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Of each row along the last axis: probability rows normalized to sum 1, clipped."""
    target, output = _pair(target, output)
    return _losses.categorical_crossentropy(output, target, from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _t(output)
    if axis not in (-1, output.ndim - 1):
        raise ValueError(f"sparse_categorical_crossentropy: only the last axis (axis=-1) is "
                         f"supported, got axis={axis!r}")
    return _losses.sparse_categorical_crossentropy(output, target, from_logits)
