"""conv2d: 2-D convolution through the fused im2col + GEMM + epilogue Function, with torch's
arguments; ``conv_geometry`` checks a window and builds the kernels' ConvGeometry."""
from __future__ import annotations

import numpy as np

from ... import _backend
from ...autograd import Tensor
from ...autograd.fused import (Conv2dFunction, Conv2dMaxPoolFunction,
                                ConvTranspose2dFunction, act_code)
from ._args import check_bias
from .recurrent import cat
from ._args import check_tensor as _check_tensor
from ._args import pair, single

ConvGeometry = _backend.ConvGeometry


def conv_geometry(x_shape, kernel, stride, padding, dilation, where):
    """(the kernels' ConvGeometry, output shape (out_h, out_w)) with every check."""
    _, channels, height, width = x_shape
    kh, kw = kernel
    sh, sw = pair(stride, "stride", where)
    dh, dw = pair(dilation, "dilation", where)
    if min(sh, sw, dh, dw) < 1:
        raise ValueError(f"{where}: stride and dilation must be >= 1, got {stride}, {dilation}")
    if isinstance(padding, str):
        if padding == "valid":
            ph = pw = 0
        elif padding == "same":
            if (sh, sw) != (1, 1):
                raise ValueError(f"{where}: padding='same' needs stride 1 (got {(sh, sw)}); "
                                 "give the padding as numbers")
            th, tw = dh * (kh - 1), dw * (kw - 1)
            if th % 2 or tw % 2:  # conv2d pads the odd row/column first (_uneven_same)
                raise ValueError(f"{where}: padding='same' with an even kernel extent "
                                 f"({kh}x{kw}, dilation {(dh, dw)}) needs its extra row and "
                                 "column padded onto the input before the kernel geometry")
            ph, pw = th // 2, tw // 2
        else:
            raise ValueError(f"{where}: padding must be 'valid', 'same', an int or a pair, "
                             f"got {padding!r}")
    else:
        ph, pw = pair(padding, "padding", where)
        if min(ph, pw) < 0:
            raise ValueError(f"{where}: padding must be >= 0, got {padding}")
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{where}: kernel {kh}x{kw} (dilation {(dh, dw)}) is larger than the "
                         f"input {height}x{width} padded by {(ph, pw)}")
    geometry = ConvGeometry(channels=channels, height=height, width=width, kernel_h=kh,
                            kernel_w=kw, stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw,
                            dilation_h=dh, dilation_w=dw, out_h=out_h, out_w=out_w)
    return geometry, (out_h, out_w)


def _check_operands(input, weight, bias, name, transposed=False):
    """An NCHW input, a 4-D weight whose input-channel axis matches it — conv2d's (out, in,
    kh, kw), or a transposed conv's (in, out, kh, kw) — and a bias of one value per output
    channel, each error naming ``name``."""
    _check_tensor(input, name, "input")
    _check_tensor(weight, name, "weight")
    takes, gives = (0, 1) if transposed else (1, 0)
    if input.ndim != 4:
        raise ValueError(f"{name}: input must be 4-D (N, C, H, W), got shape {input.shape}")
    if weight.ndim != 4:
        layout = "in_channels, out_channels" if transposed else "out_channels, in_channels"
        raise ValueError(f"{name}: weight must be 4-D ({layout}, kh, kw), got shape "
                         f"{weight.shape}")
    if input.shape[1] != weight.shape[takes]:
        raise ValueError(f"{name}: input has {input.shape[1]} channels (shape {input.shape}) but "
                         f"the weight {weight.shape} expects {weight.shape[takes]}")
    if min(input.shape[1:]) < 1 or min(weight.shape) < 1:
        raise ValueError(f"{name}: empty dimension in input {input.shape} or weight "
                         f"{weight.shape}")
    check_bias(bias, weight, name, "channels", gives)


def _conv2d_geometry(input, weight, bias, stride, padding, dilation, activation, name):
    """conv2d's arguments checked (each error naming ``name``); the window's ConvGeometry."""
    _check_tensor(input, name, "input")
    _check_tensor(weight, name, "weight")
    act_code(activation, name)
    _check_operands(input, weight, bias, name)
    geometry, _ = conv_geometry(input.shape, weight.shape[2:], stride, padding, dilation, name)
    return geometry


def _uneven_same(input, weight, stride, padding, dilation, name):
    """(input, padding) for the kernels: torch's padding="same" with an even kernel extent
    pads one more row/column at the bottom/right than at the top/left; that extra row and
    column are padded onto the input here, the even rest left to the kernels."""
    if (not (isinstance(padding, str) and padding == "same") or not isinstance(input, Tensor)
            or not isinstance(weight, Tensor) or input.ndim != 4 or weight.ndim != 4):
        return input, padding  # _conv2d_geometry names what is wrong
    if pair(stride, "stride", name) != (1, 1):
        return input, padding  # conv_geometry names the problem
    dh, dw = pair(dilation, "dilation", name)
    th, tw = dh * (weight.shape[2] - 1), dw * (weight.shape[3] - 1)
    if th % 2 == 0 and tw % 2 == 0:
        return input, padding
    from .padding import pad

    return pad(input, (0, tw % 2, 0, th % 2)), (th // 2, tw // 2)


def _groups(input, weight, bias, groups, name, transposed=False):
    """The operands of a grouped convolution, one (input, weight, bias) per group: the input's
    channels in ``groups`` equal runs, each convolved with its run of the weight (torch's
    layouts: conv (out, in / groups, kh, kw), transposed (in, out / groups, kh, kw))."""
    _check_tensor(input, name, "input")
    _check_tensor(weight, name, "weight")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
    if input.ndim < 2 or weight.ndim < 2:
        raise ValueError(f"{name}: input {input.shape} and weight {weight.shape} need a channel "
                         "axis each")
    channels, rows = input.shape[1], weight.shape[0]
    per_group = weight.shape[0] if transposed else weight.shape[1]
    if channels % groups or rows % groups:
        raise ValueError(f"{name}: the input's {channels} channels and the weight's {rows} "
                         f"rows must both divide into groups={groups}")
    if not transposed and per_group * groups != channels:
        raise ValueError(f"{name}: input has {channels} channels but the weight "
                         f"{weight.shape} takes {per_group} per group, {per_group * groups} "
                         f"for groups={groups}")
    c, r = channels // groups, rows // groups
    out_per_group = r if not transposed else weight.shape[1]
    parts = []
    for g in range(groups):
        b = None if bias is None else bias[g * out_per_group:(g + 1) * out_per_group]
        parts.append((input[:, g * c:(g + 1) * c], weight[g * r:(g + 1) * r], b))
    return parts


def conv2d(input: Tensor, weight: Tensor, bias: Tensor = None, stride=1, padding=0,
           dilation=1, groups: int = 1, activation=None, negative_slope: float = 0.01, *,
           name: str = "conv2d") -> Tensor:
    """2-D convolution (cross-correlation, as torch) of an NCHW float32 input with a weight in
    torch's layout (out_channels, in_channels / groups, kh, kw): im2col + GEMM, with the bias
    and activation fused. ``padding``: int, pair, "valid" or "same" (stride 1; an even kernel
    extent pads one more at the bottom/right, as torch). ``groups``: the channels in that many
    equal runs, each convolved with its own filters (one GEMM per group).
    A channels-last (N, H, W, C) array must be permuted first: ``x.permute(0, 3, 1, 2)``."""
    if groups is True or groups != 1:
        if bias is not None:
            check_bias(bias, weight, name, "channels", 0)
        return cat([conv2d(x, w, b, stride, padding, dilation, 1, activation, negative_slope,
                           name=name)
                    for x, w, b in _groups(input, weight, bias, groups, name)], 1)
    input, padding = _uneven_same(input, weight, stride, padding, dilation, name)
    geometry = _conv2d_geometry(input, weight, bias, stride, padding, dilation, activation, name)
    return Conv2dFunction.apply(input, weight, bias, geometry, activation, float(negative_slope))


def conv2d_max_pool2d(input: Tensor, weight: Tensor, bias: Tensor = None, stride=1, padding=0,
                      dilation=1, groups: int = 1, activation=None,
                      negative_slope: float = 0.01, *, name: str = "conv2d") -> Tensor:
    """``max_pool2d(conv2d(input, weight, bias, ..., activation=...), 2)``: the conv, its bias
    and activation and a 2x2 stride-2 max-pool. On the CPU with float32 the epilogue and the
    pool run as one pass (the conv's full-size output is never written back activated), with
    the same numbers as the two calls; elsewhere it is the two calls."""
    from .pooling import max_pool2d

    if groups != 1:
        return max_pool2d(conv2d(input, weight, bias, stride, padding, dilation, groups,
                                 activation, negative_slope, name=name), 2)
    input, padding = _uneven_same(input, weight, stride, padding, dilation, name)
    geometry = _conv2d_geometry(input, weight, bias, stride, padding, dilation, activation, name)
    out_h, out_w = geometry.out_h, geometry.out_w
    if (_backend.on_gpu(input.data) or input.dtype != np.float32 or min(out_h, out_w) < 2
            or out_h * out_w > _backend.cpu_module().POOL_2X2_MAX_PLANE or input.shape[0] < 1):
        return max_pool2d(Conv2dFunction.apply(input, weight, bias, geometry, activation,
                                               float(negative_slope)), 2)
    return Conv2dMaxPoolFunction.apply(input, weight, bias, geometry, activation,
                                       float(negative_slope))


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1, *,
                     name: str = "conv_transpose2d") -> Tensor:
    """torch's conv_transpose2d ("deconvolution"): the adjoint of conv2d with the same
    stride, padding and dilation, on an NCHW float32 input with a weight (in_channels,
    out_channels, kh, kw). The output is (N, out_channels, H_out, W_out) with
    H_out = (H - 1)*stride - 2*padding + dilation*(kh - 1) + output_padding + 1;
    ``output_padding`` (added at the bottom/right) must be smaller than the stride.
    ``groups``: the weight is (in_channels, out_channels / groups, kh, kw)."""
    if groups is True or groups != 1:
        parts = _groups(input, weight, bias, groups, name, transposed=True)
        if bias is not None:
            _check_tensor(bias, name, "bias")
            if bias.shape != (weight.shape[1] * groups,):
                raise ValueError(f"{name}: bias of shape {bias.shape} does not match "
                                 f"{weight.shape[1] * groups} output channels")
        return cat([conv_transpose2d(x, w, b, stride, padding, output_padding, 1, dilation,
                                     name=name) for x, w, b in parts], 1)
    _check_operands(input, weight, bias, name, transposed=True)
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or a pair (torch's conv_transpose2d "
                         f"takes no {padding!r})")
    (sh, sw), (ph, pw) = pair(stride, "stride", name), pair(padding, "padding", name)
    (dh, dw), (oh, ow) = pair(dilation, "dilation", name), pair(output_padding,
                                                                "output_padding", name)
    if min(sh, sw, dh, dw) < 1 or min(ph, pw, oh, ow) < 0:
        raise ValueError(f"{name}: stride and dilation must be >= 1, padding and "
                         f"output_padding >= 0; got {stride}, {dilation}, {padding}, "
                         f"{output_padding}")
    if oh >= max(sh, dh) or ow >= max(sw, dw):
        raise ValueError(f"{name}: output_padding {(oh, ow)} must be smaller than the stride "
                         f"{(sh, sw)} or the dilation {(dh, dw)}")
    if oh >= sh or ow >= sw:
        raise NotImplementedError(f"{name}: output_padding {(oh, ow)} at or above the stride "
                                  f"{(sh, sw)} is not supported")
    (kh, kw), (h, w) = weight.shape[2:], input.shape[2:]
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    out_w = (w - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{name}: the output would be {out_h}x{out_w} for input {h}x{w}, "
                         f"kernel {kh}x{kw}, stride {(sh, sw)}, padding {(ph, pw)}, dilation "
                         f"{(dh, dw)}")
    # the conv2d it is the adjoint of: from the output's (C, H, W) back to the input's plane
    geometry = ConvGeometry(channels=weight.shape[1], height=out_h, width=out_w, kernel_h=kh,
                            kernel_w=kw, stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw,
                            dilation_h=dh, dilation_w=dw, out_h=h, out_w=w)
    return ConvTranspose2dFunction.apply(input, weight, bias, geometry)

def _sequence_operands(input, weight, name, weight_layout):
    """An (N, C, L) input Tensor and a 3-D weight Tensor (``weight_layout`` names its axes)."""
    _check_tensor(input, name, "input")
    _check_tensor(weight, name, "weight")
    if input.ndim != 3:
        raise ValueError(f"{name}: input must be 3-D (N, C, L), got shape {input.shape}")
    if weight.ndim != 3:
        raise ValueError(f"{name}: weight must be 3-D ({weight_layout}), got shape "
                         f"{weight.shape}")


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1, *,
                     name: str = "conv_transpose1d") -> Tensor:
    """torch's conv_transpose1d: an (N, C, L) input, a weight (in_channels, out_channels /
    groups, k); conv_transpose2d over a height-1 image."""
    _sequence_operands(input, weight, name, "in_channels, out_channels / groups, k")
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int (torch's conv_transpose1d takes no "
                         f"{padding!r})")
    n, c, length = input.shape
    y = conv_transpose2d(input.reshape(n, c, 1, length),
                         weight.reshape(*weight.shape[:2], 1, weight.shape[2]), bias,
                         (1, single(stride, "stride", name)), (0, single(padding, "padding", name)),
                         (0, single(output_padding, "output_padding", name)), groups,
                         (1, single(dilation, "dilation", name)), name=name)
    return y.reshape(n, y.shape[1], y.shape[3])


def conv1d(input: Tensor, weight: Tensor, bias: Tensor = None, stride=1, padding=0,
           dilation=1, groups: int = 1, activation=None, negative_slope: float = 0.01, *,
           name: str = "conv1d") -> Tensor:
    """1-D convolution of an (N, C, L) input with a weight (out_channels, in_channels, k), as
    torch's conv1d: the 2-D kernel over a height-1 image. ``padding``: int, "valid" or
    "same" (stride 1)."""
    _sequence_operands(input, weight, name, "out_channels, in_channels / groups, k")
    stride, dilation = (1, single(stride, "stride", name)), (1, single(dilation, "dilation", name))
    padding = single(padding, "padding", name)
    padding = padding if isinstance(padding, str) else (0, padding)
    n, c, length = input.shape
    y = conv2d(input.reshape(n, c, 1, length), weight.reshape(*weight.shape[:2], 1,
                                                              weight.shape[2]),
               bias, stride, padding, dilation, groups, activation, negative_slope, name=name)
    return y.reshape(n, y.shape[1], y.shape[3])
