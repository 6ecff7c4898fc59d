"""The losses with a fused forward/backward: softmax cross-entropy (one kernel pass gives the
per-row loss and the logits' gradient) and binary cross-entropy on logits."""
from __future__ import annotations

import numpy as np

from ... import _backend
from ..function import Function
from ..tensor_ops import xp_of


class SoftmaxCrossEntropyFunction(Function):
    """Per-row softmax cross-entropy and the logits' gradient in one fused kernel pass; the
    backward only scales what the forward kept."""

    @staticmethod
    def forward(ctx, logits, index, prob, weight, ignore_index, reduction, label_smoothing):
        n, c = logits.shape
        xp = xp_of(logits)
        if label_smoothing:
            if index is not None:
                prob = xp.zeros((n, c), dtype=logits.dtype)
                valid = index != ignore_index
                prob[xp.arange(n)[valid], index[valid]] = 1.0
                prob = prob * (1 - label_smoothing) + label_smoothing / c
                prob[~valid] = 0.0  # an ignored row: zero loss, zero gradient
            else:
                prob = prob * (1 - label_smoothing) + label_smoothing / c
            index_for_kernel = None
        else:
            index_for_kernel = index
        # The divisor of 'mean': the summed weights of the counted rows (torch's rule).
        if index is not None:
            valid = index != ignore_index
            if weight is None:  # in the logits' type, as the loss and its gradient
                denom = valid.sum(dtype=logits.dtype)
            else:
                denom = (weight[xp.where(valid, index, 0)] * valid).sum()
        else:
            denom = n
        # The mean's 1/denominator is folded into the kernel's gradient on the CPU (the
        # denominator is a host number there); on the GPU it stays a device scalar.
        on_host = isinstance(denom, (int, np.integer, np.floating, np.ndarray))
        folded = reduction == "mean" and on_host
        scale = 1.0 / float(denom) if folded and float(denom) != 0 else 1.0
        if logits.dtype == np.float64:
            shifted = logits - logits.max(axis=1, keepdims=True)
            logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
            if index_for_kernel is not None:
                safe = xp.where(valid, index, 0)
                w = 1.0 if weight is None else weight[safe]
                rows = -logp[xp.arange(n), safe] * w * valid
                dl = xp.exp(logp) * (w * valid)[:, None]
                dl[xp.arange(n), safe] -= w * valid
            else:
                wq = prob if weight is None else prob * weight
                rows = -(wq * logp).sum(axis=1)
                dl = xp.exp(logp) * wq.sum(axis=1, keepdims=True) - wq
            if scale != 1.0:
                dl *= scale
        else:
            logits = _backend.contiguous(logits, "cross_entropy", "input")
            rows = _backend.empty(logits, (n,))
            dl = _backend.empty(logits, (n, c)) if ctx.needs_input_grad[0] else None
            idx = None if index_for_kernel is None else xp.ascontiguousarray(index_for_kernel,
                                                                              dtype=xp.int64)
            q = None if index_for_kernel is not None else _backend.contiguous(
                prob.astype(np.float32, copy=False), "cross_entropy", "target")
            w = None if weight is None else _backend.contiguous(weight, "cross_entropy", "weight")
            _backend.call(logits, "softmax_xent", logits, idx, q, w, int(ignore_index), rows, dl,
                          scale)
        ctx.save_for_backward(dl)
        ctx.reduction = reduction
        ctx.divide_by = None if folded or reduction != "mean" else denom
        if reduction == "none":
            return rows
        total = rows.sum()
        if reduction != "mean":
            return total
        if on_host and denom == 0:  # every row ignored: NaN, as torch's (without numpy's warning)
            return np.full((), np.nan, dtype=rows.dtype)
        return total / denom

    @staticmethod
    def backward(ctx, g):
        (dl,) = ctx.saved_tensors
        if ctx.reduction == "none":
            return dl * g[:, None], None, None, None, None, None, None
        if ctx.divide_by is not None:
            g = g / ctx.divide_by
        if isinstance(g, np.ndarray) and g.size == 1 and float(g) == 1.0:
            return dl, None, None, None, None, None, None  # loss.backward(): already scaled
        return (dl * g).astype(dl.dtype, copy=False), None, None, None, None, None, None


class BceWithLogitsFunction(Function):
    """Sigmoid + binary cross-entropy in one numerically stable expression."""

    @staticmethod
    def forward(ctx, x, t, weight, pos_weight):
        xp = xp_of(x)
        log_weight = 1.0 if pos_weight is None else (pos_weight - 1) * t + 1
        softplus_neg = xp.log1p(xp.exp(-abs(x))) + xp.maximum(-x, 0)  # log(1 + e^-x), stable
        loss = (1 - t) * x + log_weight * softplus_neg
        sig_neg = 1 / (1 + xp.exp(x))  # sigmoid(-x)
        grad = (1 - t) - log_weight * sig_neg
        if weight is not None:
            loss, grad = loss * weight, grad * weight
        ctx.save_for_backward(grad.astype(x.dtype, copy=False))
        return loss.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0], None, None, None
