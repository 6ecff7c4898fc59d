"""linear and conv2d: a GEMM (OpenBLAS / cuBLASLt) with the bias and activation fused into
one pass after it (CPU) or into the GEMM's epilogue (GPU); the backward applies the
activation's derivative and sums the bias gradient in one pass, then runs the two GEMMs."""
from __future__ import annotations

import math

import numpy as np

from ... import _backend
from ..function import Function
from .activation import act_code, act_is_identity, act_saves_input, float64_backward
from .activation import float64_forward


# linear and conv2d differ only in their kernels' names and geometry argument: both take
# (x, w, bias, y, saved, *geometry, act, slope) forward and (x, w, dy, saved, dz, dx, dw,
# dbias, *geometry, act, slope) backward; every size is read off the arrays in C++.
def _gemm_forward(kernel, where, x, w, b, out_shape, geometry, act, slope, **workspace):
    """(y, what the backward reads: the pre-activation or y) through the fused kernel. x and w
    arrive contiguous (the caller keeps them for the backward)."""
    b = None if b is None else _backend.contiguous(b, where, "bias")
    y = _backend.empty(x, out_shape)
    z = _backend.empty(x, out_shape) if act_saves_input(act) else None
    _backend.call(x, kernel, x, w, b, y, z, *geometry, act_code(act, where), slope, **workspace)
    return y, (z if z is not None else y)


def _gemm_backward(kernel, where, x, w, g, saved, needs, geometry, act, slope, **workspace):
    """(dx, dw, dbias), each None where ``needs`` says no."""
    g = _backend.contiguous(g, where, "grad")
    nx, nw, nb = needs
    dz = _backend.scratch(g, g.shape, "gemm dz")  # read only inside the kernel
    dx = _backend.empty(g, x.shape) if nx else None
    dw = _backend.empty(g, w.shape) if nw else None
    db = _backend.empty(g, (w.shape[0],)) if nb else None
    _backend.call(g, kernel, x, w, g, saved, dz, dx, dw, db, *geometry,
                  act_code(act, where), slope, **workspace)
    return dx, dw, db


class LinearFunction(Function):
    """y = act(x @ w.T + b) over the last axis of x."""

    @staticmethod
    def forward(ctx, x, w, b, act, slope):
        lead, n_in = x.shape[:-1], x.shape[-1]
        n_out = w.shape[0]
        ctx.act, ctx.slope, ctx.x_shape = act, slope, x.shape
        # -1 is ambiguous when n_in is 0
        x2 = x if x.ndim == 2 else x.reshape(math.prod(lead), n_in)
        if x.dtype == np.float64:
            z = x2 @ w.T + (0 if b is None else b)
            y = float64_forward(act, z, slope)
            saved = z if act_saves_input(act) else y
        else:
            x2 = _backend.contiguous(x2, "linear", "input")
            w = _backend.contiguous(w, "linear", "weight")
            y, saved = _gemm_forward("linear_forward", "linear", x2, w, b,
                                     (x2.shape[0], n_out), (), act, slope)
        ctx.save_for_backward(x2, w, saved)
        return y.reshape(lead + (n_out,))

    @staticmethod
    def backward(ctx, g):
        x2, w, saved = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        g2 = g.reshape(x2.shape[0], w.shape[0])
        if g.dtype == np.float64:
            dz = g2 if act_is_identity(ctx.act) else float64_backward(ctx.act, g2, saved,
                                                                      ctx.slope)
            dx = (dz @ w).reshape(ctx.x_shape) if nx else None
            dw = dz.T @ x2 if nw else None
            db = dz.sum(axis=0) if nb else None
            return dx, dw, db, None, None
        dx, dw, db = _gemm_backward("linear_backward", "linear", x2, w, g2, saved,
                                    (nx, nw, nb), (), ctx.act, ctx.slope)
        return (None if dx is None else dx.reshape(ctx.x_shape)), dw, db, None, None


class Conv2dFunction(Function):
    """y = act(conv2d(x, w) + b) over NCHW float32, through im2col + GEMM."""

    @staticmethod
    def forward(ctx, x, w, b, geometry, act, slope):
        x = _backend.contiguous(x, "conv2d", "input")
        w = _backend.contiguous(w, "conv2d", "weight")
        n, out_c = x.shape[0], w.shape[0]
        y, saved = _gemm_forward("conv2d_forward", "conv2d", x, w, b,
                                 (n, out_c, geometry.out_h, geometry.out_w), (geometry,), act,
                                 slope, **_backend.workspace(x, "conv2d_workspace_bytes",
                                                             geometry, n, out_c, False, False))
        ctx.save_for_backward(x, w, saved)
        ctx.geometry, ctx.act, ctx.slope = geometry, act, slope
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, saved = ctx.saved_tensors
        needs = ctx.needs_input_grad[:3]
        dx, dw, db = _gemm_backward("conv2d_backward", "conv2d", x, w, g, saved, needs,
                                    (ctx.geometry,), ctx.act, ctx.slope,
                                    **_backend.workspace(x, "conv2d_workspace_bytes",
                                                         ctx.geometry, x.shape[0], w.shape[0],
                                                         True, needs[1]))
        return dx, dw, db, None, None, None


class Conv2dMaxPoolFunction(Function):
    """max_pool2d(act(conv2d(x, w) + b), 2) on the CPU with the epilogue and the pool in one
    pass (``conv2d_pool_forward``): the same numbers as the two layers' own kernels, without
    writing and re-reading the conv's full-size output, and a backward that builds the conv's
    output gradient from the pooled one in one pass."""

    @staticmethod
    def forward(ctx, x, w, b, geometry, act, slope):
        x = _backend.contiguous(x, "conv2d", "input")
        w = _backend.contiguous(w, "conv2d", "weight")
        b = None if b is None else _backend.contiguous(b, "conv2d", "bias")
        n, out_c = x.shape[0], w.shape[0]
        full = (n, out_c, geometry.out_h, geometry.out_w)
        pooled = (n, out_c, geometry.out_h // 2, geometry.out_w // 2)
        z = _backend.scratch(x, full, "conv raw output")  # read only inside the kernel
        y = np.empty(pooled, np.float32)
        argmax = np.empty(pooled, np.int32)
        saved = np.empty(pooled, np.float32) if act_saves_input(act) else None
        _backend.cpu_module().conv2d_pool_forward(x, w, b, z, y, argmax, saved, geometry,
                                                  act_code(act, "conv2d"), slope)
        ctx.save_for_backward(x, w, argmax, saved if saved is not None else y)
        ctx.geometry, ctx.act, ctx.slope, ctx.full = geometry, act, slope, full
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, argmax, saved = ctx.saved_tensors
        g = _backend.contiguous(g, "conv2d", "grad")
        nx, nw, nb = ctx.needs_input_grad[:3]
        dz = _backend.scratch(g, ctx.full, "conv dz")  # read only inside the kernel
        dx = np.empty(x.shape, np.float32) if nx else None
        dw = np.empty(w.shape, np.float32) if nw else None
        db = np.empty((w.shape[0],), np.float32) if nb else None
        _backend.cpu_module().conv2d_pool_backward(x, w, g, argmax, saved, dz, dx, dw, db,
                                                   ctx.geometry, act_code(ctx.act, "conv2d"),
                                                   ctx.slope)
        return dx, dw, db, None, None, None


class ConvTranspose2dFunction(Function):
    """conv_transpose2d: the adjoint of the conv2d that ``geometry`` describes, the conv from
    this op's output (its channels and size) back to its input. The forward is that conv's
    input gradient (one GEMM, then col2im), the backward its forward (for the input) and its
    weight gradient; the weight (in_channels, out_channels, kh, kw), as torch's, is that
    conv's own weight. The bias is added in a pass of its own."""

    @staticmethod
    def forward(ctx, x, w, b, geometry):
        x = _backend.contiguous(x, "conv_transpose2d", "input")
        w = _backend.contiguous(w, "conv_transpose2d", "weight")
        n, identity = x.shape[0], act_code(None, "conv_transpose2d")
        y = _backend.empty(x, (n, geometry.channels, geometry.height, geometry.width))
        _backend.call(x, "conv2d_backward", None, w, x, None, None, y, None, None, geometry,
                      identity, 0.0, **_backend.workspace(x, "conv2d_workspace_bytes", geometry,
                                                          n, w.shape[0], True, False))
        if b is not None:
            y += b.reshape(-1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.geometry = geometry
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        g = _backend.contiguous(g, "conv_transpose2d", "grad")
        nx, nw, nb = ctx.needs_input_grad[:3]
        geometry, identity = ctx.geometry, act_code(None, "conv_transpose2d")
        n, m = x.shape[0], w.shape[0]
        dx = dw = db = None
        if nx:
            dx = _backend.empty(g, x.shape)
            _backend.call(g, "conv2d_forward", g, w, None, dx, None, geometry, identity, 0.0,
                          **_backend.workspace(g, "conv2d_workspace_bytes", geometry, n, m,
                                               False, False))
        if nw:
            dw = _backend.empty(g, w.shape)
            _backend.call(g, "conv2d_backward", g, w, x, None, None, None, dw, None, geometry,
                          identity, 0.0, **_backend.workspace(g, "conv2d_workspace_bytes",
                                                              geometry, n, m, True, True))
        if nb:
            db = g.sum(axis=(0, 2, 3))
        return dx, dw, db, None
