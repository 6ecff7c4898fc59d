"""Metrics by name, as ``compile`` takes them: summed per batch, divided by the sample count
at the end of the epoch."""
from __future__ import annotations

import numpy as np


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
