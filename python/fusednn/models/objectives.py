"""Losses and metrics by name, as ``compile`` takes them; each knows how its targets look."""
from __future__ import annotations

import numpy as np

from ..nn import functional as F

_CE = ("cross_entropy", "sparse_categorical_crossentropy", "categorical_crossentropy")
_MSE = ("mse", "mean_squared_error")
_BCE = ("bce", "binary_crossentropy", "binary_cross_entropy_with_logits")


class Objective:
    """The loss of one batch from model outputs and targets, with optional per-sample weights
    (weighted mean over the batch: sum(w * loss) / batch size)."""

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
            per = F.cross_entropy(out, target, reduction="none" if weight is not None else "mean")
        elif self.kind == "regression":
            per = F.mse_loss(out, target, reduction="none" if weight is not None else "mean")
        else:
            per = F.binary_cross_entropy_with_logits(
                out, target, reduction="none" if weight is not None else "mean")
        if weight is None:
            return per
        if per.ndim > 1:
            per = per.reshape(per.shape[0], -1).mean(axis=1)
        return (per * weight).sum() / per.shape[0]


def accuracy(kind, out, target):
    """Number of correct predictions in a batch (arrays)."""
    xp = np if isinstance(out, np.ndarray) else __import__("cupy")
    if kind == "binary":
        return int(((out > 0) == (target > 0.5)).all(axis=tuple(range(1, out.ndim))).sum()) \
            if out.ndim > 1 else int(((out > 0) == (target > 0.5)).sum())
    pred = out.argmax(axis=1)
    truth = target.argmax(axis=1) if target.ndim == 2 else target
    return int((pred == xp.asarray(truth)).sum())


METRICS = ("accuracy", "acc", "mse", "mae")


def check_metrics(metrics, objective):
    metrics = list(metrics or [])
    for m in metrics:
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r} (known: {', '.join(METRICS)})")
        if m in ("accuracy", "acc") and not objective.classification:
            raise ValueError(f"metric {m!r} needs a classification loss, got {objective.name!r}")
    return ["accuracy" if m == "acc" else m for m in metrics]


def metric_sums(metrics, kind, out, target):
    """{metric: summed value over the batch} (divided by the sample count at the epoch end)."""
    sums = {}
    for m in metrics:
        if m == "accuracy":
            sums[m] = accuracy(kind, out, target)
        else:
            d = out.reshape(out.shape[0], -1) - target.reshape(out.shape[0], -1)
            v = (d * d) if m == "mse" else abs(d)
            sums[m] = float(v.mean(axis=1).sum())
    return sums
