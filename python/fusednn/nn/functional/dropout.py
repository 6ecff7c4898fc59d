"""dropout on the Philox stream (fusednn.ops): the mask is regenerated in the backward from
(seed, offset), never stored."""
from __future__ import annotations

import os

import numpy as np

from ...autograd import Function, Tensor
from ... import ops

_generator = ops.PhiloxGenerator(seed=int.from_bytes(os.urandom(8), "little"))


def manual_seed(seed: int) -> None:
    """Seed the stream behind dropout (each call then takes the next offset)."""
    global _generator
    _generator = ops.PhiloxGenerator(seed=seed)


def default_generator() -> ops.PhiloxGenerator:
    return _generator


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, p, seed, offset):
        ctx.p, ctx.seed, ctx.offset = p, seed, offset
        xp = np if isinstance(x, np.ndarray) else __import__("cupy")
        return ops.dropout(xp.ascontiguousarray(x), p, seed=seed, offset=offset)

    @staticmethod
    def backward(ctx, g):
        xp = np if isinstance(g, np.ndarray) else __import__("cupy")
        return ops.dropout_backward(xp.ascontiguousarray(g), ctx.p, seed=ctx.seed, offset=ctx.offset), None, None, None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, *, generator=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), in training;
    the identity otherwise. ``generator``: a fusednn.ops.PhiloxGenerator (default: the one
    ``manual_seed`` sets)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout: expected a fusednn.Tensor, got {type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    pair = (generator or _generator).next()
    return Dropout.apply(input, float(p), pair["seed"], pair["offset"])
