"""Callbacks for ``fit`` (Keras names and semantics), and the base class to subclass.

Every hook receives ``logs``: after an epoch, ``loss``, the metrics, ``val_*`` when there is
validation data, and ``lr``. A callback that monitors a key absent from an epoch's logs warns
with the list of keys that exist, as Keras's do.
"""
from __future__ import annotations

import csv
import inspect
import math
import os
import warnings

import numpy as np

from .metrics import Metric, direction as metric_direction


class Callback:
    """Override any of the hooks; ``self.model`` is set before training starts, ``self.params``
    ({"verbose", "epochs", "steps"}) too. Keras's hooks: ``on_train_batch_begin/end`` (by
    default they call ``on_batch_begin/end``), ``on_test_*`` around evaluation (evaluate, and
    fit's validation), ``on_predict_*`` around predict. Batch logs hold the running means of
    the loss and metrics since the epoch (or evaluation) began, as Keras's; a predict batch's
    hold its ``outputs``."""

    model = None
    params = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs=logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs=logs)
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]
# a train-batch hook falls back to Keras 2's name on an object that is not a Callback
_FALLBACK = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


class CallbackList:
    """The callbacks of one ``fit`` / ``evaluate`` / ``predict``, called in order through one
    object: the loops call ``callbacks.on_epoch_end(epoch, logs)``, never a loop of their
    own. ``wants(hook)``: whether any callback does something at that hook, so the loops
    build a batch's logs only when someone reads them."""

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            if params is not None and hasattr(cb, "set_params"):
                cb.set_params(params)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            fn = getattr(cb, hook, None) or getattr(cb, _FALLBACK.get(hook, ""), None)
            if fn is not None:
                fn(*args)

    def wants(self, hook) -> bool:
        names = (hook,) + ((_FALLBACK[hook],) if hook in _FALLBACK else ())
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                if any(hasattr(cb, name) for name in names):
                    return True
            elif any(name in vars(cb) or getattr(type(cb), name) is not getattr(Callback, name)
                     for name in names):  # overridden by its class, or set on it (Lambda)
                return True
        return False

    def __getattr__(self, hook):
        if hook in _HOOKS:
            return lambda *args: self._call(hook, *args)
        raise AttributeError(hook)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)


def logged_value(key: str, logs, who: str) -> float:
    """``logs[key]`` as a float; a KeyError naming ``who`` and the keys there are if it is
    missing (for fusednn's own watchers, which cannot go on without it)."""
    if not logs or key not in logs:
        raise KeyError(f"{who} monitors {key!r}, which the logs do not have; "
                       f"available: {sorted(logs or {})}")
    return float(logs[key])


def _scalar(value, key, who) -> float:
    if np.ndim(value) != 0:
        raise ValueError(f"{who} monitors {key!r}, whose value is not one number: {value!r} "
                         "(a per-class metric; give it an average)")
    return float(value)


class MonitorCallback(Callback):
    """What EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share, as Keras's
    MonitorCallback: the ``monitor``ed log key, ``mode``, ``min_delta`` and the ``best`` value
    (None until the first monitored epoch, which always counts as an improvement).

    ``mode="auto"`` is settled at the first epoch's end, as Keras settles it: "loss" and
    "val_loss" are minimized, a compiled metric goes the way it says (accuracies, AUC,
    precision, recall, F1 and R2 up; errors down), and any other key is an error asking for
    "min" or "max". An unknown mode warns and falls back to "auto". ``monitor_op`` is then
    ``numpy.less`` or ``numpy.greater``. A monitored key missing from an epoch's logs warns
    with the keys there are, and that epoch is not watched (Keras's rule)."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor, self.mode, self.best = monitor, mode, baseline
        self.min_delta, self.monitor_op = abs(min_delta), None

    def _set_monitor_op(self):
        mode = self.mode
        if mode == "auto":
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            directions = {"loss": "down"}
            for m in getattr(self.model, "metrics", None) or []:
                directions[m.name if isinstance(m, Metric) else m] = metric_direction(m)
            if directions.get(name) is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but "
                    "fusednn cannot tell whether that metric should be maximized or "
                    "minimized. Pass mode='max' to monitor the highest value, or mode='min' "
                    "for the lowest.")
            mode = "max" if directions[name] == "up" else "min"
        self.monitor_op = np.less if mode == "min" else np.greater
        if mode == "min":
            self.min_delta = -abs(self.min_delta)

    def _is_improvement(self, value, reference) -> bool:
        if reference is None:
            return True
        # in float32, as Keras's backend ops compare: 1.05 - 0.1 does not beat 0.95 there
        return bool(self.monitor_op(np.float32(value - self.min_delta), np.float32(reference)))

    def _monitored(self, logs, what):
        """The monitored value of these logs, or None (with Keras's warning)."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"{what} conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=3)
            return None
        return _scalar(value, self.monitor, type(self).__name__)


class EarlyStopping(MonitorCallback):
    """Keras's EarlyStopping: stop once ``monitor`` has not improved by more than ``min_delta``
    for ``patience`` epochs (counted as Keras counts: ``patience=p`` stops at the p-th epoch
    without improvement). ``baseline``: epochs that improve on the best but not on the
    baseline still count as waiting. ``start_from_epoch``: epochs before it are not watched.
    ``restore_best_weights``: end with the best watched epoch's weights."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline=None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience, self.verbose, self.baseline = int(patience), verbose, baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = None, None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        value = self._monitored(logs, "Early stopping")
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.state_dict(), epoch
        self.wait += 1
        if self._is_improvement(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            if self.baseline is None or self._is_improvement(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save``, atomic; ``save_weights_only``: ``model.save_weights``)
    after every epoch, every ``save_freq`` batches, or only when ``monitor`` improves with
    ``save_best_only`` (on a value better than ``initial_value_threshold`` when given; with the
    monitored key missing it warns and saves, as Keras does). The path may contain ``{epoch}``,
    ``{batch}`` (when saving every ``save_freq`` batches) and log keys, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.fdnn"``."""

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq="epoch", initial_value_threshold=None):
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = save_freq
        self._batches, self._epoch = 0, 0

    def _path(self, epoch, batch, logs):
        logs = dict(logs or {})
        if batch is not None and "batch" not in logs:
            logs["batch"] = batch + 1
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None

    def _save(self, epoch, batch, logs):
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            value = (logs or {}).get(self.monitor)
            if value is None:
                warnings.warn(f"Can save best model only with {self.monitor} available.",
                              stacklevel=3)
            elif self._is_improvement(_scalar(value, self.monitor, "ModelCheckpoint"),
                                      self.best):
                if self.verbose:
                    best = "None" if self.best is None else f"{self.best:.5f}"
                    print(f"Epoch {epoch + 1}: {self.monitor} improved from {best} to "
                          f"{float(value):.5f}, saving model to {path}")
                self.best = float(value)
            else:
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                if self.monitor_op is None and self.save_best_only:
                    self._set_monitor_op()
                self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None and self.save_best_only:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)


def _takes_lr(schedule) -> bool:
    """Whether a schedule takes (epoch, lr) rather than (epoch)."""
    try:
        params = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


class LearningRateScheduler(Callback):
    """Set the lr before each epoch to ``schedule(epoch, lr)`` or ``schedule(epoch)`` (both of
    Keras's forms). It owns the lr: a model compiled with ``lr_schedule`` refuses it, as Keras
    refuses it for an optimizer whose learning rate is a schedule."""

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.schedule, self.verbose = schedule, verbose
        self._two_args = _takes_lr(schedule)

    def on_train_begin(self, logs=None):
        if getattr(self.model, "lr_schedule", None) is not None:
            raise ValueError("LearningRateScheduler cannot drive a model compiled with "
                             "lr_schedule=...: the learning rate has one owner")

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        current = float(opt.param_groups[0]["lr"])
        lr = self.schedule(epoch, current) if self._two_args else self.schedule(epoch)
        if not isinstance(lr, (float, np.floating)):  # Keras's check: an int is refused too
            raise ValueError(f"The output of the `schedule` function should be a float. "
                             f"Got: {lr!r}")
        lr = float(lr)
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned lr={lr} at epoch {epoch}")
        for group in opt.param_groups:
            group["lr"] = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.param_groups[0]["lr"])


class ReduceLROnPlateau(MonitorCallback):
    """Keras's ReduceLROnPlateau: after ``patience`` epochs without an improvement of more than
    ``min_delta`` in ``monitor``, multiply the lr by ``factor`` (not below ``min_lr``), then
    wait ``cooldown`` epochs before counting again. Logs the rate each epoch trained with as
    ``learning_rate``."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0, got {factor}")
        self.factor, self.patience, self.verbose = float(factor), int(patience), verbose
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self._reset()

    def _reset(self):
        self.best = None
        self.wait = self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if logs is not None:  # the rate this epoch trained with, before any reduction (Keras's)
            logs["learning_rate"] = float(self.model.optimizer.param_groups[0]["lr"])
        value = self._monitored(logs, "Learning rate reduction")
        if value is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(value, self.best):
            self.best, self.wait = value, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.optimizer
                old = float(opt.param_groups[0]["lr"])
                # Keras compares its float32 rate variable with float32(min_lr): a rate already
                # at min_lr is not reduced again, and the wait goes on counting
                if np.float32(old) > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    for group in opt.param_groups:
                        group["lr"] = new
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                              f"{new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


def _csv_value(value):
    """Keras's cell text: a string as it is, a list or array of values as the text
    ``"[a, b]"`` (its quotes included), a number as it is."""
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """One row per epoch (epoch and every log value), flushed as it goes; ``separator``
    between fields, ``append`` to an existing file (its header kept). Keras's columns: the
    first epoch's keys sorted, with val_ columns for each when that epoch had none (filled
    later, or "NA"), a missing value written "NA"."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = filename, separator, append

    @property
    def path(self):
        return self.filename

    def on_train_begin(self, logs=None):
        exists = (self.append and os.path.exists(self.filename)
                  and os.path.getsize(self.filename) > 0)
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer, self.keys, self.header_done = None, None, exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.writer is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
            self.writer = csv.writer(self.file, delimiter=self.separator)
            if not self.header_done:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [_csv_value(logs.get(k, "NA")) for k in self.keys])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


class TensorBoard(Callback):
    """Scalars per epoch (every log value) as TensorBoard event files in ``log_dir``, written
    by tensorboardX."""

    def __init__(self, log_dir: str = "runs"):
        self.log_dir = log_dir

    def on_train_begin(self, logs=None):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoard needs tensorboardX: pip install tensorboardX "
                              "(or pip install 'fusednn[train]')") from None
        self.writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in logs.items():
            group = "validation" if key.startswith("val_") else "train"
            name = key[4:] if group == "validation" else key
            values = value if isinstance(value, (list, tuple)) else [value]
            for i, v in enumerate(values):  # one curve per class of a per-class metric
                suffix = f"_{i}" if len(values) > 1 or values is value else ""
                self.writer.add_scalar(f"{name}{suffix}/{group}", float(v), epoch + 1)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()


class LambdaCallback(Callback):
    """A callback made of functions, as Keras's: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)`` / ``on_train_batch_end(batch, logs)``, and any other
    hook by keyword (``on_test_batch_end=...``, Keras 2's ``on_batch_end``...). Hooks not
    given do nothing."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hook(s) {unknown}")
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in hooks.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {name} must be callable, got {fn!r}")
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite: gracefully (the other
    callbacks still end), or with ``raise_error=True`` by raising RuntimeError at once."""

    def __init__(self, raise_error: bool = False):
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                                   f"{loss}. Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
