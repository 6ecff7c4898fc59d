"""dropout with torch's arguments, over the Philox-stream DropoutFunction (the kernel behind
fusednn.ops.dropout: the mask is regenerated in the backward, never stored)."""
from __future__ import annotations

from ... import _seeding
from ...autograd import Tensor
from ...autograd.fused import DropoutFunction

def manual_seed(seed: int) -> None:
    """Seed the stream behind dropout (each call then takes the next offset)."""
    _seeding.seed_dropout(seed)


def default_generator():
    return _seeding.dropout_generator()


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
    pair = (generator or _seeding.dropout_generator()).next()
    return DropoutFunction.apply(input, float(p), pair["seed"], pair["offset"])


