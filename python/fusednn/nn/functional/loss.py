"""Losses, with torch's names and arguments, over the fused loss Functions of
:mod:`fusednn.autograd.fused` (softmax cross-entropy is one kernel pass that returns the per-row
loss and the logits' gradient together)."""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from ...autograd.fused import BceWithLogitsFunction, SoftmaxCrossEntropyFunction

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
    return SoftmaxCrossEntropyFunction.apply(input, index, prob, w, int(ignore_index), reduction,
                                     float(label_smoothing))


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
    loss = BceWithLogitsFunction.apply(input, target.data.astype(input.dtype, copy=False), *arrays)
    return _reduce(loss, reduction)
