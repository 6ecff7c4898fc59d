"""torch's functions of vectors and groups, composed of autograd ops: ``normalize``,
``cosine_similarity``, ``one_hot``, ``group_norm`` and ``scaled_dot_product_attention``,
with torch's arguments and numbers (its epsilons and floors included)."""
from __future__ import annotations

import math

import numpy as np

from ...autograd import Tensor
from ...autograd.tensor_ops import Extremum, Where, xp_of
from ._args import check_tensor
from .activation import softmax
from .dropout import dropout


def _floor(x: Tensor, eps: float) -> Tensor:
    """max(x, eps), the gradient going to x where x is the larger (torch's clamp_min)."""
    return Extremum.apply(x, Tensor(np.asarray(eps, dtype=x.dtype), device=x.device), True)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(||input||_p, eps) along ``dim``. The floor is taken on the sum of powers
    (eps ** p), so a vector shorter than eps gets torch's gradient, 1 / eps, not the NaN of
    the root's slope at 0."""
    check_tensor(input, "normalize", "input")
    if p == 1:
        return input / _floor(input.abs().sum(axis=dim, keepdims=True), eps)
    powers = input * input if p == 2 else input.abs() ** float(p)
    floored = _floor(powers.sum(axis=dim, keepdims=True), float(eps) ** p)
    return input / (floored.sqrt() if p == 2 else floored ** (1.0 / p))


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """||x|| along ``dim`` (kept), its value at least eps, its gradient the unclamped norm's
    (0 for a zero vector) — torch's cosine_similarity clamps the norm in place, outside
    autograd."""
    squares = (x * x).sum(axis=dim, keepdims=True)
    xp = xp_of(squares.data)
    positive = squares.data > 0
    one = Tensor(xp.ones((), squares.dtype), device=x.device)
    zero = Tensor(xp.zeros((), squares.dtype), device=x.device)
    norm = Where.apply(positive, Where.apply(positive, squares, one).sqrt(), zero)
    return norm + (_floor(norm, eps) - norm).detach()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along ``dim``, as torch computes
    it (each norm clamped; the gradients those of the unclamped norms)."""
    check_tensor(x1, "cosine_similarity", "x1")
    check_tensor(x2, "cosine_similarity", "x2")
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(
        axis=dim)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 rows with a 1 at each index (num_classes -1: one more than the largest)."""
    index = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    xp = xp_of(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects integer class indices, got {index.dtype}")
    if index.size and int(index.min()) < 0:
        raise ValueError("one_hot: class values must be non-negative")
    largest = int(index.max()) if index.size else -1
    if num_classes == -1:
        num_classes = largest + 1
    if largest >= num_classes:
        raise ValueError(f"one_hot: class {largest} is out of range for {num_classes} classes")
    out = (index[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor(out, device=getattr(tensor, "device", "cpu") if isinstance(tensor, Tensor)
                  else "cpu")


def group_norm(input: Tensor, num_groups: int, weight: Tensor = None, bias: Tensor = None,
               eps: float = 1e-5) -> Tensor:
    """Each sample's channels (axis 1) in ``num_groups`` groups, each normalized over its
    channels and positions (the biased variance), then the per-channel affine."""
    check_tensor(input, "group_norm", "input")
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(f"group_norm: the channels of input {input.shape} must divide into "
                         f"num_groups={num_groups}")
    n = input.shape[0]
    grouped = input.reshape(n, num_groups, -1) if n else input.reshape(
        0, num_groups, int(np.prod(input.shape[1:])) // num_groups)
    mean = grouped.mean(axis=2, keepdims=True)
    centered = grouped - mean
    variance = (centered * centered).mean(axis=2, keepdims=True)
    y = (centered / (variance + eps).sqrt()).reshape(*input.shape)
    shape = (1, -1) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(*shape)
    if bias is not None:
        y = y + bias.reshape(*shape)
    return y


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float = None) -> Tensor:
    """softmax(q kᵀ * scale + mask) v over the last two axes (scale 1/sqrt(E) by default);
    a boolean ``attn_mask`` keeps where True (-inf elsewhere), a float one is added;
    ``is_causal``: the lower triangle. A row with nothing kept gives NaN, as torch's."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_tensor(t, "scaled_dot_product_attention", name)
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * scale
    xp = xp_of(scores.data)
    if is_causal:
        attn_mask = xp.tril(xp.ones(scores.shape[-2:], bool))
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
        if mask.dtype == bool:
            hidden = Tensor(xp.full((), -np.inf, scores.dtype), device=scores.device)
            scores = Where.apply(xp.broadcast_to(mask, scores.shape), scores, hidden)
        else:
            scores = scores + (attn_mask if isinstance(attn_mask, Tensor) else
                               Tensor(mask.astype(scores.dtype), device=scores.device))
    weights = softmax(scores, -1)
    if dropout_p:
        weights = dropout(weights, dropout_p)
    return weights @ value
