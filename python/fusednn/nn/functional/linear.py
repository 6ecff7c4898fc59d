"""linear and conv2d: a GEMM (OpenBLAS / cuBLASLt) with the bias and activation fused into
one pass after it (CPU) or into the GEMM's epilogue (GPU); the backward applies the
activation's derivative and sums the bias gradient in one pass, then runs the two GEMMs."""
from __future__ import annotations

import numpy as np

from ...autograd import Function, Tensor
from .. import _kernels
from .activation import _float64_backward, _float64_forward


def _device(a):
    return "cpu" if isinstance(a, np.ndarray) else "cuda"


def _float64_act(act, z, slope):
    return z if _kernels.ACTIVATIONS[act] == 0 else _float64_forward(act, z, slope)


# linear and conv2d differ only in their kernels' names and size arguments: both take
# (x, w, bias, y, saved, *sizes, act, slope) forward and (x, w, dy, saved, dz, dx, dw, dbias,
# *sizes, act, slope) backward.
def _gemm_forward(kernel, where, x, w, b, out_shape, sizes, act, slope):
    """(y, what the backward reads: the pre-activation or y) through the fused kernel. x and w
    arrive contiguous (the caller keeps them for the backward)."""
    device = _device(x)
    b = None if b is None else _kernels.contiguous(b, where, "bias")
    y = _kernels.empty(device, out_shape)
    z = _kernels.empty(device, out_shape) if act in _kernels.SAVES_INPUT else None
    _kernels.call(device, kernel, _kernels.address(x), _kernels.address(w), _kernels.address(b),
                  _kernels.address(y), _kernels.address(z), *sizes, _kernels.ACTIVATIONS[act],
                  slope)
    return y, (z if z is not None else y)


def _gemm_backward(kernel, where, x, w, g, saved, needs, sizes, act, slope):
    """(dx, dw, dbias), each None where ``needs`` says no."""
    device = _device(g)
    g = _kernels.contiguous(g, where, "grad")
    nx, nw, nb = needs
    dz = _kernels.empty(device, g.shape)
    dx = _kernels.empty(device, x.shape) if nx else None
    dw = _kernels.empty(device, w.shape) if nw else None
    db = _kernels.empty(device, (w.shape[0],)) if nb else None
    _kernels.call(device, kernel, _kernels.address(x), _kernels.address(w), _kernels.address(g),
                  _kernels.address(saved), _kernels.address(dz), _kernels.address(dx),
                  _kernels.address(dw), _kernels.address(db), *sizes,
                  _kernels.ACTIVATIONS[act], slope)
    return dx, dw, db


class Linear(Function):
    @staticmethod
    def forward(ctx, x, w, b, act, slope):
        lead, n_in = x.shape[:-1], x.shape[-1]
        n_out = w.shape[0]
        ctx.act, ctx.slope, ctx.x_shape = act, slope, x.shape
        x2 = x.reshape(-1, n_in)
        if x.dtype == np.float64:
            z = x2 @ w.T + (0 if b is None else b)
            y = _float64_act(act, z, slope)
            saved = z if act in _kernels.SAVES_INPUT else y
        else:
            x2 = _kernels.contiguous(x2, "linear", "input")
            w = _kernels.contiguous(w, "linear", "weight")
            y, saved = _gemm_forward("linear_forward", "linear", x2, w, b,
                                     (x2.shape[0], n_out), (x2.shape[0], n_in, n_out), act, slope)
        ctx.save_for_backward(x2, w, saved)
        return y.reshape(lead + (n_out,))

    @staticmethod
    def backward(ctx, g):
        x2, w, saved = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        g2 = g.reshape(-1, w.shape[0])
        if g.dtype == np.float64:
            dz = g2 if _kernels.ACTIVATIONS[ctx.act] == 0 else _float64_backward(
                ctx.act, g2, saved, ctx.slope)
            dx = (dz @ w).reshape(ctx.x_shape) if nx else None
            dw = dz.T @ x2 if nw else None
            db = dz.sum(axis=0) if nb else None
            return dx, dw, db, None, None
        dx, dw, db = _gemm_backward("linear_backward", "linear", x2, w, g2, saved,
                                    (nx, nw, nb), (x2.shape[0], x2.shape[1], w.shape[0]),
                                    ctx.act, ctx.slope)
        return (None if dx is None else dx.reshape(ctx.x_shape)), dw, db, None, None


def _check_tensor(x, where, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: {name} must be a fusednn.Tensor, got {type(x).__name__}")


def linear(input: Tensor, weight: Tensor, bias: Tensor = None, activation=None,
           negative_slope: float = 0.01, *, name: str = "linear") -> Tensor:
    """``activation(input @ weight.T + bias)``, weight in torch's layout (out, in); input
    (..., in). ``activation``: None, "relu", "leaky_relu", "sigmoid", "tanh", "gelu" or
    "gelu_tanh", fused into the GEMM's epilogue."""
    _check_tensor(input, name, "input")
    _check_tensor(weight, name, "weight")
    _kernels.act_code(activation, name)
    if weight.ndim != 2:
        raise ValueError(f"{name}: weight must be 2-D (out_features, in_features), got shape "
                         f"{weight.shape}")
    if input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"{name}: input of shape {input.shape} has "
                         f"{input.shape[-1] if input.ndim else 0} features but the weight "
                         f"{weight.shape} expects {weight.shape[1]}")
    if bias is not None:
        _check_tensor(bias, name, "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"{name}: bias of shape {bias.shape} does not match "
                             f"{weight.shape[0]} output features")
    if input.dtype != weight.dtype:
        raise TypeError(f"{name}: input is {input.dtype} but weight is {weight.dtype}")
    return Linear.apply(input, weight, bias, activation, float(negative_slope))


def _pair(v, what, where):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{where}: {what} must be an int or a pair, got {v!r}")
        a, b = v
    else:
        a = b = v
    for x in (a, b):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
            raise TypeError(f"{where}: {what} must be an int or a pair of ints, got {v!r}")
    return int(a), int(b)


def conv_geometry(x_shape, kernel, stride, padding, dilation, where):
    """(geometry tuple for the kernels, output shape (out_h, out_w)) with every check."""
    _, channels, height, width = x_shape
    kh, kw = kernel
    sh, sw = _pair(stride, "stride", where)
    dh, dw = _pair(dilation, "dilation", where)
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
            if th % 2 or tw % 2:
                raise ValueError(f"{where}: padding='same' with an even kernel extent "
                                 f"({kh}x{kw}, dilation {(dh, dw)}) needs uneven padding, which "
                                 "is not supported; use an odd kernel or explicit padding")
            ph, pw = th // 2, tw // 2
        else:
            raise ValueError(f"{where}: padding must be 'valid', 'same', an int or a pair, "
                             f"got {padding!r}")
    else:
        ph, pw = _pair(padding, "padding", where)
        if min(ph, pw) < 0:
            raise ValueError(f"{where}: padding must be >= 0, got {padding}")
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{where}: kernel {kh}x{kw} (dilation {(dh, dw)}) is larger than the "
                         f"input {height}x{width} padded by {(ph, pw)}")
    geometry = (channels, height, width, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w)
    return geometry, (out_h, out_w)


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, b, geometry, act, slope):
        x = _kernels.contiguous(x, "conv2d", "input")
        w = _kernels.contiguous(w, "conv2d", "weight")
        n, out_c = x.shape[0], w.shape[0]
        y, saved = _gemm_forward("conv2d_forward", "conv2d", x, w, b,
                                 (n, out_c, geometry[11], geometry[12]),
                                 (n, out_c, list(geometry)), act, slope)
        ctx.save_for_backward(x, w, saved)
        ctx.geometry, ctx.act, ctx.slope = geometry, act, slope
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, saved = ctx.saved_tensors
        dx, dw, db = _gemm_backward("conv2d_backward", "conv2d", x, w, g, saved,
                                    ctx.needs_input_grad[:3],
                                    (x.shape[0], w.shape[0], list(ctx.geometry)),
                                    ctx.act, ctx.slope)
        return dx, dw, db, None, None, None


def conv2d(input: Tensor, weight: Tensor, bias: Tensor = None, stride=1, padding=0,
           dilation=1, activation=None, negative_slope: float = 0.01, *,
           name: str = "conv2d") -> Tensor:
    """2-D convolution (cross-correlation, as torch) of an NCHW float32 input with a weight in
    torch's layout (out_channels, in_channels, kh, kw): im2col + GEMM, with the bias and
    activation fused. ``padding``: int, pair, "valid" or "same" (stride 1, odd kernel extent).
    A channels-last (N, H, W, C) array must be permuted first: ``x.permute(0, 3, 1, 2)``."""
    _check_tensor(input, name, "input")
    _check_tensor(weight, name, "weight")
    _kernels.act_code(activation, name)
    if input.ndim != 4:
        raise ValueError(f"{name}: input must be 4-D (N, C, H, W), got shape {input.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{name}: weight must be 4-D (out_channels, in_channels, kh, kw), got "
                         f"shape {weight.shape}")
    if input.shape[1] != weight.shape[1]:
        raise ValueError(f"{name}: input has {input.shape[1]} channels (shape {input.shape}) but "
                         f"the weight {weight.shape} expects {weight.shape[1]}")
    if min(input.shape[1:]) < 1 or min(weight.shape) < 1:
        raise ValueError(f"{name}: empty dimension in input {input.shape} or weight "
                         f"{weight.shape}")
    if bias is not None:
        _check_tensor(bias, name, "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"{name}: bias of shape {bias.shape} does not match "
                             f"{weight.shape[0]} output channels")
    geometry, _ = conv_geometry(input.shape, weight.shape[2:], stride, padding, dilation, name)
    return Conv2d.apply(input, weight, bias, geometry, activation, float(negative_slope))
