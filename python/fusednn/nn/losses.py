"""The losses: the functions with torch's names and arguments (also in
``fusednn.nn.functional``; the element-wise ones, l1 to kl_div, in :mod:`.pointwise_losses`),
the loss objects over them (``MSELoss``, ``CrossEntropyLoss``, ``NLLLoss``,
``BCEWithLogitsLoss``), and the losses ``compile`` takes by name (:class:`NamedLoss`). The
cross-entropies run on the fused loss Functions of :mod:`fusednn.autograd.fused` (softmax
cross-entropy is one kernel pass that returns the per-row loss and the logits' gradient
together)."""
from __future__ import annotations

import numpy as np

from .._backend import xp_of
from ..autograd import Tensor
from ..autograd.elementwise import ElementwiseActivation
from ..autograd.fused import BceWithLogitsFunction, SoftmaxCrossEntropyFunction
from ..autograd.tensor_ops import AMax

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction, where):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{where}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _as_tensor(x, like: Tensor, where, name, dtype=None):
    if isinstance(x, Tensor):
        if x.device != like.device:
            raise ValueError(f"{where}: input is on {like.device} but {name} is on {x.device}")
        return x
    return Tensor(x, device=like.device, dtype=dtype)


def _reduce(loss: Tensor, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error."""
    _reduction(reduction, "mse_loss")
    target = _as_tensor(target, input, "mse_loss", "target", input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"mse_loss: target shape {target.shape} does not match input shape "
                         f"{input.shape}")
    diff = input - target.detach() if not target.requires_grad else input - target
    return _reduce(diff * diff, reduction)


def _check_class_indices(index, n, c, ignore_index, where):
    """Class indices (n,), each in [0, c) or ignore_index."""
    if tuple(index.shape) != (n,):
        raise ValueError(f"{where}: class-index target must be ({n},), got {tuple(index.shape)}")
    # on the host, two reductions settle the common case (every class in range)
    if n and not (isinstance(index, np.ndarray) and 0 <= index.min() and index.max() < c):
        out_of_range = (index != ignore_index) & ((index < 0) | (index >= c))
        if bool(out_of_range.any()):
            bad = index[out_of_range][0]
            raise ValueError(f"{where}: target class {int(bad)} is out of range for {c} classes")


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input`` (N, C) against class indices (N,) or class
    probabilities / one-hot rows (N, C); ``weight`` (C,) weighs classes; 'mean' divides by the
    summed weights of the counted rows, as torch. As torch's, it also takes logits (N, C, d1,
    ..., dk) with indices (N, d1, ..., dk) or probabilities shaped like the logits (the loss
    of every position; 'none' gives (N, d1, ..., dk)), and one unbatched row (C,) with a
    0-d index or (C,) probabilities."""
    where = "cross_entropy"
    _reduction(reduction, where)
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: input must be a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim != 2:
        return _cross_entropy_positions(input, target, weight, ignore_index, reduction,
                                        label_smoothing)
    n, c = input.shape
    if c < 1:
        raise ValueError(f"{where}: input has no classes (shape {input.shape})")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{where}: label_smoothing must be in [0, 1], got {label_smoothing}")
    # Host class indices are checked before they are copied to the input's device: a check of
    # device indices must read its answer back, which waits for the GPU.
    host_index = isinstance(target, np.ndarray) and target.dtype.kind in "iu"
    if host_index:
        _check_class_indices(target, n, c, ignore_index, where)
    target = _as_tensor(target, input, where, "target")
    index = prob = None
    if target.dtype.kind in "iu":
        index = target.data
        if not host_index:
            _check_class_indices(index, n, c, ignore_index, where)
    elif target.dtype.kind == "f":
        if target.shape != (n, c):
            raise ValueError(f"{where}: probability target must be ({n}, {c}) like the input, "
                             f"got {target.shape}")
        prob = target.data.astype(input.dtype, copy=False)
    else:
        raise TypeError(f"{where}: target must hold integers (class indices) or floats "
                        f"(probabilities), got {target.dtype}")
    w = None
    if weight is not None:
        w = _as_tensor(weight, input, where, "weight", input.dtype).data.astype(input.dtype)
        if w.shape != (c,):
            raise ValueError(f"{where}: weight must be ({c},), got {w.shape}")
    return SoftmaxCrossEntropyFunction.apply(input, index, prob, w, int(ignore_index), reduction,
                                     float(label_smoothing))


def _cross_entropy_positions(input: Tensor, target, weight, ignore_index, reduction,
                             label_smoothing) -> Tensor:
    """torch's other input shapes, as rows of the (N, C) kernel: the class axis (axis 1, or
    the only axis of an unbatched row) moved last and the rest flattened."""
    where = "cross_entropy"
    if input.ndim == 0:
        raise ValueError(f"{where}: input must be (N, C) or (N, C, d1, ...) logits, or one "
                         f"(C,) row, got shape {input.shape}")
    data = target.data if isinstance(target, Tensor) else target
    shape = tuple(getattr(data, "shape", np.shape(data)))
    probabilities = shape == tuple(input.shape)
    if input.ndim == 1:
        c, positions = input.shape[0], ()
        rows = input.reshape(1, c)
    else:
        c, positions = input.shape[1], (input.shape[0],) + tuple(input.shape[2:])
        if not probabilities and shape != positions:
            raise ValueError(f"{where}: for input of shape {input.shape} the target must be "
                             f"class indices of shape {positions} or probabilities of shape "
                             f"{input.shape}, got {shape}")
        last = (0,) + tuple(range(2, input.ndim)) + (1,)
        rows = input.permute(*last).reshape(-1, c)
    if probabilities:
        t = target if isinstance(target, Tensor) else Tensor(target, device=input.device)
        if input.ndim > 1:
            t = t.permute(*last)
        target = t.reshape(-1, c)
    else:
        if shape != positions:
            raise ValueError(f"{where}: for one (C,) row the target must be a 0-d class index "
                             f"or ({c},) probabilities, got shape {shape}")
        target = target.reshape(-1) if isinstance(target, Tensor) else \
            (data.reshape(-1) if hasattr(data, "reshape") else np.asarray(data).reshape(-1))
    loss = cross_entropy(rows, target, weight, ignore_index, reduction, label_smoothing)
    return loss.reshape(positions) if reduction == "none" else loss


def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C), (N, C, d1, ...) or one
    (C,) row at class indices ``target`` (N,), (N, d1, ...) or 0-d: -w[t] input[t] per
    position, 0 where the target is ``ignore_index``; 'mean' divides by the summed weights of
    the counted positions (NaN when none counts), as torch's."""
    where = "nll_loss"
    _reduction(reduction, where)
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: input must be a fusednn.Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        raise ValueError(f"{where}: input must be (N, C) or (N, C, d1, ...) log-probabilities, "
                         f"or one (C,) row, got shape {input.shape}")
    if input.ndim == 1:
        c, positions, rows = input.shape[0], (), input.reshape(1, input.shape[0])
    else:
        c, positions = input.shape[1], (input.shape[0],) + tuple(input.shape[2:])
        rows = input if input.ndim == 2 else \
            input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
    index = _as_tensor(target, input, where, "target").data
    if index.dtype.kind not in "iu":
        raise TypeError(f"{where}: target must hold class indices (integers), got {index.dtype}")
    if tuple(index.shape) != positions:
        raise ValueError(f"{where}: for input of shape {input.shape} the target must be of "
                         f"shape {positions}, got {tuple(index.shape)}")
    n = rows.shape[0]
    index = index.reshape(n)
    _check_class_indices(index, n, c, ignore_index, where)
    xp = xp_of(index)
    counted = index != ignore_index
    safe = xp.where(counted, index, 0)
    w = xp.ones(c, dtype=input.dtype)
    if weight is not None:
        w = _as_tensor(weight, input, where, "weight", input.dtype).data.astype(input.dtype)
        if w.shape != (c,):
            raise ValueError(f"{where}: weight must be ({c},), got {w.shape}")
    w_rows = w[safe] * counted
    per = -rows[xp.arange(n), safe] * Tensor(w_rows, device=input.device, dtype=input.dtype)
    if reduction == "none":
        return per.reshape(positions)
    if reduction == "sum":
        return per.sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # nothing counted: NaN, as torch's
        return per.sum() / Tensor(w_rows.sum(), device=input.device, dtype=input.dtype)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """Sigmoid + binary cross-entropy in one numerically stable expression; ``pos_weight``
    weighs the positive term (per class, broadcast over the last axis)."""
    where = "binary_cross_entropy_with_logits"
    _reduction(reduction, where)
    target = _as_tensor(target, input, where, "target", input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{where}: target shape {target.shape} does not match input shape "
                         f"{input.shape}")
    arrays = []
    for name, v in (("weight", weight), ("pos_weight", pos_weight)):
        arrays.append(None if v is None else
                      _as_tensor(v, input, where, name, input.dtype).data.astype(input.dtype))
    loss = BceWithLogitsFunction.apply(input, target.data.astype(input.dtype, copy=False), *arrays)
    return _reduce(loss, reduction)


# ---- loss objects -------------------------------------------------------------------------
class MSELoss:
    def __init__(self, reduction: str = "mean"):
        self.reduction = reduction

    def __call__(self, input, target):
        return mse_loss(input, target, self.reduction)


class CrossEntropyLoss:
    """Softmax cross-entropy on logits (class indices or probability / one-hot targets)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        self.weight, self.ignore_index = weight, ignore_index
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def __call__(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class BCEWithLogitsLoss:
    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        self.weight, self.reduction, self.pos_weight = weight, reduction, pos_weight

    def __call__(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class NLLLoss:
    """Negative log-likelihood of log-probabilities (see :func:`nll_loss`)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        self.weight, self.ignore_index = weight, ignore_index
        self.reduction = _reduction(reduction, "NLLLoss")

    def __call__(self, input, target):
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


mse = MeanSquaredError = MSELoss
SparseCategoricalCrossentropy = CrossEntropyLoss  # from logits


# ---- Keras's probability losses -------------------------------------------------------------
EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]


def _smoothed(target: Tensor, label_smoothing, toward: float, where: str) -> Tensor:
    """Keras's label smoothing: target * (1 - s) + s * toward (0.5 for binary targets, 1 / the
    number of classes for categorical ones)."""
    s = float(label_smoothing)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"{where}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if s == 0.0:
        return target
    return Tensor(target.data * (1.0 - s) + s * toward, device=target.device,
                  dtype=target.dtype)


def _last_axis(axis, output: Tensor, where: str) -> None:
    if isinstance(axis, bool) or axis not in (-1, output.ndim - 1):
        raise ValueError(f"{where}: only the last axis (axis=-1) is supported, got axis={axis!r}")


def binary_crossentropy(output: Tensor, target, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Keras's binary cross-entropy per sample (mean over the last axis): on probabilities
    clipped to [1e-7, 1 - 1e-7], or on logits with ``from_logits=True`` (the stable fused
    kernel). ``label_smoothing`` s moves the targets toward 0.5: t (1 - s) + s / 2."""
    where = "binary_crossentropy"
    target = _target_like_output(target, output, axis, where)
    per = binary_crossentropy_elements(output, _smoothed(target, label_smoothing, 0.5, where),
                                       from_logits)
    return per.mean(axis=-1) if per.ndim > 1 else per


def binary_crossentropy_elements(output: Tensor, target: Tensor, from_logits: bool) -> Tensor:
    """Keras's binary cross-entropy of each element (``keras.ops.binary_crossentropy``)."""
    if from_logits:
        return binary_cross_entropy_with_logits(output, target, reduction="none")
    p = output.clip(EPSILON, 1.0 - EPSILON)
    t = target.detach()
    return -(t * p.log() + (1.0 - t) * (1.0 - p).log())


def _target_like_output(target, output: Tensor, axis, where: str) -> Tensor:
    """The target as a Tensor shaped like the output, the loss taken over the last axis."""
    target = _as_tensor(target, output, where, "target", output.dtype)
    if target.shape != output.shape:
        raise ValueError(f"{where}: target shape {target.shape} does not match output shape "
                         f"{output.shape}")
    _last_axis(axis, output, where)
    return target


def _focal_options(alpha, gamma, where):
    if not gamma >= 0:
        raise ValueError(f"{where}: gamma must be >= 0, got {gamma}")
    return float(alpha), float(gamma)


def binary_focal_crossentropy(output: Tensor, target, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Keras's binary focal cross-entropy per sample (mean over the last axis): the binary
    cross-entropy of probabilities clipped to [1e-7, 1 - 1e-7] (a sigmoid first with
    ``from_logits``), times (1 - p_t)^gamma where p_t is the probability of the true label,
    and with ``apply_class_balancing`` times alpha for positives, 1 - alpha for negatives."""
    where = "binary_focal_crossentropy"
    alpha, gamma = _focal_options(alpha, gamma, where)
    target = _target_like_output(target, output, axis, where)
    t = _smoothed(target, label_smoothing, 0.5, where).detach()
    p = output.sigmoid() if from_logits else output
    clipped = p.clip(EPSILON, 1.0 - EPSILON)
    bce = -(t * clipped.log() + (1.0 - t) * (1.0 - clipped).log())
    p_true = t * p + (1.0 - t) * (1.0 - p)
    per = (1.0 - p_true) ** gamma * bce
    if apply_class_balancing:
        per = per * (t * alpha + (1.0 - t) * (1.0 - alpha))
    return per.mean(axis=-1) if per.ndim > 1 else per


def categorical_focal_crossentropy(output: Tensor, target, alpha: float = 0.25,
                                   gamma: float = 2.0, from_logits: bool = False,
                                   label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Keras's categorical focal cross-entropy per sample: each row of probabilities (a
    softmax first with ``from_logits``) divided by its sum and clipped to [1e-7, 1 - 1e-7],
    then sum(alpha (1 - p)^gamma * -t log p) over the classes."""
    where = "categorical_focal_crossentropy"
    alpha, gamma = _focal_options(alpha, gamma, where)
    target = _target_like_output(target, output, axis, where)
    t = _smoothed(target, label_smoothing, 1.0 / max(output.shape[-1], 1), where).detach()
    p = output.softmax(-1) if from_logits else output
    p = (p / p.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)
    return ((1.0 - p) ** gamma * alpha * -(t * p.log())).sum(axis=-1)


def categorical_crossentropy(output: Tensor, target, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Keras's categorical cross-entropy per sample against one-hot / probability rows: on
    probabilities (each row divided by its sum, then clipped to [1e-7, 1 - 1e-7]), or on logits
    with ``from_logits=True`` (the fused softmax cross-entropy kernel). ``label_smoothing`` s
    moves the targets toward uniform: t (1 - s) + s / classes."""
    where = "categorical_crossentropy"
    target = _target_like_output(target, output, axis, where)
    target = _smoothed(target, label_smoothing, 1.0 / max(output.shape[-1], 1), where)
    if from_logits:
        return _over_rows(output, lambda rows: cross_entropy(
            rows, target.data.reshape(rows.shape), reduction="none"))
    p = (output / output.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)
    return -(target.detach() * p.log()).sum(axis=-1)


def sparse_categorical_crossentropy(output: Tensor, target, from_logits: bool = False,
                                    ignore_class=None) -> Tensor:
    """Keras's sparse categorical cross-entropy at each output row: outputs (N, C) with class
    indices (N,) or (N, 1), or, as Keras, outputs (N, d1, ..., C) with indices (N, d1, ...)
    (or a trailing axis of 1) — one class per time step or position, the loss (N, d1, ...).
    ``ignore_class``: rows of that target value get a loss of 0 and no gradient (the losses
    that reduce them count only the other rows, see :func:`ignored_rows`)."""
    where = "sparse_categorical_crossentropy"
    if output.ndim < 2:
        raise ValueError(f"{where}: output must hold class scores on its last axis, (N, C) or "
                         f"(N, ..., C), got shape {output.shape}")
    index = _class_indices(target, output, where, ignore_class)
    flat = index.reshape(-1)
    if from_logits:
        per = _over_rows(output, lambda rows: cross_entropy(rows, flat, reduction="none"))
    else:
        def probabilities(rows):
            xp = xp_of(rows.data)
            one_hot = xp.zeros(rows.shape, rows.dtype)
            one_hot[xp.arange(rows.shape[0]), xp.asarray(flat)] = 1
            return categorical_crossentropy(rows, one_hot, from_logits=False)

        per = _over_rows(output, probabilities)
    if ignore_class is None:
        return per
    kept = ~ignored_rows(target, tuple(output.shape[:-1]), ignore_class)
    return per * Tensor(xp_of(per.data).asarray(kept, dtype=per.dtype), device=per.device)


def same_rank(values, weights):
    """Keras's rank match of a loss and its weights: where the ranks differ by one and the
    longer one ends in an axis of 1, a 1-D partner gains that axis, else the axis goes; any
    other pair broadcasts as numpy does (aligned at the last axis). Arrays or Tensors."""
    if values.ndim == weights.ndim + 1 and values.shape[-1] == 1:
        if weights.ndim == 1:
            weights = weights.reshape(tuple(weights.shape) + (1,))
        else:
            values = values.reshape(tuple(values.shape[:-1]))
    if weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
        if values.ndim == 1:
            values = values.reshape(tuple(values.shape) + (1,))
        else:
            weights = weights.reshape(tuple(weights.shape[:-1]))
    return values, weights


def ignored_rows(target, rows: tuple, ignore_class):
    """Where the class-index ``target`` (``rows``, or with a trailing axis of 1) holds
    ``ignore_class``: the rows Keras's ``ignore_class`` masks out of the loss and of its
    mean."""
    data = target.data if isinstance(target, Tensor) else target
    return data.reshape(rows) == ignore_class


def _over_rows(output: Tensor, loss_of_rows) -> Tensor:
    """A per-row loss of (rows, C) scores applied to outputs (N, ..., C): the rows flattened,
    the loss shaped (N, ...) again."""
    if output.ndim == 2:
        return loss_of_rows(output)
    return loss_of_rows(output.reshape(-1, output.shape[-1])).reshape(output.shape[:-1])


def _class_indices(target, output, where, ignore_class=None):
    """Class indices as int64, one per output row (the output's shape without its last axis),
    given in that shape or with a trailing axis of 1, integers or integer-valued floats;
    ``ignore_class`` entries read as class 0 (their loss is dropped afterwards)."""
    data = target.data if isinstance(target, Tensor) else target
    rows = tuple(output.shape[:-1])
    if tuple(data.shape) == rows + (1,):
        data = data.reshape(rows)
    if tuple(data.shape) != rows:
        raise ValueError(f"{where}: target must hold one class index per row {rows} of the "
                         f"output {tuple(output.shape)}, got shape {tuple(data.shape)}")
    if data.dtype.kind == "f":
        rounded = data.astype(np.int64)
        if bool((rounded != data).any()):
            raise ValueError(f"{where}: target holds non-integer class indices")
        data = rounded
    elif data.dtype.kind not in "iu":
        raise TypeError(f"{where}: target must hold class indices, got {data.dtype}")
    if ignore_class is not None:
        data = xp_of(data).where(data == ignore_class, 0, data)
    c = output.shape[-1]
    if data.size and bool(((data < 0) | (data >= c)).any()):
        raise ValueError(f"{where}: target class {int(data[(data < 0) | (data >= c)][0])} is out "
                         f"of range for {c} classes")
    return data.astype(np.int64, copy=False)


def mean_absolute_error(output: Tensor, target) -> Tensor:
    """Per-sample mean absolute error (mean over the last axis)."""
    target = _as_tensor(target, output, "mean_absolute_error", "target", output.dtype)
    per = (output - target.detach()).abs()
    return per.mean(axis=-1) if per.ndim > 1 else per


def mean_squared_error(output: Tensor, target) -> Tensor:
    """Per-sample mean squared error (mean over the last axis)."""
    target = _as_tensor(target, output, "mean_squared_error", "target", output.dtype)
    d = output - target.detach()
    per = d * d
    return per.mean(axis=-1) if per.ndim > 1 else per


def huber(output: Tensor, target, delta: float = 1.0) -> Tensor:
    """Keras's Huber loss per sample: 0.5 e^2 where |e| <= delta, delta (|e| - delta/2)
    beyond, averaged over the last axis."""
    target = _as_tensor(target, output, "huber", "target", output.dtype)
    a = (output - target.detach()).abs()
    quadratic = a.clip(0.0, float(delta))
    per = 0.5 * quadratic * quadratic + float(delta) * (a - quadratic)
    return per.mean(axis=-1) if per.ndim > 1 else per


def kl_divergence(output: Tensor, target) -> Tensor:
    """Keras's Kullback-Leibler divergence per sample: sum(t log(t / p)) over the last axis,
    both clipped to [1e-7, 1]."""
    target = _as_tensor(target, output, "kl_divergence", "target", output.dtype)
    xp = xp_of(target.data)
    t = xp.clip(target.data, EPSILON, 1.0)
    p = output.clip(EPSILON, 1.0)
    per = Tensor(t * xp.log(t), device=output.device) - Tensor(t, device=output.device) * p.log()
    return per.sum(axis=-1) if per.ndim > 1 else per


def _float_target(target, output: Tensor, where: str):
    """The target's array on the output's device and in its type, shaped like the output."""
    t = _as_tensor(target, output, where, "target", output.dtype).data
    if tuple(t.shape) != tuple(output.shape):
        raise ValueError(f"{where}: target shape {tuple(t.shape)} does not match output shape "
                         f"{tuple(output.shape)}")
    return t


def _last_axis_mean(per: Tensor) -> Tensor:
    return per.mean(axis=-1) if per.ndim > 1 else per


def mean_absolute_percentage_error(output: Tensor, target) -> Tensor:
    """Keras's: 100 * mean(|t - y| / max(|t|, 1e-7)) over the last axis."""
    t = _float_target(target, output, "mean_absolute_percentage_error")
    xp = xp_of(t)
    scale = Tensor(xp.maximum(xp.abs(t), EPSILON).astype(t.dtype), device=output.device)
    return _last_axis_mean(((Tensor(t, device=output.device) - output) / scale).abs()) * 100.0


def mean_squared_logarithmic_error(output: Tensor, target) -> Tensor:
    """Keras's: mean((log(max(y, 1e-7) + 1) - log(max(t, 1e-7) + 1))^2) over the last axis."""
    t = _float_target(target, output, "mean_squared_logarithmic_error")
    xp = xp_of(t)
    second = Tensor(xp.log(xp.maximum(t, EPSILON) + 1).astype(t.dtype), device=output.device)
    d = (output.clip(EPSILON, float("inf")) + 1.0).log() - second
    return _last_axis_mean(d * d)


def cosine_similarity(output: Tensor, target, axis: int = -1) -> Tensor:
    """Keras's: -sum(t / |t| * y / |y|) over the last axis, each norm at least 1e-7."""
    where = "cosine_similarity"
    _last_axis(axis, output, where)
    t = _float_target(target, output, where)
    xp = xp_of(t)
    t_norm = t / xp.maximum(xp.sqrt((t * t).sum(axis=-1, keepdims=True)), EPSILON)
    y_norm = output / (output * output).sum(axis=-1, keepdims=True).sqrt().clip(
        EPSILON, float("inf"))
    return -(y_norm * Tensor(t_norm.astype(t.dtype), device=output.device)).sum(axis=-1)


def log_cosh(output: Tensor, target) -> Tensor:
    """Keras's: mean(log(cosh(y - t))) over the last axis, as x + softplus(-2x) - log 2."""
    t = _float_target(target, output, "log_cosh")
    x = output - Tensor(t, device=output.device)
    per = x + ElementwiseActivation.apply(x * -2.0, "softplus", (1.0, 20.0)) - float(np.log(2.0))
    return _last_axis_mean(per)


def poisson(output: Tensor, target) -> Tensor:
    """Keras's: mean(y - t log(y + 1e-7)) over the last axis."""
    t = Tensor(_float_target(target, output, "poisson"), device=output.device)
    return _last_axis_mean(output - t * (output + EPSILON).log())


def _hinge_labels(t):
    """Keras's: 0/1 labels become -1/1; other labels are taken as they are."""
    return 2 * t - 1 if bool(((t == 0) | (t == 1)).all()) else t


def hinge(output: Tensor, target) -> Tensor:
    """Keras's: mean(max(1 - t y, 0)) over the last axis (0/1 labels read as -1/1)."""
    t = _hinge_labels(_float_target(target, output, "hinge"))
    return _last_axis_mean((1.0 - Tensor(t, device=output.device) * output).relu())


def squared_hinge(output: Tensor, target) -> Tensor:
    """Keras's: mean(max(1 - t y, 0)^2) over the last axis (0/1 labels read as -1/1)."""
    t = _hinge_labels(_float_target(target, output, "squared_hinge"))
    margin = (1.0 - Tensor(t, device=output.device) * output).relu()
    return _last_axis_mean(margin * margin)


def categorical_hinge(output: Tensor, target) -> Tensor:
    """Keras's: max(max((1 - t) y) - sum(t y) + 1, 0), over the last axis."""
    t = Tensor(_float_target(target, output, "categorical_hinge"), device=output.device)
    positive = (t * output).sum(axis=-1)
    negative = AMax.apply((1.0 - t) * output, (output.ndim - 1,), False)
    return (negative - positive + 1.0).relu()


# losses computed per sample from float targets shaped like the output, by their Keras names
PER_SAMPLE = {"mean_absolute_percentage_error": mean_absolute_percentage_error,
              "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
              "cosine_similarity": cosine_similarity, "log_cosh": log_cosh,
              "poisson": poisson, "hinge": hinge, "squared_hinge": squared_hinge,
              "categorical_hinge": categorical_hinge}
PER_SAMPLE_ALIASES = {"mape": "mean_absolute_percentage_error",
                      "msle": "mean_squared_logarithmic_error", "logcosh": "log_cosh"}


# ---- losses by name, as compile takes them ---------------------------------------------------
# name: (kind, takes probabilities, the output activation whose logits the fused kernel takes)
# Keras's names take probabilities (unless from_logits=True), as they do in Keras; fusednn's
# own names (cross_entropy, bce) take logits, as torch's do.
LOSSES = {
    "cross_entropy": ("classes", False, None),
    "categorical_crossentropy": ("categorical", True, "softmax"),
    "sparse_categorical_crossentropy": ("sparse", True, "softmax"),
    "bce": ("binary", False, None),
    "binary_cross_entropy_with_logits": ("binary", False, None),
    "binary_crossentropy": ("binary", True, "sigmoid"),
    "mse": ("regression", False, None),
    "mean_squared_error": ("regression", False, None),
    "mae": ("mae", False, None),
    "mean_absolute_error": ("mae", False, None),
    "huber": ("huber", False, None),
    "binary_focal_crossentropy": ("binary_focal", True, None),
    "categorical_focal_crossentropy": ("categorical_focal", True, None),
    "kl_divergence": ("kld", True, None),
    "kld": ("kld", True, None),
    **{name: ("per_sample", False, None) for name in list(PER_SAMPLE) + list(PER_SAMPLE_ALIASES)},
}


# the options each kind of loss takes (Keras's loss-object arguments), kept with the model
_OPTIONS = {"categorical": {"label_smoothing"}, "binary": {"label_smoothing"},
            "huber": {"delta"}, "sparse": {"ignore_class"},
            "binary_focal": {"apply_class_balancing", "alpha", "gamma", "label_smoothing"},
            "categorical_focal": {"alpha", "gamma", "label_smoothing"}}


class NamedLoss:
    """A loss by the name ``compile`` takes (see ``LOSSES``), a Keras loss object of
    :mod:`fusednn.keras.losses`, or a callable: the loss of one batch from model outputs and
    targets, with optional per-sample weights (sum(w * loss) / batch size, as Keras).

    ``kind`` says how its targets look ("classes": indices or one-hot rows, "categorical",
    "sparse", "binary", "regression", "mae", "custom"). ``logits_of``: the final activation
    ("softmax" / "sigmoid") whose input the loss takes instead of its output when the model
    ends in it — the same value as Keras computes, through the stable fused kernels."""

    def __init__(self, name, from_logits: bool = None, loss_weight: float = 1.0, **options):
        spec = getattr(name, "fusednn_loss", None)  # a fusednn.keras.losses object
        if spec is not None:
            name, from_logits, options = spec[0], spec[1], dict(spec[2] if len(spec) > 2 else {})
        self.options = options
        # Keras's loss_weights of a one-output model: the loss trained on and logged, scaled
        if isinstance(loss_weight, bool) or not isinstance(loss_weight, (int, float)) or \
                not np.isfinite(loss_weight):
            raise ValueError(f"loss_weights: the weight must be a finite number, got "
                             f"{loss_weight!r}")
        self.loss_weight = float(loss_weight)
        if callable(name):
            self.name, self.kind, self.fn = getattr(name, "__name__", "custom"), "custom", name
            self.probabilities, self.logits_of = False, None
            return
        if name not in LOSSES:
            raise ValueError(f"unknown loss {name!r} (known: {', '.join(LOSSES)}, or a callable "
                             "(output, target) -> Tensor)")
        self.name, self.fn = name, None
        self.kind, self.probabilities, self.logits_of = LOSSES[name]
        unknown = sorted(set(options) - _OPTIONS.get(self.kind, set()))
        if unknown:
            raise ValueError(f"loss {name!r} takes no option(s) {unknown} (it takes: "
                             f"{sorted(_OPTIONS.get(self.kind, ())) or 'none'})")
        if from_logits and self.probabilities:
            self.probabilities, self.logits_of = False, None

    @property
    def classification(self) -> bool:
        return self.kind in ("classes", "categorical", "sparse", "binary", "binary_focal",
                             "categorical_focal")

    @property
    def binary(self) -> bool:
        return self.kind == "binary"

    def __call__(self, out, target, weight=None, logits: bool = None, mask=None):
        value = self._value(out, target, weight, logits, mask)
        return value if self.loss_weight == 1.0 else value * self.loss_weight

    def _value(self, out, target, weight=None, logits: bool = None, mask=None):
        """``logits``: whether ``out`` is the pre-activation of the activation the loss
        expects (``logits_of``); by default, what the loss takes. ``weight``: per sample (N,)
        or per output row (N, T). ``mask``: Keras's step mask (N, T) of a sequence output
        (N, T, F), True at real steps: the loss is then the mean over the batch's real steps,
        as Keras 3's; a callable loss gets no mask."""
        if self.fn is not None:
            if getattr(self.fn, "weighs_samples", False):  # it weighs each sample itself
                return self.fn(out, target, weight)
            return self._callable_loss(out, target, weight)
        from_logits = (not self.probabilities) if logits is None else logits
        kind = self.kind
        if weight is None and mask is None:  # one fused reduction where there is one
            if kind == "classes" and out.ndim == 2:
                return cross_entropy(out, target)
            if kind == "binary" and from_logits and not self.options:
                return binary_cross_entropy_with_logits(out, target)  # the mean of row means
            if kind == "regression":
                return mse_loss(out, target)
        per = self.per_row(out, target, from_logits)
        ignore = self.options.get("ignore_class")
        if ignore is not None:  # Keras: ignored rows leave the loss's mean, as masked steps
            kept = xp_of(per.data).asarray(~ignored_rows(target, tuple(per.shape), ignore))
            mask = kept if mask is None else mask & kept
        if mask is not None or (weight is not None and weight.ndim > 1):
            return _weighted_mean(per, weight, mask)
        if per.ndim > 1:
            per = per.reshape(per.shape[0], -1).mean(axis=1)
        if weight is None:
            return per.mean()
        return (per * weight).sum() / per.shape[0]

    def _callable_loss(self, out, target, weight):
        """A callable's loss: its value when it gives one; the mean of its per-sample values
        when it gives those, sum(w * loss) / N under per-sample weights. A single value cannot
        be weighed per sample, so weights are refused then rather than approximated."""
        loss = self.fn(out, target)
        if not isinstance(loss, Tensor):
            loss = Tensor(np.asarray(loss, np.float32), device=out.device)
        if loss.ndim == 0:
            if weight is not None:
                raise ValueError(f"loss {self.name!r} returns one value for the batch, so "
                                 "sample_weight / class_weight cannot weigh its samples; return "
                                 "the per-sample losses (shape (N,)) instead")
            return loss
        per = loss.reshape(loss.shape[0], -1).mean(axis=1) if loss.ndim > 1 else loss
        if weight is None:
            return per.mean()
        if tuple(weight.shape) != tuple(per.shape):
            raise ValueError(f"loss {self.name!r}: per-sample weights of shape "
                             f"{tuple(weight.shape)} for per-sample losses of shape "
                             f"{tuple(per.shape)}")
        return (per * weight).sum() / per.shape[0]

    def per_row(self, out, target, from_logits: bool) -> Tensor:
        """The loss of each output row (Keras's per-sample values: the last axis reduced), of
        shape ``out.shape[:-1]`` — (N,) for (N, F) outputs, (N, T) for sequences."""
        kind = self.kind
        if kind == "classes":  # class scores on the last axis, as the models' outputs have them
            data = target.data if isinstance(target, Tensor) else target
            c = out.shape[-1]
            rows_target = data.reshape(-1, c) if data.shape == out.shape and \
                data.dtype.kind == "f" else data.reshape(-1)
            return _over_rows(out, lambda rows: cross_entropy(rows, rows_target, reduction="none"))
        if kind == "categorical":
            return categorical_crossentropy(out, target, from_logits, **self.options)
        if kind == "sparse":
            return sparse_categorical_crossentropy(out, target, from_logits, **self.options)
        if kind == "binary":
            return binary_crossentropy(out, target, from_logits, **self.options)
        if kind == "binary_focal":
            return binary_focal_crossentropy(out, target, from_logits=from_logits,
                                             **self.options)
        if kind == "categorical_focal":
            return categorical_focal_crossentropy(out, target, from_logits=from_logits,
                                                  **self.options)
        if kind == "regression":
            return mean_squared_error(out, target)
        if kind == "huber":
            return huber(out, target, **self.options)
        if kind == "kld":
            return kl_divergence(out, target)
        if kind == "per_sample":
            return PER_SAMPLE[PER_SAMPLE_ALIASES.get(self.name, self.name)](out, target)
        return mean_absolute_error(out, target)


def _weighted_mean(per: Tensor, weight, mask) -> Tensor:
    """Keras 3's "sum_over_batch_size" reduction of a per-row loss (N,) or (N, T) under
    per-sample (N,) or per-row weights and a mask of the rows that count (padded steps and
    ignore_class rows left out): sum(w * loss) over the rows counted, divided by their number
    (the mask rescaled to total / valid; 0 when none counts), or by all rows without a
    mask."""
    xp = xp_of(per.data)
    scale = xp.ones(per.shape, per.dtype)
    if weight is not None:
        w = xp.asarray(weight.data if isinstance(weight, Tensor) else weight).astype(per.dtype)
        if w.shape != tuple(per.shape) and w.shape != tuple(per.shape[:1]):
            raise ValueError(f"loss: sample weights of shape {w.shape} fit neither the samples "
                             f"{tuple(per.shape[:1])} nor the loss's rows {tuple(per.shape)}")
        scale = scale * w.reshape(w.shape + (1,) * (per.ndim - w.ndim))
    if mask is None:
        return (per * Tensor(scale / max(scale.size, 1), device=per.device)).sum()
    m = xp.asarray(mask)
    if tuple(m.shape) != tuple(per.shape):
        raise ValueError(f"loss: the step mask {tuple(m.shape)} does not match the per-step loss "
                         f"{tuple(per.shape)}")
    m = m.astype(per.dtype)
    valid = xp.maximum(m.sum(), 1.0).astype(per.dtype)  # stays on the device: no sync
    return (per * Tensor(scale * m / valid, device=per.device)).sum()
