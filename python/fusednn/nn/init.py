"""Weight initializers as functions of a shape in fusednn's (torch's) layout, by Keras's names
(Glorot, He, LeCun, uniform and normal, zeros, ones, constant, orthogonal) and torch's
(xavier_*, kaiming_*). Fans follow torch: fan_in = in_features (x receptive field), fan_out =
out_features (x receptive field). The names keep their library's meaning: Keras's normal
Glorot/He/LeCun draw a normal truncated at two standard deviations (widened so the spread is
still sqrt(scale / n)); torch's xavier_normal / kaiming_normal draw an untruncated one."""
from __future__ import annotations

import math

import numpy as np

from .. import _seeding
from .initializers import TRUNCATED_STDDEV, truncated_normal


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


def _keras_normal(shape, variance):
    stddev = math.sqrt(variance) / TRUNCATED_STDDEV
    return truncated_normal(_seeding.init_rng(), shape, 0.0, stddev).astype(np.float32)


def glorot_normal(shape):
    """Keras's: truncated normal, spread sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return _keras_normal(shape, 2.0 / (fan_in + fan_out))


def xavier_normal(shape):
    """torch's xavier_normal_ (gain 1): N(0, 2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return (_seeding.init_rng().standard_normal(shape) * std).astype(np.float32)


def he_uniform(shape):
    limit = math.sqrt(6.0 / fans(shape)[0])
    return _seeding.init_rng().uniform(-limit, limit, shape).astype(np.float32)


def he_normal(shape):
    """Keras's: truncated normal, spread sqrt(2 / fan_in)."""
    return _keras_normal(shape, 2.0 / fans(shape)[0])


def kaiming_normal(shape):
    """torch's kaiming_normal_ (ReLU gain, fan_in): N(0, 2 / fan_in)."""
    std = math.sqrt(2.0 / fans(shape)[0])
    return (_seeding.init_rng().standard_normal(shape) * std).astype(np.float32)


def lecun_uniform(shape):
    limit = math.sqrt(3.0 / fans(shape)[0])
    return _seeding.init_rng().uniform(-limit, limit, shape).astype(np.float32)


def lecun_normal(shape):
    """Keras's: truncated normal, spread sqrt(1 / fan_in)."""
    return _keras_normal(shape, 1.0 / fans(shape)[0])


def truncated_normal_init(shape):
    """Keras's "truncated_normal" / TruncatedNormal default: N(0, 0.05^2) cut at +-0.1."""
    return truncated_normal(_seeding.init_rng(), shape, 0.0, 0.05).astype(np.float32)


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


xavier_uniform, kaiming_uniform = glorot_uniform, he_uniform

_BY_NAME = {f.__name__: f for f in (glorot_uniform, glorot_normal, he_uniform, he_normal,
                                    lecun_uniform, lecun_normal, xavier_normal, kaiming_normal,
                                    zeros, ones, random_uniform, random_normal, standard_normal,
                                    orthogonal)}
_BY_NAME.update(xavier_uniform=glorot_uniform, kaiming_uniform=he_uniform, uniform=random_uniform,
                normal=random_normal, truncated_normal=truncated_normal_init)


def get(initializer):
    """An initializer from its name or a callable shape -> float32 array."""
    if callable(initializer):
        return initializer
    try:
        return _BY_NAME[initializer]
    except KeyError:
        raise ValueError(f"unknown initializer {initializer!r} (known: "
                         f"{', '.join(sorted(_BY_NAME))})") from None
