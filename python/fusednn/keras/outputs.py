"""A functional model with several outputs, as Keras 3 trains it: each output its own loss
(one for all, a list, or a dict by output name), the total the sum of the losses times
``loss_weights``, each output's loss logged unweighted as ``<output>_loss`` and its metrics as
``<output>_<metric>``. Through fit, evaluate and predict the outputs travel packed side by
side in one array, each sample's flattened, and the targets likewise (:class:`OutputLayout`);
the loss and the metrics unpack them."""
from __future__ import annotations

import numpy as np

from .._backend import to_host
from ..autograd import Tensor
from ..models.metrics import (EPOCH_METRICS, Metric, check_metrics, direction, metric_value,
                              metric_values, resolve)
from ..nn.functional.recurrent import cat
from ..nn.losses import NamedLoss

# losses whose targets are class indices, one per output row
_INDEX_KINDS = ("sparse",)
# a loss that takes class indices or one-hot rows; its targets travel as one-hot rows
_ONE_HOT_KINDS = ("classes",)
_EXACT_FLOAT = 1 << 24  # integers from here on are not all exact in float32


class OutputLayout:
    """The outputs' names and sample shapes, and the sample shape each output's targets
    travel in: fixed by the output's loss (class indices for a sparse loss, else the output's
    own shape), or for a custom loss or none, by the first targets given."""

    def __init__(self, names, shapes, as_dict: bool):
        self.names, self.shapes, self.as_dict = list(names), [tuple(s) for s in shapes], as_dict
        self.kinds = [None] * len(self.names)  # each output's loss kind (None: no loss)
        self.used = [True] * len(self.names)  # whether its targets are read
        self.target_shapes = [None] * len(self.names)

    def __len__(self):
        return len(self.names)

    def set_losses(self, losses, measured) -> None:
        """Each output's NamedLoss (or None), and whether each has metrics; the targets'
        layouts follow from them (an output with neither takes no targets)."""
        self.kinds = [None if loss is None else loss.kind for loss in losses]
        self.used = [kind is not None or m for kind, m in zip(self.kinds, measured)]
        for i, (kind, shape) in enumerate(zip(self.kinds, self.shapes)):
            if not self.used[i]:
                self.target_shapes[i] = (0,)
            elif kind in _INDEX_KINDS:
                self.target_shapes[i] = shape[:-1]
            elif kind in ("custom", None):
                self.target_shapes[i] = None  # the first targets given decide
            else:
                self.target_shapes[i] = shape

    # -- values by output --------------------------------------------------------------------
    def by_output(self, value, what: str, spread: bool):
        """``value`` as a list with one entry per output: a list or tuple in the outputs'
        order, a dict by output name (a missing name: None), or, with ``spread``, any other
        value for every output."""
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(self.names))
            if unknown:
                raise ValueError(f"{what}: no output named {unknown[0]!r} (the outputs: "
                                 f"{self.names})")
            return [value.get(name) for name in self.names]
        if isinstance(value, (list, tuple)):
            if len(value) != len(self):
                raise ValueError(f"{what}: the model has {len(self)} outputs {self.names}, "
                                 f"got {len(value)} entries")
            return list(value)
        if spread:
            return [value] * len(self)
        raise ValueError(f"{what}: give one entry per output {self.names}, as a list or a "
                         f"dict by output name; got {type(value).__name__}")

    def as_user(self, values):
        """Per-output values as the model's outputs were given: a list, or a dict by name."""
        return dict(zip(self.names, values)) if self.as_dict else list(values)

    # -- packing -----------------------------------------------------------------------------
    def pack(self, tensors) -> Tensor:
        return cat([t.reshape(t.shape[0], -1) for t in tensors], 1)

    @staticmethod
    def _split(packed, shapes):
        out, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            out.append(packed[:, start:start + size].reshape(
                (packed.shape[0],) + tuple(shape)))
            start += size
        return out

    def split(self, packed):
        """The outputs of a packed batch (Tensors keep their graph; arrays stay arrays)."""
        return self._split(packed, self.shapes)

    def split_targets(self, packed):
        """The targets of a packed batch, class indices as int64."""
        parts = self._split(packed, [s if s is not None else (0,) for s in self.target_shapes])
        return [p.astype(np.int64) if kind in _INDEX_KINDS else p
                for p, kind in zip(parts, self.kinds)]

    def pack_targets(self, y, where: str) -> np.ndarray:
        """Targets given per output (a list in the outputs' order or a dict by output name) as
        one float32 array, each in its output's target layout."""
        if not isinstance(y, (list, tuple, dict)):
            raise ValueError(f"{where}: the model has {len(self)} outputs {self.names}; give "
                             "y as a list of arrays (one per output) or a dict by output name")
        given = self.by_output(y, f"{where}: y", spread=False)
        arrays, count = [], None
        for i, (target, name) in enumerate(zip(given, self.names)):
            if not self.used[i]:  # neither a loss nor metrics read it
                arrays.append(None)
                continue
            if target is None:
                raise ValueError(f"{where}: no target for output {name!r}, which has a "
                                 + ("loss" if self.kinds[i] is not None else "metric"))
            a = np.asarray(target)
            if count is not None and len(a) != count:
                raise ValueError(f"{where}: the targets have different numbers of samples "
                                 f"({count} and {len(a)} for output {name!r})")
            count = len(a)
            arrays.append(self._target_layout(i, a, where))
        if count is None:
            raise ValueError(f"{where}: no targets given")
        return np.concatenate([np.zeros((count, 0), np.float32) if a is None else
                               a.reshape(count, -1) for a in arrays], axis=1)

    def _target_layout(self, i, a, where):
        name, shape, kind = self.names[i], self.shapes[i], self.kinds[i]
        sample = a.shape[1:]
        if kind in _INDEX_KINDS + _ONE_HOT_KINDS and sample in (shape[:-1], shape[:-1] + (1,)):
            if a.dtype.kind not in "iub" and (not np.isfinite(a).all() or
                                               (a != np.round(a)).any()):
                raise ValueError(f"{where}: output {name!r} takes class indices, but some "
                                 "targets are not integers")
            index = a.reshape((len(a),) + shape[:-1]).astype(np.int64)
            if index.size and (index.min() < 0 or index.max() >= shape[-1]):
                bad = index[(index < 0) | (index >= shape[-1])].flat[0]
                raise ValueError(f"{where}: target class {int(bad)} of output {name!r} is "
                                 f"out of range for its {shape[-1]} classes")
            if kind in _ONE_HOT_KINDS:
                return (index[..., None] == np.arange(shape[-1])).astype(np.float32)
            return index.astype(np.float32)
        want = self.target_shapes[i]
        if want is None:  # a custom loss or none: the first targets decide
            if a.dtype.kind in "iu" and a.size and np.abs(a).max() >= _EXACT_FLOAT:
                raise ValueError(f"{where}: the targets of output {name!r} hold integers of "
                                 "2^24 or more, which float32 cannot hold exactly")
            self.target_shapes[i] = want = sample
        elif sample != want and int(np.prod(sample)) == int(np.prod(want)) \
                and want[-1:] == (1,) and sample == want[:-1]:
            sample = want  # Keras's: a target without the output's trailing axis of 1 gains it
        if tuple(sample) != tuple(want):
            raise ValueError(f"{where}: output {name!r} gives samples of shape {shape}; its "
                             f"targets must have samples of shape {want}, got {a.shape[1:]}")
        return a.astype(np.float32, copy=False)


class SeveralOutputsLoss:
    """The loss ``compile`` trains a several-output model with: the sum over the outputs
    with a loss of weight * loss, each loss Keras's mean over the batch of its (sample
    weighted) values. ``latest`` keeps each output's unweighted loss of the last batch, which
    :class:`OutputLoss` logs."""

    weighs_samples = True
    __name__ = "several_outputs"

    def __init__(self, layout: OutputLayout, losses, weights):
        self.layout, self.losses, self.weights = layout, losses, weights
        self.latest = [None] * len(layout)

    def __call__(self, out, target, weight=None):
        outs = self.layout.split(out)
        targets = self.layout.split_targets(target)
        total = None
        for i, (loss, w) in enumerate(zip(self.losses, self.weights)):
            if loss is None:
                continue
            value = loss(outs[i], targets[i], weight)
            self.latest[i] = value.detach()
            term = value if w is None else value * float(w)
            total = term if total is None else total + term
        return total


class OutputLoss(Metric):
    """An output's loss over the epoch (Keras's ``<output>_loss``): the mean of its batch
    losses weighted by batch size, read from the loss that computed them for the batch."""

    takes_model_output = True
    direction = "down"

    def __init__(self, loss: SeveralOutputsLoss, index: int, name: str):
        self.loss, self.index = loss, index
        super().__init__(name=name)

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        n = len(y_pred)
        self.total += float(self.loss.latest[self.index].item()) * n
        self.count += n

    def result(self):
        return self.total / max(self.count, 1)


class OutputMetric(Metric):
    """One metric of one output (Keras's ``<output>_<metric>``): a name (per-sample values
    averaged over the epoch; "accuracy" chosen from the shapes, as Keras 3 does) or a metric
    object, on that output's slice of the packed targets and outputs."""

    takes_model_output = True

    def __init__(self, layout: OutputLayout, index: int, metric, name: str):
        self.layout, self.index = layout, index
        self.metric = EPOCH_METRICS[metric]() if isinstance(metric, str) and \
            metric in EPOCH_METRICS else metric
        self.direction = direction(metric)
        super().__init__(name=name)

    def reset_state(self):
        self.total, self.count = 0.0, 0
        if isinstance(self.metric, Metric):
            self.metric.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = self.layout.split_targets(to_host(y_true))[self.index]
        s = self.layout.split(to_host(y_pred))[self.index]
        m = self.metric
        if isinstance(m, str):
            values = metric_values(resolve(m, None, by_shape=(t, s)), s, t, True)
            per = values.reshape(len(values), -1).mean(axis=1) if values.ndim > 1 else values
            self.total += float(per.sum())
            self.count += len(per)
        elif m.takes_model_output:
            m.update_state(t, s)
        else:  # fusednn's own metric objects: one row per step, class indices as one-hot rows
            c = s.shape[-1] if s.ndim > 1 else 1
            if t.ndim < s.ndim and c > 1:
                t = (t.astype(np.int64)[..., None] == np.arange(c)).astype(np.float32)
            if s.ndim > 2:
                s, t = s.reshape(-1, c), t.reshape(-1, t.shape[-1])
            m.update_state(t, s)

    def result(self):
        if isinstance(self.metric, Metric):
            return metric_value(self.metric.result())
        return self.total / max(self.count, 1)


def _metric_name(metric) -> str:
    """Keras's name of a compiled metric: the string given, or the object's name."""
    return metric if isinstance(metric, str) else getattr(metric, "name", type(metric).__name__)


def output_metrics(layout: OutputLayout, metrics, wrap):
    """Keras 3's metrics of a several-output model: a list with one entry per output (a
    metric or a list of them) or a dict by output name, each entry's names prefixed with its
    output's; a repeated name gets _1, _2... ``wrap``: a user function made a metric."""
    if metrics is None:
        return []
    if not isinstance(metrics, (list, tuple, dict)):
        raise ValueError(f"metrics: expected a list or a dict by output name, got "
                         f"{type(metrics).__name__}")
    per_output = layout.by_output(metrics, "metrics", spread=False)
    made, taken = [], {}
    for i, entry in enumerate(per_output):
        if entry is None:
            continue
        entries = [wrap(m) for m in (entry if isinstance(entry, (list, tuple)) else [entry])
                   if m is not None]
        check_metrics(entries, None, accuracy_by_shape=True)
        for m in entries:
            name = f"{layout.names[i]}_{_metric_name(m)}"
            k = taken.get(name, 0)
            taken[name] = k + 1
            made.append(OutputMetric(layout, i, m, name if k == 0 else f"{name}_{k}"))
    return made


def output_losses(layout: OutputLayout, loss, loss_weights, compile_loss):
    """(each output's NamedLoss or None, each output's weight or None) from compile's
    ``loss`` and ``loss_weights`` (Keras's forms); ``compile_loss`` turns one entry into
    what NamedLoss takes."""
    losses = [None if entry is None else NamedLoss(compile_loss(entry))
              for entry in layout.by_output(loss, "loss", spread=True)]
    if all(loss is None for loss in losses):
        raise ValueError("compile: no output has a loss")
    if loss_weights is None:
        weights = [None] * len(layout)
    else:
        weights = layout.by_output(loss_weights, "loss_weights", spread=False)
        for name, loss, w in zip(layout.names, losses, weights):
            if loss is not None and w is None:
                raise ValueError(f"loss_weights: no weight for output {name!r}, which has a "
                                 "loss")
            if w is not None and not (isinstance(w, (int, float)) and np.isfinite(w)):
                raise ValueError(f"loss_weights: the weight of output {name!r} must be a "
                                 f"finite number, got {w!r}")
    return losses, weights


def loss_metrics(loss: SeveralOutputsLoss, layout: OutputLayout) -> list:
    """Each output's logged loss, when more than one output has one (Keras's rule)."""
    have = [i for i, each in enumerate(loss.losses) if each is not None]
    if len(have) < 2:
        return []
    return [OutputLoss(loss, i, f"{layout.names[i]}_loss") for i in have]


def unpacked_predictions(layout: OutputLayout, packed: np.ndarray):
    return layout.as_user([np.ascontiguousarray(a) for a in layout.split(packed)])


