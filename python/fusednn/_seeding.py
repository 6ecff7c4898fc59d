"""One seed for everything random in training: weight initialization, dropout's Philox
stream, and data shuffling (epoch order, validation splits)."""
from __future__ import annotations

import numpy as np

_data_rng = np.random.default_rng()


def seed(n: int) -> None:
    """Make runs reproducible: two runs after the same ``seed(n)`` draw the same initial
    weights, shuffles and dropout masks (so give identical histories on the same device)."""
    global _data_rng
    from .nn import functional, init

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"seed must be a non-negative int, got {n!r}")
    init.seed(int(n))
    functional.manual_seed(int(n))
    _data_rng = np.random.default_rng(int(n))


def data_rng() -> np.random.Generator:
    return _data_rng
