"""Dropout on a counter-based Philox4x32-10 stream.

Word ``w`` of the stream for ``(seed, offset)`` is word ``w % 4`` of Philox4x32-10 with
counter ``(w // 4, offset)`` (64 bits each) and key ``seed`` (64 bits). Dropout element ``i``
draws the 16-bit half ``i % 2`` (low half first) of word ``i // 2`` and is dropped when that
draw is below ``t = round(p * 2**16)``: the drop probability used is ``p_eff = t / 2**16``
(within 7.7e-6 of ``p``), and kept elements are scaled by ``1 / (1 - p_eff)``, so the
expectation of the output is exactly the input. The result depends on ``(seed, offset, i)``
only — not on threads or vector width — so the scalar, AVX2 and CUDA kernels produce the
same bits. Sixteen bits per element let one Philox block serve eight elements.
"""
from __future__ import annotations

import numbers
import sys

import numpy as np

from .. import _backend
from .. import _checks

_U64 = 1 << 64


def _u64(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= int(value) < _U64:
        raise ValueError(f"{name} must be in [0, 2**64), got {value}")
    return int(value)


def _probability(p) -> float:
    return _checks.real("p", p, low=0.0, high=1.0,
                        invalid="dropout probability has to be between 0 and 1, but got")


def _new_like(x):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return torch.empty_like(x, memory_format=torch.contiguous_format)
    if isinstance(x, np.ndarray):
        return np.empty_like(x, order="C")
    try:
        import cupy  # a GPU array that is not torch's
    except ImportError:
        raise TypeError(f"cannot allocate a result like {_backend.describe(x)}: pass out=")
    return cupy.empty_like(x, order="C")


def _apply(name, x, p, seed, offset, out):
    p, seed, offset = _probability(p), _u64("seed", seed), _u64("offset", offset)
    _backend.array_info(x, name)  # a TypeError naming x when it is no array
    if out is None:
        out = _new_like(x)
    elif type(out) is not type(x):
        raise TypeError(f"out must be the same kind of array as {name} "
                        f"({_backend.describe(x)}), got {_backend.describe(out)}")
    # Checked in C++: float32, contiguous, aligned, out writable and shaped like x, on x's
    # device; out may be x itself but may not partly overlap it.
    _backend.module_for(_backend.is_gpu_array(x)).dropout(x, out, p, seed, offset, name)
    return out


def dropout(x, p: float, *, seed: int, offset: int = 0, out=None):
    """Zero each element with probability ``p`` (to 2**-16) and scale the rest by
    ``1 / (1 - p)``.

    ``x``: float32, C-contiguous: a numpy array or CPU torch tensor (CPU kernels), or a CuPy
    array or CUDA torch tensor (CUDA kernels, on the caller's current stream); the result is a
    new array of the same kind, or ``out`` (which may be ``x`` itself). ``seed`` and ``offset``: integers in
    ``[0, 2**64)``; use a new offset for every call (see :class:`PhiloxGenerator`).
    """
    return _apply("x", x, p, seed, offset, out)


def dropout_backward(dy, p: float, *, seed: int, offset: int = 0, out=None):
    """Gradient of :func:`dropout` with the same ``p``, ``seed`` and ``offset``: the mask is
    regenerated from the stream, so nothing had to be stored in the forward pass."""
    return _apply("dy", dy, p, seed, offset, out)


def philox(seed: int, offset: int, n: int, *, out=None):
    """The first ``n`` uint32 words of the stream for ``(seed, offset)``: a new numpy array,
    or written into ``out`` — a uint32 or int32 array (words as bits): numpy, a CPU or CUDA
    torch tensor, or a CuPy array — which is returned."""
    seed, offset = _u64("seed", seed), _u64("offset", offset)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    n = int(n)
    if out is None:
        out = np.empty(n, dtype=np.uint32)
    size = _backend.array_info(out, "out")["size"]
    if size != n:
        raise ValueError(f"out has {size} elements, expected {n}")
    # Checked in C++: 32-bit integer words (uint32 or int32), contiguous, writable.
    _backend.module_for(_backend.is_gpu_array(out)).philox(out, seed, offset)
    return out


class PhiloxGenerator:
    """Hands out ``(seed, offset)`` pairs for successive dropout calls: the seed stays, the
    offset advances by one per call, so no two calls share a stream.

    >>> gen = PhiloxGenerator(seed=1234)
    >>> y = dropout(x, 0.5, **gen.next())       # doctest: +SKIP
    """

    def __init__(self, seed: int, offset: int = 0):
        self.seed = _u64("seed", seed)
        self.offset = _u64("offset", offset)

    def next(self) -> dict:
        """``{"seed": ..., "offset": ...}`` for one call, then advance."""
        if self.offset + 1 >= _U64:
            raise OverflowError("Philox offset space exhausted for this seed")
        pair = {"seed": self.seed, "offset": self.offset}
        self.offset += 1
        return pair

    def state(self) -> dict:
        return {"seed": self.seed, "offset": self.offset}

    def set_state(self, state: dict) -> None:
        self.seed, self.offset = _u64("seed", state["seed"]), _u64("offset", state["offset"])

    def __repr__(self):
        return f"PhiloxGenerator(seed={self.seed}, offset={self.offset})"
