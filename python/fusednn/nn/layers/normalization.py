"""BatchNorm1D (N, C) or (N, C, L) and BatchNorm2D (N, C, H, W), or with the channels last
(``data_format="channels_last"``); torch semantics: batch statistics in training (running
statistics updated with ``momentum``), running statistics in eval."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..module import Module, Parameter


class _BatchNorm(Module):
    ndims = (2,)  # the input ranks the layer takes
    unbiased = True  # the running variance's batch variance: torch's n / (n - 1) correction

    def __init__(self, num_features: int = None, momentum: float = 0.1, eps: float = 1e-5,
                 affine: bool = True, name: str = None, data_format: str = "channels_first"):
        super().__init__(name)
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_first' or "
                             f"'channels_last', got {data_format!r}")
        self.data_format = data_format
        if not 0.0 <= momentum <= 1.0 or eps <= 0:
            raise ValueError(f"{type(self).__name__}: need 0 <= momentum <= 1 and eps > 0, got "
                             f"momentum={momentum}, eps={eps}")
        self.num_features, self.momentum, self.eps, self.affine = num_features, momentum, eps, affine
        if num_features is not None:
            self.build((None, num_features))
            self.built = True

    def build(self, input_shape):
        c = int(input_shape[-1] if self.data_format == "channels_last" else input_shape[1])
        if self.num_features is not None and self.built and c != self.num_features:
            raise ValueError(f"{self.name}: built for {self.num_features} features, got {c}")
        self.num_features = c
        if self.affine:
            self.weight = Parameter(np.ones(c, np.float32))
            self.bias = Parameter(np.zeros(c, np.float32))
        else:
            self.weight = self.bias = None
        self.register_buffer("running_mean", np.zeros(c, np.float32))
        self.register_buffer("running_var", np.ones(c, np.float32))

    def forward(self, x):
        if x.ndim not in self.ndims:
            ranks = " or ".join(f"{n}-D" for n in self.ndims)
            raise ValueError(f"{self.name}: expects {ranks} input, got shape {x.shape}")
        return self._forward_layout(x)

    def _forward_layout(self, x):
        """forward_nchw on the channels axis 1, moving a channels-last axis there and back."""
        if self.data_format != "channels_last" or x.ndim == 2:
            return self.forward_nchw(x)
        nd = x.ndim
        first = (0, nd - 1) + tuple(range(1, nd - 1))
        back = (0,) + tuple(range(2, nd)) + (1,)
        return self.forward_nchw(x.permute(*first)).permute(*back)

    def forward_nchw(self, x):
        if x.shape[1] != self.num_features:
            raise ValueError(f"{self.name}: expects {self.num_features} channels, got input of "
                             f"shape {x.shape}")
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=self._update_fraction(),
                            eps=self.eps, unbiased=self.unbiased)

    def _update_fraction(self) -> float:
        """The share of a batch's statistic in the running one (torch's momentum)."""
        return self.momentum

    def get_config(self):
        config = dict(num_features=self.num_features, momentum=self.momentum, eps=self.eps,
                      affine=self.affine, name=self.name)
        if self.data_format != "channels_first":
            config["data_format"] = self.data_format
        return config

    def extra_repr(self):
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}"


class BatchNorm1D(_BatchNorm):
    ndims = (2, 3)


class BatchNorm2D(_BatchNorm):
    ndims = (4,)


class LayerNormalization(Module):
    """Each sample normalized over its last axis (Keras's default ``axis=-1``; a tuple of
    trailing axes also works), then scaled and shifted per feature (``scale``/``center``).
    ``epsilon`` defaults to Keras's 1e-3 (torch's LayerNorm: 1e-5)."""

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 name: str = None):
        super().__init__(name)
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        if not axes or any(a >= 0 for a in axes) and any(a < 0 for a in axes):
            raise ValueError(f"LayerNormalization: axis must be trailing axes, all negative or "
                             f"all positive, got {axis!r}")
        if not epsilon > 0:
            raise ValueError(f"LayerNormalization: epsilon must be > 0, got {epsilon}")
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), center, scale
        self.weight = self.bias = None

    def _axes(self, ndim):
        axes = sorted(a % ndim for a in ((self.axis,) if isinstance(self.axis, int)
                                         else self.axis))
        if axes != list(range(ndim - len(axes), ndim)):
            raise ValueError(f"{self.name}: normalizes trailing axes only, got axis={self.axis} "
                             f"for {ndim}-D input")
        return axes

    def build(self, input_shape):
        shape = tuple(int(input_shape[a]) for a in self._axes(len(input_shape)))
        self.weight = Parameter(np.ones(shape, np.float32)) if self.scale else None
        self.bias = Parameter(np.zeros(shape, np.float32)) if self.center else None
        self.normalized_shape = shape

    def forward(self, x):
        shape = tuple(x.shape[a] for a in self._axes(x.ndim))
        if shape != self.normalized_shape:
            raise ValueError(f"{self.name}: built for trailing shape {self.normalized_shape}, "
                             f"got input of shape {x.shape}")
        return F.layer_norm(x, shape, self.weight, self.bias, self.epsilon)

    def get_config(self):
        return dict(axis=self.axis if isinstance(self.axis, int) else list(self.axis),
                    epsilon=self.epsilon, center=self.center, scale=self.scale, name=self.name)
