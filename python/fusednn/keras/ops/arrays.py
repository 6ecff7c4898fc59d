"""``keras.ops``'s array rearrangements, cumulative and products, with gradients: each
rearrangement (take, take_along_axis, tile, repeat, sort, top_k, roll, diag, diagonal) is
the numpy function applied to the elements' positions, then one gather of the values — so
every one differentiates as indexing does, on any device the Tensor lives on."""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from ...autograd.tensor_ops import CumSum, Prod, Where, xp_of
from ...nn import functional as F
from .core import _axes, _host, _t, sum as _sum


def _rearranged(x, arrange):
    """``x``'s elements at the positions ``arrange(xp, positions)`` picks from the array of
    x's flat positions."""
    x = _t(x)
    xp = xp_of(x.data)
    positions = xp.arange(x.numel()).reshape(x.shape)
    return x.reshape(-1)[arrange(xp, positions)]


def _indices(indices, size, where):
    """Integer indices on the host, each inside [-size, size) (negative ones count from the
    end, as numpy's)."""
    indices = _host(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{where}: indices must be integers, got {indices.dtype}")
    if indices.size and (indices.min() < -size or indices.max() >= size):
        bad = indices[(indices < -size) | (indices >= size)].flat[0]
        raise IndexError(f"{where}: index {int(bad)} is out of range for an axis of size "
                         f"{size}")
    return indices


def take(x, indices, axis=None):
    x = _t(x)
    size = x.numel() if axis is None else x.shape[axis % x.ndim]
    idx = _indices(indices, size, "take")
    return _rearranged(x, lambda xp, p: xp.take(p, xp.asarray(idx) % max(size, 1), axis=axis))


def take_along_axis(x, indices, axis=None):
    x = _t(x)
    size = x.numel() if axis is None else x.shape[axis % x.ndim]
    idx = _indices(indices, size, "take_along_axis")
    return _rearranged(x, lambda xp, p: xp.take_along_axis(
        p if axis is not None else p.reshape(-1), xp.asarray(idx) % max(size, 1), axis=axis))


def tile(x, repeats):
    return _rearranged(x, lambda xp, p: xp.tile(p, repeats))


def repeat(x, repeats, axis=None):
    if isinstance(repeats, Tensor):
        repeats = repeats.numpy()
    return _rearranged(x, lambda xp, p: xp.repeat(p, repeats, axis=axis))


def roll(x, shift, axis=None):
    return _rearranged(x, lambda xp, p: xp.roll(p, shift, axis=axis))


def sort(x, axis=-1):
    """Ascending along ``axis`` (NaN last, as numpy); the gradient follows each value."""
    x = _t(x)
    order = xp_of(x.data).argsort(x.data, axis=axis, kind="stable")
    return _rearranged(x, lambda xp, p: xp.take_along_axis(p, order, axis=axis))


def top_k(x, k, sorted=True):  # noqa: A002 (Keras's name)
    """The ``k`` largest values along the last axis, largest first (of equal values, the
    earlier first), and their indices (int32)."""
    x = _t(x)
    if not 0 <= k <= (x.shape[-1] if x.ndim else 1):
        raise ValueError(f"top_k: k={k} is outside [0, {x.shape[-1] if x.ndim else 1}] for "
                         f"input of shape {x.shape}")
    xp = xp_of(x.data)
    # a stable ascending sort of the negated values keeps equal values in index order
    order = xp.argsort(-x.data, axis=-1, kind="stable")[..., :k]
    values = _rearranged(x, lambda xp, p: xp.take_along_axis(p, order, axis=-1))
    return values, Tensor(order.astype(np.int32), device=x.device)


def diagonal(x, offset=0, axis1=0, axis2=1):
    return _rearranged(x, lambda xp, p: xp.diagonal(p, offset, axis1, axis2))


def trace(x, offset=0, axis1=0, axis2=1):
    return _sum(diagonal(x, offset, axis1, axis2), axis=-1)


def _triangle(x, k, lower):
    x = _t(x)
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: needs 2 or more axes, got shape "
                         f"{x.shape}")
    xp = xp_of(x.data)
    rows, cols = x.shape[-2:]
    keep = (xp.tril if lower else xp.triu)(xp.ones((rows, cols), bool), k)
    # zeros taken, not multiplied in, so an infinity outside the triangle gives 0
    return Where.apply(xp.broadcast_to(keep, x.shape), x, Tensor(xp.zeros((), x.dtype),
                                                                 device=x.device))


def tril(x, k=0): return _triangle(x, k, True)
def triu(x, k=0): return _triangle(x, k, False)


def diag(x, k=0):
    """numpy's diag: the k-th diagonal of a matrix, or a matrix with a vector on it."""
    x = _t(x)
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {x.shape}")
    xp = xp_of(x.data)
    n = x.shape[0] + abs(k)
    on = xp.diag(xp.ones(x.shape[0], bool), k)
    spread = _rearranged(x, lambda xp, p: xp.diag(p, k))
    return Where.apply(on, spread, Tensor(xp.zeros((), x.dtype), device=x.device)) if n else \
        spread


def cumsum(x, axis=None, dtype=None):
    x = _t(x)
    if dtype is not None:
        x = x.astype(dtype)
    return CumSum.apply(x, None if axis is None else axis % max(x.ndim, 1))


def prod(x, axis=None, keepdims=False, dtype=None):
    x = _t(x)
    if dtype is not None:
        x = x.astype(dtype)
    return Prod.apply(x, None if axis is None else _axes(axis, x.ndim), bool(keepdims))


def tensordot(x1, x2, axes=2):
    """numpy's tensordot: the last ``axes`` axes of x1 against the first of x2, or the two
    lists of axes given; one matrix product over them."""
    a, b = _t(x1), _t(x2)
    if isinstance(axes, int):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} for operands of {a.ndim} and {b.ndim} "
                             "axes")
        a_axes, b_axes = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        a_axes, b_axes = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                          [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    a_axes, b_axes = [i % a.ndim for i in a_axes], [i % b.ndim for i in b_axes]
    if [a.shape[i] for i in a_axes] != [b.shape[i] for i in b_axes]:
        raise ValueError(f"tensordot: the summed axes of shapes {a.shape} and {b.shape} differ")
    a_free = [i for i in range(a.ndim) if i not in a_axes]
    b_free = [i for i in range(b.ndim) if i not in b_axes]
    inner = int(np.prod([a.shape[i] for i in a_axes]))
    a2 = a.permute(*(a_free + a_axes)).reshape(-1, inner)
    b2 = b.permute(*(b_axes + b_free)).reshape(inner, -1)
    return (a2 @ b2).reshape(*([a.shape[i] for i in a_free] + [b.shape[i] for i in b_free]))


def dot(x1, x2):
    """numpy's dot: products of scalars, vectors and matrices; for more axes, the last axis
    of x1 against the second-to-last of x2."""
    a, b = _t(x1), _t(x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([a.ndim - 1], [max(b.ndim - 2, 0)]))


def outer(x1, x2):
    a, b = _t(x1).reshape(-1), _t(x2).reshape(-1)
    return a.reshape(-1, 1) * b.reshape(1, -1)


def average(x, axis=None, weights=None):
    """numpy's average: the mean, or sum(w x) / sum(w) with ``weights`` shaped like x or,
    1-D, along ``axis``."""
    x = _t(x)
    if weights is None:
        return x.mean(axis=_axes(axis, x.ndim))
    w = _t(weights)
    if w.shape != x.shape:
        if axis is None or w.ndim != 1 or w.shape[0] != x.shape[axis % x.ndim]:
            raise ValueError(f"average: weights of shape {w.shape} fit neither x {x.shape} nor "
                             f"its axis {axis}")
        w = w.reshape(*[x.shape[i] if i == axis % x.ndim else 1 for i in range(x.ndim)])
    axes = _axes(axis, x.ndim)
    spread = w * Tensor(xp_of(x.data).ones(x.shape, x.dtype), device=x.device)
    return (x * w).sum(axis=axes) / spread.sum(axis=axes)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    values, step = np.linspace(start, stop, num, endpoint, retstep=True, axis=axis)
    out = Tensor(values.astype(dtype or np.float32))
    return (out, step) if retstep else out


def full_like(x, fill_value, dtype=None):
    return Tensor(np.full(_t(x).shape, fill_value, dtype or np.float32))


def pad(x, pad_width, mode="constant", constant_values=None):
    """numpy's pad_width ((before, after) per axis, or one pair / one number for all);
    constant padding only."""
    x = _t(x)
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} (only 'constant' is supported)")
    widths = np.broadcast_to(np.asarray(pad_width, np.int64), (x.ndim, 2))
    torch_order = [int(w) for pair in widths[::-1] for w in pair]  # last axis first
    return F.pad(x, torch_order, value=float(constant_values or 0))


def ndim(x): return _t(x).ndim
def size(x): return _t(x).numel()
