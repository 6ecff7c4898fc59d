"""Metrics by name, as ``compile`` takes them (Keras's names and meanings): summed per batch,
divided by the sample count at the end of the epoch, logged under the name the user gave.

"accuracy" / "acc" resolve from the loss as Keras resolves them: binary accuracy for a binary
loss (threshold 0.5 on probabilities, 0 on logits), categorical accuracy for one-hot targets,
sparse categorical accuracy for class indices.
"""
from __future__ import annotations

import numpy as np

ALIASES = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}
KINDS = ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
         "mse", "mae")


def resolve(name: str, objective) -> str:
    """The metric a name means for this loss."""
    kind = ALIASES.get(name, name)
    if kind != "accuracy":
        return kind
    return {"binary": "binary_accuracy", "categorical": "categorical_accuracy",
            "sparse": "sparse_categorical_accuracy"}.get(objective.kind, "accuracy")


def check_metrics(metrics, objective) -> list:
    """The metric names as given (a single name may be a string), validated for this loss."""
    if metrics is None:
        return []
    if isinstance(metrics, str):
        metrics = [metrics]
    metrics = list(metrics)
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"metrics are given by name, got {m!r}")
        kind = ALIASES.get(m, m)
        if kind not in KINDS:
            raise ValueError(f"unknown metric {m!r} (known: {', '.join(KINDS + tuple(ALIASES))})")
        if kind == "accuracy" and not objective.classification:
            raise ValueError(f"metric {m!r} needs a classification loss, got {objective.name!r}")
    return metrics


def _xp(a):
    return np if isinstance(a, np.ndarray) else __import__("cupy")


def _per_sample_mean(values):
    return values.reshape(values.shape[0], -1).mean(axis=1) if values.ndim > 1 else values


def metric_sums(metrics, objective, scores, target, probabilities: bool) -> dict:
    """{metric name: value summed over the batch}. ``scores``: the model's outputs, as
    probabilities when ``probabilities`` else as logits (the threshold of binary accuracy)."""
    xp = _xp(scores)
    target = xp.asarray(target)
    sums = {}
    for name in metrics:
        kind = resolve(name, objective)
        if kind == "accuracy":
            kind = "categorical_accuracy" if target.ndim == 2 and target.shape[1] > 1 \
                else "sparse_categorical_accuracy"
        if kind == "binary_accuracy":
            predicted = (scores > (0.5 if probabilities else 0.0)).astype(scores.dtype)
            t = target.reshape(scores.shape) if target.size == scores.size else target
            sums[name] = float(_per_sample_mean((predicted == t).astype(np.float64)).sum())
        elif kind == "categorical_accuracy":
            sums[name] = float((scores.argmax(axis=-1) == target.argmax(axis=-1)).sum())
        elif kind == "sparse_categorical_accuracy":
            sums[name] = float((scores.argmax(axis=-1) == target.reshape(-1)).sum())
        else:
            d = scores.reshape(scores.shape[0], -1) - target.reshape(scores.shape[0], -1)
            v = (d * d) if kind == "mse" else abs(d)
            sums[name] = float(v.mean(axis=1).sum())
    return sums
