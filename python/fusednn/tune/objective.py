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
from .builtin_models import build_model, compile_arguments


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
