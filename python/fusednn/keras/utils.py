"""``to_categorical``, ``pad_sequences`` and the other helpers Keras tutorials import from
``keras.utils``."""
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


def pad_sequences(sequences, maxlen: int = None, dtype="int32", padding: str = "pre",
                  truncating: str = "pre", value=0.0) -> np.ndarray:
    """Sequences of different lengths as one (samples, maxlen, ...) array, Keras's rules:
    ``maxlen`` defaults to the longest; a longer sequence loses its start (``truncating="pre"``)
    or its end ("post"); a shorter one is filled with ``value`` before it (``padding="pre"``)
    or after it ("post"). Each step may itself be an array (all of one shape)."""
    for name, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post', got {choice!r}")
    try:
        rows = [np.asarray(s, dtype=dtype) for s in sequences]
    except TypeError:
        raise ValueError("pad_sequences: sequences must be a list of sequences (each an "
                         "iterable of steps)") from None
    if any(r.ndim == 0 for r in rows):
        raise ValueError("pad_sequences: every sequence must be a list or array of steps, not "
                         "a single value")
    step_shape = next((r.shape[1:] for r in rows if len(r)), ())
    for k, r in enumerate(rows):
        if len(r) and r.shape[1:] != step_shape:
            raise ValueError(f"pad_sequences: sequence {k} has steps of shape {r.shape[1:]}, "
                             f"the others {step_shape}")
    if maxlen is None:
        maxlen = max((len(r) for r in rows), default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be an int >= 0, got {maxlen!r}")
    out = np.full((len(rows), int(maxlen)) + step_shape, value, dtype=dtype)
    for k, r in enumerate(rows):
        kept = r[max(len(r) - maxlen, 0):] if truncating == "pre" else r[:maxlen]
        if len(kept):
            if padding == "pre":
                out[k, maxlen - len(kept):] = kept
            else:
                out[k, :len(kept)] = kept
    return out


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """Keras's: ``x`` divided by its ``order``-norm along ``axis`` (a zero norm left as 1)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


from .backend import clear_session  # noqa: E402,F401  (Keras 3 exports it here too)
