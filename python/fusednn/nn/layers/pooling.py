"""MaxPool2D and AvgPool2D (NCHW; Keras argument names)."""
from __future__ import annotations

from .. import functional as F
from ..module import Module


class _Pool2D(Module):
    def __init__(self, pool_size=2, strides=None, padding=0, name: str = None):
        super().__init__(name)
        if padding == "valid":
            padding = 0
        elif isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid', an int or a pair, "
                             f"got {padding!r}")
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def get_config(self):
        return dict(pool_size=self.pool_size, strides=self.strides, padding=self.padding,
                    name=self.name)

    def extra_repr(self):
        return f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding}"


class MaxPool2D(_Pool2D):
    def forward(self, x):
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AvgPool2D(_Pool2D):
    def forward(self, x):
        return F.avg_pool2d(x, self.pool_size, self.strides, self.padding)
