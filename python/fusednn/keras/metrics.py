"""Metric names ``compile`` takes (Keras's meanings; "accuracy"/"acc" resolve from the loss),
and the metric functions Keras code calls directly, returning per-sample values."""
from __future__ import annotations

import numpy as np

from ..nn.losses import same_rank
from .registry import Registry

from ..models.metrics import (AUC, EPOCH_METRIC_CLASSES, KINDS, Accuracy,  # noqa: F401
                              BinaryAccuracy, CategoricalAccuracy, Mean, Sum, in_top_k,
                              F1Score, MeanAbsoluteError, MeanAbsolutePercentageError,
                              MeanSquaredError, MeanSquaredLogarithmicError, Metric, Precision,
                              R2Score, Recall, RootMeanSquaredError, SparseCategoricalAccuracy,
                              SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where a prediction thresholded at ``threshold`` equals its target, elementwise (Keras
    3's: no mean over the last axis, which Keras 2 took)."""
    y_true, y_pred = same_rank(np.asarray(y_true), np.asarray(y_pred))
    return (y_true == (y_pred > threshold).astype(y_true.dtype)).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the one-hot target's class is among the k highest scores."""
    return sparse_top_k_categorical_accuracy(np.argmax(np.asarray(y_true), -1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1 where the class index is among the k highest scores (ties counted as Keras's
    in_top_k counts them: a score equal to the k-th highest is in); ``from_sorted_ids``:
    ``y_pred`` already holds class ids, best first."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true).astype(np.int64)
    y_true = y_true.reshape(y_true.shape[:-1]) if y_true.ndim == y_pred.ndim else y_true
    if from_sorted_ids:
        return (y_pred[..., :k] == y_true[..., None]).any(-1).astype(np.float32)
    return in_top_k(y_pred, y_true, k).astype(np.float32)


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


# Keras's metric functions of the loss formulas (per sample)
from .losses import (binary_crossentropy, categorical_crossentropy, categorical_hinge,  # noqa
                     hinge, kl_divergence, log_cosh, mean_absolute_error,
                     mean_absolute_percentage_error, mean_squared_error,
                     mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
                     squared_hinge)


CLASSES = dict(EPOCH_METRIC_CLASSES, Mean=Mean, Sum=Sum)
FUNCTIONS = {fn.__name__: fn for fn in (
    binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson, hinge,
    squared_hinge, categorical_hinge, log_cosh, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error)}


_REGISTRY = Registry("metric", "keras.metrics", CLASSES, FUNCTIONS, Metric)
serialize, deserialize, get = _REGISTRY.serialize, _REGISTRY.deserialize, _REGISTRY.get
