"""batch_norm over (N, C, ...) (BatchNorm1d's (N, C) and (N, C, L), 2d's (N, C, H, W), ...), with torch's arguments and running-statistics
update (the running variance takes the unbiased batch variance, as torch's; Keras's layer takes
the biased one: ``unbiased=False``)."""
from __future__ import annotations

from ...autograd import Function, Tensor
from ...autograd.tensor_ops import xp_of


def _array(t):
    return t.data if isinstance(t, Tensor) else t


class BatchNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps,
                unbiased):
        axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channels
        shape = (1, -1) + (1,) * (x.ndim - 2)
        xp = xp_of(x)
        if training:
            count = x.size // x.shape[1]
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean.astype(running_mean.dtype)
            if running_var is not None:
                batch_var = var * (count / (count - 1)) if unbiased and count > 1 else var
                running_var *= 1 - momentum
                running_var += momentum * batch_var.astype(running_var.dtype)
        else:
            mean, var = running_mean, running_var
        invstd = 1 / xp.sqrt(var + eps)
        xhat = (x - mean.reshape(shape)) * invstd.reshape(shape)
        y = xhat if weight is None else xhat * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.axes, ctx.shape, ctx.training = axes, shape, training
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, weight = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        axes, shape = ctx.axes, ctx.shape
        dw = (g * xhat).sum(axis=axes) if nw else None
        db = g.sum(axis=axes) if nb else None
        dx = None
        if nx:
            gx = g if weight is None else g * weight.reshape(shape)
            if ctx.training:
                m = g.size // g.shape[1]
                dx = (invstd.reshape(shape) / m) * (
                    m * gx - gx.sum(axis=axes).reshape(shape)
                    - xhat * (gx * xhat).sum(axis=axes).reshape(shape))
            else:
                dx = gx * invstd.reshape(shape)
        return dx, dw, db, None, None, None, None, None, None


def batch_norm(input: Tensor, running_mean=None, running_var=None, weight: Tensor = None,
               bias: Tensor = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5, *, unbiased: bool = True) -> Tensor:
    """Normalize each channel (axis 1) of an (N, C, ...) input: with the batch statistics
    when ``training`` (updating running_mean/running_var in place when given), with the
    running statistics otherwise. ``unbiased``: the running variance takes the batch variance
    times n / (n - 1) (torch's), or as it is (``False``: Keras's)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"batch_norm: expected a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, ...) with at least 2 dimensions, "
                         f"got {input.shape}")
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match "
                             f"{c} channels (input {input.shape})")
    if training and input.numel() // max(1, c) <= 1:
        raise ValueError(f"batch_norm: training needs more than one value per channel, got "
                         f"input of shape {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: evaluation (training=False) needs running_mean and "
                         "running_var")
    return BatchNorm.apply(input, weight, bias, _array(running_mean), _array(running_var),
                           bool(training), float(momentum), float(eps), bool(unbiased))


class LayerNorm(Function):
    """Normalization over the trailing ``k`` axes of each sample; statistics in float64 for
    float32 inputs would cost a copy, so they are float32 with numpy's pairwise sums."""

    @staticmethod
    def forward(ctx, x, weight, bias, k, eps):
        axes = tuple(range(x.ndim - k, x.ndim))
        xp = xp_of(x)
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        rstd = 1 / xp.sqrt(var + eps)
        xhat = centered * rstd
        y = xhat if weight is None else xhat * weight
        if bias is not None:
            y = y + bias
        ctx.save_for_backward(xhat, rstd, weight)
        ctx.axes = axes
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, weight = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        axes = ctx.axes
        batch_axes = tuple(range(g.ndim - len(axes)))
        dw = (g * xhat).sum(axis=batch_axes) if nw else None
        db = g.sum(axis=batch_axes) if nb else None
        dx = None
        if nx:
            gx = g if weight is None else g * weight
            dx = rstd * (gx - gx.mean(axis=axes, keepdims=True)
                         - xhat * (gx * xhat).mean(axis=axes, keepdims=True))
        return dx, dw, db, None, None


def layer_norm(input: Tensor, normalized_shape, weight: Tensor = None, bias: Tensor = None,
               eps: float = 1e-5) -> Tensor:
    """torch's layer_norm: each sample normalized over its trailing ``normalized_shape`` axes
    (biased variance), then scaled by ``weight`` and shifted by ``bias`` (both of that
    shape)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"layer_norm: expected a fusednn.Tensor, got {type(input).__name__}")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or k > input.ndim or tuple(input.shape[-k:]) != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} must be the trailing axes of "
                         f"the input, got input of shape {input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {name} of shape {tuple(t.shape)} does not match "
                             f"normalized_shape {shape}")
    if not eps > 0:
        raise ValueError(f"layer_norm: eps must be > 0, got {eps}")
    return LayerNorm.apply(input, weight, bias, k, float(eps))
