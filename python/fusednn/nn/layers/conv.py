"""The convolution layers: Conv2D, Conv2DTranspose and Conv1D (each with ``groups``)."""
from __future__ import annotations

from ... import _checks
from .. import functional as F
from ..functional._args import pair
from ..functional.activation import activation_by_name
from .base import WeightedLayer


def check_data_format(data_format, where):
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"{where}: data_format must be 'channels_first' or 'channels_last', "
                         f"got {data_format!r}")
    return data_format


class Conv2D(WeightedLayer):
    """2-D convolution with ``filters`` output channels; weight (filters, in_channels, kh, kw).

    Inputs are NCHW (``data_format="channels_first"``, torch's layout). With
    ``data_format="channels_last"`` the layer takes and returns (N, H, W, C), as the Keras
    MNIST tutorial feeds it, by permuting to NCHW around the NCHW kernel (two transposes per
    call, forward and backward). ``padding``: "valid", "same" (stride 1, odd kernel), an int
    or a pair. ReLU, leaky ReLU, sigmoid, tanh and GELU are fused after the GEMM.
    """

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid", dilation=1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 data_format: str = "channels_first", name: str = None, groups: int = 1):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, name)
        filters = _checks.positive_int("Conv2D: filters", filters)
        self.filters, self.data_format = filters, check_data_format(data_format, "Conv2D")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D")
        self.strides, self.padding, self.dilation = strides, padding, dilation
        self.groups = _checks.positive_int(f"{type(self).__name__}: groups", groups)
        if filters % self.groups:
            raise ValueError(f"{type(self).__name__}: filters={filters} must divide into "
                             f"groups={self.groups}")

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 4:
            raise ValueError(f"{self.name}: expects 4-D inputs ({self._layout()}), got shape "
                             f"{input_shape}")
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[3]
        s = tuple(input_shape) if self.data_format == "channels_first" else \
            (input_shape[0],) + tuple(input_shape[3:0:-1])  # (N, C, W, H): the same test
        if s[3] in (1, 3) and s[1] == s[2] and (s[1] or 0) >= 8:
            # (N, 28, 28, 1) read as NCHW would be 28 channels of 28x1 images
            kind = "channels-last" if self.data_format == "channels_first" else "channels-first"
            raise ValueError(f"{self.name}: input of shape {tuple(input_shape)} looks "
                             f"{kind}, but the layer has data_format={self.data_format!r}; pass "
                             f"data_format='{kind.replace('-', '_')}'")
        self.in_channels = int(c)
        if self.in_channels % self.groups:
            raise ValueError(f"{self.name}: the input's {self.in_channels} channels must "
                             f"divide into groups={self.groups}")
        self._make_weights(self._kernel_shape(self.in_channels), self.filters)

    def _kernel_shape(self, in_channels):
        return (self.filters, in_channels // self.groups) + self.kernel_size

    def _groups_config(self) -> dict:
        return {"groups": self.groups} if self.groups != 1 else {}

    def _layout(self):
        return "N, C, H, W" if self.data_format == "channels_first" else "N, H, W, C"

    def _apply(self, x, fused, after):
        if x.ndim != 4:
            raise ValueError(f"{self.name}: expects 4-D inputs ({self._layout()}), got shape "
                             f"{x.shape}")
        if self.data_format == "channels_last":
            x = x.permute(0, 3, 1, 2)
        y = self._conv_nchw(x, fused, after)
        return y.permute(0, 2, 3, 1) if self.data_format == "channels_last" else y

    def _input_padding(self, x):
        """(the input the kernel reads, its padding): the layer's own padding here; Keras's
        layers pad the input themselves where its "same" is uneven."""
        return x, self.padding

    def _conv_nchw(self, x, fused, after):
        y = self._op_nchw(x, fused)
        if after is not None:  # on the last axis of the layer's own layout, as Keras
            y = (after(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
                 if self.data_format == "channels_last" else after(y))
        return y

    def _op_nchw(self, x, fused):
        """The convolution on NCHW, with the activation ``fused`` into it."""
        x, padding = self._input_padding(x)
        return F.conv2d(x, self._kernel(), self.bias, self.strides, padding, self.dilation,
                        self.groups, activation=fused, negative_slope=self.leaky_relu_slope,
                        name=self.name)

    def _kernel(self):
        """The weight in conv2d's layout (out, in / groups, kh, kw): the weight itself here
        (a depthwise layer keeps its own shape, see fusednn.keras's DepthwiseConv2D)."""
        return self.weight

    def forward_nchw(self, x):
        """The layer on an NCHW tensor whatever its data_format (a Sequential's chain of
        channels-last layers runs NCHW inside)."""
        return self._record_activity(self._conv_nchw(x, self._fused, self._after))

    def forward_nchw_max_pooled(self, x):
        """The layer then a 2x2 stride-2 max-pool, on NCHW, through the fused conv + pool
        (a Sequential calls this for Conv2D -> MaxPool2D(2)); the activation must be one the
        conv fuses (``_after`` None)."""
        x, padding = self._input_padding(x)
        return F.conv2d_max_pool2d(x, self._kernel(), self.bias, self.strides, padding,
                                   self.dilation, self.groups, activation=self._fused,
                                   negative_slope=self.leaky_relu_slope, name=self.name)

    def get_config(self):
        return dict(filters=self.filters, kernel_size=list(self.kernel_size),
                    strides=self.strides, padding=self.padding, dilation=self.dilation,
                    data_format=self.data_format, **self._groups_config(),
                    **self._weight_config)

    def extra_repr(self):
        return (f"{getattr(self, 'in_channels', '?')} -> {self.filters}, kernel_size="
                f"{self.kernel_size}, strides={self.strides}, padding={self.padding!r}, "
                f"activation={self.activation!r}")


class Conv2DTranspose(Conv2D):
    """Transposed 2-D convolution (the adjoint of Conv2D, a learned upsampling): ``filters``
    output channels, weight (in_channels, filters, kh, kw) as torch's ConvTranspose2d, which it
    computes: each output side is (in - 1)*strides - 2*padding + dilation*(k - 1) +
    output_padding + 1. ``padding``: "valid" (0), an int or a pair — what is cut from each
    side of the full output, as torch's; ``output_padding``: rows/columns added at the
    bottom/right, below the stride. The activation runs after the op (none is fused into it).
    fusednn.keras.layers.Conv2DTranspose takes Keras's arguments ("same" padding included)."""

    named_paddings = ("valid",)  # and Keras's "same" on fusednn.keras's layer

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid", output_padding=0,
                 dilation=1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 data_format: str = "channels_first", name: str = None, groups: int = 1):
        if isinstance(padding, str) and padding not in self.named_paddings:
            raise ValueError(f"{type(self).__name__}: padding must be one of "
                             f"{list(self.named_paddings)}, an int or a pair, got {padding!r}")
        super().__init__(filters, kernel_size, strides, padding, dilation, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, data_format, name, groups)
        self.output_padding = output_padding
        if self._fused is not None:  # no kernel fuses it here: applied after the op
            self._fused, self._after = None, activation_by_name(self._fused,
                                                                self.leaky_relu_slope)

    def _kernel_shape(self, in_channels):
        return (in_channels, self.filters // self.groups) + self.kernel_size

    def _transpose_args(self, x):
        """(padding, output_padding, output size to crop to or None) for F.conv_transpose2d."""
        return (0 if self.padding == "valid" else self.padding), self.output_padding, None

    def _op_nchw(self, x, fused):  # fused: None (see __init__)
        padding, output_padding, size = self._transpose_args(x)
        y = F.conv_transpose2d(x, self._kernel(), self.bias, self.strides, padding,
                               output_padding, self.groups, self.dilation, name=self.name)
        if size is not None and tuple(y.shape[2:]) != size:
            y = y[:, :, :size[0], :size[1]]
        return y

    def forward_nchw_max_pooled(self, x):
        """No fused kernel for a transposed conv and a pool: the two, one after the other."""
        return F.max_pool2d(self.forward_nchw(x), 2)

    def get_config(self):
        return dict(super().get_config(), output_padding=self.output_padding)

class Conv1D(WeightedLayer):
    """1-D convolution over steps, ``filters`` output channels; weight (filters, in_channels,
    kernel_size) as torch's Conv1d. Inputs are (N, C, L) (``data_format="channels_first"``),
    or (N, L, C) — a sequence of feature vectors, Keras's layout — with
    ``data_format="channels_last"``. ``padding``: "valid", "same" (stride 1, odd kernel
    extent), "causal" (Keras's: padded before the sequence only) or an int. The activation is
    fused as in Conv2D."""

    def __init__(self, filters: int, kernel_size: int, strides: int = 1, padding="valid",
                 dilation: int = 1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 data_format: str = "channels_first", name: str = None, groups: int = 1):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, name)
        filters = _checks.positive_int("Conv1D: filters", filters)
        self.groups = _checks.positive_int("Conv1D: groups", groups)
        if filters % self.groups:
            raise ValueError(f"Conv1D: filters={filters} must divide into groups={self.groups}")
        if isinstance(kernel_size, (tuple, list)) and len(kernel_size) == 1:
            kernel_size = kernel_size[0]
        kernel_size = _checks.positive_int("Conv1D: kernel_size", kernel_size)
        self.filters, self.kernel_size = filters, kernel_size
        self.data_format = check_data_format(data_format, "Conv1D")
        self.strides, self.padding, self.dilation = strides, padding, dilation

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 3:
            raise ValueError(f"{self.name}: expects 3-D inputs ({self._layout()}), got shape "
                             f"{input_shape}")
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[2]
        self.in_channels = int(c)
        if self.in_channels % self.groups:
            raise ValueError(f"{self.name}: the input's {self.in_channels} channels must "
                             f"divide into groups={self.groups}")
        self._make_weights((self.filters, self.in_channels // self.groups, self.kernel_size),
                           self.filters)

    def _layout(self):
        return "N, C, L" if self.data_format == "channels_first" else "N, L, C"

    def _input_padding(self, x):
        """As Conv2D's: (the input the kernel reads, its padding). padding="causal" (Keras's)
        pads only before the sequence, dilation * (kernel_size - 1) steps: output step t
        sees inputs up to t."""
        if self.padding == "causal":
            d = self.dilation
            d = _checks.positive_int("Conv1D: dilation", d[0] if isinstance(d, (tuple, list))
                                     and len(d) == 1 else d)
            return F.pad(x, (d * (self.kernel_size - 1), 0)), 0
        return x, self.padding

    def _apply(self, x, fused, after):
        if x.ndim != 3:
            raise ValueError(f"{self.name}: expects 3-D inputs ({self._layout()}), got shape "
                             f"{x.shape}")
        if self.data_format == "channels_last":
            x = x.permute(0, 2, 1)
        x, padding = self._input_padding(x)
        y = F.conv1d(x, self.weight, self.bias, self.strides, padding, self.dilation,
                     self.groups, activation=fused,
                     negative_slope=self.leaky_relu_slope, name=self.name)
        if self.data_format == "channels_last":
            y = y.permute(0, 2, 1)
        if after is not None:  # on the last axis of the layer's own layout, as Keras
            y = after(y) if self.data_format == "channels_last" else \
                after(y.permute(0, 2, 1)).permute(0, 2, 1)
        return y

    def get_config(self):
        return dict(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                    padding=self.padding, dilation=self.dilation, data_format=self.data_format,
                    **({"groups": self.groups} if self.groups != 1 else {}),
                    **self._weight_config)

    def extra_repr(self):
        return (f"{getattr(self, 'in_channels', '?')} -> {self.filters}, kernel_size="
                f"{self.kernel_size}, strides={self.strides}, padding={self.padding!r}")
