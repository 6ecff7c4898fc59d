"""Dense, Flatten, Dropout and the activation layers."""
from __future__ import annotations

from ... import _checks
from .. import functional as F
from ..functional.activation import activation_by_name
from ..module import Module
from .base import WeightedLayer


class Dense(WeightedLayer):
    """``activation(x @ weight.T + bias)`` with weight (units, in_features), built from the
    first input's last axis (or ``input_dim``). ReLU, leaky ReLU, sigmoid, tanh and GELU are
    fused into the GEMM's epilogue; 'softmax' is applied after it."""

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, input_dim: int = None,
                 name: str = None):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, name)
        self.units = _checks.positive_int("Dense: units", units)
        if input_dim is not None:
            self.build((None, input_dim))
            self.built = True

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 1 or input_shape[-1] in (None, 0):
            raise ValueError(f"{self.name}: cannot build from input shape {input_shape}")
        self.in_features = int(input_shape[-1])
        self._make_weights((self.units, self.in_features), self.units)

    def _apply(self, x, fused, after):
        y = F.linear(x, self.weight, self.bias, activation=fused,
                     negative_slope=self.leaky_relu_slope, name=self.name)
        return after(y) if after else y

    def get_config(self):
        return dict(units=self.units, **self._weight_config)

    def extra_repr(self):
        shape = f"{self.in_features} -> " if self.built else ""
        return f"{shape}{self.units}, activation={self.activation!r}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in the order of its input's own layout (an image
    from a channels-last chain flattens as (H, W, C), Keras's order)."""

    def __init__(self, data_format: str = None, name: str = None):
        super().__init__(name)
        self.data_format = data_format

    def forward(self, x):
        return x.reshape(x.shape[0], -1)

    def get_config(self):
        return dict(data_format=self.data_format, name=self.name)


class Dropout(Module):
    """Zeroes inputs with probability ``rate`` in training (Philox stream, scaled by
    1/(1-rate)); the identity in eval mode."""

    layout_free = True  # elementwise: a channels-last chain runs through it unchanged

    def __init__(self, rate: float, name: str = None):
        super().__init__(name)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def forward(self, x):
        return F.dropout(x, self.rate, training=self.training)

    def get_config(self):
        return dict(rate=self.rate, name=self.name)

    def extra_repr(self):
        return f"rate={self.rate}"


class Activation(Module):
    """An activation by name ('relu', 'sigmoid', 'tanh', 'gelu', 'softmax', ...)."""

    leaky_relu_slope = 0.01  # as WeightedLayer's

    def __init__(self, activation, name: str = None):
        super().__init__(name)
        self.activation = getattr(activation, "activation_name", activation)
        self._fn = activation_by_name(self.activation, self.leaky_relu_slope)

    def forward(self, x):
        return self._fn(x)

    def forward_logits(self, x):
        return x

    def output_activation(self):
        return self.activation if self.activation in ("softmax", "sigmoid") else None

    @property
    def layout_free(self) -> bool:
        """Elementwise activations do not care about the layout (softmax does)."""
        return self.activation != "softmax"

    def get_config(self):
        return dict(activation=self.activation, name=self.name)

    def extra_repr(self):
        return repr(self.activation)


class ReLU(Activation):
    def __init__(self, name: str = None):
        super().__init__("relu", name)

    def get_config(self):
        return dict(name=self.name)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, name: str = None):
        super().__init__(name)
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def get_config(self):
        return dict(negative_slope=self.negative_slope, name=self.name)


class Softmax(Module):
    def __init__(self, dim: int = -1, name: str = None):
        super().__init__(name)
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def forward_logits(self, x):
        return x

    def output_activation(self):
        return "softmax" if self.dim in (-1, 1) else None

    def get_config(self):
        return dict(dim=self.dim, name=self.name)



