"""``keras.ops``'s neural-network functions beyond the activations of :mod:`.core`:
``normalize``, ``moments``, ``batch_normalization``, the cross-entropies of one target and
output (Keras's argument order: target first), the remaining activations, and ``conv``,
``depthwise_conv``, ``max_pool``, ``average_pool`` on Keras's kernel layouts and "same"
padding, and ``dot_product_attention``."""
from __future__ import annotations

import numpy as np

from ..._backend import xp_of
from ...autograd import Tensor
from ...autograd.tensor_ops import Einsum, Where
from ...nn import functional as F
from ...nn import losses as _losses
from .. import activations as _activations
from ..layer_base import pad_widths, same_padding
from .core import _axes, _t, maximum, mean, norm, var


def relu6(x): return _activations.relu6(x)
def hard_sigmoid(x): return _activations.hard_sigmoid(x)
def hard_silu(x): return _activations.hard_silu(x)
def softsign(x): return _activations.softsign(x)
def log_sigmoid(x): return _activations.log_sigmoid(x)


hard_swish = hard_silu


def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(norm(x), epsilon) over ``axis`` (epsilon: Keras's 1e-7 by default)."""
    x = _t(x)
    eps = _losses.EPSILON if epsilon is None else float(epsilon)
    if order in (2, None):  # the floor on the squared sum: a zero vector's gradient is 1/eps
        squares = (x * x).sum(axis=_axes(axis, x.ndim), keepdims=True)
        return x / maximum(squares, Tensor(eps * eps, dtype=x.dtype, device=x.device)).sqrt()
    return x / maximum(norm(x, order, axis, keepdims=True), Tensor(eps, dtype=x.dtype,
                                                                  device=x.device))


def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and the (population) variance over ``axes``."""
    return mean(x, axes, keepdims), var(x, axes, keepdims)


def _pair(target, output):
    """The target in the output's type (taken from its own array, not through float32)."""
    output = _t(output)
    data = target.data if isinstance(target, Tensor) else target
    return Tensor(data, device=output.device, dtype=output.dtype), output


def binary_crossentropy(target, output, from_logits=False):
    """Of each element (no reduction): probabilities clipped to [1e-7, 1 - 1e-7]."""
    target, output = _pair(target, output)
    if target.shape != output.shape:
        raise ValueError(f"binary_crossentropy: target shape {target.shape} does not match "
                         f"output shape {output.shape}")
    return _losses.binary_crossentropy_elements(output, target, from_logits)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Of each row along the last axis: probability rows normalized to sum 1, clipped."""
    target, output = _pair(target, output)
    return _losses.categorical_crossentropy(output, target, from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _t(output)
    if axis not in (-1, output.ndim - 1):
        raise ValueError(f"sparse_categorical_crossentropy: only the last axis (axis=-1) is "
                         f"supported, got axis={axis!r}")
    return _losses.sparse_categorical_crossentropy(output, target, from_logits)


# ---- convolution and pooling as keras.ops has them: Keras's kernel layouts and "same" ----------
def _spatial(x, data_format, where):
    """(x in channels-first layout, the number of spatial axes, whether x was channels-last)."""
    from .. import config

    last = config.standardize_data_format(data_format) == "channels_last"
    spatial = x.ndim - 2
    if spatial not in (1, 2):
        raise NotImplementedError(f"{where}: inputs with {spatial} spatial axes (1 or 2 are "
                                  f"supported), got shape {x.shape}")
    if last:
        x = x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))
    return x, spatial, last


def _tuple(value, n, what, where):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                               for v in values):
        raise ValueError(f"{where}: {what} must be a positive int or {n} of them, got {value!r}")
    return values


def _back(y, last):
    return y.permute(0, *range(2, y.ndim), 1) if last else y


def _same(x, window, strides, dilation, padding, where, value=0.0):
    """x padded as Keras's (TensorFlow's) "same" (the odd element after), or as it is."""
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding == "valid":
        return x, None
    if padding != "same":
        raise ValueError(f"{where}: padding must be 'valid' or 'same', got {padding!r}")
    pads = same_padding(x.shape[2:], window, strides, dilation)
    if not any(b or a for b, a in pads):
        return x, None
    return F.pad(x, pad_widths(pads), value=value), pads


def _as_image(x, spatial):
    """(N, C, L) as an (N, C, 1, L) image; images as they are."""
    return x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]) if spatial == 1 else x


def _from_image(y, spatial):
    return y.reshape(y.shape[0], y.shape[1], y.shape[3]) if spatial == 1 else y


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras's ops.conv: a kernel (*window, in_channels / groups, out_channels), groups from
    the input's channels over the kernel's."""
    x, spatial, last = _spatial(_t(inputs), data_format, "conv")
    k = _t(kernel)
    if k.ndim != spatial + 2 or x.shape[1] % k.shape[-2]:
        raise ValueError(f"conv: kernel of shape {k.shape} for inputs of shape {inputs.shape}")
    strides = _tuple(strides, spatial, "strides", "conv")
    dilation = _tuple(dilation_rate, spatial, "dilation_rate", "conv")
    window = tuple(k.shape[:spatial])
    x, _ = _same(x, window, strides, dilation, padding, "conv")
    weight = k.permute(spatial + 1, spatial, *range(spatial))  # (out, in / groups, *window)
    groups = x.shape[1] // k.shape[-2]
    if spatial == 1:
        y = F.conv1d(x, weight, None, strides, 0, dilation, groups)
    else:
        y = F.conv2d(x, weight, None, strides, 0, dilation, groups)
    return _back(y, last)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Keras's ops.depthwise_conv: a kernel (*window, in_channels, multiplier); output channel
    c * multiplier + m."""
    k = _t(kernel)
    if k.ndim < 3:
        raise ValueError(f"depthwise_conv: kernel must be (*window, in, multiplier), got "
                         f"{k.shape}")
    c, m = k.shape[-2:]
    merged = k.reshape(*k.shape[:-2], 1, c * m)  # (*window, 1, in * multiplier): c groups
    return conv(inputs, merged, strides, padding, data_format, dilation_rate)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, spatial, last = _spatial(_t(inputs), data_format, "max_pool")
    window = _tuple(pool_size, spatial, "pool_size", "max_pool")
    strides = window if strides is None else _tuple(strides, spatial, "strides", "max_pool")
    x, _ = _same(x, window, strides, None, padding, "max_pool", float("-inf"))
    pad = (1,) if spatial == 1 else ()
    y = F.max_pool2d(_as_image(x, spatial), pad + window, pad + strides)
    return _back(_from_image(y, spatial), last)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The mean of each window; with "same", of the input elements it covers (the padding
    not counted), as Keras's."""
    x, spatial, last = _spatial(_t(inputs), data_format, "average_pool")
    window = _tuple(pool_size, spatial, "pool_size", "average_pool")
    strides = window if strides is None else _tuple(strides, spatial, "strides",
                                                    "average_pool")
    sizes = x.shape[2:]
    x, pads = _same(x, window, strides, None, padding, "average_pool")
    pad = (1,) if spatial == 1 else ()
    y = F.avg_pool2d(_as_image(x, spatial), pad + window, pad + strides)
    if pads is not None:  # each window's share of real elements
        xp = xp_of(x.data)
        ones = Tensor(xp.ones((1, 1) + tuple(sizes), x.dtype), device=x.device)
        ones = F.pad(ones, pad_widths(pads))
        share = F.avg_pool2d(_as_image(ones, spatial), pad + window, pad + strides)
        y = y / share.detach()
    return _back(_from_image(y, spatial), last)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """Keras's: x * inv + (offset - mean * inv), inv = scale / sqrt(variance + epsilon), the
    statistics laid along ``axis``."""
    x = _t(x)
    axis = axis % x.ndim
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    along = lambda v: _t(v).reshape(*shape)  # noqa: E731
    inv = 1.0 / (along(variance) + float(epsilon)).sqrt()
    if scale is not None:
        inv = inv * along(scale)
    res = -along(mean) * inv
    if offset is not None:
        res = res + along(offset)
    return x * inv + res


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """Keras's ops.dot_product_attention on (batch, steps, heads, dim): softmax(q . k * scale
    + bias) . v over the key steps (scale 1/sqrt(dim) by default); where ``mask`` (True:
    attend) or ``is_causal`` hides a key, the logit is -0.7 * the largest float, as Keras's
    numpy and JAX backends set it (a row hidden whole then weighs its keys evenly)."""
    if attn_logits_soft_cap is not None:
        raise NotImplementedError("dot_product_attention: attn_logits_soft_cap is not "
                                  "supported")
    q, k, v = _t(query), _t(key), _t(value)
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"dot_product_attention: query, key and value must be (batch, steps, "
                         f"heads, dim), got {q.shape}, {k.shape}, {v.shape}")
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else float(scale)
    logits = Einsum.apply("btnh,bsnh->bnts", q, k) * scale
    if bias is not None:
        logits = logits + _t(bias)
    xp = xp_of(logits.data)
    keep = None
    if mask is not None:
        given = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
        keep = xp.broadcast_to(given.astype(bool), logits.shape)
    if is_causal:
        lower = xp.tril(xp.ones(logits.shape[-2:], bool))
        keep = lower if keep is None else keep & lower
    if keep is not None:
        hidden = Tensor(xp.asarray(-0.7 * np.finfo(logits.dtype).max, logits.dtype),
                        device=logits.device)
        logits = Where.apply(xp.broadcast_to(keep, logits.shape), logits, hidden)
    return Einsum.apply("bnts,bsnh->btnh", F.softmax(logits, -1), v)
