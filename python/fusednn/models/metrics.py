"""Metrics as ``compile`` takes them (Keras's names and meanings), logged under the name the
user gave. Per-sample metrics are summed per batch and divided by the sample count at the end
of the epoch; metrics over the whole epoch (precision, recall, AUC, F1, top-k) are objects with
Keras's ``update_state`` / ``result`` / ``reset_state``, given as objects or by name.

"accuracy" / "acc" resolve from the loss as Keras resolves them: binary accuracy for a binary
loss (threshold 0.5 on probabilities, 0 on logits), categorical accuracy for one-hot targets,
sparse categorical accuracy for class indices.
"""
from __future__ import annotations

import numpy as np

from .._backend import to_host, xp_of
from ..autograd import Tensor, no_grad
from ..nn.losses import same_rank

ALIASES = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae",
           "mean_absolute_percentage_error": "mape", "mean_squared_logarithmic_error": "msle"}
KINDS = ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
         "mse", "mae", "mape", "msle")


def direction(metric) -> str:
    """"up" or "down" for a metric as ``compile`` takes it (a name or an object), None for a
    metric object that does not say."""
    if isinstance(metric, Metric):
        return metric.direction
    kind = ALIASES.get(metric, metric)
    if kind in EPOCH_METRICS:
        return EPOCH_METRICS[kind].direction
    return "up" if kind.endswith("accuracy") else "down"


def resolve(name: str, objective, by_shape=None) -> str:
    """The metric a name means: "accuracy" for this loss (Keras 2's rule, fusednn's), or with
    ``by_shape`` = (target, scores) from their shapes whatever the loss (Keras 3's rule: one
    output column is binary accuracy, class indices sparse categorical, else categorical)."""
    kind = ALIASES.get(name, name)
    if kind != "accuracy":
        return kind
    if by_shape is not None:
        target, scores = by_shape
        if scores.ndim < 2 or scores.shape[-1] == 1:
            return "binary_accuracy"
        if target.ndim < scores.ndim or target.shape[-1] == 1:
            return "sparse_categorical_accuracy"
        return "categorical_accuracy"
    return {"binary": "binary_accuracy", "categorical": "categorical_accuracy",
            "sparse": "sparse_categorical_accuracy", "binary_focal": "binary_accuracy",
            "categorical_focal": "categorical_accuracy"}.get(objective.kind, "accuracy")


def check_metrics(metrics, objective, accuracy_by_shape: bool = False) -> list:
    """The metrics as given (a single one may stand alone), validated for this loss: names,
    or epoch metric objects (``Precision()`` & co.). "accuracy" needs a classification loss
    unless it is read from the shapes (``accuracy_by_shape``, Keras 3's rule)."""
    if metrics is None:
        return []
    if isinstance(metrics, (str, Metric)):
        metrics = [metrics]
    metrics = list(metrics)
    for m in metrics:
        if isinstance(m, Metric) or m in EPOCH_METRICS:
            continue
        if not isinstance(m, str):
            raise TypeError(f"a metric is a name or a metric object (fusednn.keras.metrics), "
                            f"got {m!r}")
        kind = ALIASES.get(m, m)
        if kind not in KINDS:
            raise ValueError(f"unknown metric {m!r} (known: "
                             f"{', '.join(KINDS + tuple(ALIASES) + tuple(EPOCH_METRICS))})")
        if kind == "accuracy" and not accuracy_by_shape and not objective.classification:
            raise ValueError(f"metric {m!r} needs a classification loss, got {objective.name!r}")
    return metrics


def metric_values(kind, scores, target, probabilities: bool):
    """A per-sample metric at each output row (Keras's values: the last axis reduced), shape
    ``scores.shape[:-1]`` — (N,) for (N, F) scores, (N, T) for sequences — or (N,) for 1-D
    scores. ``scores``: probabilities when ``probabilities`` else logits (the threshold of
    binary accuracy)."""
    xp = xp_of(scores)
    if kind == "accuracy":  # a logits loss ("classes"): one-hot rows or class indices
        kind = "categorical_accuracy" if target.shape == scores.shape and scores.shape[-1] > 1 \
            else "sparse_categorical_accuracy"
    if kind == "binary_accuracy":
        predicted = (scores > (0.5 if probabilities else 0.0)).astype(scores.dtype)
        t = target.reshape(scores.shape) if target.size == scores.size else target
        hits = (predicted == t).astype(np.float64)
        return hits.mean(axis=-1) if hits.ndim > 1 else hits
    if kind == "categorical_accuracy":
        return (scores.argmax(axis=-1) == target.argmax(axis=-1)).astype(np.float64)
    if kind == "sparse_categorical_accuracy":
        rows = scores.shape[:-1]
        return (scores.argmax(axis=-1) == target.reshape(rows)).astype(np.float64)
    if target.size != scores.size:
        raise ValueError(f"metric {kind!r} compares targets of shape {tuple(target.shape)} with "
                         f"outputs of shape {tuple(scores.shape)}: they must hold as many values "
                         "(class indices need an accuracy metric)")
    return regression_values(kind, target.reshape(scores.shape), scores, xp)


EPSILON = 1e-7  # Keras's backend.epsilon()


def regression_values(kind, target, scores, xp=np):
    """Keras's regression metrics per row (the last axis averaged): "mse", "mae", "mape"
    (100 |t - y| / max(|t|, eps)), "msle" ((log(max(y, eps) + 1) - log(max(t, eps) + 1))^2)."""
    if kind == "mse":
        v = (scores - target) ** 2
    elif kind == "mae":
        v = xp.abs(scores - target)
    elif kind == "mape":
        v = 100 * xp.abs((target - scores) / xp.maximum(xp.abs(target), EPSILON))
    else:
        v = (xp.log(xp.maximum(scores, EPSILON) + 1) - xp.log(xp.maximum(target, EPSILON) + 1)) ** 2
    return v.mean(axis=-1) if v.ndim > 1 else v


def metric_sums(metrics, objective, scores, target, probabilities: bool, mask=None,
                accuracy_by_shape: bool = False, weights=None) -> dict:
    """{metric name: (value summed over the batch, what it counts)}: per-sample means over
    samples, or with a step ``mask`` (N, T) the values at the real steps over their number
    (Keras's masked mean); with per-sample ``weights`` (N,), each sample's value weighted and
    the weights counted (Keras's weighted mean). ``accuracy_by_shape``: see ``resolve``."""
    xp = xp_of(scores)
    target = xp.asarray(target)
    m = None if mask is None else xp.asarray(mask)
    w = None if weights is None else xp.asarray(weights, dtype=np.float64).reshape(-1)
    by_shape = (target, scores) if accuracy_by_shape else None
    sums = {}
    for name in metrics:
        values = metric_values(resolve(name, objective, by_shape), scores, target,
                               probabilities)
        if m is not None and values.shape == m.shape:
            counted = m if w is None else m * w.reshape((-1,) + (1,) * (m.ndim - 1))
            sums[name] = (float((values * counted).sum()), float(counted.sum()))
        else:
            per_sample = values.reshape(values.shape[0], -1).mean(axis=1) if values.ndim > 1 \
                else values
            if w is None:
                sums[name] = (float(per_sample.sum()), float(values.shape[0]))
            else:
                sums[name] = (float((per_sample * w).sum()), float(w.sum()))
    return sums


def probabilities(activation: str, z):
    """softmax (over the last axis) or sigmoid of logits ``z``, host or device, without
    overflow."""
    xp = xp_of(z)
    if activation == "sigmoid":
        return 0.5 * (xp.tanh(0.5 * z) + 1)
    e = xp.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---- metrics over the whole epoch ------------------------------------------------------------
class Metric:
    """Keras's protocol: ``update_state(y_true, y_pred, sample_weight=None)`` per batch
    (probabilities; ``sample_weight`` per sample, or shaped like the values, weighs them as
    Keras's metrics do), ``result()``, ``reset_state()``."""

    name = "metric"
    dtype = "float32"  # Keras's: the type a metric's values are cast to
    # "up" when larger is better, "down" when smaller is; callbacks in mode "auto" read it, and
    # refuse a metric without one (Keras's rule).
    direction = None
    # False: fusednn's own metrics take one row per step and probabilities (one-hot rows for
    # class indices); True: the user's take the targets and model outputs as Keras passes them
    takes_model_output = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__module__.startswith("fusednn.") and "takes_model_output" not in cls.__dict__:
            cls.takes_model_output = True  # the user's metric class, as Keras calls it

    def __init__(self, name: str = None, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)}")
        if name:
            self.name = name
        self._variables = []
        # fusednn's metrics start from their reset state; the user's (Keras's protocol) make
        # their variables after this, with add_variable, which starts them
        if type(self).__module__.startswith("fusednn."):
            self.reset_state()

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """Keras's: a state variable (``assign`` / ``assign_add``, arithmetic with Tensors)
        that ``reset_state`` returns to its initial value."""
        variable = MetricVariable(shape, initializer, dtype, name)
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    @property
    def variables(self) -> list:
        return list(self.__dict__.get("_variables", []))

    def reset_state(self):
        """Keras's default: every variable back to its initial value."""
        for variable in self.variables:
            variable.reset()

    def get_config(self) -> dict:
        """The constructor's arguments (Keras's protocol): a saved model rebuilds the metric
        as ``type(m)(**m.get_config())``."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError


def _as_array(value):
    if isinstance(value, Tensor):
        return to_host(value.data)
    if isinstance(value, MetricVariable):
        return value.value
    return np.asarray(value)


class MetricVariable:
    """A custom metric's state (Keras's metric variable): a float32 array that ``assign``,
    ``assign_add`` and ``assign_sub`` replace, read in arithmetic as a Tensor."""

    def __init__(self, shape=(), initializer="zeros", dtype=None, name=None):
        shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
        self.name, self.dtype = name, np.dtype(dtype or np.float32)
        if callable(initializer):
            initial = _as_array(initializer(shape))
        elif initializer in ("zeros", "ones"):
            initial = (np.zeros if initializer == "zeros" else np.ones)(shape)
        else:
            initial = np.full(shape, float(initializer))
        self._initial = np.asarray(initial, self.dtype).reshape(shape)
        self.value = self._initial.copy()

    @property
    def shape(self):
        return self.value.shape

    def reset(self):
        self.value = self._initial.copy()

    def assign(self, value):
        value = np.asarray(_as_array(value), self.dtype)
        try:
            self.value = np.broadcast_to(value, self.value.shape).copy()
        except ValueError:
            raise ValueError(f"metric variable {self.name!r} of shape {self.value.shape} cannot "
                             f"take a value of shape {value.shape}") from None
        return self

    def assign_add(self, value):
        return self.assign(self.value + _as_array(value))

    def assign_sub(self, value):
        return self.assign(self.value - _as_array(value))

    def numpy(self):
        return self.value.copy()

    def __array__(self, dtype=None, copy=None):
        return self.value.astype(dtype) if dtype is not None else self.value.copy()

    def __float__(self):
        return float(self.value)

    def _tensor(self):
        return Tensor(self.value.copy())

    def __add__(self, other):
        return self._tensor() + other

    def __radd__(self, other):
        return other + self._tensor()

    def __sub__(self, other):
        return self._tensor() - other

    def __rsub__(self, other):
        return other - self._tensor()

    def __mul__(self, other):
        return self._tensor() * other

    def __rmul__(self, other):
        return other * self._tensor()

    def __truediv__(self, other):
        return self._tensor() / other

    def __rtruediv__(self, other):
        return other / self._tensor()

    def __neg__(self):
        return -self._tensor()

    def __repr__(self):
        return f"MetricVariable(name={self.name!r}, value={self.value!r})"


def metric_value(result) -> float:
    """A metric's result as the logs hold it: a float (a Tensor, variable or 0-d array read)."""
    return float(np.asarray(_as_array(result), np.float64))


def _weights_over(sample_weight, shape, what="predictions"):
    """Per-sample (or per-value) weights spread over values of ``shape``: the weights' axes
    lead, the values' trailing axes repeat them (a weight per row of (N, D) predictions)."""
    if sample_weight is None:
        return np.ones(shape)
    w = np.asarray(sample_weight, np.float64)
    if w.ndim < len(shape):
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"sample_weight of shape {np.shape(sample_weight)} does not fit "
                         f"{what} of shape {tuple(shape)}") from None


def samplewise(values, sample_weight=None):
    """(sum, count) that Keras's Mean metric adds for these values: each sample's values
    averaged to one (over the axes the weights do not have), weighted, summed; the count is
    the number of samples, or their summed weights (each averaged over its values' axes)."""
    v = np.asarray(values, np.float64)
    if sample_weight is None:
        if v.ndim == 0:
            return float(v), 1.0
        if v.ndim > 1:
            v = v.reshape(len(v), -1).mean(axis=1)
        return float(v.sum()), float(v.shape[0])
    w = np.asarray(sample_weight, np.float64)
    v, w = same_rank(v, w)
    weight_ndim = w.ndim
    if v.ndim > weight_ndim:
        v = v.mean(axis=tuple(range(weight_ndim, v.ndim)))
    w = _weights_over(w, v.shape, "metric values")  # v has no more axes than w here
    v = v * w
    if weight_ndim > 1:
        w = w.mean(axis=tuple(range(1, weight_ndim)))
    if v.ndim > 1:
        v = v.mean(axis=tuple(range(1, v.ndim)))
    return float(v.sum()), float(w.sum())


def _binary_counts(y_true, y_pred, threshold, sample_weight=None):
    """(TP, FP, FN) over every element, each weighed by its sample's weight."""
    y_pred = np.asarray(y_pred, np.float64)
    w = _weights_over(sample_weight, y_pred.shape).reshape(-1)
    t = np.asarray(y_true, np.float64).reshape(-1) > 0.5
    p = y_pred.reshape(-1) > threshold
    return float(w[t & p].sum()), float(w[~t & p].sum()), float(w[t & ~p].sum())


class Precision(Metric):
    """TP / (TP + FP) over the epoch, predictions thresholded at ``thresholds`` (0.5), every
    element counted (Keras's micro average over columns)."""
    direction = "up"

    name = "precision"

    def __init__(self, thresholds=None, name: str = None):
        self.threshold = 0.5 if thresholds is None else float(thresholds)
        super().__init__(name)

    def get_config(self):
        return {"thresholds": self.threshold, "name": self.name}

    def reset_state(self):
        self.tp = self.fp = self.fn = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, fn = _binary_counts(y_true, y_pred, self.threshold, sample_weight)
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn

    def result(self):
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0


class Recall(Precision):
    """TP / (TP + FN) over the epoch."""

    name = "recall"

    def result(self):
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


class AUC(Metric):
    """Area under the ROC curve over the epoch's scores, computed exactly (the weighted
    Mann-Whitney statistic with tied scores counting half, as scikit-learn's roc_auc_score);
    Keras approximates it with ``num_thresholds`` thresholds (200), which fusednn takes and
    keeps in the config but has no need of. ``from_logits``: scores pass through a sigmoid
    first. The precision-recall curve, multi-label and label weights are refused."""
    direction = "up"

    name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        if str(curve).upper() != "ROC":
            raise NotImplementedError(f"AUC: curve={curve!r} is not supported (the ROC curve is)")
        if multi_label or label_weights is not None:
            raise NotImplementedError("AUC: multi_label and label_weights are not supported")
        if not isinstance(num_thresholds, int) or num_thresholds <= 1:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                             f"num_thresholds={num_thresholds}")
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, "ROC", \
            summation_method
        self.thresholds, self.from_logits = thresholds, bool(from_logits)
        super().__init__(name)

    def get_config(self):
        return dict(num_thresholds=self.num_thresholds, curve=self.curve,
                    summation_method=self.summation_method, name=self.name,
                    thresholds=self.thresholds, from_logits=self.from_logits)

    def reset_state(self):
        self.scores, self.truth, self.weights = [], [], []

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, np.float64)
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        self.weights.append(_weights_over(sample_weight, y_pred.shape).reshape(-1))
        self.truth.append(np.asarray(y_true, np.float64).reshape(-1) > 0.5)
        self.scores.append(y_pred.reshape(-1))

    def result(self):
        if not self.scores:
            return 0.0
        truth, scores = np.concatenate(self.truth), np.concatenate(self.scores)
        weights = np.concatenate(self.weights)
        w_pos, w_neg = float(weights[truth].sum()), float(weights[~truth].sum())
        if w_pos <= 0 or w_neg <= 0:
            return 0.0
        # per distinct score: the negative weight below it, and half of that at it
        distinct, group = np.unique(scores, return_inverse=True)
        neg_at = np.bincount(group, weights=np.where(truth, 0.0, weights),
                             minlength=distinct.size)
        neg_below = np.concatenate([[0.0], np.cumsum(neg_at)[:-1]])
        wins = neg_below[group] + 0.5 * neg_at[group]
        return float((weights[truth] * wins[truth]).sum() / (w_pos * w_neg))


class F1Score(Metric):
    """Per-class F1 of one-hot (or multi-label) targets over the epoch; a prediction is the
    argmax of each row, or every score above ``threshold``. ``average``: None (one value per
    class), "micro", "macro" or "weighted", as Keras's."""
    direction = "up"

    name = "f1_score"

    def __init__(self, average=None, threshold=None, name: str = None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"average must be None, 'micro', 'macro' or 'weighted', got "
                             f"{average!r}")
        self.average, self.threshold = average, threshold
        super().__init__(name)

    def get_config(self):
        return {"average": self.average, "threshold": self.threshold, "name": self.name}

    def reset_state(self):
        self.tp = self.fp = self.fn = self.support = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = np.asarray(y_true, np.float64) > 0.5
        y_pred = np.asarray(y_pred, np.float64)
        if t.ndim == 1:
            t, y_pred = t[:, None], y_pred.reshape(-1, 1)
        if self.threshold is None and y_pred.shape[1] > 1:
            p = np.zeros_like(t)
            p[np.arange(len(p)), y_pred.argmax(1)] = True
        else:
            p = y_pred > (0.5 if self.threshold is None else self.threshold)
        w = _weights_over(sample_weight, t.shape)
        counts = [(w * (t & p)).sum(0), (w * (~t & p)).sum(0), (w * (t & ~p)).sum(0),
                  (w * t).sum(0)]
        if self.tp is None:
            self.tp, self.fp, self.fn, self.support = counts
        else:
            self.tp, self.fp, self.fn, self.support = (a + b for a, b in zip(
                (self.tp, self.fp, self.fn, self.support), counts))

    def result(self):
        if self.tp is None:
            return 0.0
        if self.average == "micro":
            tp, fp, fn = self.tp.sum(), self.fp.sum(), self.fn.sum()
            return float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 0.0
        denom = 2 * self.tp + self.fp + self.fn
        f1 = np.divide(2 * self.tp, denom, out=np.zeros(denom.shape), where=denom > 0)
        if self.average == "macro":
            return float(f1.mean())
        if self.average == "weighted":
            total = self.support.sum()
            return float((f1 * self.support).sum() / total) if total else 0.0
        return f1.tolist()


class BalancedAccuracy(Metric):
    """The mean over classes of each class's recall (scikit-learn's
    ``balanced_accuracy_score``): a classifier that ignores a rare class scores low however
    rare it is. A row's prediction is its argmax (a single column: above 0.5); classes absent
    from the targets seen are left out of the mean. Not a Keras metric."""
    direction = "up"

    name = "balanced_accuracy"

    def reset_state(self):
        self.hits, self.support = {}, {}

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, np.float64)
        truth = y_true.argmax(-1) if y_true.ndim == 2 and y_true.shape[1] > 1 \
            else (y_true.reshape(-1) > 0.5 if y_pred.ndim == 1 or y_pred.shape[-1] == 1
                  else y_true.reshape(-1)).astype(np.int64)
        pred = (y_pred.reshape(-1) > 0.5).astype(np.int64) if y_pred.ndim == 1 or \
            y_pred.shape[-1] == 1 else y_pred.argmax(-1)
        w = _weights_over(sample_weight, truth.shape)
        for c in np.unique(truth):
            mask = truth == c
            self.support[int(c)] = self.support.get(int(c), 0.0) + float(w[mask].sum())
            hits = float(w[mask][pred[mask] == c].sum())
            self.hits[int(c)] = self.hits.get(int(c), 0.0) + hits

    def result(self):
        if not self.support:
            return 0.0
        return float(np.mean([self.hits[c] / self.support[c] for c in self.support
                              if self.support[c] > 0]))


class _MeanOfRows(Metric):
    """A per-row value averaged over every row of the epoch (Keras's MeanMetricWrapper)."""

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def rows(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self.rows(np.asarray(y_true), np.asarray(y_pred, np.float64))
        total, count = samplewise(values, sample_weight)
        self.total, self.count = self.total + total, self.count + count

    def result(self):
        return self.total / self.count if self.count else 0.0


class FunctionMetric(_MeanOfRows):
    """Keras's MeanMetricWrapper: ``fn(y_true, y_pred)``'s per-sample values averaged over the
    epoch's samples (weighted as Keras's Mean weighs them), logged under ``fn.__name__``.
    ``on_tensors``: fn computes on Tensors (the user's, with Tensor arithmetic or keras.ops),
    else on numpy arrays."""

    takes_model_output = True

    def __init__(self, fn, name: str = None, on_tensors: bool = True):
        self.fn, self.on_tensors = fn, on_tensors
        super().__init__(name or getattr(fn, "__name__", type(fn).__name__))

    def get_config(self) -> dict:
        raise NotImplementedError(f"metric {self.name!r} is a function: a model compiled with "
                                  "it cannot be saved")

    def rows(self, y_true, y_pred):
        if not self.on_tensors:
            return np.asarray(self.fn(y_true, y_pred.astype(np.float32)), np.float64)
        with no_grad():
            values = self.fn(Tensor(np.asarray(y_true, np.float32)),
                             Tensor(y_pred.astype(np.float32)))
        return np.asarray(values.numpy() if isinstance(values, Tensor) else values, np.float64)


class Mean(Metric):
    """Keras's Mean: the (weighted) mean of every value given to ``update_state(values,
    sample_weight=None)``, e.g. a custom loop's running loss."""

    name = "mean"

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None):
        total, count = samplewise(np.asarray(values, np.float64), sample_weight)
        self.total, self.count = self.total + total, self.count + count

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(Mean):
    """Keras's Sum: the (weighted) sum of every value given."""

    name = "sum"

    def update_state(self, values, sample_weight=None):
        values = np.asarray(values, np.float64)
        self.total += float((values * _weights_over(sample_weight, values.shape,
                                                    "values")).sum())

    def result(self):
        return self.total


class Accuracy(_MeanOfRows):
    """Keras's Accuracy: how often predictions equal the targets exactly."""

    name = "accuracy"
    direction = "up"

    def rows(self, y_true, y_pred):
        y_true, y_pred = same_rank(y_true, y_pred)
        return (y_true == y_pred).astype(np.float64)


def _class_of_rows(y_true, y_pred):
    """Class indices from indices (N,) / (N, 1) or one-hot rows; a row without a one (a label
    outside the classes) gets -1, which no prediction matches."""
    if y_true.shape == y_pred.shape and y_pred.shape[-1] > 1:
        return np.where(y_true.max(-1) > 0, y_true.argmax(-1), -1)
    return y_true.reshape(y_pred.shape[:-1]).astype(np.int64)


def in_top_k(scores, classes, k: int):
    """1.0 where a row's class (an index; -1 for none) is among its k highest scores, a score
    tied with the k-th highest counting as in (Keras's in_top_k)."""
    scores, classes = np.asarray(scores), np.asarray(classes).astype(np.int64)
    k = min(int(k), scores.shape[-1])
    kth = -np.sort(-scores, axis=-1)[..., k - 1]
    own = np.take_along_axis(scores, np.maximum(classes, 0)[..., None], -1)[..., 0]
    return ((own >= kth) & (classes >= 0)).astype(np.float64)


class TopKCategoricalAccuracy(_MeanOfRows):
    """Share of rows whose true class (one-hot rows, or indices) is among the k highest
    scores."""
    direction = "up"

    name = "top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str = None):
        self.k = int(k)
        super().__init__(name)

    def get_config(self):
        return {"k": self.k, "name": self.name}

    def rows(self, y_true, y_pred):
        truth = _class_of_rows(y_true, y_pred).reshape(-1)
        return in_top_k(y_pred.reshape(len(truth), -1), truth, self.k)


class BinaryAccuracy(_MeanOfRows):
    """Share of elements whose prediction (above ``threshold``) equals the 0/1 target."""
    direction = "up"

    name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5, name: str = None):
        self.threshold = float(threshold)
        super().__init__(name)

    def get_config(self):
        return {"threshold": self.threshold, "name": self.name}

    def rows(self, y_true, y_pred):
        hit = (y_true.reshape(y_pred.shape) > 0.5) == (y_pred > self.threshold)
        return hit.mean(-1) if hit.ndim > 1 else hit


class CategoricalAccuracy(_MeanOfRows):
    direction = "up"
    name = "categorical_accuracy"

    def rows(self, y_true, y_pred):
        return _class_of_rows(y_true, y_pred) == y_pred.argmax(-1)


class SparseCategoricalAccuracy(CategoricalAccuracy):
    name = "sparse_categorical_accuracy"


class _RegressionMetric(_MeanOfRows):
    direction = "down"
    kind = None

    def rows(self, y_true, y_pred):
        return regression_values(self.kind, y_true.reshape(y_pred.shape), y_pred)


class MeanSquaredError(_RegressionMetric):
    name, kind = "mean_squared_error", "mse"


class MeanAbsoluteError(_RegressionMetric):
    name, kind = "mean_absolute_error", "mae"


class MeanAbsolutePercentageError(_RegressionMetric):
    name, kind = "mean_absolute_percentage_error", "mape"


class MeanSquaredLogarithmicError(_RegressionMetric):
    name, kind = "mean_squared_logarithmic_error", "msle"


class RootMeanSquaredError(_MeanOfRows):
    """sqrt of the mean squared error over every element of the epoch."""
    direction = "down"

    name = "root_mean_squared_error"

    def rows(self, y_true, y_pred):
        return (y_pred - y_true.reshape(y_pred.shape)) ** 2

    def result(self):
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """The coefficient of determination over the epoch, 1 - SS_res / SS_tot per output (with
    sample weights, weighted sums), as Keras's: an infinite score (a constant target) counts
    as 0; averaged over the outputs ("uniform_average", the default), weighted by their
    variance ("variance_weighted_average"; "variance_weighted" is the same) or per output
    (None); ``num_regressors`` adjusts it with n = the number of values seen."""
    direction = "up"

    name = "r2_score"

    def __init__(self, class_aggregation="uniform_average", num_regressors: int = 0,
                 name: str = None):
        if class_aggregation == "variance_weighted":
            class_aggregation = "variance_weighted_average"
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(f"class_aggregation must be None, 'uniform_average' or "
                             f"'variance_weighted_average', got {class_aggregation!r}")
        if int(num_regressors) < 0:
            raise ValueError(f"num_regressors must be >= 0, got {num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, int(num_regressors)
        super().__init__(name)

    def get_config(self):
        return {"class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors, "name": self.name}

    def reset_state(self):
        self.n, self.sums = 0, None

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, np.float64)
        y_pred = y_pred.reshape(len(y_pred), -1)
        y_true = np.asarray(y_true, np.float64).reshape(y_pred.shape)
        w = _weights_over(sample_weight, y_true.shape)
        sums = np.stack([(w * y_true).sum(0), (w * y_true ** 2).sum(0),
                         (w * (y_true - y_pred) ** 2).sum(0), w.sum(0)])
        self.sums = sums if self.sums is None else self.sums + sums
        self.n += y_true.size

    def result(self):
        if self.sums is None or self.n == 0:
            return 0.0
        total, squares, residual, count = self.sums
        with np.errstate(divide="ignore", invalid="ignore"):
            ss_tot = squares - total * (total / count)
            r2 = 1 - residual / ss_tot
        r2 = np.where(np.isinf(r2), 0.0, r2)
        if self.class_aggregation == "uniform_average":
            r2 = r2.mean()
        elif self.class_aggregation == "variance_weighted_average":
            r2 = (ss_tot * r2).sum() / ss_tot.sum()
        if 0 < self.num_regressors < self.n - 1:  # else Keras falls back to the plain score
            r2 = 1 - (1 - r2) * (self.n - 1) / (self.n - self.num_regressors - 1)
        return r2.tolist() if self.class_aggregation is None else float(r2)


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    name = "sparse_top_k_categorical_accuracy"


EPOCH_METRICS = {"precision": Precision, "recall": Recall, "auc": AUC, "f1_score": F1Score,
                 "top_k_categorical_accuracy": TopKCategoricalAccuracy,
                 "balanced_accuracy": BalancedAccuracy,
                 "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
                 "root_mean_squared_error": RootMeanSquaredError, "r2_score": R2Score}
# metric objects given by class (their names also resolve as the per-sample strings do)
OTHER_METRIC_CLASSES = (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                        MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
                        MeanSquaredLogarithmicError)
EPOCH_METRIC_CLASSES = {cls.__name__: cls for cls in
                        list(EPOCH_METRICS.values()) + list(OTHER_METRIC_CLASSES)}


def from_saved(entry):
    """A metric as a model file keeps it (see ``saving``): a name, or an epoch metric's class
    and arguments, rebuilt."""
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict) or entry.get("class") not in EPOCH_METRIC_CLASSES \
            or not isinstance(entry.get("config"), dict):
        raise ValueError(f"not a saved metric: {entry!r}")
    return EPOCH_METRIC_CLASSES[entry["class"]](**entry["config"])


class EpochMetrics:
    """The metrics of one pass over data: per-sample ones summed with what they count, epoch
    ones accumulated. Sequence outputs (N, T, C) reach the epoch metrics as N * T rows (the
    real steps only, under a step mask)."""

    def __init__(self, metrics, objective, accuracy_by_shape: bool = False, logged_as=None):
        self.objective, self.names, self.objects = objective, [], []
        self.accuracy_by_shape = accuracy_by_shape
        # the names the results are logged under, by metric name (weighted metrics: see
        # weighted_names)
        self.logged_as = dict(logged_as or {})
        for m in metrics:
            if isinstance(m, Metric):
                self.objects.append(m)
            elif m in EPOCH_METRICS:
                self.objects.append(EPOCH_METRICS[m]())
            else:
                self.names.append(m)
        for m in self.objects:
            m.reset_state()
        self.sums, self.counts = {}, {}

    def update(self, scores, target, are_probabilities: bool, mask=None, weights=None):
        """One batch's outputs; ``weights``: per-sample weights (N,) every metric of this
        tracker weighs by (a weighted-metrics tracker's), or None."""
        for k, (total, count) in metric_sums(self.names, self.objective, scores, target,
                                             are_probabilities, mask,
                                             self.accuracy_by_shape, weights).items():
            self.sums[k] = self.sums.get(k, 0.0) + total
            self.counts[k] = self.counts.get(k, 0.0) + count
        if self.objects:
            scores, target = to_host(scores), to_host(target)
            w = None if weights is None else to_host(weights).reshape(-1)
            # sample_weight only when weighing (a user's update_state may not take it)
            weighing = {} if w is None else {"sample_weight": w}
            for m in self.objects:
                if m.takes_model_output:  # the user's: the targets and outputs as they are
                    m.update_state(target, scores, **weighing)
            if scores.ndim > 2:  # one row per step
                c = scores.shape[-1]
                steps = len(scores.reshape(-1, c)) // max(len(scores), 1)
                keep = None if mask is None else to_host(mask).reshape(-1).astype(bool)
                target = target.reshape(-1, c) if target.shape == scores.shape \
                    else target.reshape(-1)
                scores = scores.reshape(-1, c)
                w = None if w is None else np.repeat(w, steps)
                if keep is not None and keep.size == len(scores):
                    scores, target = scores[keep], target[keep]
                    w = None if w is None else w[keep]
            if not are_probabilities and self.objective.classification:
                # logits of a logits loss: its activation's probabilities
                multiclass = scores.ndim == 2 and scores.shape[1] > 1
                scores = probabilities(
                    "softmax" if multiclass and self.objective.kind not in (
                        "binary", "binary_focal") else "sigmoid",
                    scores)
            if target.ndim == 1 and scores.ndim == 2 and scores.shape[1] > 1 \
                    and self.objective.kind in ("classes", "sparse"):
                # one-hot rows; a label outside the classes (a loss's ignore_class) gets none
                target = (target.astype(np.int64)[:, None] == np.arange(scores.shape[1])
                          ).astype(np.float32)
            for m in self.objects:
                if not m.takes_model_output:
                    m.update_state(target, scores, **({} if w is None else
                                                      {"sample_weight": w}))

    def means(self) -> dict:
        """The per-sample metrics so far."""
        # (weights may sum below 1, so no floor of 1 on the count; nothing counted gives 0)
        return {self.logged_as.get(k, k): v / self.counts[k] if self.counts[k] else 0.0
                for k, v in self.sums.items()}

    def results(self) -> dict:
        out = self.means()
        out.update({self.logged_as.get(m.name, m.name):
                    (metric_value(m.result()) if m.takes_model_output else m.result())
                    for m in self.objects})
        return out


def weighted_names(metrics, weighted) -> dict:
    """Keras's log names of ``weighted`` metrics: their own, or "weighted_" + it where a
    metric of ``metrics`` has that name."""
    taken = {getattr(m, "name", m) for m in metrics}
    out = {}
    for m in weighted:
        name = getattr(m, "name", m)
        out[name] = f"weighted_{name}" if name in taken else name
    return out
