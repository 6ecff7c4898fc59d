"""``to_categorical`` and the other helpers Keras tutorials import from ``keras.utils``."""
from __future__ import annotations

import numpy as np


def to_categorical(x, num_classes: int = None) -> np.ndarray:
    """One-hot rows (float32) of integer class labels, Keras's rules: a trailing axis of size 1
    is dropped, ``num_classes`` defaults to max + 1."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        if (x != np.round(x)).any():
            raise ValueError("to_categorical: labels must be integers")
        x = x.astype(np.int64)
    elif x.dtype.kind not in "iu":
        raise TypeError(f"to_categorical: labels must be integers, got {x.dtype}")
    shape = x.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, got {int(x.min())}")
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    elif x.size and x.max() >= num_classes:
        raise ValueError(f"to_categorical: label {int(x.max())} is out of range for "
                         f"num_classes={num_classes}")
    out = np.zeros((x.size, num_classes), np.float32)
    out[np.arange(x.size), x] = 1
    return out.reshape(shape + (num_classes,))


def set_random_seed(seed: int) -> None:
    """Seed every random stream fusednn draws from (initializers, dropout, shuffling)."""
    from .._seeding import seed as _seed

    _seed(seed)
