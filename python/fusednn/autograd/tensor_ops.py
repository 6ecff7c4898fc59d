"""The array operations of Tensor, as Functions over numpy/CuPy: broadcasting arithmetic,
matmul, reductions, shape changes, exp/log. Element-wise arithmetic broadcasts as numpy does;
each backward sums its gradient back to its input's shape."""
from __future__ import annotations

import numpy as np

from .function import Function


def xp_of(a):
    return np if isinstance(a, np.ndarray) or np.isscalar(a) else __import__("cupy")


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast."""
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    return out.reshape(shape)


def _shape(a):
    return getattr(a, "shape", ())


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return a + b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, ctx.shapes[0]) if na else None,
                unbroadcast(g, ctx.shapes[1]) if nb else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return a - b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, ctx.shapes[0]) if na else None,
                unbroadcast(-g, ctx.shapes[1]) if nb else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * b, _shape(a)) if na else None,
                unbroadcast(g * a, _shape(b)) if nb else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g / b, _shape(a)) if na else None,
                unbroadcast(-g * a / (b * b), _shape(b)) if nb else None)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """a ** exponent for a constant exponent."""

    @staticmethod
    def forward(ctx, a, exponent):
        ctx.save_for_backward(a)
        ctx.exponent = exponent
        return a ** exponent

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        p = ctx.exponent
        return g * (p * a ** (p - 1)), None


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        y = xp_of(a).exp(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).log(a)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.saved_tensors[0]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        y = xp_of(a).sqrt(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g / (2 * ctx.saved_tensors[0])


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return abs(a)

    @staticmethod
    def backward(ctx, g):
        return g * xp_of(g).sign(ctx.saved_tensors[0])


class Clip(Function):
    """Values limited to [low, high]; the gradient passes where the value was inside (at a
    bound too), and is zero where it was clipped, as Keras's clip and torch's clamp."""

    @staticmethod
    def forward(ctx, a, low, high):
        ctx.save_for_backward(a)
        ctx.bounds = (low, high)
        return xp_of(a).clip(a, low, high)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        low, high = ctx.bounds
        return g * ((a >= low) & (a <= high)).astype(g.dtype), None, None


class MatMul(Function):
    """numpy's matmul rules: 1-D operands are promoted and the added axis dropped again;
    batch axes broadcast."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: both operands need at least one dimension "
                             f"(got shapes {a.shape} and {b.shape})")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not line up "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:  # a dot product: the output is 0-d
            g2 = g.reshape(1, 1)
        elif a.ndim == 1:
            g2 = g[..., None, :]
        elif b.ndim == 1:
            g2 = g[..., None]
        else:
            g2 = g
        ga = gb = None
        if na:
            ga = unbroadcast(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if nb:
            gb = unbroadcast(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim if ndim else a for a in axes)


def _spread(ctx, g):
    """A reduction's gradient broadcast back over the reduced axes (a fresh array)."""
    if not ctx.keepdims:
        g = g.reshape([1 if i in ctx.axes else n for i, n in enumerate(ctx.shape)])
    return xp_of(g).broadcast_to(g, ctx.shape).copy()


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _spread(ctx, g)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        ctx.count = int(np.prod([a.shape[i] for i in ctx.axes])) if a.ndim else 1
        if ctx.count == 0:  # torch's mean of nothing: NaN (numpy's too, with a warning)
            shape = a.sum(axis=axis, keepdims=keepdims).shape
            return xp_of(a).full(shape, np.nan, dtype=a.dtype)
        return a.mean(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _spread(ctx, g / max(ctx.count, 1))  # nothing to spread over when empty


class CumSum(Function):
    """Running sums along ``axis`` (over the flattened array when None, as numpy's); the
    gradient is the running sum of the output's gradient taken from the other end."""

    @staticmethod
    def forward(ctx, a, axis):
        ctx.shape, ctx.axis = a.shape, axis
        return xp_of(a).cumsum(a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        axis = 0 if ctx.axis is None else ctx.axis
        back = xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)
        return back.reshape(ctx.shape), None


def _exclusive_products(a, axis):
    """For each element, the product of the others along ``axis`` (no division, so zeros
    are exact): the running product before it times the running product after it."""
    xp = xp_of(a)
    ones = xp.ones_like(xp.take(a, [0], axis=axis))
    before = xp.cumprod(xp.concatenate([ones, xp.take(a, range(a.shape[axis] - 1), axis=axis)],
                                       axis=axis), axis=axis)
    flipped = xp.flip(a, axis)
    after = xp.flip(xp.cumprod(xp.concatenate(
        [ones, xp.take(flipped, range(a.shape[axis] - 1), axis=axis)], axis=axis), axis=axis),
        axis)
    return before * after


class Prod(Function):
    """The product over ``axis`` (an int, a tuple, or None for all); each element's gradient
    is the product of the others, exact where some are zero."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        ctx.save_for_backward(a)
        return a.prod(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        xp = xp_of(a)
        axes = ctx.axes
        kept = [i for i in range(a.ndim) if i not in axes]
        # the reduced axes as one last axis, the products of the others there, then back
        moved = xp.transpose(a, kept + list(axes))
        flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
        if flat.shape[-1] == 0:
            return xp.zeros(a.shape, a.dtype), None, None
        others = _exclusive_products(flat, flat.ndim - 1).reshape(moved.shape)
        others = xp.transpose(others, np.argsort(kept + list(axes)))
        return _spread(ctx, g) * others, None, None


class Extremum(Function):
    """Element-wise maximum (``take_max``) or minimum of two broadcast arrays; the gradient
    goes to the first where the two tie (TensorFlow's rule, what Keras's Maximum and Minimum
    layers give there), NaN propagating as numpy's maximum/minimum do."""

    @staticmethod
    def forward(ctx, a, b, take_max):
        xp = xp_of(a)
        ctx.shapes = _shape(a), _shape(b)
        ctx.first = (a >= b) if take_max else (a <= b)
        return xp.maximum(a, b) if take_max else xp.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad[:2]
        first = ctx.first
        return (unbroadcast(g * first, ctx.shapes[0]).astype(g.dtype, copy=False) if na else None,
                unbroadcast(g * ~first, ctx.shapes[1]).astype(g.dtype, copy=False) if nb else None,
                None)

class Where(Function):
    """``x1`` where ``condition`` (an array, no gradient) holds, else ``x2``; each gradient
    goes where its value was taken, summed back over broadcast axes."""

    @staticmethod
    def forward(ctx, condition, x1, x2):
        xp = xp_of(x1)
        ctx.shapes = _shape(x1), _shape(x2)
        ctx.condition = condition
        out = xp.where(condition, x1, x2)
        return out.astype(xp.result_type(x1, x2), copy=False)

    @staticmethod
    def backward(ctx, g):
        n1, n2 = ctx.needs_input_grad[1:3]
        c = ctx.condition
        return (None,
                unbroadcast(g * c, ctx.shapes[0]).astype(g.dtype, copy=False) if n1 else None,
                unbroadcast(g * ~c, ctx.shapes[1]).astype(g.dtype, copy=False) if n2 else None)

def einsum_parts(subscripts: str, count: int):
    """(the operands' index strings, the output's) of an explicit or implicit (numpy's rule:
    the indices seen once, sorted) einsum over ``count`` operands; ellipses and an index
    repeated within one operand (a diagonal) are refused."""
    subscripts = subscripts.replace(" ", "")
    if "." in subscripts:
        raise NotImplementedError("einsum: ellipses (...) are not supported; name every axis")
    inputs, arrow, output = subscripts.partition("->")
    parts = inputs.split(",")
    if len(parts) != count:
        raise ValueError(f"einsum: {subscripts!r} names {len(parts)} operands, got {count}")
    if not all(p.isalpha() for p in parts + ([output] if output else [])):
        raise ValueError(f"einsum: {subscripts!r}: indices are letters")
    for p in parts + [output]:
        if len(set(p)) != len(p):
            raise NotImplementedError(f"einsum: {p!r} repeats an index (a diagonal or trace)")
    if not arrow:
        seen = "".join(parts)
        output = "".join(sorted(c for c in set(seen) if seen.count(c) == 1))
    elif set(output) - set("".join(parts)):
        raise ValueError(f"einsum: output indices {output!r} not among the operands'")
    return parts, output


class Einsum(Function):
    """numpy's einsum over named indices; the gradient of each operand is the einsum of the
    output's gradient with the other operands, broadcast along the indices that only that
    operand had (summed away in the forward)."""

    @staticmethod
    def forward(ctx, subscripts, *operands):
        parts, output = einsum_parts(subscripts, len(operands))
        for p, a in zip(parts, operands):
            if len(p) != a.ndim:
                raise ValueError(f"einsum: {p!r} names {len(p)} axes of an operand of shape "
                                 f"{a.shape}")
        ctx.parts, ctx.output = parts, output
        ctx.save_for_backward(*operands)
        # optimize: contractions through BLAS (tensordot) rather than einsum's own loops,
        # several times faster on attention-sized operands
        return xp_of(operands[0]).einsum(f"{','.join(parts)}->{output}", *operands,
                                         optimize=True)

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        xp = xp_of(g)
        grads = [None]
        for k, (part, needs) in enumerate(zip(ctx.parts, ctx.needs_input_grad[1:])):
            if not needs:
                grads.append(None)
                continue
            others = [p for j, p in enumerate(ctx.parts) if j != k]
            kept = "".join(c for c in part if c in ctx.output or any(c in p for p in others))
            grad = xp.einsum(f"{','.join([ctx.output] + others)}->{kept}", g,
                             *[a for j, a in enumerate(operands) if j != k], optimize=True)
            # indices only this operand had: the gradient is the same along them
            shape = tuple(operands[k].shape[i] if c in kept else 1 for i, c in enumerate(part))
            order = [kept.index(c) for c in part if c in kept]
            grad = grad.transpose(order).reshape(shape) if kept else grad.reshape(shape)
            grads.append(xp.broadcast_to(grad, operands[k].shape).astype(g.dtype))
        return tuple(grads)

class AMax(Function):
    """The maximum over ``axes``; the gradient is shared evenly by tied maxima (torch.amax's
    and Keras's reduce_max rule)."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        y = x.max(axis=axes, keepdims=True)
        ties = x == y
        ctx.save_for_backward(ties)
        ctx.axes, ctx.keepdims = axes, keepdims
        return y if keepdims else y.squeeze(axis=axes)

    @staticmethod
    def backward(ctx, g):
        (ties,) = ctx.saved_tensors
        if not ctx.keepdims:
            g = xp_of(g).expand_dims(g, ctx.axes)
        share = ties / ties.sum(axis=ctx.axes, keepdims=True)
        return (share * g).astype(g.dtype, copy=False), None, None


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Permute(Function):
    @staticmethod
    def forward(ctx, a, axes):
        ctx.inverse = tuple(np.argsort(axes))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse), None


class Pad(Function):
    """Constant padding: ``widths`` one (before, after) pair per axis."""

    @staticmethod
    def forward(ctx, a, widths, value):
        ctx.inside = tuple(slice(b, b + n) for (b, _), n in zip(widths, a.shape))
        return xp_of(a).pad(a, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.inside], None, None


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        out = xp.zeros(ctx.shape, dtype=g.dtype)
        if _basic(ctx.index):  # slices and integers select each element once: a plain copy
            out[ctx.index] = g
        elif xp is np:
            np.add.at(out, ctx.index, g)  # index arrays may repeat an element: accumulate
        else:
            xp.add.at(out, ctx.index, g)
        return out, None


def _basic(index) -> bool:
    """Whether an index is numpy "basic" indexing (integers, slices, Ellipsis, None)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               and not isinstance(p, bool) for p in parts)


def _softmax_input(a, axis):
    """(a with at least one axis, the axis): torch takes a 0-d input as one element, on axis 0
    or -1; empty inputs give empty outputs (numpy's max has no identity to start from)."""
    if a.ndim == 0:
        if axis not in (0, -1):
            raise IndexError(f"dim {axis} is out of range for a 0-d input (expected 0 or -1)")
        return a.reshape(1), 0
    return a, axis


def _empty_along(ctx, a, axis, shape):
    """An empty input's output (itself) for the Functions over an axis, and what their backward
    reads."""
    ctx.save_for_backward(a)
    ctx.axis = axis
    return a.copy().reshape(shape)


class SoftmaxFunction(Function):
    @staticmethod
    def forward(ctx, a, axis):
        xp = xp_of(a)
        shape, (a, axis) = a.shape, _softmax_input(a, axis)
        if a.size == 0:
            return _empty_along(ctx, a, axis, shape)
        e = xp.exp(a - a.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        shape, g = g.shape, g.reshape(y.shape)
        return (y * (g - (g * y).sum(axis=ctx.axis, keepdims=True))).reshape(shape), None


class SparsemaxFunction(Function):
    """max(x - tau, 0) along ``axis``, tau set so each slice sums to 1 (sort, cumulative sums,
    the support's size k, tau = (sum of the k largest - 1) / k). The gradient is the
    incoming one minus its mean over the support, zero off it."""

    @staticmethod
    def forward(ctx, a, axis):
        xp = xp_of(a)
        shape, (a, axis) = a.shape, _softmax_input(a, axis)
        axis = axis % a.ndim
        if a.size == 0:
            return _empty_along(ctx, a, axis, shape)
        z = xp.moveaxis(a, axis, -1).astype(xp.float64 if a.dtype == xp.float64 else xp.float32)
        ordered = -xp.sort(-z, axis=-1)
        cumulative = xp.cumsum(ordered, axis=-1)
        r = xp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
        support = ordered - (cumulative - 1) / r > 0
        k = support.sum(axis=-1, keepdims=True)  # the support is a prefix of the order
        tau = (xp.take_along_axis(cumulative, k - 1, axis=-1) - 1) / k
        y = xp.moveaxis(xp.maximum(z - tau, 0), -1, axis).astype(a.dtype, copy=False)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        shape, g = g.shape, g.reshape(y.shape)
        on = (y > 0).astype(g.dtype)
        mean = (g * on).sum(axis=ctx.axis, keepdims=True) / on.sum(axis=ctx.axis, keepdims=True)
        return (on * (g - mean)).reshape(shape), None


class LogSoftmaxFunction(Function):
    @staticmethod
    def forward(ctx, a, axis):
        xp = xp_of(a)
        shape, (a, axis) = a.shape, _softmax_input(a, axis)
        if a.size == 0:
            return _empty_along(ctx, a, axis, shape)
        shifted = a - a.max(axis=axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        xp = xp_of(g)
        shape, g = g.shape, g.reshape(y.shape)
        return (g - xp.exp(y) * g.sum(axis=ctx.axis, keepdims=True)).reshape(shape), None
