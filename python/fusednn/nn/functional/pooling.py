"""max_pool2d and avg_pool2d over NCHW (or unbatched CHW) float32, with torch's arguments, their
1-D forms over (N, C, L), and amax (the global max pooling layers' reduction)."""
from __future__ import annotations

from ... import _backend
from ...autograd import Tensor
from ...autograd.tensor_ops import AMax
from ...autograd.fused import AvgPool2dFunction, MaxPool2dFunction
from ._args import pair, single


def _pool_geometry(x_shape, kernel_size, stride, padding, dilation, where, ceil_mode=False):
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
    ceil_mode = bool(ceil_mode)
    out_h = _backend.window_output_size(h, kh, sh, ph, dh, ceil_mode)
    out_w = _backend.window_output_size(w, kw, sw, pw, dw, ceil_mode)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{where}: kernel {kh}x{kw} is larger than the input {h}x{w} padded by "
                         f"{(ph, pw)}")
    return _backend.PoolGeometry(planes=n * c, height=h, width=w, kernel_h=kh, kernel_w=kw,
                                 stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, dilation_h=dh,
                                 dilation_w=dw, out_h=out_h, out_w=out_w, ceil_mode=ceil_mode)


def _batched(input, where):
    """(input as (N, C, H, W), whether it came unbatched as (C, H, W)). As in torch, only the
    batch may be empty."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: expected a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise ValueError(f"{where}: input must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape "
                         f"{input.shape}")
    if min(input.shape[-3:]) < 1:
        raise ValueError(f"{where}: input of shape {input.shape} has an empty channel or "
                         "spatial dimension (only the batch may be empty)")
    if input.ndim == 3:
        return input.reshape((1,) + input.shape), True
    return input, False


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over each window (stride defaults to kernel_size); a NaN in the window wins.
    ``ceil_mode``: torch's rounding up of the output size (the last windows may hang over
    the input's edge and are clipped to it). ``return_indices``: also return, as torch, each
    maximum's flat index in its input plane (int64; -1 for a window of padding only, where
    torch's index is not meaningful)."""
    x, unbatched = _batched(input, "max_pool2d")
    geometry = _pool_geometry(x.shape, kernel_size, stride, padding, dilation, "max_pool2d",
                              ceil_mode)
    argmax = [] if return_indices else None
    y = MaxPool2dFunction.apply(x, geometry, argmax)
    if unbatched:
        y = y.reshape(y.shape[1:])
    if not return_indices:
        return y
    indices = argmax[0].astype("int64")  # torch's index type, on the input's device
    return y, Tensor._from_array(indices[0] if unbatched else indices, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """Mean over each window; padding counts in the divisor when count_include_pad (with
    ``ceil_mode``, as in torch, not the part of a window past the padded edge)."""
    if divisor_override is not None:
        raise NotImplementedError("avg_pool2d: divisor_override is not supported")
    x, unbatched = _batched(input, "avg_pool2d")
    geometry = _pool_geometry(x.shape, kernel_size, stride, padding, 1, "avg_pool2d", ceil_mode)
    y = AvgPool2dFunction.apply(x, geometry, bool(count_include_pad))
    return y.reshape(y.shape[1:]) if unbatched else y


def amax(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """torch.amax: the maximum over ``dim`` (an int or a tuple)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"amax: expected a fusednn.Tensor, got {type(input).__name__}")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(sorted(d % input.ndim for d in dims))
    if any(input.shape[a] == 0 for a in axes):
        raise ValueError(f"amax: cannot reduce an empty axis of shape {input.shape}")
    return AMax.apply(input, axes, bool(keepdim))


def _sequence(input, where):
    """(input as a one-row image (N, C, 1, L), whether it came unbatched as (C, L))."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: expected a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise ValueError(f"{where}: input must be (N, C, L) or (C, L), got shape {input.shape}")
    unbatched = input.ndim == 2
    x = input.reshape(1, *input.shape) if unbatched else input
    return x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]), unbatched


def _from_rows(y, unbatched):
    y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
    return y.reshape(*y.shape[1:]) if unbatched else y


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """torch's max_pool1d over (N, C, L) or (C, L): max_pool2d on one-row images."""
    where = "max_pool1d"
    x, unbatched = _sequence(input, where)
    k = single(kernel_size, "kernel_size", where)
    s = k if stride is None else single(stride, "stride", where)
    out = max_pool2d(x, (1, k), (1, s), (0, single(padding, "padding", where)),
                     (1, single(dilation, "dilation", where)), ceil_mode, return_indices)
    if not return_indices:
        return _from_rows(out, unbatched)
    y, indices = out  # flat indices in a one-row plane are the positions along L
    return _from_rows(y, unbatched), _from_rows(indices, unbatched)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """torch's avg_pool1d over (N, C, L) or (C, L): avg_pool2d on one-row images."""
    where = "avg_pool1d"
    x, unbatched = _sequence(input, where)
    k = single(kernel_size, "kernel_size", where)
    s = k if stride is None else single(stride, "stride", where)
    y = avg_pool2d(x, (1, k), (1, s), (0, single(padding, "padding", where)), ceil_mode,
                   count_include_pad)
    return _from_rows(y, unbatched)
