"""max_pool2d and avg_pool2d over NCHW float32 (torch's arguments; no ceil mode)."""
from __future__ import annotations

import numpy as np

from ...autograd import Function, Tensor
from .. import _kernels
from .linear import _device, _pair


def _pool_geometry(x_shape, kernel_size, stride, padding, dilation, where):
    n, c, h, w = x_shape
    kh, kw = _pair(kernel_size, "kernel_size", where)
    sh, sw = _pair(kernel_size if stride is None else stride, "stride", where)
    ph, pw = _pair(padding, "padding", where)
    dh, dw = _pair(dilation, "dilation", where)
    if min(kh, kw, sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError(f"{where}: kernel_size, stride and dilation must be >= 1 and padding "
                         f">= 0 (got {kernel_size}, {stride}, {dilation}, {padding})")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"{where}: padding {(ph, pw)} must be at most half the kernel "
                         f"{(kh, kw)}")
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{where}: kernel {kh}x{kw} is larger than the input {h}x{w} padded by "
                         f"{(ph, pw)}")
    return (n * c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w)


def _check(input, where):
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: expected a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim != 4:
        raise ValueError(f"{where}: input must be 4-D (N, C, H, W), got shape {input.shape}")
    if min(input.shape) < 1:
        raise ValueError(f"{where}: empty input of shape {input.shape}")


class MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, geometry):
        device = _device(x)
        x = _kernels.contiguous(x, "max_pool2d", "input")
        y = _kernels.empty(device, x.shape[:2] + tuple(geometry[11:]))
        argmax = _kernels.empty(device, y.shape, np.int32)
        _kernels.call(device, "max_pool2d_forward", _kernels.address(x), _kernels.address(y),
                      _kernels.address(argmax), list(geometry))
        ctx.save_for_backward(argmax)
        ctx.geometry, ctx.x_shape = geometry, x.shape
        return y

    @staticmethod
    def backward(ctx, g):
        (argmax,) = ctx.saved_tensors
        device = _device(g)
        g = _kernels.contiguous(g, "max_pool2d", "grad")
        dx = _kernels.empty(device, ctx.x_shape)
        _kernels.call(device, "max_pool2d_backward", _kernels.address(g),
                      _kernels.address(argmax), _kernels.address(dx), list(ctx.geometry))
        return dx, None


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, geometry, count_include_pad):
        device = _device(x)
        x = _kernels.contiguous(x, "avg_pool2d", "input")
        y = _kernels.empty(device, x.shape[:2] + tuple(geometry[11:]))
        _kernels.call(device, "avg_pool2d_forward", _kernels.address(x), _kernels.address(y),
                      list(geometry), count_include_pad)
        ctx.geometry, ctx.x_shape, ctx.count_include_pad = geometry, x.shape, count_include_pad
        return y

    @staticmethod
    def backward(ctx, g):
        device = _device(g)
        g = _kernels.contiguous(g, "avg_pool2d", "grad")
        dx = _kernels.empty(device, ctx.x_shape)
        _kernels.call(device, "avg_pool2d_backward", _kernels.address(g), _kernels.address(dx),
                      list(ctx.geometry), ctx.count_include_pad)
        return dx, None, None


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """Max over each window (stride defaults to kernel_size); a NaN in a window wins."""
    _check(input, "max_pool2d")
    if ceil_mode:
        raise ValueError("max_pool2d: ceil_mode=True is not supported")
    return MaxPool2d.apply(input, _pool_geometry(input.shape, kernel_size, stride, padding,
                                                 dilation, "max_pool2d"))


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over each window; padding counts in the divisor when count_include_pad."""
    _check(input, "avg_pool2d")
    if ceil_mode:
        raise ValueError("avg_pool2d: ceil_mode=True is not supported")
    return AvgPool2d.apply(input, _pool_geometry(input.shape, kernel_size, stride, padding, 1,
                                                 "avg_pool2d"), bool(count_include_pad))
