"""Keras's GroupNormalization (the channels in groups, each normalized over the sample's
positions and the group's channels, then Keras's per-channel gamma and beta) and
UnitNormalization (each vector along ``axis`` scaled to unit length), on autograd ops."""
from __future__ import annotations

import numpy as np

from .. import _checks
from .custom_layers import Layer
from .ops import normalize


class GroupNormalization(Layer):
    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.groups = _checks.positive_int("GroupNormalization: groups", groups)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"GroupNormalization: axis must be an int, got {axis!r}")
        self.axis, self.epsilon = axis, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._weights_config = dict(
            beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
            beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)

    def build(self, input_shape):
        if not -len(input_shape) < self.axis < len(input_shape) or self.axis % len(
                input_shape) == 0:
            raise ValueError(f"{self.name}: axis {self.axis} is not a feature axis of inputs "
                             f"of shape {tuple(input_shape)}")
        channels = input_shape[self.axis]
        if channels < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({channels}).")
        if channels % self.groups:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({channels}).")
        c = self._weights_config
        self.gamma = self.add_weight(
            shape=(channels,), initializer=c["gamma_initializer"], name="gamma",
            regularizer=c["gamma_regularizer"], constraint=c["gamma_constraint"]) \
            if self.scale else None
        self.beta = self.add_weight(
            shape=(channels,), initializer=c["beta_initializer"], name="beta",
            regularizer=c["beta_regularizer"], constraint=c["beta_constraint"]) \
            if self.center else None

    def call(self, inputs):
        ndim = inputs.ndim
        axis = self.axis % ndim
        order = [i for i in range(ndim) if i != axis] + [axis]  # channels last
        x = inputs.permute(*order)
        last = x.shape
        c = last[-1]
        positions = int(np.prod(last[1:-1]))
        grouped = x.reshape(last[0], positions, self.groups, c // self.groups)
        mean = grouped.mean(axis=(1, 3), keepdims=True)
        centered = grouped - mean
        variance = (centered * centered).mean(axis=(1, 3), keepdims=True)
        y = (centered / (variance + self.epsilon).sqrt()).reshape(*last)
        if self.gamma is not None:
            y = y * self.gamma
        if self.beta is not None:
            y = y + self.beta
        back = [order.index(i) for i in range(ndim)]
        return y.permute(*back)

    def get_config(self):
        return dict(super().get_config(), groups=self.groups, axis=self.axis,
                    epsilon=self.epsilon, center=self.center, scale=self.scale,
                    **self._weights_config)


class UnitNormalization(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, inputs):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return normalize(inputs, axis=axis, order=2, epsilon=1e-12)

    def get_config(self):
        return dict(super().get_config(), axis=self.axis)
