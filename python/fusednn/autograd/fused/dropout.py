"""Dropout on the Philox stream (the kernel behind fusednn.ops.dropout): the mask is
regenerated in the backward from (seed, offset), never stored."""
from __future__ import annotations

from ... import _backend
from ..function import Function


def _masked(a, p, seed, offset, what):
    """The kernel on an array the layers own (float32, made contiguous here)."""
    a = _backend.contiguous(a, "dropout", what)
    out = _backend.empty(a, a.shape)
    _backend.call(a, "dropout", a, out, p, seed, offset)
    return out


class DropoutFunction(Function):
    @staticmethod
    def forward(ctx, x, p, seed, offset):
        ctx.p, ctx.seed, ctx.offset = p, seed, offset
        return _masked(x, p, seed, offset, "input")

    @staticmethod
    def backward(ctx, g):
        return _masked(g, ctx.p, ctx.seed, ctx.offset, "grad"), None, None, None
