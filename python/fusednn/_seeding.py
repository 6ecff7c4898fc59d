"""One seed for everything random in training: weight initialization, dropout's Philox
stream, and data shuffling (epoch order, validation splits). The generators live here, below
every layer that draws from them."""
from __future__ import annotations

import os

import numpy as np

from .ops import PhiloxGenerator

_init_rng = np.random.default_rng()
_data_rng = np.random.default_rng()
_dropout = PhiloxGenerator(seed=int.from_bytes(os.urandom(8), "little"))


def seed(n: int) -> None:
    """Make runs reproducible: two runs after the same ``seed(n)`` draw the same initial
    weights, shuffles and dropout masks (so give identical histories on the same device)."""
    global _data_rng
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"seed must be a non-negative int, got {n!r}")
    seed_init(int(n))
    seed_dropout(int(n))
    _data_rng = np.random.default_rng(int(n))


def seed_init(n: int) -> None:
    global _init_rng
    _init_rng = np.random.default_rng(n)


def seed_dropout(n: int) -> None:
    global _dropout
    _dropout = PhiloxGenerator(seed=n)


def init_rng() -> np.random.Generator:
    """The generator weight initializers draw from."""
    return _init_rng


def dropout_generator() -> PhiloxGenerator:
    """The Philox stream dropout takes its (seed, offset) pairs from."""
    return _dropout


def data_rng() -> np.random.Generator:
    return _data_rng
