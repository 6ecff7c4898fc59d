"""The core of ``keras.ops`` on fusednn Tensors (differentiated by autograd): arithmetic,
element-wise math, ``matmul`` and ``einsum``, reductions, shapes, comparisons (no gradient),
constants, the common activations, ``convert_to_tensor`` / ``convert_to_numpy``. Arrays are
taken where Tensors are (floats as float32)."""
from __future__ import annotations

import builtins

import numpy as np

from ...autograd import Tensor
from ...autograd.elementwise import ElementwiseActivation
from ...autograd.tensor_ops import AMax, Einsum, Extremum, Where
from ...nn import functional as F
from ...nn.functional.recurrent import cat
from .. import activations as _activations


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
    if builtins.any(x.shape[a] != 1 for a in drop):  # this module's any is Keras's
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
floor_divide, mod = _no_grad(np.floor_divide), _no_grad(np.mod)  # as numpy's, no gradient



# -- more of keras.ops: differentiable where Keras's are ------------------------------------
def maximum(x1, x2): return Extremum.apply(_t(x1), _t(x2), True)
def minimum(x1, x2): return Extremum.apply(_t(x1), _t(x2), False)
def log1p(x): return ElementwiseActivation.apply(_t(x), "log1p", None)
def expm1(x): return ElementwiseActivation.apply(_t(x), "expm1", None)
def sin(x): return ElementwiseActivation.apply(_t(x), "sin", None)
def cos(x): return ElementwiseActivation.apply(_t(x), "cos", None)
def sign(x): return ElementwiseActivation.apply(_t(x), "sign", None)
def reciprocal(x): return 1.0 / _t(x)
def rsqrt(x): return 1.0 / _t(x).sqrt()
def true_divide(x1, x2): return divide(x1, x2)


def _formula(name):
    """keras.ops's ``name``: the element-wise formula of that name, with its derivative."""
    def op(x):
        return ElementwiseActivation.apply(_t(x), name, None)

    op.__name__ = op.__qualname__ = name
    return op


erf, tan, arctan, arcsin, arccos = map(_formula, ("erf", "tan", "arctan", "arcsin", "arccos"))
sinh, cosh, arcsinh, arccosh, arctanh = map(_formula, ("sinh", "cosh", "arcsinh", "arccosh",
                                                       "arctanh"))
log2, log10 = _formula("log2"), _formula("log10")
def swapaxes(x, axis1, axis2): return moveaxis(x, [axis1, axis2], [axis2, axis1])


def where(condition, x1, x2):
    """``x1`` where ``condition`` holds, else ``x2`` (Keras's three-argument form)."""
    return Where.apply(_host(condition).astype(bool), _t(x1), _t(x2))


def min(x, axis=None, keepdims=False):  # noqa: A001 (Keras's name)
    x = _t(x)
    return -AMax.apply(-x, _axes(axis, x.ndim), bool(keepdims))


def var(x, axis=None, keepdims=False):
    """The population variance (Keras's: divided by the count)."""
    x = _t(x)
    centered = x - mean(x, axis, keepdims=True)
    return mean(centered * centered, axis, keepdims)


def std(x, axis=None, keepdims=False):
    return var(x, axis, keepdims).sqrt()


def logsumexp(x, axis=None, keepdims=False):
    x = _t(x)
    top = max(x, axis, keepdims=True).detach()  # this module's max: Keras's reduction
    out = (x - top).exp().sum(axis=_axes(axis, x.ndim), keepdims=True).log() + top
    if keepdims:
        return out
    return out.reshape(()) if axis is None else squeeze(out, axis)


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (Keras's name)
    """The 2-norm (Frobenius over several axes; ``ord`` None, 2 or "fro") or the 1-norm of a
    vector, over ``axis`` (all axes by default)."""
    x = _t(x)
    if ord in (None, 2, "fro", "euclidean"):
        return sum(x * x, axis, keepdims).sqrt()
    if ord == 1 and (axis is not None or x.ndim == 1):
        return sum(x.abs(), axis, keepdims)
    raise NotImplementedError(f"norm: ord={ord!r} is not supported here (None, 2, 'fro', "
                              "or 1 over one axis)")


def einsum(subscripts, *operands):
    """numpy's einsum with named indices (explicit ``->`` or numpy's implicit output); no
    ellipses, no index repeated within one operand."""
    return Einsum.apply(subscripts, *[_t(x) for x in operands])


def stack(xs, axis=0):
    xs = [_t(x) for x in xs]
    return concatenate([expand_dims(x, axis) for x in xs], axis % (xs[0].ndim + 1))


def moveaxis(x, source, destination):
    x = _t(x)
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    source = [a % x.ndim for a in source]
    destination = [a % x.ndim for a in destination]
    order = [a for a in range(x.ndim) if a not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return x.permute(*order)


def broadcast_to(x, shape):
    return _t(x) + Tensor(np.zeros(shape, np.float32))


def flip(x, axis=None):
    x = _t(x)
    axes = range(x.ndim) if axis is None else _axes(axis, x.ndim)
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    return x[tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim))]


def split(x, indices_or_sections, axis=0):
    x = _t(x)
    axis = axis % x.ndim
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {n} does not divide into "
                             f"{indices_or_sections} equal parts")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0] + list(indices_or_sections) + [n]
    lead = (slice(None),) * axis
    return [x[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


# constants (no gradient)
def ones_like(x, dtype=None): return Tensor(np.ones(_t(x).shape, dtype or np.float32))
def zeros_like(x, dtype=None): return Tensor(np.zeros(_t(x).shape, dtype or np.float32))
def full(shape, fill_value, dtype=None): return Tensor(np.full(shape, fill_value,
                                                               dtype or np.float32))
def eye(N, M=None, k=0, dtype=None): return Tensor(np.eye(N, M, k, dtype=dtype or np.float32))


def arange(start, stop=None, step=1, dtype=None):
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return Tensor(values.astype(dtype or (np.int32 if values.dtype.kind in "iu"
                                          else np.float32)))


def one_hot(x, num_classes, axis=-1, dtype=None):
    indices = _host(x).astype(np.int64)
    out = (indices[..., None] == np.arange(num_classes)).astype(dtype or np.float32)
    return Tensor(np.moveaxis(out, -1, axis))


isnan, isinf, isfinite = _no_grad(np.isnan), _no_grad(np.isinf), _no_grad(np.isfinite)
any, all = _no_grad(np.any), _no_grad(np.all)  # noqa: A001 (Keras's names)
argsort = _no_grad(np.argsort)


# Keras's activations as keras.ops has them (their own defaults: leaky_relu's slope 0.2,
# gelu's tanh approximation)
def leaky_relu(x, negative_slope=0.2): return _activations.leaky_relu(x, negative_slope)
def gelu(x, approximate=True): return _activations.gelu(x, approximate)
def elu(x, alpha=1.0): return _activations.elu(x, alpha)
def selu(x): return _activations.selu(x)
def silu(x): return _activations.silu(x)
def softplus(x): return _activations.softplus(x)
