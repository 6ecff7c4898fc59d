"""The part of ``keras.ops`` that custom layers and losses call most, on fusednn Tensors
(differentiated by autograd): arithmetic, ``matmul``, reductions, shapes, the common
activations, ``convert_to_tensor`` / ``convert_to_numpy``. Arrays are taken where Tensors
are (floats as float32)."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..autograd.tensor_ops import AMax
from ..nn import functional as F
from ..nn.functional.recurrent import cat


def convert_to_tensor(x, dtype=None):
    if isinstance(x, Tensor):
        return x if dtype is None else x.astype(dtype)
    array = np.asarray(x)
    if dtype is None and array.dtype.kind in "fb":
        dtype = np.float32
    return Tensor(array if dtype is None else array.astype(dtype))


def convert_to_numpy(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def _t(x):
    return convert_to_tensor(x)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


def add(x1, x2): return _t(x1) + x2
def subtract(x1, x2): return _t(x1) - x2
def multiply(x1, x2): return _t(x1) * x2
def divide(x1, x2): return _t(x1) / x2
def negative(x): return -_t(x)
def power(x1, x2): return _t(x1) ** x2
def square(x): return _t(x) * _t(x)
def sqrt(x): return _t(x).sqrt()
def exp(x): return _t(x).exp()
def log(x): return _t(x).log()
def abs(x): return _t(x).abs()  # noqa: A001 (Keras's name)
def clip(x, x_min, x_max): return _t(x).clip(x_min, x_max)
def matmul(x1, x2): return _t(x1) @ _t(x2)
def relu(x): return F.relu(_t(x))
def sigmoid(x): return F.sigmoid(_t(x))
def tanh(x): return F.tanh(_t(x))
def softmax(x, axis=-1): return F.softmax(_t(x), axis)
def log_softmax(x, axis=-1): return F.log_softmax(_t(x), axis)
def stop_gradient(x): return _t(x).detach()
def shape(x): return tuple(_t(x).shape)


def sum(x, axis=None, keepdims=False):  # noqa: A001 (Keras's name)
    x = _t(x)
    return x.sum(axis=_axes(axis, x.ndim), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    x = _t(x)
    return x.mean(axis=_axes(axis, x.ndim), keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 (Keras's name)
    x = _t(x)
    return AMax.apply(x, _axes(axis, x.ndim), bool(keepdims))


def reshape(x, newshape):
    return _t(x).reshape(*((newshape,) if isinstance(newshape, int) else newshape))


def transpose(x, axes=None):
    x = _t(x)
    return x.permute(*(tuple(reversed(range(x.ndim))) if axes is None else axes))


def expand_dims(x, axis):
    x = _t(x)
    axis = axis % (x.ndim + 1)
    return x.reshape(*(x.shape[:axis] + (1,) + x.shape[axis:]))


def squeeze(x, axis=None):
    x = _t(x)
    drop = [a for a in range(x.ndim) if x.shape[a] == 1] if axis is None else _axes(axis, x.ndim)
    if any(x.shape[a] != 1 for a in drop):
        raise ValueError(f"squeeze: axis {axis} of shape {x.shape} is not of size 1")
    return x.reshape(*(s for a, s in enumerate(x.shape) if a not in drop))


def concatenate(xs, axis=0):
    xs = [_t(x) for x in xs]
    return cat(xs, axis % xs[0].ndim)


def ones(shape, dtype=None):
    return Tensor(np.ones(shape, dtype or np.float32))


def zeros(shape, dtype=None):
    return Tensor(np.zeros(shape, dtype or np.float32))


def cast(x, dtype):
    return _t(x).astype(dtype)


# Comparisons, logic and indices: values without a gradient (as in Keras), on any device the
# Tensor lives on only through the host.
def _host(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def _no_grad(fn):
    def op(*args, **kwargs):
        return Tensor(np.asarray(fn(*map(_host, args), **kwargs)))
    op.__name__ = fn.__name__
    return op


equal, not_equal = _no_grad(np.equal), _no_grad(np.not_equal)
greater, greater_equal = _no_grad(np.greater), _no_grad(np.greater_equal)
less, less_equal = _no_grad(np.less), _no_grad(np.less_equal)
logical_and, logical_or = _no_grad(np.logical_and), _no_grad(np.logical_or)
logical_not = _no_grad(np.logical_not)
argmax, argmin = _no_grad(np.argmax), _no_grad(np.argmin)
round, floor, ceil = _no_grad(np.round), _no_grad(np.floor), _no_grad(np.ceil)  # noqa: A001
count_nonzero = _no_grad(np.count_nonzero)
