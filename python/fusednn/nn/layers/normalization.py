"""BatchNorm1D (N, C) and BatchNorm2D (N, C, H, W), or (N, H, W, C) with
``data_format="channels_last"``; torch semantics: batch statistics in training (running
statistics updated with ``momentum``), running statistics in eval."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..module import Module, Parameter


class _BatchNorm(Module):
    ndim = 2

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
        if x.ndim != self.ndim:
            raise ValueError(f"{self.name}: expects {self.ndim}-D input, got shape {x.shape}")
        if self.data_format == "channels_last":
            return self.forward_nchw(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.forward_nchw(x)

    def forward_nchw(self, x):
        if x.shape[1] != self.num_features:
            raise ValueError(f"{self.name}: expects {self.num_features} channels, got input of "
                             f"shape {x.shape}")
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=self.momentum, eps=self.eps)

    def get_config(self):
        config = dict(num_features=self.num_features, momentum=self.momentum, eps=self.eps,
                      affine=self.affine, name=self.name)
        if self.data_format != "channels_first":
            config["data_format"] = self.data_format
        return config

    def extra_repr(self):
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}"


class BatchNorm1D(_BatchNorm):
    ndim = 2


class BatchNorm2D(_BatchNorm):
    ndim = 4
