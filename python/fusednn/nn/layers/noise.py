"""Keras's noise layers, active in training only and drawn from the seeded Philox stream that
dropout takes its masks from (``fusednn.seed`` makes them repeat): ``GaussianNoise`` (additive),
``GaussianDropout`` (multiplicative) and ``SpatialDropout1D`` / ``2D`` / ``3D`` (whole
channels)."""
from __future__ import annotations

import math

from ... import _seeding, ops
from ..._backend import xp_of
from ...autograd import Tensor
from ..module import Module


def stream_uniforms(count: int, xp):
    """``count`` uniforms in (0, 1), float64, from the next (seed, offset) of the stream."""
    pair = _seeding.dropout_generator().next()
    words = xp.empty(max(count, 1), dtype=xp.uint32)
    ops.philox(pair["seed"], pair["offset"], words.size, out=words)
    return (words[:count].astype(xp.float64) + 0.5) / 2.0 ** 32


def _normal(shape, xp):
    """Standard normals of ``shape`` (Box-Muller over two uniforms each)."""
    count = math.prod(shape)
    u = stream_uniforms(2 * count, xp)
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
    """Dropout of whole channels in training: each (sample, channel) kept with probability
    1 - rate over every step or position, scaled by 1 / (1 - rate); the identity in eval mode.
    Inputs (batch, steps, channels); SpatialDropout2D / 3D take (batch, *2 or 3 spatial axes,
    channels) with ``data_format="channels_last"``, or the channels first."""

    spatial_axes = 1

    def __init__(self, rate: float, name: str = None, data_format: str = "channels_last"):
        super().__init__(name)
        self.rate = _rate(rate, type(self).__name__)
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_first' or "
                             f"'channels_last', got {data_format!r}")
        self.data_format = data_format

    def forward(self, x):
        ndim = self.spatial_axes + 2
        if x.ndim != ndim:
            spatial = ", ".join(["steps"] if self.spatial_axes == 1 else
                                ["spatial"] * self.spatial_axes)
            layout = (f"batch, {spatial}, channels" if self.data_format == "channels_last"
                      else f"batch, channels, {spatial}")
            raise ValueError(f"{self.name}: expects ({layout}) input, got shape "
                             f"{tuple(x.shape)}")
        if not self.training or self.rate == 0.0:
            return x
        xp = xp_of(x.data)
        channel = ndim - 1 if self.data_format == "channels_last" else 1
        n, c = x.shape[0], x.shape[channel]
        shape = [1] * ndim
        shape[0], shape[channel] = n, c
        keep = (stream_uniforms(n * c, xp) >= self.rate).reshape(shape)
        return x * Tensor((keep / (1.0 - self.rate)).astype(x.dtype), device=x.device)

    def get_config(self):
        config = dict(rate=self.rate, name=self.name)
        if self.spatial_axes > 1:
            config["data_format"] = self.data_format
        return config


class SpatialDropout2D(SpatialDropout1D):
    spatial_axes = 2


class SpatialDropout3D(SpatialDropout1D):
    spatial_axes = 3
