"""Keras's convolution layers over fusednn's: Conv1D, Conv2D (with ``groups``),
Conv2DTranspose, Conv1DTranspose, DepthwiseConv2D and SeparableConv2D — Keras's arguments,
"same" padding as Keras pads it, and kernels in Keras's layouts through get_weights /
set_weights."""
from __future__ import annotations

import numpy as np

from .. import _checks, nn
from . import config
from .layer_base import LEAKY_RELU_SLOPE, pad_widths, same_padding
from .layer_base import KerasLayer as _KerasLayer
from .layer_base import refuse as _refuse
from .layer_base import set_arrays as _set
from .layer_base import to_pair as _to_pair


class _KerasConv(_KerasLayer):
    """What Keras's convolutions share: ``dilation_rate`` in the config, and the kernel in
    Keras's layout through get_weights / set_weights (``keras_axes``: fusednn's kernel axes in
    Keras's order)."""

    keras_axes = None
    leaky_relu_slope = LEAKY_RELU_SLOPE
    keras_initializers = True

    @property
    def initializer_axes(self):
        return self.keras_axes

    @property
    def dilation_rate(self):
        """Keras's name of the dilation."""
        return self.dilation

    def _input_padding(self, x):
        """padding="same" as Keras: symmetric padding goes to the kernel; the odd element an
        uneven split (a stride above 1, an even kernel) puts after is padded here."""
        if self.padding != "same":
            return super()._input_padding(x)
        one = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,)  # noqa: E731
        pads = same_padding(x.shape[2:], one(self.kernel_size), one(self.strides),
                            one(self.dilation))
        extra = [(0, after - before) for before, after in pads]
        if any(e for _, e in extra):
            x = nn.functional.pad(x, pad_widths(extra))
        before = tuple(b for b, _ in pads)
        return x, before if len(before) > 1 else before[0]

    def get_config(self):
        config = super().get_config()
        config["dilation_rate"] = config.pop("dilation")
        return self._keras_options_config(config)

    def get_weights(self):
        out = [self.weight.numpy().transpose(self.keras_axes).copy()]
        return out + ([self.bias.numpy().copy()] if self.bias is not None else [])

    def set_weights(self, weights):
        back = tuple(np.argsort(self.keras_axes))
        _set(self, [np.asarray(weights[0]).transpose(back)] + list(weights[1:]))


class Conv2D(_KerasConv, nn.Conv2D):
    keras_axes = (2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, activity_regularizer=None, input_shape=None, name=None,
                 **kwargs):
        _refuse(kwargs, "Conv2D")
        super().__init__(filters, _to_pair(kernel_size, "kernel_size", "Conv2D"),
                         _to_pair(strides, "strides", "Conv2D"), padding.lower()
                         if isinstance(padding, str) else padding,
                         _to_pair(dilation_rate, "dilation_rate", "Conv2D"), activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, data_format=config.standardize_data_format(data_format),
                         name=name, groups=groups)
        self._take_input_shape(input_shape)
        self._take_keras_options(kernel_constraint, bias_constraint, activity_regularizer)



class Conv2DTranspose(_KerasConv, nn.Conv2DTranspose):
    """Keras's Conv2DTranspose, kernel (kh, kw, filters, in_channels) in get_weights /
    set_weights. Each output side is Keras's: in*strides for "same", in*strides +
    max(k - strides, 0) for "valid", (in - 1)*strides + k - 2*pad + output_padding when
    ``output_padding`` is given (pad k//2 for "same", k the dilated extent). The op is the
    adjoint of the Conv2D with that padding and those strides, aligned as TensorFlow's (the
    row or column an uneven "same" split puts after is the one cut): Keras's torch backend
    aligns such outputs one row and column differently (it warns of it); fusednn gives
    TensorFlow's and JAX's numbers."""

    keras_axes = (2, 3, 1, 0)  # (in, out, kh, kw) -> (kh, kw, out, in)
    named_paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, activity_regularizer=None, input_shape=None, name=None,
                 **kwargs):
        _refuse(kwargs, "Conv2DTranspose")
        if output_padding is not None:
            output_padding = _to_pair(output_padding, "output_padding", "Conv2DTranspose")
        super().__init__(filters, _to_pair(kernel_size, "kernel_size", "Conv2DTranspose"),
                         _to_pair(strides, "strides", "Conv2DTranspose"),
                         padding.lower() if isinstance(padding, str) else padding,
                         output_padding, _to_pair(dilation_rate, "dilation_rate",
                                                  "Conv2DTranspose"),
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer,
                         data_format=config.standardize_data_format(data_format), name=name)
        self._take_input_shape(input_shape)
        self._take_keras_options(kernel_constraint, bias_constraint, activity_regularizer)

    def _transpose_args(self, x):
        if not isinstance(self.padding, str):
            return super()._transpose_args(x)
        pads, extras, sizes = [], [], []
        for axis in range(2):
            pad, extra, size = _transpose_side(
                x.shape[2 + axis], self.kernel_size[axis], self.strides[axis],
                self.dilation[axis], self.padding,
                None if self.output_padding is None else self.output_padding[axis], self.name)
            pads.append(pad)
            extras.append(extra)
            sizes.append(size)
        return tuple(pads), tuple(extras), tuple(sizes)

    def get_config(self):
        config = super().get_config()
        if config["output_padding"] is not None:
            config["output_padding"] = list(config["output_padding"])
        return config


def _transpose_side(n, k, stride, dilation, padding, output_padding, where):
    """(symmetric padding, output padding, Keras's output size) for conv_transpose2d along one
    side of n inputs: Keras's size, computed by a transposed conv whose padding is the
    smaller part of the Conv2D's "same" split (that conv's size then exceeds Keras's by the
    odd row after, which the layer cuts)."""
    extent = (k - 1) * dilation + 1
    if output_padding is None:
        size = n * stride + max(extent - stride, 0) if padding == "valid" else n * stride
    else:
        if output_padding >= stride:
            raise ValueError(f"{where}: output_padding {output_padding} must be smaller than "
                             f"the strides {stride}")
        pad = extent // 2 if padding == "same" else 0
        size = (n - 1) * stride + extent - 2 * pad + output_padding
    # the Conv2D from `size` back to n: its padding (before, after) and output size
    if padding == "valid":
        before = after = 0
        back = (size - extent) // stride + 1 if size >= extent else 0
    else:
        (before, after), = same_padding((size,), (k,), (stride,), (dilation,))
        back = -(-size // stride)
    if size < 1 or back != n:
        raise ValueError(f"{where}: output_padding {output_padding} gives an output of {size} "
                         f"for {n} inputs, which a {padding!r} Conv2D with strides {stride} "
                         f"does not take back to {n}")
    full = size + after - before
    return before, full - ((n - 1) * stride - 2 * before + extent), size


class Conv1DTranspose(Conv2DTranspose):
    """Keras's Conv1DTranspose over (N, steps, channels) (channels_last) or (N, channels,
    steps): Conv2DTranspose on a height-1 image, Keras's output lengths ("valid", "same",
    ``output_padding``). Its kernel (k, filters, in_channels) in get_weights / set_weights is
    kept as (in_channels, filters, k)."""

    keras_axes = (2, 1, 0)  # (in, out, k) -> (k, out, in)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, activity_regularizer=None, input_shape=None, name=None,
                 **kwargs):
        _refuse(kwargs, "Conv1DTranspose")
        one = lambda v, what: _checks.positive_int(  # noqa: E731
            f"Conv1DTranspose: {what}", v[0] if isinstance(v, (tuple, list)) and len(v) == 1
            else v)
        if output_padding is not None:
            padded = output_padding[0] if isinstance(output_padding, (tuple, list)) and \
                len(output_padding) == 1 else output_padding
            if isinstance(padded, bool) or not isinstance(padded, int) or padded < 0:
                raise ValueError(f"Conv1DTranspose: output_padding must be an int >= 0, got "
                                 f"{output_padding!r}")
            output_padding = (0, padded)
        super().__init__(filters, (1, one(kernel_size, "kernel_size")),
                         (1, one(strides, "strides")), padding, output_padding, data_format,
                         (1, one(dilation_rate, "dilation_rate")), activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, kernel_constraint, bias_constraint,
                         activity_regularizer, input_shape, name)

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 3:
            raise ValueError(f"{self.name}: expects 3-D inputs ({self._layout()}), got shape "
                             f"{input_shape}")
        c = input_shape[2] if self.data_format == "channels_last" else input_shape[1]
        self.in_channels = int(c)
        self._make_weights((self.in_channels, self.filters, self.kernel_size[1]), self.filters)

    def _layout(self):
        return "N, L, C" if self.data_format == "channels_last" else "N, C, L"

    def _kernel(self):
        return self.weight.reshape(self.in_channels, self.filters, 1, self.kernel_size[1])

    def _apply(self, x, fused, after):
        if x.ndim != 3:
            raise ValueError(f"{self.name}: expects 3-D inputs ({self._layout()}), got shape "
                             f"{x.shape}")
        image = x.reshape(x.shape[0], 1, *x.shape[1:]) if self.data_format == "channels_last" \
            else x.reshape(*x.shape[:2], 1, x.shape[2])
        y = super()._apply(image, fused, after)
        return y.reshape(y.shape[0], *y.shape[2:]) if self.data_format == "channels_last" \
            else y.reshape(*y.shape[:2], y.shape[3])

    def get_config(self):
        config = super().get_config()
        for key in ("kernel_size", "strides", "dilation_rate"):
            config[key] = config[key][1]
        if config["output_padding"] is not None:
            config["output_padding"] = config["output_padding"][1]
        return config


class Conv1D(_KerasConv, nn.Conv1D):
    """Keras's Conv1D over (N, steps, channels) (channels_last); kernel (k, in, out) through
    get_weights / set_weights."""

    keras_axes = (2, 1, 0)  # (out, in, k) -> (k, in, out)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, activity_regularizer=None, input_shape=None, name=None,
                 **kwargs):
        _refuse(kwargs, "Conv1D")
        one = lambda v: v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v  # noqa: E731
        padding = padding.lower() if isinstance(padding, str) else padding
        super().__init__(filters, one(kernel_size), one(strides), padding, one(dilation_rate),
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer,
                         data_format=config.standardize_data_format(data_format), name=name,
                         groups=groups)
        self._take_input_shape(input_shape)
        self._take_keras_options(kernel_constraint, bias_constraint, activity_regularizer)


# Keras's argument names for the depthwise kernel, and the Conv2D ones they stand for
_RENAMED = {"kernel_initializer": "depthwise_initializer",
            "kernel_regularizer": "depthwise_regularizer",
            "kernel_constraint": "depthwise_constraint"}


class DepthwiseConv2D(Conv2D):
    """Keras's DepthwiseConv2D: every input channel convolved with its own
    ``depth_multiplier`` filters — a grouped Conv2D with one group per channel (output
    channel c * depth_multiplier + m, as Keras orders them). The weight is kept as
    (in_channels, depth_multiplier, kh, kw), so Keras's kernel (kh, kw, in_channels,
    depth_multiplier) is a transposition of it: its initializers see Keras's fans and its
    constraints Keras's axes."""

    keras_axes = (2, 3, 0, 1)  # (in, multiplier, kh, kw) -> (kh, kw, in, multiplier)

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, input_shape=None, name=None,
                 **kwargs):
        _refuse(kwargs, "DepthwiseConv2D")
        multiplier = _checks.positive_int("DepthwiseConv2D: depth_multiplier", depth_multiplier)
        super().__init__(multiplier, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         kernel_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint,
                         activity_regularizer=activity_regularizer, input_shape=input_shape,
                         name=name)
        self.depth_multiplier = multiplier

    def build(self, input_shape):
        if input_shape is not None and len(input_shape) == 4:
            c = int(input_shape[1] if self.data_format == "channels_first" else input_shape[3])
            # one group per input channel, depth_multiplier filters each
            self.filters, self.groups = c * self.depth_multiplier, c
        super().build(input_shape)

    def _kernel_shape(self, in_channels):
        return (in_channels, self.depth_multiplier) + self.kernel_size

    def _kernel(self):
        return self.weight.reshape(self.filters, 1, *self.kernel_size)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            config.pop(key, None)
        for ours, keras_name in _RENAMED.items():
            if ours in config:
                config[keras_name] = config.pop(ours)
        config["depth_multiplier"] = self.depth_multiplier
        return config


class SeparableConv2D(nn.Module, _KerasLayer):
    """Keras's SeparableConv2D: a DepthwiseConv2D (its strides, padding and dilation; no bias)
    then a 1x1 Conv2D to ``filters`` channels with the bias and the activation. Weights, in
    Keras's order: the depthwise kernel (kh, kw, in, depth_multiplier), the pointwise kernel
    (1, 1, in * depth_multiplier, filters), the bias."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "SeparableConv2D")
        super().__init__(name)
        self._config = dict(
            filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate,
            depth_multiplier=depth_multiplier, activation=activation, use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint)
        self.depthwise = DepthwiseConv2D(
            kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate,
            use_bias=False, depthwise_initializer=depthwise_initializer,
            depthwise_regularizer=depthwise_regularizer,
            depthwise_constraint=depthwise_constraint, name=f"{self.name}_depthwise")
        self.pointwise = Conv2D(
            filters, 1, data_format=data_format, activation=activation, use_bias=use_bias,
            kernel_initializer=pointwise_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=pointwise_constraint, bias_constraint=bias_constraint,
            activity_regularizer=activity_regularizer, name=f"{self.name}_pointwise")
        self.data_format = self.depthwise.data_format
        self._take_input_shape(input_shape)

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 4:
            raise ValueError(f"{self.name}: expects 4-D inputs, got shape {input_shape}")

    def forward(self, x):
        return self.pointwise(self.depthwise(x))

    @property
    def depthwise_kernel(self):
        return self.depthwise.kernel

    @property
    def pointwise_kernel(self):
        return self.pointwise.kernel

    @property
    def bias(self):
        return self.pointwise.bias

    def get_config(self):
        config = dict(self._config, name=self.name)
        for key in ("kernel_size", "strides", "dilation_rate"):
            if isinstance(config[key], tuple):
                config[key] = list(config[key])
        return config

    def get_weights(self):
        return self.depthwise.get_weights() + self.pointwise.get_weights()

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) != 3 - (not self.pointwise.use_bias):
            raise ValueError(f"{self.name}: expected {3 - (not self.pointwise.use_bias)} weight "
                             f"arrays, got {len(weights)}")
        self.depthwise.set_weights(weights[:1])
        self.pointwise.set_weights(weights[1:])
