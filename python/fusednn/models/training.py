"""The loops behind ``Sequential.fit`` / ``evaluate`` / ``predict``: data checked and split
once, batches through the model, the fused optimizer step, metrics, callbacks (dispatched
through one :class:`~fusednn.models.callbacks.CallbackList`) and progress."""
from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from .. import _seeding
from .. import optim as _optim
from ..autograd import Tensor, no_grad
from ..data.loader import DataLoader
from ..data.preprocessing import check_xy, split_indices
from .batches import StreamBatches, is_arrays
from .callbacks import CallbackList
from .history import History, format_log
from .metrics import EpochMetrics, probabilities, weighted_names


def _progress(total, desc, verbose):
    if verbose != 1:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=True, file=sys.stdout, dynamic_ncols=True,
                unit="batch")


def to_device(a, device):
    """A host batch on the model's device (CuPy on the GPU)."""
    if a is None or device == "cpu":
        return a
    import cupy

    return cupy.asarray(a)


def loss_targets(model, host, on_device):
    """The targets a batch's loss takes: fusednn's own losses take the host array (and check
    class indices there before copying them to the device, where a check would wait for the
    GPU); a custom loss gets them on the model's device, as its outputs."""
    return host if model.objective.fn is None and isinstance(host, np.ndarray) else on_device


def output_rows(model, n: int) -> tuple:
    """The shape of the loss before it is averaged, for ``n`` samples: one value per output
    row — (n,) for (n, F) outputs, (n, T) for sequence outputs (n, T, F)."""
    return (n,) + tuple(model.sample_output_shape[:-1])


def one_output(model, where):
    """The loops take one output per batch (a fusednn.keras functional model packs its
    several into one); a model whose own call gives several is refused by name."""
    if model.built and model.sample_output_shape is None:
        raise NotImplementedError(f"{where}: {model.name}'s call gives several outputs; fit, "
                                  "evaluate and predict take one (a functional keras.Model "
                                  "takes several)")


def prepare(model, x, y, where):
    """(x, y) as the model trains on them: float32 samples of the model's input shape, targets
    shaped as the loss takes them (float for regression and binary losses, a 1-D target of a
    one-output model as a column, class indices as int64 from (N,) or (N, 1), integers or
    integer-valued floats), class labels inside the output's range; builds the model at its
    first data."""
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(np.float32)
    y = np.asarray(y)
    if not model.built:
        model.build((None,) + x.shape[1:])
    one_output(model, where)
    if tuple(x.shape[1:]) != model.sample_input_shape:
        raise ValueError(f"{where}: the model takes samples of shape "
                         f"{model.sample_input_shape} but x has samples of shape {x.shape[1:]}")
    kind = None if model.objective is None else model.objective.kind
    classes = None
    if kind in ("regression", "mae", "huber", "kld", "binary", "categorical", "per_sample",
                "binary_focal", "categorical_focal"):
        y = y.astype(np.float32)
        # one output per row: a target without that axis gets it, (N,) -> (N, 1) and a
        # sequence's (N, T) -> (N, T, 1), as Keras expands it
        if model.sample_output_shape[-1:] == (1,) and y.shape == output_rows(model, len(y)):
            y = y.reshape(y.shape + (1,))
    elif kind in ("classes", "sparse"):
        # class indices, one per output row: (N,) for (N, C) outputs, (N, T) for a sequence's
        # (N, T, C) (one class per step, as Keras takes them); or with a trailing axis of 1
        rows = output_rows(model, len(y))
        if y.shape == rows + (1,):
            y = y.reshape(rows)
        if y.shape == rows and y.dtype.kind == "f":
            if not np.isfinite(y).all() or (y != np.round(y)).any():
                raise ValueError(f"{where}: y holds class indices, but some are not integers")
            y = y.astype(np.int64)
        if y.shape == rows:
            classes = model.sample_output_shape[-1]  # recorded when the model was built
        elif kind == "sparse" or y.shape != (len(y),) + tuple(model.sample_output_shape):
            raise ValueError(f"{where}: y must hold a class index per output row, shape "
                             f"{rows[1:] or '()'} per sample for outputs of shape "
                             f"{model.sample_output_shape}" + ("" if kind == "sparse" else
                                                       ", or one-hot rows shaped like them")
                             + f"; got y of shape {y.shape}")
    # a loss's ignore_class label may lie outside the classes
    options = model.objective.options if model.objective is not None else {}
    check_xy(x, y, where, classes, options.get("ignore_class"))
    return x, y


def outputs(model, x):
    """One batch through the model for the loss: (what the loss takes, whether that is the
    logits of the activation the loss expects, scores for the metrics, whether those scores
    are probabilities, the step mask of a sequence output or None). A probability loss after a
    matching softmax/sigmoid takes the logits, through the fused stable kernel, as Keras
    does."""
    objective = model.objective
    act = objective.logits_of
    if act is not None and model.final_activation() == act:
        logits, mask = model.forward_masked(Tensor(x), logits=True)
        return logits, True, probabilities(act, logits.data), True, mask
    out, mask = model.forward_masked(Tensor(x))
    return (out, None, out.data,
            objective.probabilities or model.accuracy_reads_outputs_as_probabilities, mask)


class EpochTrackers:
    """The metrics of one pass: the model's (unweighted, as Keras's ``metrics``) and its
    ``weighted_metrics`` (weighed by each batch's sample weights, logged under Keras's
    names)."""

    def __init__(self, model):
        self.plain = EpochMetrics(model.metrics, model.objective, model.accuracy_from_shapes)
        weighted = getattr(model, "weighted_metrics", None) or []
        self.weighted = EpochMetrics(weighted, model.objective, model.accuracy_from_shapes,
                                     weighted_names(model.metrics, weighted)) \
            if weighted else None

    def update(self, scores, target, probabilities, mask, weights):
        self.plain.update(scores, target, probabilities, mask)
        if self.weighted is not None:
            w = weights.data if isinstance(weights, Tensor) else weights
            self.weighted.update(scores, target, probabilities, mask, w)

    def means(self) -> dict:
        out = self.plain.means()
        if self.weighted is not None:
            out.update(self.weighted.means())
        return out

    def results(self) -> dict:
        out = self.plain.results()
        if self.weighted is not None:
            out.update(self.weighted.results())
        return out


def warn_double_activation(model):
    """fusednn's logit losses after a softmax/sigmoid layer apply it twice: say so once."""
    objective = model.objective
    if objective is None or objective.probabilities or objective.kind not in ("classes", "binary"):
        return
    act = model.final_activation()
    if act is not None and objective.fn is None:
        keras_name = "binary_crossentropy" if objective.kind == "binary" else \
            "categorical_crossentropy' or 'sparse_categorical_crossentropy"
        warnings.warn(f"loss {objective.name!r} takes logits, but the model ends in {act}: the "
                      f"loss applies it a second time. Use '{keras_name}' (takes "
                      f"probabilities), or drop the final activation", UserWarning, stacklevel=4)


def class_labels(y):
    """The class of each sample, as class_weight reads it: indices, the argmax of one-hot rows,
    or a rounded binary column."""
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    labels = y.reshape(len(y))
    if labels.dtype.kind == "f":
        labels = np.round(labels)
    return labels.astype(np.int64)


def sample_weights(model, x, y, sample_weight, class_weight, all_labels: bool = True):
    """Loss weights from ``sample_weight`` and ``class_weight`` ({class: weight}, or
    "balanced": n_samples / (n_classes * count of the class), scikit-learn's formula), or
    None: one per sample (N,), or, as Keras 3 takes them for sequence outputs, one per row of
    the model's output (N, T) (e.g. 0 at padded steps). ``all_labels``: ``y`` holds every
    label of the data (arrays, not one batch of a stream), so a class_weight key missing from
    it is an error."""
    rows = output_rows(model, len(x))
    per_row = len(rows) > 1  # the output has a row per step or position
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, np.float32)
        if weights.shape != (len(x),) and not (per_row and weights.shape == rows):
            raise ValueError(f"sample_weight must have shape ({len(x)},)"
                             + (f" or {rows} (one per output row)" if per_row else "")
                             + f", got {weights.shape}")
        if not np.isfinite(weights).all():
            raise ValueError("sample_weight holds NaN or infinite values")
    if class_weight is not None:
        if per_row:
            raise ValueError(f"class_weight weighs samples by their class, but the model has a "
                             f"class per step or position (outputs {rows} rows); give "
                             f"weights per row as sample_weight instead")
        labels = class_labels(y)
        present, counts = np.unique(labels, return_counts=True)
        if isinstance(class_weight, str):
            if class_weight != "balanced":
                raise ValueError(f"class_weight must be a dict or 'balanced', got {class_weight!r}")
            class_weight = {int(c): len(labels) / (len(present) * k)
                            for c, k in zip(present, counts)}
        unknown = sorted(int(c) for c in class_weight if int(c) not in set(present.tolist()))
        if unknown and all_labels:
            raise ValueError(f"class_weight names class(es) {unknown} that the labels do not "
                             f"have (labels: {present.tolist()})")
        if any(int(c) < 0 for c in class_weight):
            raise ValueError(f"class_weight keys must be class indices >= 0, got "
                             f"{sorted(class_weight)}")
        cw = np.ones(max([int(present.max())] + [int(c) for c in class_weight]) + 1, np.float32)
        for c, w in class_weight.items():
            cw[int(c)] = w
        weights = cw[labels] if weights is None else weights * cw[labels]
    return weights


def stream(model, source, class_weight, steps, where):
    """A user's batch stream, each batch converted as arrays are (prepare, class weights)."""
    if isinstance(class_weight, str):
        raise ValueError(f"{where}: class_weight='balanced' needs the labels up front (arrays)")

    def convert(x, y, w):
        x, y = prepare(model, x, y, where)
        cw = (sample_weights(model, x, y, None, class_weight, all_labels=False)
              if class_weight is not None else None)
        w = cw if w is None else (w if cw is None else w * cw)
        return (x, y) if w is None else (x, y, w)

    return StreamBatches(source, convert, steps, where)


def _validation_epochs(freq):
    if isinstance(freq, int) and not isinstance(freq, bool) and freq >= 1:
        return lambda epoch: (epoch + 1) % freq == 0
    try:
        chosen = {int(e) for e in freq}
    except TypeError:
        raise ValueError(f"validation_freq must be a positive int or a collection of epochs "
                         f"(1-based), got {freq!r}") from None
    return lambda epoch: epoch + 1 in chosen


def fit(model, x, y, epochs, batch_size, validation_split, validation_data, shuffle,
        class_weight, sample_weight, callbacks, verbose, validation_shuffle,
        validation_stratify, initial_epoch, steps_per_epoch=None,
        validation_freq=1, validation_batch_size=None) -> History:
    if model.objective is None:
        raise RuntimeError("call compile() before fit()")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    if validation_data is not None and validation_split:
        raise ValueError("pass validation_data or validation_split, not both")
    validate_now = _validation_epochs(validation_freq)
    if not is_arrays(x):
        if y is not None:
            raise ValueError("fit: y must be None when x yields (x, y) batches")
        if validation_split or sample_weight is not None:
            raise ValueError("fit: validation_split and sample_weight need arrays; a batch "
                             "stream carries its own weights as (x, y, sample_weight)")
        loader = stream(model, x, class_weight, steps_per_epoch, "fit")
        return run_epochs(model, loader, validation_data, epochs, batch_size, callbacks,
                          verbose, initial_epoch, validate_now, validation_batch_size)
    if steps_per_epoch is not None:
        raise ValueError("fit: steps_per_epoch is for a batch stream; with arrays every epoch "
                         "is one pass")
    if y is None:
        raise ValueError("fit: y is required with array x (or give x as a stream of (x, y) "
                         "batches)")
    x, y = prepare(model, x, y, "fit")
    weights = sample_weights(model, x, y, sample_weight, class_weight)
    if validation_split:
        stratify = (model.objective.classification if validation_stratify is None
                    else validation_stratify)
        labels = y if stratify and y.ndim == 1 else None
        keep, held = split_indices(len(x), validation_split, labels, validation_shuffle,
                                   _seeding.data_rng())
        validation_data = (x[held], y[held])
        if sample_weight is not None:  # Keras splits the sample weights too (not class_weight)
            validation_data += (np.asarray(sample_weight)[held],)
        x, y = x[keep], y[keep]
        weights = None if weights is None else weights[keep]
    arrays = (x, y) if weights is None else (x, y, weights)
    loader = DataLoader(*arrays, batch_size=batch_size, shuffle=shuffle)
    return run_epochs(model, loader, validation_data, epochs, batch_size, callbacks, verbose,
                      initial_epoch, validate_now, validation_batch_size)


def run_epochs(model, loader, validation_data, epochs, batch_size, callbacks, verbose,
               initial_epoch, validate_now, validation_batch_size=None) -> History:
    """The epochs of fit; the model trains in training mode and ends in the mode it had
    (a Keras model, in inference from its start, predicts again after fit)."""
    mode = model.training
    try:
        return _run_epochs(model, loader, validation_data, epochs, batch_size, callbacks,
                           verbose, initial_epoch, validate_now, validation_batch_size)
    finally:
        model.train(mode)


def _run_epochs(model, loader, validation_data, epochs, batch_size, callbacks, verbose,
                initial_epoch, validate_now, validation_batch_size=None) -> History:
    if validation_data is not None:
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) \
                and is_arrays(validation_data[0]):
            x_val, y_val = prepare(model, validation_data[0], validation_data[1],
                                   "fit (validation)")
            weights = (sample_weights(model, x_val, y_val, validation_data[2], None)
                       if len(validation_data) == 3 else None)
            validation_data = (x_val, y_val, weights)
        else:
            validation_data = stream(model, validation_data, None, None, "fit (validation)")
    model._make_optimizer()
    warn_double_activation(model)
    history = History()
    history.params = {"verbose": verbose, "epochs": epochs, "steps": len(loader) or None}
    callbacks = CallbackList(callbacks, model, dict(history.params))
    model.history = history
    model.stop_training, model._warned_nonfinite, model._warned_untrainable = False, False, False
    schedule = model.lr_schedule
    per_batch = schedule is not None and getattr(schedule, "per_batch", False)
    callbacks.on_train_begin({})
    # a callback restoring an interrupted fit (BackupAndRestore) says where it resumes
    initial_epoch = model.__dict__.pop("resume_epoch", initial_epoch)
    for epoch in range(initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch, {})
        logs = train_epoch(model, loader, epoch, epochs, callbacks, verbose, per_batch)
        validated = validation_data is not None and validate_now(epoch)
        if validated:
            if isinstance(validation_data, StreamBatches):
                values = evaluate_batches(model, validation_data, callbacks)
            else:
                x_val, y_val, weights = validation_data
                values = evaluate_arrays(model, x_val, y_val,
                                         validation_batch_size or max(batch_size, 256), weights,
                                         callbacks)
            for k, v in values.items():
                logs["val_" + k] = v
        if model.logs_learning_rate:  # fusednn's models log it; Keras's do not
            logs["lr"] = model.optimizer.param_groups[0]["lr"]
        if schedule is not None and not per_batch:
            if isinstance(schedule, _optim.lr_scheduler.ReduceLROnPlateau):
                schedule.step(logs.get("val_loss", logs["loss"]))
            else:
                schedule.step()
        # the callbacks first, then the history and the progress line, as Keras orders them:
        # what a callback adds to the logs (a rate callback's "learning_rate") is recorded
        callbacks.on_epoch_end(epoch, logs)
        history.append(epoch, logs)
        if verbose == 1 and validated:  # the bar showed the training side
            print(" - ".join(f"{k}: {format_log(v)}" for k, v in logs.items()
                             if k.startswith("val_")), flush=True)
        if verbose == 2:
            print(f"epoch {epoch + 1}/{epochs}: " +
                  " ".join(f"{k}={format_log(v)}" for k, v in logs.items()), flush=True)
        if model.stop_training:
            break
    callbacks.on_train_end({})
    return history


def train_epoch(model, loader, epoch, epochs, callbacks, verbose, per_batch):
    model.train()
    bar = _progress(len(loader) or None, f"epoch {epoch + 1}/{epochs}", verbose)
    total_loss, seen = 0.0, 0
    tracker = EpochTrackers(model)
    device = model.device
    regularized = any(True for _, m in model.named_modules() for _ in m._penalties())
    adding = [m for _, m in model.named_modules() if m.adds_batch_losses]  # add_loss in call
    constrained = [m for _, m in model.named_modules()  # Keras's weight constraints
                   if getattr(m, "constrains_weights", False)]
    batch_logs = callbacks.wants("on_train_batch_end")  # built only for someone to read
    for b, batch in enumerate(loader):
        callbacks.on_train_batch_begin(b, {})
        xb, yb = to_device(batch[0], device), to_device(batch[1], device)
        wb = Tensor(to_device(batch[2], device)) if len(batch) > 2 else None
        for m in adding:  # a layer this forward skips adds nothing
            m._clear_batch_losses()
        out, logits, scores, probabilities, mask = outputs(model, xb)
        loss = model.objective(out, loss_targets(model, batch[1], yb), wb, logits=logits,
                               mask=mask)
        if regularized:
            loss = loss + model.regularization_loss()
        for added in (t for m in adding for t in m._batch_losses()):
            loss = loss + added
        value = loss.item()
        if not loss.requires_grad:
            # Keras's rule: a model with nothing to train (frozen) still runs its epochs and
            # reports loss and metrics, with a warning, and updates nothing.
            if not getattr(model, "_warned_untrainable", False):
                warnings.warn("The model does not have any trainable weights.", UserWarning,
                              stacklevel=4)
                model._warned_untrainable = True
        elif math.isfinite(value):
            model.optimizer.zero_grad()
            loss.backward()
            model.optimizer.step()
            # every constraint computed before any weight is written
            for param, new in [v for m in constrained for v in m.constrained_values()]:
                param.data[...] = new
        elif not model._warned_nonfinite:
            # No update from this batch; TerminateOnNaN (if given) stops the run.
            warnings.warn(f"fit: non-finite loss ({value}) in epoch {epoch + 1}, batch {b}; "
                          "that batch's update is skipped", RuntimeWarning, stacklevel=4)
            model._warned_nonfinite = True
        if per_batch:
            model.lr_schedule.step()
        n = len(batch[0])
        total_loss += value * n
        seen += n
        tracker.update(scores, yb, probabilities, mask, wb)
        if batch_logs:  # Keras's: the running means since the epoch began
            callbacks.on_train_batch_end(b, {"loss": total_loss / seen, **tracker.results()})
        if bar is not None:
            bar.update(1)
            bar.set_postfix({"loss": f"{total_loss / seen:.4f}",
                             **{k: f"{v:.4f}" for k, v in tracker.means().items()}},
                            refresh=False)
        if model.stop_training:
            break
    if bar is not None:
        bar.close()
    # a GPU optimizer's non-finite gradients, raised now that the epoch is done (never a
    # synchronization per step)
    getattr(model.optimizer, "check_nonfinite", lambda: None)()
    logs = {"loss": total_loss / max(seen, 1)}
    logs.update(tracker.results())
    return logs


def evaluate_arrays(model, x, y, batch_size, weights=None, callbacks=None) -> dict:
    """The loss and metrics over data already checked and converted, in eval mode, without a
    graph; ``weights``: per-sample loss weights (or None)."""
    arrays = (x, y) if weights is None else (x, y, weights)
    return evaluate_batches(model, DataLoader(*arrays, batch_size=batch_size), callbacks)


def evaluate_batches(model, batches, callbacks=None) -> dict:
    """The loss and metrics over (x, y[, sample_weight]) batches, in eval mode, without a
    graph. The loss is sum(w * loss) / samples, as Keras weighs it; metrics are unweighted
    (Keras weighs only its ``weighted_metrics``). ``callbacks`` (a CallbackList) hear Keras's
    on_test_* hooks, each batch's logs the running means so far."""
    callbacks = callbacks if callbacks is not None else CallbackList()
    batch_logs = callbacks.wants("on_test_batch_end")
    mode, device = model.training, model.device
    model.eval()
    total, seen = 0.0, 0
    tracker = EpochTrackers(model)
    callbacks.on_test_begin({})
    try:
        with no_grad():
            penalty, adding = 0.0, []
            if model.evaluation_adds_penalties:  # Keras's evaluate does, and add_loss's
                value = model.regularization_loss()
                penalty = 0.0 if isinstance(value, float) else value.item()
                adding = [m for _, m in model.named_modules() if m.adds_batch_losses]
            for b, batch in enumerate(batches):
                callbacks.on_test_batch_begin(b, {})
                xb, yb = batch[0], to_device(batch[1], device)
                for m in adding:
                    m._clear_batch_losses()
                out, logits, scores, probabilities, mask = outputs(model, to_device(xb, device))
                targets = loss_targets(model, batch[1], yb)
                wb = Tensor(to_device(batch[2], device)) if len(batch) > 2 else None
                added = sum(t.item() for m in adding for t in m._batch_losses())
                total += (model.objective(out, targets, wb, logits=logits, mask=mask).item()
                          + added) * len(xb)
                seen += len(xb)
                tracker.update(scores, yb, probabilities, mask, wb)
                if batch_logs:
                    callbacks.on_test_batch_end(b, {"loss": total / seen + penalty,
                                                    **tracker.results()})
            total += penalty * seen
    finally:
        model.train(mode)
    out = {"loss": total / max(seen, 1)}
    out.update(tracker.results())
    callbacks.on_test_end(dict(out))
    return out


def predict(model, x, batch_size, callbacks=None) -> np.ndarray:
    """The model's outputs, batch by batch in eval mode; ``callbacks`` (a CallbackList) hear
    Keras's on_predict_* hooks (a batch's logs: its ``outputs``)."""
    callbacks = callbacks if callbacks is not None else CallbackList()
    x = np.asarray(x, dtype=np.float32)
    if not model.built:
        model.build((None,) + x.shape[1:])
    one_output(model, "predict")
    mode, device = model.training, model.device
    model.eval()
    outs = []
    callbacks.on_predict_begin({})
    try:
        with no_grad():
            for b, (xb,) in enumerate(DataLoader(x, batch_size=batch_size)):
                callbacks.on_predict_batch_begin(b, {})
                outs.append(model.batch_output(Tensor(to_device(xb, device))).cpu().numpy())
                callbacks.on_predict_batch_end(b, {"outputs": outs[-1]})
    finally:
        model.train(mode)
    callbacks.on_predict_end({})
    return np.concatenate(outs) if outs else np.zeros((0,))
