"""Weight initializers (Keras names): Glorot/Xavier and He, uniform and normal, plus zeros,
ones and constant. Fans follow torch: fan_in = in_features (x receptive field), fan_out =
out_features (x receptive field)."""
from __future__ import annotations

import math

import numpy as np

from .. import _seeding


def seed(value: int) -> None:
    """Seed the generator the initializers draw from."""
    _seeding.seed_init(value)


def fans(shape):
    if len(shape) < 2:
        return shape[0] if shape else 1, shape[0] if shape else 1
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def glorot_uniform(shape):
    fan_in, fan_out = fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return _seeding.init_rng().uniform(-limit, limit, shape).astype(np.float32)


def glorot_normal(shape):
    fan_in, fan_out = fans(shape)
    return (_seeding.init_rng().standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))).astype(np.float32)


def he_uniform(shape):
    limit = math.sqrt(6.0 / fans(shape)[0])
    return _seeding.init_rng().uniform(-limit, limit, shape).astype(np.float32)


def he_normal(shape):
    return (_seeding.init_rng().standard_normal(shape) * math.sqrt(2.0 / fans(shape)[0])).astype(np.float32)


def random_uniform(shape):
    """Keras's "uniform" / RandomUniform default: U(-0.05, 0.05) (its Embedding's default)."""
    return _seeding.init_rng().uniform(-0.05, 0.05, shape).astype(np.float32)


def random_normal(shape):
    """Keras's "normal" / RandomNormal default: N(0, 0.05^2)."""
    return (_seeding.init_rng().standard_normal(shape) * 0.05).astype(np.float32)


def standard_normal(shape):
    """N(0, 1): torch's nn.Embedding initialization."""
    return _seeding.init_rng().standard_normal(shape).astype(np.float32)


def orthogonal(shape):
    """Keras's Orthogonal (gain 1): the Q factor of a Gaussian matrix, signs fixed by R's
    diagonal; a (rows, cols) matrix with orthonormal columns (rows >= cols) or rows."""
    rows, cols = shape[0], int(np.prod(shape[1:]))
    a = _seeding.init_rng().standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return q.reshape(shape).astype(np.float32)


def zeros(shape):
    return np.zeros(shape, np.float32)


def ones(shape):
    return np.ones(shape, np.float32)


def constant(value: float):
    return lambda shape: np.full(shape, value, np.float32)


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal

_BY_NAME = {f.__name__: f for f in (glorot_uniform, glorot_normal, he_uniform, he_normal, zeros,
                                    ones, random_uniform, random_normal, standard_normal,
                                    orthogonal)}
_BY_NAME.update(xavier_uniform=glorot_uniform, xavier_normal=glorot_normal,
                kaiming_uniform=he_uniform, kaiming_normal=he_normal, uniform=random_uniform,
                normal=random_normal)


def get(initializer):
    """An initializer from its name or a callable shape -> float32 array."""
    if callable(initializer):
        return initializer
    try:
        return _BY_NAME[initializer]
    except KeyError:
        raise ValueError(f"unknown initializer {initializer!r} (known: "
                         f"{', '.join(sorted(_BY_NAME))})") from None
