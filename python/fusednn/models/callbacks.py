"""Callbacks for ``fit`` (Keras names and semantics), and the base class to subclass.

Every hook receives ``logs``: after an epoch, ``loss``, the metrics, ``val_*`` when there is
validation data, and ``lr``. A callback that monitors a key absent from the first epoch's
logs raises with the list of keys that exist.
"""
from __future__ import annotations

import csv
import math
import os


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


def _mode(mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if any(k in monitor for k in ("acc", "auc", "precision", "recall")) else "min"
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` the model ends with the best epoch's weights."""

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False, verbose: int = 0):
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(min_delta)
        self.mode = _mode(mode, monitor)
        self.restore_best_weights, self.verbose = restore_best_weights, verbose

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, None, None
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1}")
        if self.stopped_epoch is not None and self.verbose:
            print(f"EarlyStopping: stopped after epoch {self.stopped_epoch + 1}")


class ModelCheckpoint(Callback):
    """Save the model (``model.save``, atomic) after every epoch, or only when ``monitor``
    improves with ``save_best_only``. ``path`` may contain ``{epoch}`` and log keys, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.fdnn"``."""

    def __init__(self, path: str, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", verbose: int = 0):
        self.path, self.monitor, self.save_best_only = path, monitor, save_best_only
        self.mode, self.verbose = _mode(mode, monitor), verbose
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        path = self.path.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = _monitored(self, logs)
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        self.model.save(path)
        if self.verbose:
            print(f"ModelCheckpoint: saved {path}")


class LearningRateScheduler(Callback):
    """Set the lr before each epoch to ``schedule(epoch, lr)`` (Keras's signature)."""

    def __init__(self, schedule, verbose: int = 0):
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = float(self.schedule(epoch, opt.param_groups[0]["lr"]))
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned lr={lr} at epoch {epoch}")
        for group in opt.param_groups:
            group["lr"] = lr
        if self.verbose:
            print(f"epoch {epoch + 1}: lr = {lr:.3g}")


class ReduceLROnPlateau(Callback):
    """Multiply the lr by ``factor`` after ``patience`` epochs without improvement of
    ``monitor`` (see fusednn.optim.lr_scheduler.ReduceLROnPlateau)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0):
        self.monitor = monitor
        self.kwargs = dict(mode=_mode(mode, monitor), factor=factor, patience=patience,
                           threshold=min_delta, threshold_mode="abs", cooldown=cooldown,
                           min_lr=min_lr)

    def on_train_begin(self, logs=None):
        from ..optim.lr_scheduler import ReduceLROnPlateau as Plateau

        self.plateau = Plateau(self.model.optimizer, **self.kwargs)

    def on_epoch_end(self, epoch, logs=None):
        self.plateau.step(_monitored(self, logs))


class CSVLogger(Callback):
    """One CSV row per epoch (epoch and every log value), flushed as it goes."""

    def __init__(self, path: str, append: bool = False):
        self.path, self.append = path, append

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self.file = open(self.path, "a" if self.append else "w", newline="")
        self.writer, self.keys, self.header_done = None, None, exists

    def on_epoch_end(self, epoch, logs=None):
        if self.writer is None:
            self.keys = list(logs)
            self.writer = csv.writer(self.file)
            if not self.header_done:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [logs.get(k, "") for k in self.keys])
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
            self.writer.add_scalar(f"{key[4:] if group == 'validation' else key}/{group}",
                                   float(value), epoch + 1)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch} has loss {loss}; stopping")
            self.model.stop_training = True
