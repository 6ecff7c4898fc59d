"""max_pool2d and avg_pool2d over NCHW float32 (torch's arguments; no ceil mode), and amax
(the global max pooling layers' reduction)."""
from __future__ import annotations

from ... import _backend
from ...autograd import Tensor
from ...autograd.tensor_ops import AMax
from ...autograd.fused import AvgPool2dFunction, MaxPool2dFunction
from ._args import pair


def _pool_geometry(x_shape, kernel_size, stride, padding, dilation, where):
    n, c, h, w = x_shape
    kh, kw = pair(kernel_size, "kernel_size", where)
    sh, sw = pair(kernel_size if stride is None else stride, "stride", where)
    ph, pw = pair(padding, "padding", where)
    dh, dw = pair(dilation, "dilation", where)
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
    return _backend.PoolGeometry(planes=n * c, height=h, width=w, kernel_h=kh, kernel_w=kw,
                                 stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, dilation_h=dh,
                                 dilation_w=dw, out_h=out_h, out_w=out_w)


def _check(input, where):
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: expected a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim != 4:
        raise ValueError(f"{where}: input must be 4-D (N, C, H, W), got shape {input.shape}")
    if min(input.shape) < 1:
        raise ValueError(f"{where}: empty input of shape {input.shape}")


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """Max over each window (stride defaults to kernel_size); a NaN in a window wins."""
    _check(input, "max_pool2d")
    if ceil_mode:
        raise ValueError("max_pool2d: ceil_mode=True is not supported")
    return MaxPool2dFunction.apply(input, _pool_geometry(input.shape, kernel_size, stride, padding,
                                                 dilation, "max_pool2d"))


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over each window; padding counts in the divisor when count_include_pad."""
    _check(input, "avg_pool2d")
    if ceil_mode:
        raise ValueError("avg_pool2d: ceil_mode=True is not supported")
    return AvgPool2dFunction.apply(input, _pool_geometry(input.shape, kernel_size, stride, padding, 1,
                                                 "avg_pool2d"), bool(count_include_pad))


def amax(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """torch.amax: the maximum over ``dim`` (an int or a tuple)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"amax: expected a fusednn.Tensor, got {type(input).__name__}")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(sorted(d % input.ndim for d in dims))
    if any(input.shape[a] == 0 for a in axes):
        raise ValueError(f"amax: cannot reduce an empty axis of shape {input.shape}")
    return AMax.apply(input, axes, bool(keepdim))
