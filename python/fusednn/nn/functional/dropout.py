"""dropout on the Philox stream (the kernels behind fusednn.ops.dropout): the mask is
regenerated in the backward from (seed, offset), never stored."""
from __future__ import annotations

import os


from ...autograd import Function, Tensor
from ... import ops
from .. import _kernels
from .linear import _device

_generator = ops.PhiloxGenerator(seed=int.from_bytes(os.urandom(8), "little"))


def manual_seed(seed: int) -> None:
    """Seed the stream behind dropout (each call then takes the next offset)."""
    global _generator
    _generator = ops.PhiloxGenerator(seed=seed)


def default_generator() -> ops.PhiloxGenerator:
    return _generator


def _masked(a, p, seed, offset, what):
    """The kernel on an array the layers own (float32, made contiguous here)."""
    device = _device(a)
    a = _kernels.contiguous(a, "dropout", what)
    out = _kernels.empty(device, a.shape)
    _kernels.call(device, "dropout", _kernels.address(a), _kernels.address(out), a.size, p,
                  seed, offset)
    return out


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, p, seed, offset):
        ctx.p, ctx.seed, ctx.offset = p, seed, offset
        return _masked(x, p, seed, offset, "input")

    @staticmethod
    def backward(ctx, g):
        return _masked(g, ctx.p, ctx.seed, ctx.offset, "grad"), None, None, None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, *, generator=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), in training;
    the identity otherwise. ``generator``: a fusednn.ops.PhiloxGenerator (default: the one
    ``fusednn.seed`` sets). The masks are those of ``fusednn.ops.dropout`` for the same
    (seed, offset)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout: expected a fusednn.Tensor, got {type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    pair = (generator or _generator).next()
    return Dropout.apply(input, float(p), pair["seed"], pair["offset"])


