"""Keras's preprocessing layers: ``Normalization``, which learns from the data before
training (``adapt`` the mean and variance, or give them); ``RandomFlip``, an image
augmentation active in training; ``Resizing`` and ``CenterCrop``."""
from __future__ import annotations

import numpy as np

from .. import _checks, nn
from .._backend import to_host, xp_of
from ..autograd import Tensor
from ..autograd.tensor_ops import Where
from ..nn.functional.resampling import interpolate
from ..nn.layers.noise import stream_uniforms
from . import config
from .layer_base import KerasLayer, refuse

EPSILON = 1e-7  # Keras's backend.epsilon(): the smallest standard deviation divided by


class Normalization(nn.Module, KerasLayer):
    """(x - mean) / max(sqrt(variance), 1e-7) per position of ``axis`` (the last by default;
    None: one mean and variance for everything), or with ``invert=True`` back again. The
    statistics come from ``mean``/``variance`` given here, or from ``adapt(data)``: an array
    (its mean and population variance over the other axes) or an iterable of batches
    (combined batch by batch, as Keras combines them). Adapted statistics are the layer's
    weights — mean, variance and count, Keras's order — saved with the model."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, input_shape=None,
                 name=None, **kwargs):
        refuse(kwargs, "Normalization")
        super().__init__(name)
        self.axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"When setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean} and variance={variance}")
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise ValueError(f"When setting values directly, `mean` and `variance` must have "
                             f"the same shape. Received: mean shape {np.shape(mean)} and "
                             f"variance shape {np.shape(variance)}")
        if mean is not None and np.ndim(mean) > len(self.axis):
            raise ValueError(f"The rank of `mean` must be less than or equal to the number of "
                             f"axes ({len(self.axis)}). Received: mean shape {np.shape(mean)} "
                             f"for axis {self.axis}")
        self.input_mean, self.input_variance, self.invert = mean, variance, bool(invert)
        self._take_input_shape(input_shape)

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self.axis}")
        keep = sorted(a % ndim for a in self.axis)
        if any(input_shape[a] is None for a in keep):
            raise ValueError(f"All `axis` values to be kept must have a known shape, got "
                             f"input shape {input_shape} for axis={self.axis}")
        self._keep = tuple(keep)
        self._reduce = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast = tuple(int(input_shape[d]) if d in keep else 1 for d in range(ndim))
        self._stats_shape = tuple(int(input_shape[d]) for d in keep)
        self._built_shape = tuple(input_shape)
        if self.input_mean is None:
            self.register_buffer("adapt_mean", np.zeros(self._stats_shape, np.float32))
            self.register_buffer("adapt_variance", np.ones(self._stats_shape, np.float32))
            self.register_buffer("count", np.zeros((), np.int64))
        self.built = True

    def _given(self, values):
        """A given mean or variance broadcast to the input's rank (trailing kept axes)."""
        values = np.asarray(values, np.float32)
        expanded = [1] * len(self._broadcast)
        for i in range(1, values.ndim + 1):
            expanded[self._keep[-i]] = values.shape[-i]
        return np.broadcast_to(values.reshape(expanded), self._broadcast)

    def _statistics(self):
        if self.input_mean is not None:
            return self._given(self.input_mean), self._given(self.input_variance)
        return (to_host(self.adapt_mean).reshape(self._broadcast),
                to_host(self.adapt_variance).reshape(self._broadcast))

    def adapt(self, data):
        """The mean and variance of ``data``: an array, or an iterable of batches (arrays, or
        (x, ...) tuples whose first element is taken)."""
        if self.input_mean is not None:
            raise ValueError(f"{self.name}: mean and variance were given; adapt() has nothing "
                             "to learn")
        if isinstance(data, (np.ndarray, Tensor)) or hasattr(data, "__array__"):
            batches, whole = None, np.asarray(data.numpy() if isinstance(data, Tensor) else data,
                                              np.float64)
            shape = whole.shape
        elif hasattr(data, "__iter__"):
            batches = iter(data)
            first = next(batches, None)
            if first is None:
                raise ValueError("adapt() received an empty iterable (no batches)")
            first = np.asarray(first[0] if isinstance(first, tuple) else first, np.float64)
            shape, whole = first.shape, None
            batches = [first] + [np.asarray(b[0] if isinstance(b, tuple) else b, np.float64)
                                 for b in batches]
        else:
            raise TypeError(f"Unsupported data type: {type(data).__name__}; adapt() takes an "
                            "array or an iterable of batches")
        if not self.built:
            self.build(shape)
        elif any(shape[d] != self._built_shape[d] for d in self._keep):
            raise ValueError(f"The layer was built with input_shape={self._built_shape}, but "
                             f"adapt() is being called with data of shape {shape}")
        if whole is not None:
            mean, var = whole.mean(axis=self._reduce), whole.var(axis=self._reduce)
        else:
            mean, var, count = np.zeros(self._stats_shape), np.zeros(self._stats_shape), 0
            for batch in batches:
                if any(batch.shape[d] != self._built_shape[d] for d in self._keep):
                    raise ValueError(f"adapt() yielded a batch of shape {batch.shape}; expected "
                                     f"{self._built_shape}")
                n = int(np.prod([batch.shape[d] for d in self._reduce])) if self._reduce else 1
                count += n
                w = n / count
                b_mean, b_var = batch.mean(axis=self._reduce), batch.var(axis=self._reduce)
                new = mean * (1 - w) + b_mean * w
                var = (var + (mean - new) ** 2) * (1 - w) + (b_var + (b_mean - new) ** 2) * w
                mean = new
        self.adapt_mean[...] = mean
        self.adapt_variance[...] = var

    def forward(self, x):
        if not self.built:
            raise ValueError("You must call `.build(input_shape)` on the layer before using it.")
        mean, var = self._statistics()
        scale = np.maximum(np.sqrt(var), EPSILON).astype(np.float32)
        device = x.device
        if self.invert:
            return x * Tensor(scale, device=device) + Tensor(mean.astype(np.float32),
                                                             device=device)
        return (x - Tensor(mean.astype(np.float32), device=device)) * Tensor(
            (1.0 / scale).astype(np.float32), device=device)

    def get_weights(self):
        if self.input_mean is not None or not self.built:
            return []
        return [to_host(self.adapt_mean).copy(), to_host(self.adapt_variance).copy(),
                to_host(self.count).copy()]

    def set_weights(self, weights):
        mine = self.get_weights()
        if len(weights) != len(mine):
            raise ValueError(f"{self.name}: expected {len(mine)} weight arrays, got "
                             f"{len(weights)}")
        for have, given in zip(mine, weights):
            if np.shape(given) != have.shape:
                raise ValueError(f"{self.name}: weight of shape {np.shape(given)} does not "
                                 f"match {have.shape}")
        if mine:
            self.adapt_mean[...] = weights[0]
            self.adapt_variance[...] = weights[1]
            self.count[...] = weights[2]

    def get_config(self):
        as_list = lambda v: None if v is None else np.asarray(v).tolist()  # noqa: E731
        return dict(axis=list(self.axis) if len(self.axis) != 1 else self.axis[0],
                    mean=as_list(self.input_mean), variance=as_list(self.input_variance),
                    invert=self.invert, name=self.name)


_FLIPS = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(nn.Module, KerasLayer):
    """Keras's RandomFlip: in training, each image flipped left-right ("horizontal"),
    top-bottom ("vertical") or both ("horizontal_and_vertical": one draw decides both, as
    Keras 3 draws it) with probability 1/2, from the seeded dropout stream (``fusednn.seed``);
    the identity in inference. Images (N, H, W, C) or one (H, W, C) in the data format."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None,
                 input_shape=None, name=None, **kwargs):
        refuse(kwargs, "RandomFlip")
        super().__init__(name)
        if mode not in _FLIPS:
            raise ValueError(f"RandomFlip layer {name or ''} received an unknown mode="
                             f"{mode!r}; expected one of {_FLIPS}")
        self.mode, self.seed = mode, seed
        self.data_format = config.standardize_data_format(data_format)
        self._take_input_shape(input_shape)
        self.built = True

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"{self.name}: expects images (N, H, W, C) or one (H, W, C) in "
                             f"{self.data_format}, got shape {x.shape}")
        if not self.training:
            return x
        batched = x if x.ndim == 4 else x.reshape(1, *x.shape)
        xp = xp_of(batched.data)
        flips = stream_uniforms(batched.shape[0], xp) <= 0.5
        chosen = xp.asarray(flips.reshape(-1, 1, 1, 1))
        height, width = (1, 2) if self.data_format == "channels_last" else (2, 3)
        out = batched
        every = [slice(None)] * 4
        for axis, kind in ((width, "horizontal"), (height, "vertical")):
            if kind in self.mode:
                reverse = list(every)
                reverse[axis] = slice(None, None, -1)
                out = Where.apply(chosen, out[tuple(reverse)], out)
        return out if x.ndim == 4 else out.reshape(*x.shape)

    def get_config(self):
        return dict(mode=self.mode, seed=self.seed, data_format=self.data_format,
                    name=self.name)


class Resizing(nn.Module, KerasLayer):
    """Keras's Resizing: images (N, H, W, C) — or one — to ``height`` x ``width`` by bilinear
    interpolation between pixel centers, no antialiasing (Keras's image resize; torch's
    ``interpolate(mode="bilinear", align_corners=False)``)."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, data_format=None, input_shape=None, name=None,
                 **kwargs):
        refuse(kwargs, "Resizing")
        super().__init__(name)
        if interpolation != "bilinear":
            raise NotImplementedError(f"Resizing: interpolation={interpolation!r} (only "
                                      "'bilinear')")
        if crop_to_aspect_ratio or pad_to_aspect_ratio:
            raise NotImplementedError("Resizing: crop_to_aspect_ratio / pad_to_aspect_ratio "
                                      "are not supported")
        self.height = _checks.positive_int("Resizing: height", height)
        self.width = _checks.positive_int("Resizing: width", width)
        self.interpolation = interpolation
        self.data_format = config.standardize_data_format(data_format)
        self._take_input_shape(input_shape)
        self.built = True

    def forward(self, x):
        images, back = _as_nchw(x, self.data_format, self.name)
        return back(interpolate(images, size=(self.height, self.width), mode="bilinear",
                                align_corners=False))

    def get_config(self):
        return dict(height=self.height, width=self.width, interpolation=self.interpolation,
                    data_format=self.data_format, name=self.name)


class CenterCrop(nn.Module, KerasLayer):
    """Keras's CenterCrop: the central ``height`` x ``width`` of each image (the odd pixel
    left on the far side). Images smaller than that (Keras crops them to the aspect ratio
    and resizes them) are refused."""

    def __init__(self, height, width, data_format=None, input_shape=None, name=None,
                 **kwargs):
        refuse(kwargs, "CenterCrop")
        super().__init__(name)
        self.height = _checks.positive_int("CenterCrop: height", height)
        self.width = _checks.positive_int("CenterCrop: width", width)
        self.data_format = config.standardize_data_format(data_format)
        self._take_input_shape(input_shape)
        self.built = True

    def forward(self, x):
        images, back = _as_nchw(x, self.data_format, self.name)
        h, w = images.shape[2:]
        if h < self.height or w < self.width:
            raise NotImplementedError(f"{self.name}: images of {h}x{w} are smaller than the "
                                      f"crop {self.height}x{self.width} (Keras resizes them; "
                                      "not supported here)")
        top, left = (h - self.height) // 2, (w - self.width) // 2
        return back(images[:, :, top:top + self.height, left:left + self.width])

    def get_config(self):
        return dict(height=self.height, width=self.width, data_format=self.data_format,
                    name=self.name)


def _as_nchw(x, data_format, name):
    """(images as (N, C, H, W), the function that gives a result back in x's layout)."""
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expects images (N, H, W, C) or one (H, W, C) in "
                         f"{data_format}, got shape {x.shape}")
    single = x.ndim == 3
    batched = x.reshape(1, *x.shape) if single else x
    last = data_format == "channels_last"
    images = batched.permute(0, 3, 1, 2) if last else batched

    def back(y):
        y = y.permute(0, 2, 3, 1) if last else y
        return y.reshape(*y.shape[1:]) if single else y

    return images, back
