"""2-D max and average pooling over NCHW float32 planes, one kernel pass each way; the window
geometry is the bound ``PoolGeometry`` the functional form built and checked."""
from __future__ import annotations

import numpy as np

from ... import _backend
from ..function import Function


class MaxPool2dFunction(Function):
    """y = the window maximum (a NaN in the window wins, as in torch); the backward sends each
    gradient to where its maximum was."""

    @staticmethod
    def forward(ctx, x, geometry, argmax_out=None):
        """``argmax_out``: a list to append the (N, C, out_h, out_w) int32 positions to."""
        x = _backend.contiguous(x, "max_pool2d", "input")
        y = _backend.empty(x, x.shape[:2] + (geometry.out_h, geometry.out_w))
        argmax = _backend.empty(x, y.shape, np.int32)
        _backend.call(x, "max_pool2d_forward", x, y, argmax, geometry)
        ctx.save_for_backward(argmax)
        ctx.geometry, ctx.x_shape = geometry, x.shape
        if argmax_out is not None:
            argmax_out.append(argmax)
        return y

    @staticmethod
    def backward(ctx, g):
        (argmax,) = ctx.saved_tensors
        g = _backend.contiguous(g, "max_pool2d", "grad")
        dx = _backend.empty(g, ctx.x_shape)
        _backend.call(g, "max_pool2d_backward", g, argmax, dx, ctx.geometry)
        return dx, None, None


class AvgPool2dFunction(Function):
    """y = the window mean; padding counts in the divisor when count_include_pad."""

    @staticmethod
    def forward(ctx, x, geometry, count_include_pad):
        x = _backend.contiguous(x, "avg_pool2d", "input")
        y = _backend.empty(x, x.shape[:2] + (geometry.out_h, geometry.out_w))
        _backend.call(x, "avg_pool2d_forward", x, y, geometry, count_include_pad)
        ctx.geometry, ctx.x_shape, ctx.count_include_pad = geometry, x.shape, count_include_pad
        return y

    @staticmethod
    def backward(ctx, g):
        g = _backend.contiguous(g, "avg_pool2d", "grad")
        dx = _backend.empty(g, ctx.x_shape)
        _backend.call(g, "avg_pool2d_backward", g, dx, ctx.geometry, ctx.count_include_pad)
        return dx, None, None
