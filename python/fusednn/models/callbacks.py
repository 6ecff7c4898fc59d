"""Callbacks for ``fit`` (Keras names and semantics), and the base class to subclass.

Every hook receives ``logs``: after an epoch, ``loss``, the metrics, ``val_*`` when there is
validation data, and ``lr``. A callback that monitors a key absent from the first epoch's
logs raises with the list of keys that exist.
"""
from __future__ import annotations

import csv
import inspect
import math
import os

import numpy as np


class Callback:
    """Override any of the hooks; ``self.model`` is set before training starts."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


class CallbackList:
    """The callbacks of one ``fit``, called in order through one object: the training loop
    calls ``callbacks.on_epoch_end(epoch, logs)``, never a loop of its own."""

    def __init__(self, callbacks=None, model=None):
        self.callbacks = list(callbacks or [])
        if model is not None:
            for cb in self.callbacks:
                cb.set_model(model)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)
    def on_batch_begin(self, batch, logs=None): self._call("on_batch_begin", batch, logs)
    def on_batch_end(self, batch, logs=None): self._call("on_batch_end", batch, logs)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)


def _monitored(callback, logs):
    key = callback.monitor
    if key not in logs:
        raise KeyError(f"{type(callback).__name__} monitors {key!r}, which the logs do not have; "
                       f"available: {sorted(logs)}")
    return float(logs[key])


_MAXIMIZED = ("acc", "auc", "precision", "recall", "f1")


def _mode(mode, monitor):
    """'min' or 'max'; "auto" infers max for accuracy, AUC, precision, recall and F1 (with or
    without a val_ prefix), min otherwise."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if any(k in monitor.lower() for k in _MAXIMIZED) else "min"
    return mode


class EarlyStopping(Callback):
    """Keras's EarlyStopping: stop once ``monitor`` has not improved by more than ``min_delta``
    for ``patience`` epochs (counted as Keras counts: ``patience=p`` stops at the p-th epoch
    without improvement). ``baseline``: epochs that improve on the best but not on the
    baseline still count as waiting. ``start_from_epoch``: epochs before it are not watched.
    ``restore_best_weights``: end with the best watched epoch's weights."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline=None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(min_delta)
        self.verbose, self.mode = verbose, _mode(mode, monitor)
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.best = math.inf if self.mode == "min" else -math.inf

    def _improves(self, value, reference):
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best_weights = None
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs)
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.state_dict(), epoch
        self.wait += 1
        if self._improves(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            if self.baseline is None or self._improves(value, self.baseline):
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


class ModelCheckpoint(Callback):
    """Save the model (``model.save``, atomic; ``save_weights_only``: ``model.save_weights``)
    after every epoch, every ``save_freq`` batches, or only when ``monitor`` improves with
    ``save_best_only`` (on a value better than ``initial_value_threshold`` when given). The
    path may contain ``{epoch}`` and log keys, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.fdnn"``."""

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq="epoch", initial_value_threshold=None):
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.filepath, self.monitor, self.verbose = filepath, monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode, self.save_freq = _mode(mode, monitor), save_freq
        self.best = (initial_value_threshold if initial_value_threshold is not None
                     else math.inf if self.mode == "min" else -math.inf)
        self._batches, self._epoch = 0, 0

    def _save(self, epoch, logs):
        path = self.filepath.format(epoch=epoch + 1, **(logs or {}))
        if self.save_best_only:
            value = _monitored(self, logs)
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._save(self._epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)


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


class ReduceLROnPlateau(Callback):
    """Keras's ReduceLROnPlateau: after ``patience`` epochs without an improvement of more than
    ``min_delta`` in ``monitor``, multiply the lr by ``factor`` (not below ``min_lr``), then
    wait ``cooldown`` epochs before counting again."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0, got {factor}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.verbose, self.mode, self.min_delta = verbose, _mode(mode, monitor), min_delta
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # the rate this epoch trained with, before any reduction (Keras's)
            logs["learning_rate"] = float(self.model.optimizer.param_groups[0]["lr"])
        value = _monitored(self, logs)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        better = (value < self.best - self.min_delta if self.mode == "min"
                  else value > self.best + self.min_delta)
        if better:
            self.best, self.wait = value, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.optimizer
                old = float(opt.param_groups[0]["lr"])
                if old > float(np.float32(self.min_lr)):
                    new = max(old * self.factor, self.min_lr)
                    for group in opt.param_groups:
                        group["lr"] = new
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                              f"{new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


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
        self.writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
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
    ``on_train_batch_begin(batch, logs)`` / ``on_train_batch_end(batch, logs)`` (Keras 2's
    ``on_batch_begin`` / ``on_batch_end`` too). Hooks not given do nothing."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        batch_begin, batch_end = kwargs.pop("on_batch_begin", None), kwargs.pop("on_batch_end",
                                                                                 None)
        if kwargs:
            raise TypeError(f"LambdaCallback: unknown hook(s) {sorted(kwargs)}")
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_batch_begin=on_train_batch_begin or batch_begin,
                     on_batch_end=on_train_batch_end or batch_end)
        for name, fn in hooks.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {name} must be callable, got {fn!r}")
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch} has loss {loss}; stopping")
            self.model.stop_training = True
