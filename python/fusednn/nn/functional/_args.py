"""Argument checks the functional forms share."""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor


def check_tensor(x, where, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: {name} must be a fusednn.Tensor, got {type(x).__name__}")


def check_bias(bias, weight, where, outputs: str, axis: int = 0):
    """A bias, when given, is a Tensor of one value per output (weight's ``axis``: its first,
    a transposed conv's second)."""
    if bias is None:
        return
    check_tensor(bias, where, "bias")
    if bias.shape != (weight.shape[axis],):
        raise ValueError(f"{where}: bias of shape {bias.shape} does not match "
                         f"{weight.shape[axis]} output {outputs}")


def single(v, what, where):
    """A 1-D argument: an int, or a 1-tuple of one."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{where}: {what} must be an int or a 1-tuple, got {v!r}")
        return v[0]
    return v


def pair(v, what, where):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{where}: {what} must be an int or a pair, got {v!r}")
        a, b = v
    else:
        a = b = v
    for x in (a, b):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
            raise TypeError(f"{where}: {what} must be an int or a pair of ints, got {v!r}")
    return int(a), int(b)
