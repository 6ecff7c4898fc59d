"""Losses, with torch's names and arguments. Softmax cross-entropy is one fused kernel that
returns the per-row loss and the gradient of the logits together; its backward only scales."""
from __future__ import annotations

import numpy as np

from ...autograd import Function, Tensor
from ...autograd.ops import xp_of
from .. import _kernels
from .linear import _device

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction, where):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{where}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _as_tensor(x, like: Tensor, where, name, dtype=None):
    if isinstance(x, Tensor):
        if x.device != like.device:
            raise ValueError(f"{where}: input is on {like.device} but {name} is on {x.device}")
        return x
    return Tensor(x, device=like.device, dtype=dtype)


def _reduce(loss: Tensor, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error."""
    _reduction(reduction, "mse_loss")
    target = _as_tensor(target, input, "mse_loss", "target", input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"mse_loss: target shape {target.shape} does not match input shape "
                         f"{input.shape}")
    diff = input - target.detach() if not target.requires_grad else input - target
    return _reduce(diff * diff, reduction)


class SoftmaxCrossEntropy(Function):
    @staticmethod
    def forward(ctx, logits, index, prob, weight, ignore_index, reduction, label_smoothing):
        n, c = logits.shape
        xp = xp_of(logits)
        if label_smoothing:
            if index is not None:
                prob = xp.zeros((n, c), dtype=logits.dtype)
                valid = index != ignore_index
                prob[xp.arange(n)[valid], index[valid]] = 1.0
                prob = prob * (1 - label_smoothing) + label_smoothing / c
                prob[~valid] = 0.0  # an ignored row: zero loss, zero gradient
            else:
                prob = prob * (1 - label_smoothing) + label_smoothing / c
            index_for_kernel = None
        else:
            index_for_kernel = index
        # The divisor of 'mean': the summed weights of the counted rows (torch's rule).
        if index is not None:
            valid = index != ignore_index
            if weight is None:
                denom = valid.sum()
            else:
                denom = (weight[xp.where(valid, index, 0)] * valid).sum()
        else:
            denom = n
        # The mean's 1/denominator is folded into the kernel's gradient on the CPU (the
        # denominator is a host number there); on the GPU it stays a device scalar.
        on_host = isinstance(denom, (int, np.integer, np.floating, np.ndarray))
        folded = reduction == "mean" and on_host
        scale = 1.0 / float(denom) if folded and float(denom) != 0 else 1.0
        if logits.dtype == np.float64:
            shifted = logits - logits.max(axis=1, keepdims=True)
            logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
            if index_for_kernel is not None:
                safe = xp.where(valid, index, 0)
                w = 1.0 if weight is None else weight[safe]
                rows = -logp[xp.arange(n), safe] * w * valid
                dl = xp.exp(logp) * (w * valid)[:, None]
                dl[xp.arange(n), safe] -= w * valid
            else:
                wq = prob if weight is None else prob * weight
                rows = -(wq * logp).sum(axis=1)
                dl = xp.exp(logp) * wq.sum(axis=1, keepdims=True) - wq
            if scale != 1.0:
                dl *= scale
        else:
            device = _device(logits)
            logits = _kernels.contiguous(logits, "cross_entropy", "input")
            rows = _kernels.empty(device, (n,))
            dl = _kernels.empty(device, (n, c)) if ctx.needs_input_grad[0] else None
            idx = None if index_for_kernel is None else xp.ascontiguousarray(index_for_kernel,
                                                                              dtype=xp.int64)
            q = None if index_for_kernel is not None else _kernels.contiguous(
                prob.astype(np.float32, copy=False), "cross_entropy", "target")
            w = None if weight is None else _kernels.contiguous(weight, "cross_entropy", "weight")
            _kernels.call(device, "softmax_xent", _kernels.address(logits), n, c,
                          _kernels.address(idx), _kernels.address(q), _kernels.address(w),
                          int(ignore_index), _kernels.address(rows), _kernels.address(dl),
                          scale)
        ctx.save_for_backward(dl)
        ctx.reduction = reduction
        ctx.divide_by = None if folded or reduction != "mean" else denom
        if reduction == "none":
            return rows
        total = rows.sum()
        return total / denom if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        (dl,) = ctx.saved_tensors
        if ctx.reduction == "none":
            return dl * g[:, None], None, None, None, None, None, None
        if ctx.divide_by is not None:
            g = g / ctx.divide_by
        if isinstance(g, np.ndarray) and g.size == 1 and float(g) == 1.0:
            return dl, None, None, None, None, None, None  # loss.backward(): already scaled
        return (dl * g).astype(dl.dtype, copy=False), None, None, None, None, None, None


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input`` (N, C) against class indices (N,) or class
    probabilities / one-hot rows (N, C); ``weight`` (C,) weighs classes; 'mean' divides by the
    summed weights of the counted rows, as torch."""
    where = "cross_entropy"
    _reduction(reduction, where)
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: input must be a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim != 2:
        raise ValueError(f"{where}: input must be (N, C) logits, got shape {input.shape}")
    n, c = input.shape
    if c < 1:
        raise ValueError(f"{where}: input has no classes (shape {input.shape})")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{where}: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = _as_tensor(target, input, where, "target")
    index = prob = None
    if target.dtype.kind in "iu":
        if target.shape != (n,):
            raise ValueError(f"{where}: class-index target must be ({n},), got {target.shape}")
        index = target.data
        valid = index != ignore_index
        if n and bool(((index < 0) | (index >= c))[valid].any()):
            bad = index[valid & ((index < 0) | (index >= c))][0]
            raise ValueError(f"{where}: target class {int(bad)} is out of range for {c} classes")
    elif target.dtype.kind == "f":
        if target.shape != (n, c):
            raise ValueError(f"{where}: probability target must be ({n}, {c}) like the input, "
                             f"got {target.shape}")
        prob = target.data.astype(input.dtype, copy=False)
    else:
        raise TypeError(f"{where}: target must hold integers (class indices) or floats "
                        f"(probabilities), got {target.dtype}")
    w = None
    if weight is not None:
        w = _as_tensor(weight, input, where, "weight", input.dtype).data.astype(input.dtype)
        if w.shape != (c,):
            raise ValueError(f"{where}: weight must be ({c},), got {w.shape}")
    return SoftmaxCrossEntropy.apply(input, index, prob, w, int(ignore_index), reduction,
                                     float(label_smoothing))


class BceWithLogits(Function):
    @staticmethod
    def forward(ctx, x, t, weight, pos_weight):
        xp = xp_of(x)
        log_weight = 1.0 if pos_weight is None else (pos_weight - 1) * t + 1
        softplus_neg = xp.log1p(xp.exp(-abs(x))) + xp.maximum(-x, 0)  # log(1 + e^-x), stable
        loss = (1 - t) * x + log_weight * softplus_neg
        sig_neg = 1 / (1 + xp.exp(x))  # sigmoid(-x)
        grad = (1 - t) - log_weight * sig_neg
        if weight is not None:
            loss, grad = loss * weight, grad * weight
        ctx.save_for_backward(grad.astype(x.dtype, copy=False))
        return loss.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0], None, None, None


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """Sigmoid + binary cross-entropy in one numerically stable expression; ``pos_weight``
    weighs the positive term (per class, broadcast over the last axis)."""
    where = "binary_cross_entropy_with_logits"
    _reduction(reduction, where)
    target = _as_tensor(target, input, where, "target", input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{where}: target shape {target.shape} does not match input shape "
                         f"{input.shape}")
    arrays = []
    for name, v in (("weight", weight), ("pos_weight", pos_weight)):
        arrays.append(None if v is None else
                      _as_tensor(v, input, where, name, input.dtype).data.astype(input.dtype))
    loss = BceWithLogits.apply(input, target.data.astype(input.dtype, copy=False), *arrays)
    return _reduce(loss, reduction)
