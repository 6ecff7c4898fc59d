"""Metric names ``compile`` takes (Keras's meanings; "accuracy"/"acc" resolve from the loss),
and the metric functions Keras code calls directly, returning per-sample values."""
from __future__ import annotations

import numpy as np

from ..models.metrics import (AUC, KINDS, BinaryAccuracy, CategoricalAccuracy,  # noqa: F401
                              F1Score, MeanAbsoluteError, MeanAbsolutePercentageError,
                              MeanSquaredError, MeanSquaredLogarithmicError, Metric, Precision,
                              R2Score, Recall, RootMeanSquaredError, SparseCategoricalAccuracy,
                              SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    hit = (y_true == (y_pred > threshold).astype(y_true.dtype)).astype(np.float32)
    return hit.mean(axis=-1) if hit.ndim > 1 else hit


def categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true = np.asarray(y_true)
    y_true = y_true.reshape(y_true.shape[:-1]) if y_true.ndim == np.ndim(y_pred) else y_true
    return (y_true.astype(np.int64) == np.argmax(y_pred, -1)).astype(np.float32)


def confusion_matrix(y_true, y_pred, num_classes=None) -> np.ndarray:
    """Counts (true class, predicted class); ``y_pred`` may be class indices or scores (argmax)."""
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64)
    y_pred = np.asarray(y_pred)
    y_pred = (y_pred.argmax(-1) if y_pred.ndim > 1 else y_pred).reshape(-1).astype(np.int64)
    n = num_classes or int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    out = np.zeros((n, n), np.int64)
    np.add.at(out, (y_true, y_pred), 1)
    return out
