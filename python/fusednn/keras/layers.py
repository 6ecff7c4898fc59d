"""Keras's layer names and arguments over fusednn's layers. Spatial layers default to the
global image data format (channels_last, as Keras); ``input_shape=`` / ``input_dim=`` on the
first layer, or an ``Input``, build the model at once. Weights read and written through
``get_weights`` / ``set_weights`` use Keras's layouts (Dense kernel (in, out), Conv2D kernel
(kh, kw, in, out))."""
from __future__ import annotations

import numpy as np

from .. import _checks, nn
from ..nn import initializers
from .._backend import to_host, xp_of
from ..autograd import Tensor
from ..autograd.tensor_ops import Einsum
from ..models.saving import register_layer
from ..nn.functional.resampling import linear_weights
from ..nn.layers.base import ActivityLoss
from ..nn.layers.noise import stream_uniforms
from . import config
from .attention import AdditiveAttention, Attention, MultiHeadAttention  # noqa: F401
from .conv_layers import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose,  # noqa: F401
                          DepthwiseConv2D, SeparableConv2D)
from .layer_base import LEAKY_RELU_SLOPE, pad_widths, same_padding  # noqa: F401
from .layer_base import KerasLayer as _KerasLayer
from .layer_base import set_arrays as _set
from .layer_base import to_pair as _to_pair
from .layer_base import output_sample_shape as _output_sample_shape
from .layer_base import refuse as _refuse


class KerasTensor:
    """A symbolic batch of Keras's functional API: an ``Input``, a layer called on another
    KerasTensor, or a merge layer (``Add``, ``Concatenate``...) called on a list of them.
    ``keras.Model(inputs, outputs)`` reads the graph of layers between them."""

    def __init__(self, root, layer=None, sources=(), merged=False, arguments=None):
        # what the layer took: one tensor, or a merge layer's list (``merged``), and the call's
        # keyword arguments (see graph_arguments)
        self.root, self.layer, self.sources, self.merged = root, layer, tuple(sources), merged
        self.arguments = dict(arguments or {})

    def apply_layer(self, layer, *more, **kwargs):
        if more and getattr(layer, "takes_several_tensors", False) and \
                all(isinstance(t, KerasTensor) for t in more):
            return self.merge_layer(layer, [self, *more], **kwargs)  # layer(query, value)
        if more:
            raise NotImplementedError(f"{layer.name}: the functional API here takes one input "
                                      f"per layer")
        out = KerasTensor(self.root, layer, (self,), arguments=graph_arguments(layer, kwargs))
        return _record_call(layer, self, out)

    def merge_layer(self, layer, tensors, *more, **kwargs):
        """``layer(tensors)`` for a list of KerasTensors (a merge layer's call)."""
        if more:
            raise NotImplementedError(f"{layer.name}: the functional API here takes the list "
                                      "of tensors alone")
        if any(not isinstance(t, KerasTensor) for t in tensors):
            raise TypeError(f"{layer.name}: a functional call takes a list of Keras tensors "
                            "(Input() or layer outputs)")
        out = KerasTensor(self.root, layer, tensors, merged=True,
                          arguments=graph_arguments(layer, kwargs))
        out.shape  # a merge of shapes it cannot take fails at the call, as Keras's does
        return _record_call(layer, list(tensors), out)

    @property
    def shape(self) -> tuple:
        """(None, ...): the batch axis unknown, the rest as the layer makes it of its sources'
        shapes (each found once, by a zero sample through this node's layer alone)."""
        if "_shape" not in self.__dict__:
            if self.layer is None:
                sample = tuple(self.keras_input_shape)
            else:
                given = [s.shape[1:] for s in self.sources]
                sample = _output_sample_shape(self.layer, given if self.merged else given[0])
            self._shape = (None,) + sample
        return self._shape


def graph_arguments(layer, kwargs) -> dict:
    """The keyword arguments a functional call may pass and a saved graph keeps: ``training``
    (a layer run in that mode, e.g. a frozen base model with training=False) and those the
    layer lists in ``graph_call_arguments`` (attention's ``use_causal_mask``), each a bool,
    number or string."""
    allowed = ("training",) + tuple(getattr(layer, "graph_call_arguments", ()))
    for key, value in kwargs.items():
        if key not in allowed:
            raise NotImplementedError(f"{layer.name}: the functional API here takes the call "
                                      f"argument(s) {list(allowed)}, not {key!r}")
        if not isinstance(value, (bool, int, float, str)) and value is not None:
            raise NotImplementedError(f"{layer.name}: call argument {key}={value!r} (only a "
                                      "bool, number or string is kept in a graph)")
    return {k: v for k, v in kwargs.items() if v is not None}


def _record_call(layer, inputs, output):
    """Note a functional call of ``layer`` (Keras's inbound node): ``layer.input`` and
    ``layer.output`` are those of its first."""
    layer.__dict__.setdefault("_keras_calls", []).append((inputs, output))
    return output


def forget_calls(layers, root) -> None:
    """Drop the functional calls of ``layers`` made from the Input ``root`` (a Sequential
    model's own symbolic chain, made again when the model is built again)."""
    for layer in layers:
        calls = layer.__dict__.get("_keras_calls")
        if calls:
            calls[:] = [c for c in calls if c[1].root is not root]


def graph_nodes(output) -> list:
    """The KerasTensors ``output`` (one, or a list) depends on, each once, every one after its
    sources: the root Input first, the (last) output last."""
    outputs = list(output) if isinstance(output, (list, tuple)) else [output]
    order, done, stack = [], set(), [(o, False) for o in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((s, False) for s in reversed(node.sources) if id(s) not in done)
    return order


def run_graph(nodes, feed, outputs=None):
    """The value of the last of ``nodes`` (graph_nodes' order) for ``feed`` — or the list of
    the values of ``outputs`` — with each Input's value in ``feed`` by its id (or the one
    value of a graph with one Input)."""
    values = {}
    for node in nodes:
        if node.layer is None:
            values[id(node)] = feed[id(node)] if isinstance(feed, dict) else feed
            continue
        args = [values[id(s)] for s in node.sources]
        values[id(node)] = node.layer(args if node.merged else args[0], **node.arguments)
    if outputs is not None:
        return [values[id(o)] for o in outputs]
    return values[id(nodes[-1])]


class Input(KerasTensor):
    """A placeholder giving the model's input shape (without the batch axis); the root of a
    functional model's chain."""

    def __init__(self, shape, batch_size=None, name=None, dtype=None):
        super().__init__(self)
        self.keras_input_shape, self.name = tuple(shape), name


InputLayer = Input


class Dense(nn.Dense, _KerasLayer):
    leaky_relu_slope = LEAKY_RELU_SLOPE
    keras_initializers, initializer_axes = True, (1, 0)  # Keras's kernel is (in, out)

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, activity_regularizer=None,
                 input_dim=None, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Dense")
        super().__init__(units, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, name=name)
        self._take_input_shape(input_shape, input_dim)
        self._take_keras_options(kernel_constraint, bias_constraint, activity_regularizer)

    def get_config(self):
        return self._keras_options_config(super().get_config())

    def get_weights(self):
        out = [self.weight.numpy().T.copy()]
        return out + ([self.bias.numpy().copy()] if self.bias is not None else [])

    def set_weights(self, weights):
        _set(self, [np.asarray(weights[0]).T] + list(weights[1:]))


class _Pooling(_KerasLayer):
    """Keras's pooling: ``padding="same"`` pads the input itself (TensorFlow's split, the odd
    element after), with -inf for max pooling; average pooling then divides by the number of
    input elements each window covers, not counting the padding, as Keras."""

    pad_value = 0.0

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, input_shape=None, **kwargs):
        where = type(self).__name__
        _refuse(kwargs, where)
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be 'valid' or 'same', got {padding!r}")
        super().__init__(_to_pair(pool_size, "pool_size", where),
                         None if strides is None else _to_pair(strides, "strides", where), 0,
                         config.standardize_data_format(data_format), name=name)
        self.keras_padding = padding
        self._take_input_shape(input_shape)

    def is_2x2(self) -> bool:  # the fused conv + pool takes no "same" padding
        return self.keras_padding == "valid" and super().is_2x2()

    def _window(self, x):
        if self.keras_padding == "valid":
            return x, 0, None
        sizes = x.shape[2:]
        pads = same_padding(sizes, self.pool_size, self.strides or self.pool_size)
        if not any(b or a for b, a in pads):
            return x, 0, None
        x = nn.functional.pad(x, pad_widths(pads), value=self.pad_value)
        return x, 0, self._finish(sizes, pads)

    def _finish(self, sizes, pads):
        return None

    def get_config(self):
        return dict(pool_size=list(self.pool_size), padding=self.keras_padding,
                    data_format=self.data_format,
                    strides=None if self.strides is None else list(self.strides), name=self.name)


class MaxPooling2D(_Pooling, nn.MaxPool2D):
    pad_value = float("-inf")


class AveragePooling2D(_Pooling, nn.AvgPool2D):
    def _finish(self, sizes, pads):
        """Rescale each window's mean over the padded input to its mean over the input
        alone: times window area / the input elements it covers."""
        strides = self.strides or self.pool_size
        covered = []
        for n, k, s, (before, _) in zip(sizes, self.pool_size, strides, pads):
            start = np.arange(-(-n // s)) * s - before
            covered.append(np.minimum(start + k, n) - np.maximum(start, 0))
        scale = (self.pool_size[0] * self.pool_size[1]
                 / np.outer(covered[0], covered[1])).astype(np.float32)
        return lambda y: y * scale


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D


class _ImageLayer(nn.Module, _KerasLayer):
    """A weightless layer on images in either layout: ``forward_nchw`` on NCHW (what a
    Sequential's channels-last chain calls), ``forward`` on the layer's own layout."""

    def __init__(self, data_format, input_shape, name):
        super().__init__(name)
        self.data_format = config.standardize_data_format(data_format)
        self._take_input_shape(input_shape)

    def forward(self, x):
        if self.data_format == "channels_last":
            return self.forward_nchw(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.forward_nchw(x)

    def forward_nchw(self, x):
        if x.ndim != 4:
            raise ValueError(f"{self.name}: expects 4-D inputs, got shape {x.shape}")
        return self._on_nchw(x)

    def _on_nchw(self, x):
        raise NotImplementedError


class ZeroPadding2D(_ImageLayer):
    """Zero rows and columns around each image: ``padding`` an int (every side), a pair
    (symmetric height, width padding) or ((top, bottom), (left, right)), as Keras."""

    def __init__(self, padding=(1, 1), data_format=None, input_shape=None, name=None,
                 **kwargs):
        _refuse(kwargs, "ZeroPadding2D")
        padding = _padding_pairs(padding)
        super().__init__(data_format, input_shape, name)
        self.padding = padding

    def _on_nchw(self, x):
        return nn.functional.pad(x, pad_widths(self.padding))

    def get_config(self):
        return dict(padding=[list(p) for p in self.padding], data_format=self.data_format,
                    name=self.name)


def _padding_pairs(padding, where="ZeroPadding2D", what="padding"):
    """ZeroPadding2D's ``padding`` (Cropping2D's ``cropping``) as ((top, bottom), (left,
    right))."""
    def width(v):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{where}: {what} widths must be integers >= 0, got {padding!r}")
        return int(v)

    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        return ((width(padding),) * 2,) * 2
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(isinstance(p, (tuple, list)) and len(p) == 2 for p in padding):
            return tuple((width(p[0]), width(p[1])) for p in padding)
        return tuple((width(p), width(p)) for p in padding)
    raise ValueError(f"{where}: {what} must be an int, a pair of ints or a pair of pairs, "
                     f"got {padding!r}")


class Reshape(nn.Module, _KerasLayer):
    """Each sample to ``target_shape`` (the batch axis kept; one entry may be -1)."""

    def __init__(self, target_shape, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Reshape")
        super().__init__(name)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1 or any(
                d < 1 and d != -1 for d in self.target_shape):
            raise ValueError(f"Reshape: target_shape must hold sizes >= 1 and at most one -1, "
                             f"got {target_shape!r}")
        self._take_input_shape(input_shape)

    def forward(self, x):
        sample = int(np.prod(x.shape[1:]))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        if (sample != known if -1 not in self.target_shape else known == 0 or sample % known):
            raise ValueError(f"{self.name}: samples of shape {x.shape[1:]} ({sample} values) "
                             f"cannot be reshaped to {self.target_shape}")
        return x.reshape(x.shape[0], *self.target_shape)

    def get_config(self):
        return dict(target_shape=list(self.target_shape), name=self.name)


class Permute(nn.Module, _KerasLayer):
    """The sample axes in the order ``dims`` (1-based, as Keras: the batch axis stays)."""

    def __init__(self, dims, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Permute")
        super().__init__(name)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, "
                             f"got {dims!r}")
        self._take_input_shape(input_shape)

    def forward(self, x):
        if x.ndim != len(self.dims) + 1:
            raise ValueError(f"{self.name}: dims {self.dims} need {len(self.dims) + 1}-D "
                             f"inputs, got shape {x.shape}")
        return x.permute(0, *self.dims)

    def get_config(self):
        return dict(dims=list(self.dims), name=self.name)


class Rescaling(nn.Module, _KerasLayer):
    """x * scale + offset (e.g. ``Rescaling(1 / 255)`` on pixel values)."""

    layout_free = True  # elementwise

    def __init__(self, scale, offset=0.0, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Rescaling")
        super().__init__(name)
        self.scale, self.offset = float(scale), float(offset)
        self._take_input_shape(input_shape)

    def forward(self, x):
        y = x * self.scale
        return y + self.offset if self.offset else y

    def get_config(self):
        return dict(scale=self.scale, offset=self.offset, name=self.name)


class Lambda(nn.Module, _KerasLayer):
    """Keras's Lambda: ``function(x, **arguments)`` on the layer's input, a fusednn Tensor
    (its arithmetic, ``exp``, ``log``, ``clip``, ``reshape``, ... are differentiable). A model
    holding one cannot be saved (a Python function is not kept in a file), as Keras refuses to
    load one by default."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None,
                 input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Lambda")
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        if mask is not None:
            raise NotImplementedError("Lambda: mask is not supported")
        super().__init__(name)
        self.function, self.arguments = function, dict(arguments or {})
        self._take_input_shape(input_shape)

    def forward(self, x):
        y = self.function(x, **self.arguments)  # x: a Tensor, or a list of them
        if not isinstance(y, Tensor):
            raise TypeError(f"{self.name}: the function must return a fusednn Tensor, got "
                            f"{type(y).__name__}")
        return y

    def get_config(self):
        raise TypeError(f"{self.name}: a Lambda layer (a Python function) cannot be saved; "
                        "save_weights keeps the weights")


class RepeatVector(nn.Module, _KerasLayer):
    """(N, F) -> (N, n, F): the vector repeated n times."""

    def __init__(self, n, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "RepeatVector")
        super().__init__(name)
        self.n = _checks.positive_int("RepeatVector: n", n)
        self._take_input_shape(input_shape)

    def forward(self, x):
        if x.ndim != 2:
            raise ValueError(f"{self.name}: expects 2-D inputs (N, F), got shape {x.shape}")
        return x.reshape(x.shape[0], 1, x.shape[1]) * np.ones((1, self.n, 1), x.dtype)

    def get_config(self):
        return dict(n=self.n, name=self.name)


class UpSampling2D(_ImageLayer):
    """Each image size[0] times taller and size[1] times wider: each pixel repeated
    ("nearest"), or interpolated between its neighbours ("bilinear": sample positions at
    pixel centers, the edges clamped — Keras's image resize, torch's
    ``interpolate(align_corners=False)``)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest",
                 input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "UpSampling2D")
        if interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"UpSampling2D: interpolation={interpolation!r} is not "
                                      "supported; 'nearest' or 'bilinear'")
        pair_size = _to_pair(size, "size", "UpSampling2D")
        if min(pair_size) < 1:
            raise ValueError(f"UpSampling2D: size must be >= 1, got {size!r}")
        super().__init__(data_format, input_shape, name)
        self.size, self.interpolation = pair_size, interpolation

    def _on_nchw(self, x):
        n, c, h, w = x.shape
        sh, sw = self.size
        if self.interpolation == "bilinear":
            rows, columns = (Tensor(linear_weights(size, size * scale, 1.0 / scale, False)
                                    .astype(x.dtype), device=x.device)
                             for size, scale in ((h, sh), (w, sw)))
            return Einsum.apply("oh,nchw,pw->ncop", rows, x, columns)
        tiles = np.ones((1, 1, 1, sh, 1, sw), x.dtype)
        return (x.reshape(n, c, h, 1, w, 1) * tiles).reshape(n, c, h * sh, w * sw)

    def get_config(self):
        return dict(size=list(self.size), data_format=self.data_format,
                    interpolation=self.interpolation, name=self.name)


class Cropping2D(_ImageLayer):
    """Rows and columns cut from each image's edges: ``cropping`` as ZeroPadding2D's
    ``padding``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, input_shape=None,
                 name=None, **kwargs):
        _refuse(kwargs, "Cropping2D")
        cropping = _padding_pairs(cropping, "Cropping2D", "cropping")
        super().__init__(data_format, input_shape, name)
        self.cropping = cropping

    def _on_nchw(self, x):
        (top, bottom), (left, right) = self.cropping
        h, w = x.shape[2:]
        if top + bottom >= h or left + right >= w:
            raise ValueError(f"{self.name}: cropping {self.cropping} leaves nothing of a "
                             f"{h}x{w} image")
        return x[:, :, top:h - bottom, left:w - right]

    def get_config(self):
        return dict(cropping=[list(p) for p in self.cropping], data_format=self.data_format,
                    name=self.name)


class _Pooling1D(nn.Module, _KerasLayer):
    """Keras's 1-D pooling over (N, steps, features) (channels_last) or (N, features, steps),
    through the 2-D kernels on one-row images; ``padding="same"`` as the 2-D layers'."""

    pool_cls = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 input_shape=None, name=None, **kwargs):
        where = type(self).__name__
        _refuse(kwargs, where)
        super().__init__(name)
        one = lambda v: v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v  # noqa: E731
        self.pool_size = _checks.positive_int(f"{where}: pool_size", one(pool_size))
        self.strides = None if strides is None else _checks.positive_int(f"{where}: strides",
                                                                         one(strides))
        self.padding = padding.lower() if isinstance(padding, str) else padding
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be 'valid' or 'same', got {padding!r}")
        self.data_format = config.standardize_data_format(data_format)
        self._pool = self.pool_cls((1, self.pool_size),
                                   None if strides is None else (1, self.strides), self.padding,
                                   "channels_first")
        self._take_input_shape(input_shape)

    def forward(self, x):
        if x.ndim != 3:
            raise ValueError(f"{self.name}: expects 3-D inputs, got shape {x.shape}")
        if self.data_format == "channels_last":
            x = x.permute(0, 2, 1)
        n, c, steps = x.shape
        y = self._pool(x.reshape(n, c, 1, steps))
        y = y.reshape(n, c, y.shape[3])
        return y.permute(0, 2, 1) if self.data_format == "channels_last" else y

    def get_config(self):
        return dict(pool_size=self.pool_size, strides=self.strides, padding=self.padding,
                    data_format=self.data_format, name=self.name)


class MaxPooling1D(_Pooling1D):
    pool_cls = MaxPooling2D


class AveragePooling1D(_Pooling1D):
    pool_cls = AveragePooling2D


MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D


class ReLU(nn.Module, _KerasLayer):
    """Keras's ReLU: x from ``threshold`` up (capped at ``max_value``), ``negative_slope`` *
    (x - threshold) below it."""

    layout_free = True  # elementwise

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, input_shape=None,
                 name=None, **kwargs):
        _refuse(kwargs, "ReLU")
        super().__init__(name)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value}")
        if negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)
        self._take_input_shape(input_shape)

    def forward(self, x):
        t = self.threshold
        if t == 0.0:
            y = (nn.functional.leaky_relu(x, self.negative_slope) if self.negative_slope
                 else nn.functional.relu(x))
        else:  # the part below t shifted; t added back where x reaches it (no gradient)
            y = nn.functional.leaky_relu(x - t, self.negative_slope) + (x.data >= t) * t
        return y if self.max_value is None else y.clip(float("-inf"), self.max_value)

    def get_config(self):
        return dict(max_value=self.max_value, negative_slope=self.negative_slope,
                    threshold=self.threshold, name=self.name)


class LeakyReLU(nn.LeakyReLU, _KerasLayer):
    """Keras's LeakyReLU: ``negative_slope`` 0.3 by default (Keras 2's ``alpha`` too)."""

    layout_free = True

    def __init__(self, negative_slope=0.3, input_shape=None, name=None, alpha=None, **kwargs):
        _refuse(kwargs, "LeakyReLU")
        super().__init__(negative_slope if alpha is None else alpha, name=name)
        self._take_input_shape(input_shape)


class Softmax(nn.Softmax, _KerasLayer):
    """Keras's Softmax over ``axis`` (the last by default)."""

    def __init__(self, axis=-1, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Softmax")
        super().__init__(axis, name=name)
        self._take_input_shape(input_shape)

    def get_config(self):
        return dict(axis=self.dim, name=self.name)


class Flatten(nn.Flatten, _KerasLayer):
    def __init__(self, data_format=None, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Flatten")
        super().__init__(config.standardize_data_format(data_format), name=name)
        self._take_input_shape(input_shape)


class Dropout(nn.Dropout, _KerasLayer):
    """Keras's Dropout; ``noise_shape`` (None for an input axis's own size) shares one draw
    along the axes where it is 1, e.g. ``(None, 1, 1, C)`` drops whole channels of images."""

    def __init__(self, rate, noise_shape=None, seed=None, input_shape=None, name=None):
        super().__init__(rate, name=name)
        if noise_shape is not None:
            noise_shape = tuple(noise_shape)
            if any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1)
                   for d in noise_shape):
                raise ValueError(f"Dropout: noise_shape must hold None or positive ints, got "
                                 f"{noise_shape}")
        self.noise_shape, self.seed = noise_shape, seed
        self._take_input_shape(input_shape)

    @property
    def layout_free(self) -> bool:
        """Element by element without a noise shape; with one, in the layer's own layout."""
        return self.noise_shape is None

    def forward(self, x):
        if self.noise_shape is None or not self.training or self.rate == 0.0:
            return super().forward(x)
        if len(self.noise_shape) != x.ndim or any(
                d is not None and d not in (1, n) for d, n in zip(self.noise_shape, x.shape)):
            raise ValueError(f"{self.name}: noise_shape {self.noise_shape} does not broadcast "
                             f"to the input's shape {x.shape}")
        shape = tuple(n if d is None else d for d, n in zip(self.noise_shape, x.shape))
        xp = xp_of(x.data)
        keep = (stream_uniforms(int(np.prod(shape)), xp) >= self.rate).reshape(shape)
        return x * Tensor((keep / (1.0 - self.rate)).astype(x.dtype), device=x.device)

    def get_config(self):
        config = super().get_config()
        if self.noise_shape is not None:
            config["noise_shape"] = list(self.noise_shape)
        return config


class GaussianNoise(nn.GaussianNoise, _KerasLayer):
    def __init__(self, stddev, seed=None, input_shape=None, name=None):
        super().__init__(stddev, name=name)
        self._take_input_shape(input_shape)


class GaussianDropout(nn.GaussianDropout, _KerasLayer):
    def __init__(self, rate, seed=None, input_shape=None, name=None):
        super().__init__(rate, name=name)
        self._take_input_shape(input_shape)


class SpatialDropout1D(nn.SpatialDropout1D, _KerasLayer):
    def __init__(self, rate, seed=None, input_shape=None, name=None):
        super().__init__(rate, name=name)
        self._take_input_shape(input_shape)


class SpatialDropout2D(nn.SpatialDropout2D, _KerasLayer):
    """Keras's: whole channels of images dropped, (N, H, W, C) by the global data format."""

    def __init__(self, rate, data_format=None, seed=None, input_shape=None, name=None):
        super().__init__(rate, name=name,
                         data_format=config.standardize_data_format(data_format))
        self._take_input_shape(input_shape)


class SpatialDropout3D(nn.SpatialDropout3D, _KerasLayer):
    def __init__(self, rate, data_format=None, seed=None, input_shape=None, name=None):
        super().__init__(rate, name=name,
                         data_format=config.standardize_data_format(data_format))
        self._take_input_shape(input_shape)


class Activation(nn.Activation, _KerasLayer):
    leaky_relu_slope = LEAKY_RELU_SLOPE

    def __init__(self, activation, input_shape=None, name=None):
        super().__init__(activation, name=name)
        self._take_input_shape(input_shape)


class BatchNormalization(nn.BatchNorm2D, _KerasLayer):
    """Normalizes the last axis (Keras's axis=-1): features of (N, F), channels of
    channels-last images. ``momentum`` is Keras's (moving = momentum * moving + (1 - momentum)
    * batch statistic), and the moving variance takes the batch's variance as it is (Keras's;
    torch's BatchNorm corrects it by n / (n - 1))."""

    unbiased = False

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "BatchNormalization")
        if axis not in (-1, 1, 3):
            raise NotImplementedError(f"BatchNormalization: axis={axis} is not supported")
        super().__init__(None, momentum=1.0 - momentum, eps=epsilon, affine=center or scale,
                         name=name,
                         data_format="channels_last" if axis in (-1, 3) else "channels_first")
        # Keras's momentum: the share the moving statistics keep (torch's is the batch's)
        self.momentum = float(momentum)
        self.axis, self.center, self.scale = axis, bool(center), bool(scale)
        self._take_input_shape(input_shape)

    def build(self, input_shape):
        c = input_shape[-1] if self.axis == -1 or len(input_shape) == 2 else input_shape[self.axis]
        super().build((None, c))
        # Keras's center / scale one at a time: the other is no weight at all (a 1 or a 0)
        if not self.scale:
            self.weight = None
        if not self.center:
            self.bias = None

    def forward(self, x):
        if x.ndim < 2 or (self.axis == 3 and x.ndim != 4):
            raise ValueError(f"{self.name}: axis={self.axis} does not fit an input of shape "
                             f"{x.shape}")
        return self._forward_layout(x)

    def forward_nchw(self, x):
        if self.trainable:
            return super().forward_nchw(x)
        mode = self.training  # frozen: inference mode, as Keras 3 runs a frozen one
        self.training = False
        try:
            return super().forward_nchw(x)
        finally:
            self.training = mode

    def _update_fraction(self) -> float:
        return 1.0 - self.momentum

    @property
    def epsilon(self) -> float:
        return self.eps

    def get_config(self):
        return dict(axis=self.axis, momentum=self.momentum, epsilon=self.eps,
                    center=self.center, scale=self.scale, name=self.name)

    # Keras's names of the weights and statistics
    gamma = property(lambda self: self.weight)
    beta = property(lambda self: self.bias)
    moving_mean = property(lambda self: Tensor._from_array(self.running_mean, None))
    moving_variance = property(lambda self: Tensor._from_array(self.running_var, None))

    def _trained(self):
        """Keras's order: gamma (when scaled), beta (when centered)."""
        return [p for p in (self.weight, self.bias) if p is not None]

    def get_weights(self):
        out = [p.numpy().copy() for p in self._trained()]
        return out + [to_host(self.running_mean).copy(), to_host(self.running_var).copy()]

    def set_weights(self, weights):
        """Keras's order: gamma (when scaled), beta (when centered), moving mean, moving
        variance; every array checked before any is written."""
        weights = [np.ascontiguousarray(w, np.float32) for w in weights]
        wanted = len(self._trained()) + 2
        if len(weights) != wanted:
            raise ValueError(f"{self.name}: expected {wanted} weight arrays, got {len(weights)}")
        shape = tuple(self.running_mean.shape)
        for w in weights:
            if tuple(w.shape) != shape:
                raise ValueError(f"{self.name}: weight of shape {w.shape} does not match "
                                 f"{shape}")
        _set(self, weights[:-2])
        for buffer, w in zip((self.running_mean, self.running_var), weights[-2:]):
            buffer[...] = xp_of(buffer).asarray(w)


class Embedding(nn.Embedding, _KerasLayer):
    """Keras's Embedding: U(-0.05, 0.05) initialization ("uniform"); ``mask_zero`` masks the
    steps holding 0 for the layers after it, and row 0 stays an ordinary trained row, as in
    Keras (fusednn.nn.Embedding makes it torch's zero padding row)."""

    keras_initializers, mask_zero_pads = True, False

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, mask_zero=False, input_length=None,
                 input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Embedding")
        super().__init__(input_dim, output_dim, mask_zero=mask_zero,
                         embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, name=name)
        self._take_input_shape(input_shape if input_length is None else (input_length,))

    def get_config(self):
        config = super().get_config()
        config.pop("padding_idx")
        return config

    @property
    def embeddings(self):
        """Keras's ``embeddings``: the (input_dim, output_dim) table."""
        return self.weight

    def get_weights(self):
        return [self.weight.numpy().copy()]

    def set_weights(self, weights):
        _set(self, list(weights))


class Masking(nn.Masking, _KerasLayer):
    def __init__(self, mask_value=0.0, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "Masking")
        super().__init__(mask_value, name=name)
        self._take_input_shape(input_shape)


class LayerNormalization(nn.LayerNormalization, _KerasLayer):
    """Keras's LayerNormalization; ``rms_scaling=True``: x * gamma / sqrt(variance + epsilon)
    (the variance over ``axis``; no centering, no beta — Keras 3's formula), ``center`` and
    ``scale`` ignored."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "LayerNormalization")
        rms = bool(rms_scaling)
        super().__init__(axis, epsilon, center and not rms, scale or rms, name=name)
        self.rms_scaling, self._given = rms, (center, scale)
        self._take_input_shape(input_shape)

    def forward(self, x):
        if not self.rms_scaling:
            return super().forward(x)
        axes = tuple(self._axes(x.ndim))
        if tuple(x.shape[a] for a in axes) != self.normalized_shape:
            raise ValueError(f"{self.name}: built for trailing shape {self.normalized_shape}, "
                             f"got input of shape {x.shape}")
        centered = x - x.mean(axis=axes, keepdims=True)
        variance = (centered * centered).mean(axis=axes, keepdims=True)
        return x * (1.0 / (variance + self.epsilon).sqrt()) * self.weight

    def get_config(self):
        config = super().get_config()
        config["center"], config["scale"] = self._given
        if self.rms_scaling:
            config["rms_scaling"] = True
        return config

    def get_weights(self):
        return [p.numpy().copy() for p in (self.weight, self.bias) if p is not None]

    def set_weights(self, weights):
        _set(self, list(weights))


class _GlobalPooling(_KerasLayer):
    def __init__(self, data_format=None, keepdims=False, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, type(self).__name__)
        super().__init__(config.standardize_data_format(data_format), keepdims, name=name)
        self._take_input_shape(input_shape)


class GlobalAveragePooling1D(_GlobalPooling, nn.GlobalAveragePooling1D):
    pass


class GlobalAveragePooling2D(_GlobalPooling, nn.GlobalAveragePooling2D):
    pass


class GlobalMaxPooling1D(_GlobalPooling, nn.GlobalMaxPooling1D):
    pass


class GlobalMaxPooling2D(_GlobalPooling, nn.GlobalMaxPooling2D):
    pass


class _KerasRecurrent(_KerasLayer):
    """Keras's weight layouts: kernel (features, G*units), recurrent_kernel (units, G*units)
    and the bias, gates in Keras's order (LSTM i, f, c, o as torch; GRU z, r, h where torch
    has r, z, n). Keras's biases too: one (G*units,) vector, ``bias_ih_l0``, except the
    reset-after GRU's (2, 3*units) input and recurrent pair — a second, redundant bias would
    train at twice Keras's rate."""

    keras_order = None  # torch gate index of each Keras gate, when they differ

    def _draw(self, features):
        """Keras's initializers, called with Keras's shapes (features, G*units), (units,
        G*units), (G*units,) and dtype, their gates put in torch's order."""
        kernel, recurrent, bias = (initializers.get(i) for i in self.initializers)
        g = self.gates * self.units
        return (self._to_torch(initializers.draw(kernel, (g, features), (1, 0), True)),
                self._to_torch(initializers.draw(recurrent, (g, self.units), (1, 0), True)),
                self._to_torch(initializers.draw(bias, (g,), None, True)))

    def _to_keras(self, w):
        """(G*units, ...) rows in torch's gate order to Keras's."""
        if self.keras_order is None:
            return w
        parts = np.split(w, self.gates, axis=0)
        return np.concatenate([parts[i] for i in self.keras_order], axis=0)

    def _to_torch(self, w):
        if self.keras_order is None:
            return w
        parts = np.split(w, self.gates, axis=0)
        back = np.argsort(self.keras_order)
        return np.concatenate([parts[i] for i in back], axis=0)

    def get_weights(self):
        out = [self._to_keras(self.weight_ih_l0.numpy()).T.copy(),
               self._to_keras(self.weight_hh_l0.numpy()).T.copy()]
        if not self.use_bias:
            return out
        b_ih = self._to_keras(self.bias_ih_l0.numpy())
        if self.bias_hh_l0 is not None:
            return out + [np.stack([b_ih, self._to_keras(self.bias_hh_l0.numpy())])]
        return out + [b_ih.copy()]

    def _recurrent_bias(self) -> bool:
        return getattr(self, "reset_after", False)

    def set_weights(self, weights):
        weights = [np.asarray(w, np.float32) for w in weights]
        wanted = 3 if self.use_bias else 2
        if len(weights) != wanted:
            raise ValueError(f"{self.name}: expected {wanted} weight arrays, got {len(weights)}")
        arrays = [self._to_torch(weights[0].T), self._to_torch(weights[1].T)]
        if self.use_bias:
            b, size = weights[2], self.gates * self.units
            wanted = (2, size) if self.bias_hh_l0 is not None else (size,)
            if b.shape != wanted:
                raise ValueError(f"{self.name}: the bias must be {wanted}, got {b.shape}")
            arrays += [self._to_torch(part) for part in (b if b.ndim == 2 else [b])]
        params = self._weights()
        for p, a in zip(params, arrays):
            if tuple(a.shape) != tuple(p.shape):
                raise ValueError(f"{self.name}: a weight of shape {a.shape} (torch's layout) "
                                 f"does not match {tuple(p.shape)}")
        for p, a in zip(params, arrays):
            p.data[...] = a


class SimpleRNN(_KerasRecurrent, nn.SimpleRNN):
    def __init__(self, units, *args, input_shape=None, **kwargs):
        nn.SimpleRNN.__init__(self, units, *args, **kwargs)
        self._take_input_shape(input_shape)


class LSTM(_KerasRecurrent, nn.LSTM):
    def __init__(self, units, *args, input_shape=None, **kwargs):
        nn.LSTM.__init__(self, units, *args, **kwargs)
        self._take_input_shape(input_shape)


class GRU(_KerasRecurrent, nn.GRU):
    keras_order = (1, 0, 2)  # Keras z, r, h = torch's gates 1, 0, 2

    def __init__(self, units, *args, input_shape=None, **kwargs):
        nn.GRU.__init__(self, units, *args, **kwargs)
        self._take_input_shape(input_shape)


class Bidirectional(nn.Bidirectional, _KerasLayer):
    def __init__(self, layer, merge_mode="concat", backward_layer=None, input_shape=None,
                 name=None, **kwargs):
        _refuse(kwargs, "Bidirectional")
        super().__init__(layer, merge_mode, backward_layer, name=name)
        self._take_input_shape(input_shape if input_shape is not None
                               else getattr(self.forward_layer, "keras_input_shape", None))

    @staticmethod
    def _layer_class(saved_name):
        return globals()[saved_name.split(".")[-1]]

    def get_weights(self):
        return self.forward_layer.get_weights() + self.backward_layer.get_weights()

    def set_weights(self, weights):
        n = len(self.forward_layer.get_weights())
        self.forward_layer.set_weights(weights[:n])
        self.backward_layer.set_weights(weights[n:])


class TimeDistributed(nn.Module, _KerasLayer):
    """``layer`` on every time step: (N, T, *sample) -> (N, T, *output), one call of the
    layer over the N * T samples (so its weights are shared across the steps, as Keras's)."""

    def __init__(self, layer, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "TimeDistributed")
        if isinstance(layer, dict):  # a saved model's config: {"class": ..., "config": ...}
            from ..models.saving import LAYERS

            layer = LAYERS[layer["class"]](**layer["config"])
        if not isinstance(layer, nn.Module):
            raise TypeError(f"TimeDistributed: layer must be a layer, got {type(layer).__name__}")
        super().__init__(name)
        self.layer = layer
        self._take_input_shape(input_shape)

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 3:
            raise ValueError(f"{self.name}: expects (N, T, ...) inputs, got shape {input_shape}")
        if not self.layer.built:
            self.layer.build((None,) + tuple(input_shape[2:]))
            self.layer.built = True

    def forward(self, x):
        if x.ndim < 3:
            raise ValueError(f"{self.name}: expects (N, T, ...) inputs, got shape {x.shape}")
        n, t = x.shape[:2]
        y = self.layer(x.reshape(n * t, *x.shape[2:]))
        return y.reshape(n, t, *y.shape[1:])

    def get_config(self):
        return dict(layer={"class": type(self.layer).__dict__.get("_saved_name",
                                                                  type(self.layer).__name__),
                           "config": self.layer.get_config()}, name=self.name)

    def get_weights(self):
        return self.layer.get_weights()

    def set_weights(self, weights):
        self.layer.set_weights(weights)


class ActivityRegularization(ActivityLoss, nn.Module, _KerasLayer):
    """Keras's: passes its input on, and adds l1 * sum(|x|) + l2 * sum(x^2) of it to the loss
    of the batch (fit trains on it, evaluate reports it)."""

    def __init__(self, l1=0.0, l2=0.0, input_shape=None, name=None, **kwargs):
        _refuse(kwargs, "ActivityRegularization")
        super().__init__(name)
        self.l1, self.l2 = float(l1), float(l2)
        self.activity_regularizer = nn.L1L2(self.l1, self.l2)
        self._take_input_shape(input_shape)
        self.built = True

    def forward(self, x):
        return self._record_activity(x)

    def get_config(self):
        return dict(l1=self.l1, l2=self.l2, name=self.name)

GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D

for _cls in (Dense, Conv1D, Conv2D, Conv2DTranspose, ActivityRegularization, MaxPooling2D,
             AveragePooling2D,
             ZeroPadding2D, Flatten, Reshape, Permute, Rescaling, RepeatVector, UpSampling2D,
             Cropping2D, MaxPooling1D,
             AveragePooling1D, ReLU, LeakyReLU, Softmax, Dropout, GaussianNoise, GaussianDropout,
             SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, Activation,
             BatchNormalization, Embedding, Masking, LayerNormalization, GlobalAveragePooling1D,
             GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, SimpleRNN, LSTM, GRU,
             Bidirectional, TimeDistributed):
    register_layer(_cls, "keras." + _cls.__name__)



# the layers built on KerasLayer in modules of their own
from .custom_layers import Layer  # noqa: E402,F401
from .preprocessing_layers import (CenterCrop, Normalization, RandomFlip,  # noqa: E402
                                   Resizing)
from .simple_layers import (ELU, Cropping1D, Identity, PReLU, UpSampling1D,  # noqa: E402
                            ZeroPadding1D)

from .normalization_layers import GroupNormalization, UnitNormalization  # noqa: E402

for _cls in (Normalization, RandomFlip, Resizing, CenterCrop, ELU, Cropping1D, Identity, PReLU,
             UpSampling1D, ZeroPadding1D, GroupNormalization, UnitNormalization):
    register_layer(_cls, "keras." + _cls.__name__)
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum,  # noqa: E402,F401
                      Multiply, Subtract, add, average, concatenate, dot, maximum, minimum,
                      multiply, subtract)

for _cls in (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract):
    register_layer(_cls, "keras." + _cls.__name__)
for _cls in (Conv1DTranspose, DepthwiseConv2D, SeparableConv2D, MultiHeadAttention, Attention,
             AdditiveAttention):
    register_layer(_cls, "keras." + _cls.__name__)
