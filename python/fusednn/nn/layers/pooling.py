"""MaxPool2D and AvgPool2D (Keras argument names), and the global poolings: NCHW, or (N, H, W, C) with
``data_format="channels_last"`` (the kernels run NCHW; inside a Sequential a chain of
channels-last layers changes layout once, see Sequential.forward)."""
from __future__ import annotations

from .. import functional as F
from ..module import Module
from .conv import check_data_format


class _Pool2D(Module):
    def __init__(self, pool_size=2, strides=None, padding=0, data_format: str = "channels_first",
                 name: str = None):
        super().__init__(name)
        if padding == "valid":
            padding = 0
        elif isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid', an int or a pair, "
                             f"got {padding!r}")
        self.pool_size, self.strides, self.padding = pool_size, strides, padding
        self.data_format = check_data_format(data_format, type(self).__name__)

    def forward(self, x):
        if self.data_format == "channels_last":
            return self.forward_nchw(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.forward_nchw(x)

    def forward_nchw(self, x):
        x, padding, finish = self._window(x)
        y = self._pooled(x, padding)
        return finish(y) if finish is not None else y

    def _window(self, x):
        """(the input the kernel reads, its padding, what to apply to its output or None):
        the layer's own padding here; Keras's layers pad the input themselves for "same"."""
        return x, self.padding, None

    def _pooled(self, x, padding):
        """The pooling kernel on an NCHW input with this padding."""
        raise NotImplementedError

    def get_config(self):
        return dict(pool_size=self.pool_size, strides=self.strides, padding=self.padding,
                    data_format=self.data_format, name=self.name)

    def extra_repr(self):
        return f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding}"


class MaxPool2D(_Pool2D):
    def is_2x2(self) -> bool:
        """A 2x2 window, stride 2, no padding: the pool a conv fuses (Sequential)."""
        def two(v):
            return v == 2 or (isinstance(v, (tuple, list)) and tuple(v) == (2, 2))

        return (two(self.pool_size) and (self.strides is None or two(self.strides))
                and self.padding in (0, (0, 0), [0, 0]))

    def _pooled(self, x, padding):
        return F.max_pool2d(x, self.pool_size, self.strides, padding)


class AvgPool2D(_Pool2D):
    def _pooled(self, x, padding):
        return F.avg_pool2d(x, self.pool_size, self.strides, padding)


class _GlobalPool(Module):
    """Mean or max over every spatial (or time) axis: (N, C, *spatial) with
    ``data_format="channels_first"``, (N, *spatial, C) with "channels_last"; the result is
    (N, C), or keeps the reduced axes as size 1 with ``keepdims``."""

    rank = 1

    def __init__(self, data_format: str = "channels_first", keepdims: bool = False,
                 name: str = None):
        super().__init__(name)
        self.data_format = check_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def forward(self, x):
        if x.ndim != self.rank + 2:
            raise ValueError(f"{self.name}: expects {self.rank + 2}-D inputs, got shape "
                             f"{x.shape}")
        first = 2 if self.data_format == "channels_first" else 1
        axes = tuple(range(first, first + self.rank))
        return self._reduce(x, axes)

    def get_config(self):
        return dict(data_format=self.data_format, keepdims=self.keepdims, name=self.name)


class GlobalAveragePooling1D(_GlobalPool):
    rank = 1

    def _reduce(self, x, axes):
        return x.mean(axis=axes, keepdims=self.keepdims)


class GlobalAveragePooling2D(GlobalAveragePooling1D):
    rank = 2


class GlobalMaxPooling1D(_GlobalPool):
    """Ties share the gradient evenly (torch.amax's and Keras's rule)."""

    rank = 1

    def _reduce(self, x, axes):
        return F.amax(x, axes, keepdim=self.keepdims)


class GlobalMaxPooling2D(GlobalMaxPooling1D):
    rank = 2
