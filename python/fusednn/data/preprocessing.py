"""Preprocessing: standardization, one-hot, stratified splits, and the checks that run on a
dataset before training starts."""
from __future__ import annotations

import math

import numpy as np


class Standardizer:
    """Per-feature (x - mean) / std, fitted on training data and applied to any split."""

    def __init__(self, eps: float = 1e-8):
        self.eps, self.mean, self.std = eps, None, None

    def fit(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.mean, self.std = x.mean(axis=0), x.std(axis=0)
        return self

    def transform(self, x):
        if self.mean is None:
            raise RuntimeError("Standardizer.transform before fit")
        return ((np.asarray(x) - self.mean) / (self.std + self.eps)).astype(np.float32)

    def fit_transform(self, x):
        return self.fit(x).transform(x)


def standardize(x_train, *others, eps: float = 1e-8):
    """Standardize with the statistics of ``x_train``; returns the transformed arrays."""
    s = Standardizer(eps).fit(x_train)
    out = [s.transform(x_train)] + [s.transform(o) for o in others]
    return out[0] if not others else tuple(out)


def one_hot(labels, num_classes: int = None) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot needs a 1-D integer array, got {labels.dtype} {labels.shape}")
    n = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        raise ValueError(f"labels must be in [0, {n}), got range [{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.size, n), np.float32)
    out[np.arange(labels.size), labels] = 1.0
    return out


def split_indices(n: int, fraction: float, labels=None, shuffle: bool = True, rng=None):
    """(keep, held_out) index arrays with ``fraction`` held out: per class when ``labels`` are
    given (stratified: every class keeps its proportion), shuffled with ``rng`` when
    ``shuffle``, else the last ``fraction`` of each group in order. Unstratified, the held-out
    count is Keras's: n - floor(n * (1 - fraction))."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the held-out fraction must be in (0, 1), got {fraction}")
    rng = rng if rng is not None else np.random.default_rng()
    groups = [np.arange(n)] if labels is None else [
        np.flatnonzero(labels == c) for c in np.unique(labels)]
    keep, held = [], []
    for idx in groups:
        if shuffle:
            idx = rng.permutation(idx)
        if labels is None:
            k = len(idx) - int(math.floor(len(idx) * (1.0 - fraction)))
        else:
            k = int(round(len(idx) * fraction))
        if labels is not None and len(idx) > 1:
            k = min(max(k, 1), len(idx) - 1)
        keep.append(idx[:len(idx) - k])
        held.append(idx[len(idx) - k:])
    keep, held = np.concatenate(keep), np.concatenate(held)
    if shuffle:
        keep, held = rng.permutation(keep), rng.permutation(held)
    else:
        keep, held = np.sort(keep), np.sort(held)
    if len(held) == 0 or len(keep) == 0:
        raise ValueError(f"holding out {fraction} of {n} samples leaves an empty split")
    return keep, held


def train_test_split(x, y, test_size: float = 0.2, stratify: bool = True, shuffle: bool = True,
                     seed: int = None):
    """``(x_train, x_test, y_train, y_test)``, stratified by y by default."""
    x, y = np.asarray(x), np.asarray(y)
    check_xy(x, y, "train_test_split")
    rng = np.random.default_rng(seed)
    train, test = split_indices(len(x), test_size, y if stratify else None, shuffle, rng)
    return x[train], x[test], y[train], y[test]


def check_xy(x, y, where: str, num_classes: int = None, ignored_label: int = None):
    """Errors for what would otherwise fail mid-training or train on garbage. Class labels
    must lie in [0, num_classes), except ``ignored_label`` (a loss's ``ignore_class``)."""
    if len(x) != len(y):
        raise ValueError(f"{where}: x has {len(x)} samples but y has {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{where}: no samples")
    if np.asarray(x).dtype.kind == "f" and not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise ValueError(f"{where}: x contains {bad} NaN or infinite value(s)")
    y = np.asarray(y)
    if ignored_label is not None:
        y = y[y != ignored_label]
    if num_classes is not None and y.dtype.kind in "iu" and y.size:
        if y.min() < 0 or y.max() >= num_classes:
            raise ValueError(f"{where}: labels must be in [0, {num_classes}) for a model with "
                             f"{num_classes} outputs, got range [{y.min()}, {y.max()}]")
