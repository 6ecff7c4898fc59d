"""torch's losses of an input and a target taken element by element — ``l1_loss``,
``smooth_l1_loss``, ``huber_loss``, ``binary_cross_entropy`` (on probabilities) and ``kl_div``
— and their loss objects (``L1Loss``, ``SmoothL1Loss``, ``HuberLoss``, ``BCELoss``,
``KLDivLoss``), with torch's arguments, values and gradients (at the kinks too). One
difference on purpose: a target whose shape differs from the input's is refused, where torch
broadcasts it with a warning (the mistake the warning is about)."""
from __future__ import annotations

import warnings

import numpy as np

from .._backend import xp_of
from ..autograd import Tensor
from ..autograd.elementwise import ElementwiseLoss
from .losses import _reduce, _reduction


def _operands(input, target, where):
    """The input Tensor and the target as a Tensor of the same shape, device and type."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: input must be a fusednn.Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{where}: input must hold floats, got {input.dtype}")
    if isinstance(target, Tensor):
        if target.device != input.device:
            raise ValueError(f"{where}: input is on {input.device} but target is on "
                             f"{target.device}")
        if target.dtype != input.dtype:
            raise TypeError(f"{where}: target type {target.dtype} differs from the input's "
                            f"{input.dtype}")
    else:
        target = Tensor(target, device=input.device, dtype=input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{where}: target shape {target.shape} differs from input shape "
                         f"{input.shape} (torch would broadcast them with a warning; give "
                         "equal shapes)")
    return input, target


def _pointwise(input, target, reduction, where, name, arg=None):
    _reduction(reduction, where)
    input, target = _operands(input, target, where)
    return _reduce(ElementwiseLoss.apply(input, target, name, arg), reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """|input - target|."""
    return _pointwise(input, target, reduction, "l1_loss", "l1")


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2), for d = input - target."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return _pointwise(input, target, reduction, "huber_loss", "huber", float(delta))


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2 (the L1 loss when beta is 0)."""
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    if beta == 0:
        return _pointwise(input, target, reduction, "smooth_l1_loss", "l1")
    return _pointwise(input, target, reduction, "smooth_l1_loss", "smooth_l1", float(beta))


def _in_unit_interval(a, where, name):
    """torch refuses probabilities outside [0, 1] (NaN included) rather than return NaN."""
    xp = xp_of(a)
    if a.size and not bool(xp.all((a >= 0) & (a <= 1))):
        raise ValueError(f"{where}: every element of {name} must be in [0, 1]")


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """-w (t log p + (1 - t) log(1 - p)) of probabilities ``input``, each log clamped at -100
    as torch's; ``weight`` broadcasts to the input's shape. For logits use
    ``binary_cross_entropy_with_logits`` (stable, and one fused pass)."""
    where = "binary_cross_entropy"
    _reduction(reduction, where)
    input, target = _operands(input, target, where)
    _in_unit_interval(input.data, where, "input")
    _in_unit_interval(target.data, where, "target")
    loss = ElementwiseLoss.apply(input, target, "binary_cross_entropy", None)
    if weight is not None:
        w = weight if isinstance(weight, Tensor) else \
            Tensor(weight, device=input.device, dtype=input.dtype)
        if w.device != input.device:
            raise ValueError(f"{where}: input is on {input.device} but weight is on {w.device}")
        try:
            fits = np.broadcast_shapes(w.shape, input.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{where}: weight of shape {w.shape} does not broadcast to the "
                             f"input's shape {input.shape}")
        loss = loss * w
    return _reduce(loss, reduction)


_KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")


def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of log-probabilities ``input`` from ``target``
    (probabilities, or log-probabilities with ``log_target=True``): t (log t - input), 0
    where t is 0. ``'batchmean'`` divides the sum by the batch size (the divergence's
    definition); ``'mean'`` divides by the number of elements, and warns as torch's does."""
    where = "kl_div"
    if reduction not in _KL_REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {_KL_REDUCTIONS}, got "
                         f"{reduction!r}")
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size "
                      "and the support size; 'batchmean' divides only by the batch size, as "
                      "the divergence is defined", UserWarning, stacklevel=2)
    input, target = _operands(input, target, where)
    loss = ElementwiseLoss.apply(input, target, "kl_div", bool(log_target))
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


# ---- loss objects ---------------------------------------------------------------------------
class L1Loss:
    def __init__(self, reduction: str = "mean"):
        self.reduction = _reduction(reduction, "L1Loss")

    def __call__(self, input, target):
        return l1_loss(input, target, self.reduction)


class HuberLoss:
    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        self.reduction, self.delta = _reduction(reduction, "HuberLoss"), delta

    def __call__(self, input, target):
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss:
    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        self.reduction, self.beta = _reduction(reduction, "SmoothL1Loss"), beta

    def __call__(self, input, target):
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class BCELoss:
    """Binary cross-entropy of probabilities (see :func:`binary_cross_entropy`)."""

    def __init__(self, weight=None, reduction: str = "mean"):
        self.weight, self.reduction = weight, _reduction(reduction, "BCELoss")

    def __call__(self, input, target):
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class KLDivLoss:
    def __init__(self, reduction: str = "mean", log_target: bool = False):
        if reduction not in _KL_REDUCTIONS:
            raise ValueError(f"KLDivLoss: reduction must be one of {_KL_REDUCTIONS}, got "
                             f"{reduction!r}")
        self.reduction, self.log_target = reduction, log_target

    def __call__(self, input, target):
        return kl_div(input, target, self.reduction, self.log_target)
