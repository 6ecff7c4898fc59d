"""Every loss in one place: the functions with torch's names and arguments (also in
``fusednn.nn.functional``), the loss objects over them (``MSELoss``, ``CrossEntropyLoss``,
``BCEWithLogitsLoss``), and the losses ``compile`` takes by name (:class:`NamedLoss`). They run
on the fused loss Functions of :mod:`fusednn.autograd.fused` (softmax cross-entropy is one
kernel pass that returns the per-row loss and the logits' gradient together)."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..autograd.fused import BceWithLogitsFunction, SoftmaxCrossEntropyFunction

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


# ---- loss objects -------------------------------------------------------------------------
class MSELoss:
    def __init__(self, reduction: str = "mean"):
        self.reduction = reduction

    def __call__(self, input, target):
        return mse_loss(input, target, self.reduction)


class CrossEntropyLoss:
    """Softmax cross-entropy on logits (class indices or probability / one-hot targets)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        self.weight, self.ignore_index = weight, ignore_index
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def __call__(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class BCEWithLogitsLoss:
    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        self.weight, self.reduction, self.pos_weight = weight, reduction, pos_weight

    def __call__(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


mse = MeanSquaredError = MSELoss
SparseCategoricalCrossentropy = CrossEntropyLoss  # from logits


# ---- losses by name, as compile takes them ---------------------------------------------------
_CE = ("cross_entropy", "sparse_categorical_crossentropy", "categorical_crossentropy")
_MSE = ("mse", "mean_squared_error")
_BCE = ("bce", "binary_crossentropy", "binary_cross_entropy_with_logits")


class NamedLoss:
    """A loss by the name ``compile`` takes (or a callable): the loss of one batch from model
    outputs and targets, with optional per-sample weights (weighted mean over the batch:
    sum(w * loss) / batch size); ``kind`` says how its targets look."""

    def __init__(self, name):
        if callable(name):
            self.name, self.kind, self.fn = getattr(name, "__name__", "custom"), "custom", name
            return
        if name in _CE:
            self.kind = "classes"
        elif name in _MSE:
            self.kind = "regression"
        elif name in _BCE:
            self.kind = "binary"
        else:
            raise ValueError(f"unknown loss {name!r} (known: {', '.join(_CE + _MSE + _BCE)}, or "
                             "a callable (output, target) -> Tensor)")
        self.name, self.fn = name, None

    @property
    def classification(self) -> bool:
        return self.kind in ("classes", "binary")

    def __call__(self, out, target, weight=None):
        if self.fn is not None:
            loss = self.fn(out, target)
            return loss if weight is None else loss * weight.mean()
        if self.kind == "classes":
            per = cross_entropy(out, target, reduction="none" if weight is not None else "mean")
        elif self.kind == "regression":
            per = mse_loss(out, target, reduction="none" if weight is not None else "mean")
        else:
            per = binary_cross_entropy_with_logits(
                out, target, reduction="none" if weight is not None else "mean")
        if weight is None:
            return per
        if per.ndim > 1:
            per = per.reshape(per.shape[0], -1).mean(axis=1)
        return (per * weight).sum() / per.shape[0]
