"""Small Keras layers written on ``keras.layers.Layer``: ``Identity``, ``ELU``, ``PReLU`` and
the sequence reshapers ``ZeroPadding1D``, ``Cropping1D``, ``UpSampling1D`` (channels last)."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..nn import functional as F
from ..nn import initializers, regularizers
from .custom_layers import Layer


class Identity(Layer):
    def call(self, inputs):
        return inputs


class ELU(Layer):
    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return F.elu(inputs, self.alpha)

    def get_config(self):
        return dict(super().get_config(), alpha=self.alpha)


class PReLU(Layer):
    """relu(x) - alpha * relu(-x), alpha learned per position of one sample (shared along
    ``shared_axes``), as Keras's."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        if alpha_constraint is not None:
            raise NotImplementedError("PReLU: alpha_constraint is not supported")
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.shared_axes = None if shared_axes is None else list(
            shared_axes if isinstance(shared_axes, (list, tuple)) else [shared_axes])

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            shape[axis - 1] = 1
        self.alpha = self.add_weight(shape=shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, name="alpha")

    def call(self, inputs):
        return inputs.relu() - self.alpha * (-inputs).relu()

    def get_config(self):
        return dict(super().get_config(), alpha_initializer=self.alpha_initializer,
                    alpha_regularizer=self.alpha_regularizer, shared_axes=self.shared_axes)


def _sequences(layer, inputs):
    """The (N, steps, features) input of a sequence layer, or an error naming the layer."""
    if inputs.ndim != 3:
        raise ValueError(f"{layer.name}: expects 3-D inputs (batch, steps, features), got shape "
                         f"{inputs.shape}")
    return inputs


def _pair(value, what):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(not isinstance(v, int) or v < 0 for v in pair):
        raise ValueError(f"{what} must be an int or a pair of ints >= 0, got {value!r}")
    return pair


class ZeroPadding1D(Layer):
    """Zeros before and after the steps of (N, steps, features)."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pair(padding, "ZeroPadding1D: padding")

    def call(self, inputs):
        return F.pad(_sequences(self, inputs), [0, 0, self.padding[0], self.padding[1]])

    def get_config(self):
        return dict(super().get_config(), padding=list(self.padding))


class Cropping1D(Layer):
    """(N, steps, features) without ``cropping`` steps at its start and end."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "Cropping1D: cropping")

    def call(self, inputs):
        inputs = _sequences(self, inputs)
        start, end = self.cropping
        if sum(self.cropping) >= inputs.shape[1]:
            raise ValueError(f"`cropping` parameter of `Cropping1D` layer must be smaller than "
                             f"the input length. Received: inputs.shape={inputs.shape}, "
                             f"cropping={self.cropping}")
        return inputs[:, start:inputs.shape[1] - end]

    def get_config(self):
        return dict(super().get_config(), cropping=list(self.cropping))


class UpSampling1D(Layer):
    """Each step of (N, steps, features) repeated ``size`` times."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"UpSampling1D: size must be an int >= 1, got {size!r}")
        self.size = size

    def call(self, inputs):
        n, steps, features = _sequences(self, inputs).shape
        copies = Tensor(np.ones((1, 1, self.size, 1), inputs.dtype), device=inputs.device)
        return (inputs.reshape(n, steps, 1, features) * copies).reshape(
            n, steps * self.size, features)

    def get_config(self):
        return dict(super().get_config(), size=self.size)
