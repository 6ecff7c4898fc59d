"""Keras's noise layers, active in training only and drawn from the seeded Philox stream that
dropout takes its masks from (``fusednn.seed`` makes them repeat): ``GaussianNoise`` (additive),
``GaussianDropout`` (multiplicative) and ``SpatialDropout1D`` (whole channels of a sequence)."""
from __future__ import annotations

import math

from ... import _seeding, ops
from ..._backend import xp_of
from ...autograd import Tensor
from ..module import Module


def _uniform(count: int, xp):
    """``count`` uniforms in (0, 1), float64, from the next (seed, offset) of the stream."""
    pair = _seeding.dropout_generator().next()
    words = xp.empty(max(count, 1), dtype=xp.uint32)
    ops.philox(pair["seed"], pair["offset"], words.size, out=words)
    return (words[:count].astype(xp.float64) + 0.5) / 2.0 ** 32


def _normal(shape, xp):
    """Standard normals of ``shape`` (Box-Muller over two uniforms each)."""
    count = math.prod(shape)
    u = _uniform(2 * count, xp)
    z = xp.sqrt(-2.0 * xp.log(u[:count])) * xp.cos(2.0 * math.pi * u[count:])
    return z.reshape(shape)


def _rate(rate, where):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{where}: rate must be in [0, 1), got {rate}")
    return float(rate)


class GaussianNoise(Module):
    """Adds N(0, stddev^2) noise to each element in training; the identity in eval mode."""

    layout_free = True

    def __init__(self, stddev: float, name: str = None):
        super().__init__(name)
        if not stddev >= 0:
            raise ValueError(f"GaussianNoise: stddev must be >= 0, got {stddev}")
        self.stddev = float(stddev)

    def forward(self, x):
        if not self.training or self.stddev == 0.0:
            return x
        xp = xp_of(x.data)
        noise = (self.stddev * _normal(tuple(x.shape), xp)).astype(x.dtype)
        return x + Tensor(noise, device=x.device)

    def get_config(self):
        return dict(stddev=self.stddev, name=self.name)


class GaussianDropout(Module):
    """Multiplies each element by N(1, rate / (1 - rate)) noise in training; the identity in
    eval mode."""

    layout_free = True

    def __init__(self, rate: float, name: str = None):
        super().__init__(name)
        self.rate = _rate(rate, "GaussianDropout")

    def forward(self, x):
        if not self.training or self.rate == 0.0:
            return x
        xp = xp_of(x.data)
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        factor = (1.0 + stddev * _normal(tuple(x.shape), xp)).astype(x.dtype)
        return x * Tensor(factor, device=x.device)

    def get_config(self):
        return dict(rate=self.rate, name=self.name)


class SpatialDropout1D(Module):
    """Dropout of whole channels of a (batch, steps, channels) sequence in training: each
    (sample, channel) kept with probability 1 - rate over every step, scaled by
    1 / (1 - rate); the identity in eval mode."""

    def __init__(self, rate: float, name: str = None):
        super().__init__(name)
        self.rate = _rate(rate, "SpatialDropout1D")

    def forward(self, x):
        if x.ndim != 3:
            raise ValueError(f"{self.name}: expects (batch, steps, channels) input, got shape "
                             f"{tuple(x.shape)}")
        if not self.training or self.rate == 0.0:
            return x
        xp = xp_of(x.data)
        n, _, c = x.shape
        keep = (_uniform(n * c, xp) >= self.rate).reshape(n, 1, c)
        return x * Tensor((keep / (1.0 - self.rate)).astype(x.dtype), device=x.device)

    def get_config(self):
        return dict(rate=self.rate, name=self.name)
