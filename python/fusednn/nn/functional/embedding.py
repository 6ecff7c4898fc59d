"""embedding: rows of a weight table looked up by integer indices (torch's arguments), its
backward a scatter-add of the output gradient into the looked-up rows (never a dense one-hot
product)."""
from __future__ import annotations

import numpy as np

from ...autograd import Function, Tensor
from ...autograd.tensor_ops import xp_of
from ._args import check_tensor


class EmbeddingFunction(Function):
    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        ctx.save_for_backward(indices)
        ctx.rows, ctx.padding_idx = weight.shape[0], padding_idx
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        xp = xp_of(g)
        dim = g.shape[-1]
        flat, rows = indices.reshape(-1), g.reshape(-1, dim)
        grad = xp.zeros((ctx.rows, dim), dtype=g.dtype)
        if xp is np and flat.size:
            # Sort once and sum each run of equal indices: the scatter-add without np.add.at's
            # per-element loop.
            order = np.argsort(flat, kind="stable")
            sorted_idx = flat[order]
            starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
            grad[sorted_idx[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        elif flat.size:
            import cupyx

            cupyx.scatter_add(grad, flat, rows)
        if ctx.padding_idx is not None:
            grad[ctx.padding_idx] = 0
        return grad, None, None


def as_indices(indices, rows: int, where: str):
    """Integer indices (an integral float array, as a model's float32 input, is accepted)
    checked to lie in [0, rows)."""
    data = indices.data if isinstance(indices, Tensor) else indices
    # device arrays stay on their device; anything else (lists, torch CPU tensors) via numpy
    xp = xp_of(data) if hasattr(data, "__cuda_array_interface__") else np
    data = xp.asarray(data)
    if data.dtype.kind == "f":
        as_int = data.astype(np.int64)
        if not bool((as_int == data).all()):
            raise ValueError(f"{where}: indices must be integers, got non-integral values of "
                             f"dtype {data.dtype}")
        data = as_int
    elif data.dtype.kind not in "iu":
        raise TypeError(f"{where}: indices must be integers, got dtype {data.dtype}")
    if data.size:
        low, high = int(data.min()), int(data.max())
        if low < 0 or high >= rows:
            bad = low if low < 0 else high
            raise IndexError(f"{where}: index {bad} is out of range for {rows} embeddings "
                             f"(indices of shape {tuple(data.shape)})")
    return data.astype(np.int64, copy=False)


def embedding(input, weight: Tensor, padding_idx: int = None, max_norm=None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """``weight[input]``: (*input.shape, embedding_dim). ``padding_idx``: that row gets no
    gradient (negative counts from the end, as torch). The weight's gradient is dense, as
    torch's with ``sparse=False``."""
    check_tensor(weight, "embedding", "weight")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {weight.shape}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported")
    rows = weight.shape[0]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                             f"[-{rows}, {rows})")
        padding_idx = padding_idx % rows
    return EmbeddingFunction.apply(weight, as_indices(input, rows, "embedding"), padding_idx)
