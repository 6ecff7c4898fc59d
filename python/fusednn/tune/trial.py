"""One trial: the builder makes a compiled model from the trial's hyperparameters, it trains on
the trial's split (or each cross-validation fold) with fusednn's pruning callback reporting to
Optuna, and the trial's value is the objective at the end of training (the mean over folds).

Pruning steps: the first fit reports the objective after every epoch (steps 0..E-1); under
cross-validation each later fold k reports the running mean over folds 1..k at step E + k - 2.
"""
from __future__ import annotations

import copy
import gc
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..models.callbacks import Callback, logged_value
from . import builders
from .hyperparameters import HyperParameters
from .objectives import MODEL_PROPERTIES
from .progress import TrialProgress


@dataclass
class Task:
    """Everything a trial needs; picklable, so worker processes get it whole."""
    x: np.ndarray
    y: np.ndarray
    builder: object = None
    objectives: tuple = ("val_accuracy",)
    directions: tuple = ("maximize",)
    cv: int = None
    validation_split: float = 0.2
    validation_data: tuple = None
    fit_kwargs: dict = field(default_factory=dict)
    callbacks: list = field(default_factory=list)
    stratify: bool = True
    seed: int = 0
    device: str = "cpu"
    save_dir: str = None
    verbose: int = 0
    progress_row: int = 0  # the terminal row of this worker's live line
    objective_fn: object = None  # a plain Optuna objective(trial) -> float instead of a builder
    executions: int = 1  # fits per split, from different initial weights (their mean scores)

    @property
    def metric(self) -> str:
        return self.objectives[0]

    @property
    def direction(self) -> str:
        return self.directions[0]

    @property
    def multi(self) -> bool:
        return len(self.objectives) > 1

    @property
    def logged(self) -> list:
        """The objectives fit logs (the rest are properties of the trained model)."""
        return [o for o in self.objectives if o not in MODEL_PROPERTIES]

    def splits(self) -> list:
        """(train indices, validation indices or None) per fit of a trial."""
        from ..data.preprocessing import split_indices

        n = len(self.y)
        labels = self.y if self.stratify else None
        if self.cv:
            return (stratified_folds(self.y, self.cv, self.seed) if self.stratify
                    else kfold(n, self.cv, self.seed))
        if self.validation_data is not None or not self.validation_split:
            return [(np.arange(n), None)]
        keep, held = split_indices(n, self.validation_split, labels, True,
                                   np.random.default_rng(self.seed))
        return [(keep, held)]


class PruningCallback(Callback):
    """Reports ``monitor`` to the Optuna trial after every epoch and stops the trial when the
    pruner says so. fusednn's own, so it follows fusednn's callback API whatever Optuna's
    integration modules do."""

    def __init__(self, trial, monitor: str, step_offset: int = 0, report: bool = True):
        self.trial, self.monitor, self.step_offset, self.report = trial, monitor, step_offset, report
        self.last = None

    def on_epoch_end(self, epoch, logs=None):
        # a metric fit does not log fails here, naming the keys
        self.last = logged_value(self.monitor, logs, type(self).__name__)
        if not self.report:
            return
        self.trial.report(self.last, self.step_offset + epoch)
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} ({self.monitor}={self.last:.4g})")


class _Watch(Callback):
    """Checks on the first epoch that every objective fit should log is there."""

    def __init__(self, names):
        self.names = names

    def on_epoch_end(self, epoch, logs=None):
        missing = [n for n in self.names if n not in (logs or {})]
        if missing:
            raise KeyError(f"the search's objective {missing[0]!r} is not logged by fit; "
                           f"available: {sorted(logs or {})}")
        for n in self.names:
            if not isinstance(logs[n], (int, float, np.floating, np.integer)):
                raise ValueError(f"the search's objective {n!r} is not one number (fit logs "
                                 f"{logs[n]!r}); an F1Score with average=None logs one value "
                                 "per class: use F1Score(average='macro', name='f1')")


def stratified_folds(y, k: int, seed: int):
    """k (train, validation) index pairs; each class is dealt round-robin over the folds."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), np.int64)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        fold_of[idx] = np.arange(len(idx)) % k
    return [(np.flatnonzero(fold_of != i), np.flatnonzero(fold_of == i)) for i in range(k)]


def kfold(n: int, k: int, seed: int):
    """k (train, validation) index pairs over a shuffled order, fold sizes differing by at most
    one (scikit-learn's KFold with shuffle)."""
    parts = np.array_split(np.random.default_rng(seed).permutation(n), k)
    return [(np.sort(np.concatenate(parts[:i] + parts[i + 1:])), np.sort(parts[i]))
            for i in range(k)]


def fit_once(task: Task, hp: HyperParameters, x_tr, y_tr, validation, callbacks, seed,
             label: str = None):
    """Build the model ``hp`` describes and train it; returns (model, history, fit seconds)."""
    import fusednn

    fusednn.seed(seed)
    fit_args = dict(task.fit_kwargs)
    hp.fit_args, hp.train_samples = fit_args, len(x_tr)
    model = builders.build(task.builder, hp)
    fit_args.update(hp.fit_values())  # drawn fit arguments override the search's
    if task.device != "cpu":
        model.to(task.device)
    callbacks = [copy.deepcopy(c) for c in task.callbacks] + list(callbacks)
    progress = None
    if task.verbose and label:
        progress = TrialProgress(label, int(fit_args.get("epochs", 1)), task.logged,
                                 task.progress_row)
        callbacks.append(progress)
    start = time.perf_counter()
    try:
        history = builders.fit(task.builder, hp, model, x_tr, y_tr, validation_data=validation,
                               callbacks=callbacks, verbose=0, **fit_args)
    finally:
        if progress is not None:
            progress.close()
    return model, history, time.perf_counter() - start


def _values(task, model, history, seconds) -> list:
    out = []
    for name in task.objectives:
        if name == "params":
            out.append(float(model.count_params()))
        elif name == "train_seconds":
            out.append(float(seconds))
        else:
            logged = history.history.get(name)
            if not logged:
                raise KeyError(f"the search's objective {name!r} is not logged by fit; "
                               f"available: {sorted(history.history)}")
            out.append(float(logged[-1]))
    return out


def release_memory():
    """Between trials: drop the last trial's arrays and, on the GPU, CuPy's pooled blocks."""
    gc.collect()
    try:
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()
    except Exception:  # no CuPy, or no GPU: nothing pooled
        pass


def fit_seed(task: Task, trial_number: int, execution: int) -> int:
    """The seed of a trial's fits in one execution (the same on every fold)."""
    return task.seed + trial_number + 7919 * execution


def run_trial(trial, task: Task):
    """The Optuna objective: the trial's value, or one value per objective."""
    if task.objective_fn is not None:
        return task.objective_fn(trial)
    start = time.perf_counter()
    hp = HyperParameters(trial)
    model = None
    # every split once per execution, each execution from its own initial weights
    splits = [(tr, va, fit_seed(task, trial.number, e)) for e in range(task.executions)
              for tr, va in task.splits()]
    # Optuna prunes single-objective studies only; the first objective fit logs is reported.
    report = not task.multi and task.metric not in MODEL_PROPERTIES
    try:
        per_fold, first_fold_steps = [], 0
        for i, (tr, va, seed) in enumerate(splits):
            if va is None:
                validation = task.validation_data
            else:
                validation = (task.x[va], task.y[va])
            label = f"trial {trial.number}" + (f" fit {i + 1}/{len(splits)}"
                                                if len(splits) > 1 else "")
            callbacks = [_Watch(task.logged)]
            if report and i == 0:
                # The first fit reports every epoch, so a poor trial stops early; under cv
                # each later fold then reports the running mean at the next step.
                callbacks.append(PruningCallback(trial, task.metric))
            model, history, seconds = fit_once(task, hp, task.x[tr], task.y[tr], validation,
                                               callbacks, seed, label)
            per_fold.append(_values(task, model, history, seconds))
            if i == 0:
                first_fold_steps = len(history.history.get(task.metric, ()))
            elif report:
                trial.report(float(np.mean([v[0] for v in per_fold])), first_fold_steps + i - 1)
                if i + 1 < len(splits) and trial.should_prune():
                    import optuna

                    raise optuna.TrialPruned(f"pruned after fold {i + 1}")
        values = np.mean(per_fold, axis=0)
        trial.set_user_attr("std", float(np.std([v[0] for v in per_fold])))
        trial.set_user_attr("model_params", int(model.count_params()))
        fixed = {k: v for k, v in hp.values.items() if k not in trial.params}
        if fixed:
            trial.set_user_attr("fixed", fixed)
        if task.save_dir and model is not None:
            _save(trial, model, task.save_dir)
        return [float(v) for v in values] if task.multi else float(values[0])
    finally:
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
        del model
        release_memory()


def _save(trial, model, folder):
    """The trained model as ``trial_<n>.fdnn``; a model holding layers fusednn cannot save
    is noted on the trial (its best-model retrieval retrains it instead)."""
    os.makedirs(folder, exist_ok=True)
    try:
        model.save(os.path.join(folder, f"trial_{trial.number}.fdnn"))
    except (TypeError, ValueError, NotImplementedError) as e:
        trial.set_user_attr("unsaved", str(e))
        return
    if type(model).__module__.startswith("fusednn.keras"):
        trial.set_user_attr("keras_model", True)  # reloaded with Keras's fit/evaluate
