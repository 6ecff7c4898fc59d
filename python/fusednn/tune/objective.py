"""One trial: build the model a parameter set describes, train it with fusednn's pruning
callback reporting to Optuna, and return the validation (or cross-validated) metric."""
from __future__ import annotations

import gc
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from ..models.callbacks import Callback, _monitored


@dataclass
class Task:
    """Everything a trial needs; picklable, so worker processes get it whole."""
    x: np.ndarray
    y: np.ndarray
    model: str = "mlp"
    metric: str = "val_accuracy"
    direction: str = "maximize"
    cv: int = None
    validation_split: float = 0.2
    epochs: int = 20
    seed: int = 0
    device: str = "cpu"
    save_dir: str = None


class PruningCallback(Callback):
    """Reports ``monitor`` to the Optuna trial after every epoch and stops the trial when the
    pruner says so. fusednn's own, so it follows fusednn's callback API whatever Optuna's
    integration modules do."""

    def __init__(self, trial, monitor: str, step_offset: int = 0, report: bool = True):
        self.trial, self.monitor, self.step_offset, self.report = trial, monitor, step_offset, report
        self.last = None

    def on_epoch_end(self, epoch, logs=None):
        self.last = _monitored(self, logs)  # a metric fit does not log fails here, naming the keys
        if not self.report:
            return
        self.trial.report(self.last, self.step_offset + epoch)
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} ({self.monitor}={self.last:.4g})")


def build_model(kind: str, input_shape, classes: int, params: dict):
    from .. import nn
    from ..models import Sequential

    act = params.get("activation", "relu")
    dropout = float(params.get("dropout", 0.0))
    l1, l2 = float(params.get("l1", 0.0)), float(params.get("l2", 0.0))
    reg = nn.L1L2(l1, l2) if (l1 or l2) else None
    hidden = int(params.get("hidden", 128))
    layers = []
    if kind == "cnn":
        if len(input_shape) != 3:
            raise ValueError(f"a cnn needs image inputs (C, H, W), got samples of shape {input_shape}")
        f = int(params.get("filters", 16))
        layers += [nn.Conv2D(f, 3, padding="same", activation=act, kernel_regularizer=reg),
                   nn.Conv2D(f, 3, padding="same", activation=act, kernel_regularizer=reg),
                   nn.MaxPool2D(2),
                   nn.Conv2D(2 * f, 3, padding="same", activation=act, kernel_regularizer=reg),
                   nn.MaxPool2D(2), nn.Flatten()]
        depth = 1
    else:
        if len(input_shape) > 1:
            layers.append(nn.Flatten())
        depth = int(params.get("depth", 2))
    for _ in range(depth):
        layers.append(nn.Dense(hidden, activation=act, kernel_regularizer=reg,
                               kernel_initializer="he_uniform"))
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Dense(classes))
    return Sequential(layers, input_shape=input_shape, name=kind)


def compile_arguments(params: dict, epochs: int, steps_per_epoch: int) -> dict:
    """``model.compile`` keyword arguments for a parameter set."""
    from ..optim import lr_scheduler as L

    name = params.get("optimizer", "adam")
    lr = float(params.get("lr", 1e-3))
    kw = {"lr": lr}
    if name in ("sgd", "rmsprop") and "momentum" in params:
        kw["momentum"] = float(params["momentum"])
    if name == "sgd" and params.get("nesterov") and kw.get("momentum", 0) > 0:
        kw["nesterov"] = True
    if name in ("adam", "adamw") and ("beta1" in params or "beta2" in params):
        kw["betas"] = (float(params.get("beta1", 0.9)), float(params.get("beta2", 0.999)))
    if "weight_decay" in params:
        kw["weight_decay"] = float(params["weight_decay"])
    schedule = params.get("schedule", "none")
    make = None
    if schedule == "cosine":
        make = lambda opt: L.CosineAnnealingLR(opt, T_max=max(1, epochs))  # noqa: E731
    elif schedule == "step":
        make = lambda opt: L.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.3)  # noqa: E731
    elif schedule == "onecycle":
        make = lambda opt: L.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)  # noqa: E731
    elif schedule not in (None, "none"):
        raise ValueError(f"unknown schedule {schedule!r} (none, cosine, step, onecycle)")
    return dict(optimizer=name, loss="cross_entropy", metrics=["accuracy"],
                grad_clip=params.get("grad_clip"), lr_schedule=make, **kw)


def stratified_folds(y, k: int, seed: int):
    """k (train, validation) index pairs; each class is dealt round-robin over the folds."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), np.int64)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        fold_of[idx] = np.arange(len(idx)) % k
    return [(np.flatnonzero(fold_of != i), np.flatnonzero(fold_of == i)) for i in range(k)]


def train_one(task: Task, params: dict, x_tr, y_tr, validation, callbacks, seed):
    import fusednn

    fusednn.seed(seed)
    epochs = int(params.get("epochs", task.epochs))
    batch = int(params.get("batch_size", 64))
    model = build_model(task.model, x_tr.shape[1:], int(task.y.max()) + 1, params)
    if task.device != "cpu":
        model.to(task.device)
    model.compile(**compile_arguments(params, epochs, math.ceil(len(x_tr) / batch)))
    history = model.fit(x_tr, y_tr, epochs=epochs, batch_size=batch, validation_data=validation,
                        callbacks=callbacks, verbose=0)
    return model, history


def release_memory():
    """Between trials: drop the last trial's arrays and, on the GPU, CuPy's pooled blocks."""
    gc.collect()
    try:
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()
    except Exception:  # no CuPy, or no GPU: nothing pooled
        pass


def run_trial(trial, task: Task, space) -> float:
    """The Optuna objective."""
    from ..data.preprocessing import split_indices

    start = time.perf_counter()
    params = space.suggest(trial)
    seed = task.seed + trial.number
    model = None
    try:
        if task.cv:
            scores = []
            for i, (tr, va) in enumerate(stratified_folds(task.y, task.cv, task.seed)):
                cb = PruningCallback(trial, task.metric, report=False)
                model, _ = train_one(task, params, task.x[tr], task.y[tr],
                                     (task.x[va], task.y[va]), [cb], seed)
                scores.append(cb.last)
                trial.report(float(np.mean(scores)), i)  # the running mean: pruning per fold
                if i + 1 < task.cv and trial.should_prune():
                    import optuna

                    raise optuna.TrialPruned(f"pruned after fold {i + 1}")
            value, std = float(np.mean(scores)), float(np.std(scores))
        else:
            keep, held = split_indices(len(task.y), task.validation_split, task.y, True,
                                       np.random.default_rng(task.seed))
            cb = PruningCallback(trial, task.metric)
            model, _ = train_one(task, params, task.x[keep], task.y[keep],
                                 (task.x[held], task.y[held]), [cb], seed)
            value, std = float(cb.last), 0.0
        trial.set_user_attr("std", std)
        if task.save_dir and model is not None:
            os.makedirs(task.save_dir, exist_ok=True)
            model.save(os.path.join(task.save_dir, f"trial_{trial.number}.fdnn"))
        return value
    finally:
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
        del model
        release_memory()


# -- a trial in its own process -----------------------------------------------------------------
class _RemoteTrial:
    """The trial as the child process sees it: the parameters the parent already sampled, and
    report / should_prune / set_user_attr relayed to the parent's real trial over a pipe."""

    def __init__(self, conn, params: dict, number: int):
        self._conn, self._params, self.number = conn, params, number

    def _fixed(self, name, *args, **kwargs):
        return self._params[name]

    suggest_float = suggest_int = suggest_categorical = _fixed

    def report(self, value, step):
        self._conn.send(("report", float(value), int(step)))
        self._pruned = self._conn.recv()

    def should_prune(self) -> bool:
        return getattr(self, "_pruned", False)

    def set_user_attr(self, key, value):
        self._conn.send(("attr", key, value))


def _child(conn, task, space_params, params, number, threads):
    import traceback

    if threads:
        from .. import _cpu

        _cpu.set_num_threads(threads)
    from .space import Space

    try:
        value = run_trial(_RemoteTrial(conn, params, number), task, Space(space_params))
        conn.send(("done", value))
    except Exception as e:  # noqa: BLE001 - every failure goes back to the parent
        import optuna

        if isinstance(e, optuna.TrialPruned):
            conn.send(("pruned", str(e)))
        else:
            text = e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e)
            conn.send(("error", type(e).__name__, text, traceback.format_exc()))
    finally:
        conn.close()


_ERRORS = {"KeyError": KeyError, "ValueError": ValueError, "TypeError": TypeError}


def run_trial_isolated(trial, task: Task, space, threads=None) -> float:
    """``run_trial`` in a fresh process: whatever the trial allocates (host or GPU memory) is
    returned to the system when it ends. Reports and pruning decisions cross a pipe."""
    import multiprocessing

    import optuna

    params = space.suggest(trial)
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_child, daemon=True,
                       args=(there, task, dict(space.params), params, trial.number, threads))
    proc.start()
    there.close()
    try:
        while True:
            try:
                msg = here.recv()
            except EOFError:
                raise RuntimeError(f"trial {trial.number}: its process died (exit code "
                                   f"{proc.exitcode}) before reporting a result") from None
            kind = msg[0]
            if kind == "report":
                trial.report(msg[1], msg[2])
                here.send(trial.should_prune())
            elif kind == "attr":
                trial.set_user_attr(msg[1], msg[2])
            elif kind == "done":
                return msg[1]
            elif kind == "pruned":
                raise optuna.TrialPruned(msg[1])
            else:
                _, name, text, trace = msg
                raise _ERRORS.get(name, RuntimeError)(
                    text if name in _ERRORS else f"trial {trial.number} failed in its process:\n{trace}")
    finally:
        here.close()
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
