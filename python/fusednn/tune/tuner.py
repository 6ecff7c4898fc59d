"""``Tuner``: a hyperparameter search over fusednn models with Optuna's samplers, fusednn's
pruning callback, cross-validation, and trials in this process, in worker processes, or on a
Dask cluster, all sharing one study that a killed run can resume."""
from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time

import numpy as np

from ..data.preprocessing import check_xy
from .isolated import run_trial_isolated
from .objective import Task, run_trial
from .results import TuneResult
from .space import Space, default_space
from .study import (METHODS, PRUNERS, fail_stale_trials, finished_count, make_pruner,
                    make_sampler, make_storage, optuna, worker)


class Tuner:
    """Search ``space`` for the ``model`` ("mlp" or "cnn") trained on (x, y).

    ``method``: "grid", "random", "bayes" (TPE) or "gp". ``metric``: a key ``fit`` logs, by
    default "val_accuracy" (maximized; keys with "loss" are minimized). ``cv=k`` scores each
    trial by stratified k-fold (mean ± std); otherwise a stratified ``validation_split`` held
    out with the study's seed. ``pruner``: "median", "halving", "hyperband" or "none".
    ``n_jobs``: worker processes (``backend="processes"``) or Dask workers (``backend="dask"``,
    ``address`` of a scheduler or None for a local cluster), sharing ``storage``
    ("journal:PATH" or a database URL). ``resume=True`` continues a stored study.
    ``isolate_trials=True`` runs every trial in a fresh process, so nothing a trial allocates
    outlives it (in-process runs drop the model and free CuPy's pools between trials).
    Everything is checked before the first trial.
    """

    def __init__(self, x, y, space=None, model: str = "mlp", method: str = "bayes",
                 n_trials: int = 20, metric: str = "val_accuracy", direction: str = None,
                 cv: int = None, validation_split: float = 0.2, epochs: int = 20,
                 pruner: str = "median", seed: int = 0, storage: str = None,
                 study_name: str = "fusednn", n_jobs: int = 1, backend: str = "processes",
                 address: str = None, resume: bool = False, out: str = None, top_k: int = 3,
                 device: str = "cpu", isolate_trials: bool = False, verbose: int = 1):
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y)
        check_xy(x, y, "Tuner")
        if y.dtype.kind not in "iu":
            raise ValueError("Tuner: y must hold integer class labels")
        if model not in ("mlp", "cnn"):
            raise ValueError(f"Tuner: model must be 'mlp' or 'cnn', got {model!r}")
        if method not in METHODS:
            raise ValueError(f"Tuner: method must be one of {METHODS}, got {method!r}")
        if pruner not in PRUNERS and pruner is not None:
            raise ValueError(f"Tuner: pruner must be one of {PRUNERS}, got {pruner!r}")
        if backend not in ("processes", "dask"):
            raise ValueError(f"Tuner: backend must be 'processes' or 'dask', got {backend!r}")
        for name, value, low in (("n_trials", n_trials, 1), ("n_jobs", n_jobs, 1),
                                 ("epochs", epochs, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"Tuner: {name} must be an int >= {low}, got {value!r}")
        if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
            raise ValueError(f"Tuner: cv must be an int >= 2 (folds) or None, got {cv!r}")
        if cv and np.bincount(y).min() < cv:
            raise ValueError(f"Tuner: cv={cv} needs at least {cv} samples of every class")
        self.space = Space.load(space) if space is not None else default_space(model)
        self.grid = self.space.grid() if method == "grid" else None
        if method == "grid":
            n_trials = min(n_trials, self.space.grid_size())
        direction = direction or ("minimize" if "loss" in metric else "maximize")
        if direction not in ("minimize", "maximize"):
            raise ValueError(f"Tuner: direction must be 'minimize' or 'maximize', got {direction!r}")
        if (n_jobs > 1 or backend == "dask" or resume) and storage is None:
            folder = out or tempfile.mkdtemp(prefix="fusednn-tune-")
            storage = "journal:" + os.path.join(folder, "study.log")
        make_storage(storage)  # a bad URL fails now
        self.task = Task(x, y, model, metric, direction, cv, validation_split, epochs, seed,
                         device, os.path.join(out, "trials") if out else None)
        self.method, self.n_trials, self.pruner, self.seed = method, n_trials, pruner, seed
        self.storage, self.study_name, self.n_jobs = storage, study_name, n_jobs
        self.backend, self.address, self.resume, self.out = backend, address, resume, out
        self.top_k, self.verbose, self.isolate_trials = top_k, verbose, isolate_trials

    # -- the study --------------------------------------------------------------------------
    def _study(self):
        o = optuna()
        storage = make_storage(self.storage)
        exists = False
        if storage is not None:
            exists = self.study_name in [s.study_name for s in o.get_all_study_summaries(storage)]
        if exists and not self.resume:
            study = o.load_study(study_name=self.study_name, storage=storage)
            if study.get_trials(deepcopy=False):
                raise RuntimeError(f"study {self.study_name!r} in {self.storage} already has "
                                   f"{len(study.trials)} trials; pass resume=True (--resume) "
                                   "to continue it, or another study name or storage")
        study = o.create_study(study_name=self.study_name, storage=storage,
                               sampler=make_sampler(self.method, self.seed, self.grid),
                               pruner=make_pruner(self.pruner), direction=self.task.direction,
                               load_if_exists=True)
        if self.resume:
            stale = fail_stale_trials(study)
            if stale and self.verbose:
                print(f"resume: {stale} trial(s) left running by the killed run marked failed; "
                      f"{finished_count(study)} finished trial(s) kept")
        return study

    def _job(self, index: int, n_trials: int) -> dict:
        threads = max(1, (os.cpu_count() or 1) // self.n_jobs)
        gpu = None
        if self.task.device == "cuda":
            from .. import _backend

            count = _backend.cuda_module().device_count()[0] if _backend.gpu_available() else 0
            gpu = index % count if count else None
        return {"task": self.task, "space": {k: v for k, v in self.space.params.items()},
                "study_name": self.study_name, "storage": self.storage, "method": self.method,
                "grid": self.grid, "seed": self.seed + 1000 * (index + 1), "pruner": self.pruner,
                "n_trials": n_trials, "threads": threads, "gpu": gpu,
                "isolate": self.isolate_trials}

    def _print_new(self, study, seen: set):
        o = optuna()
        done = (o.trial.TrialState.COMPLETE, o.trial.TrialState.PRUNED, o.trial.TrialState.FAIL)
        for t in sorted(study.get_trials(deepcopy=False, states=done), key=lambda t: t.number):
            if t.number in seen:
                continue
            seen.add(t.number)
            value = "" if t.value is None else f"{t.value:.4f}"
            params = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in t.params.items())
            print(f"trial {t.number:>3}  {t.state.name:<8} {self.task.metric}={value:<7} "
                  f"{t.user_attrs.get('seconds', 0):6.1f}s  {params}", flush=True)

    def run(self) -> TuneResult:
        o = optuna()
        start = time.perf_counter()
        study = self._study()
        seen = set()
        if self.verbose:
            print(f"tuning {self.task.model} with {self.method}: {self.n_trials} trials, "
                  f"{self.task.metric} ({self.task.direction}), "
                  f"{f'{self.task.cv}-fold CV' if self.task.cv else 'validation split'}, "
                  f"{self.n_jobs} job(s)", flush=True)
        remaining = self.n_trials - finished_count(study)
        if remaining > 0 and self.n_jobs == 1 and self.backend == "processes":
            states = (o.trial.TrialState.COMPLETE, o.trial.TrialState.PRUNED)
            callbacks = [o.study.MaxTrialsCallback(self.n_trials, states=states)]
            if self.verbose:
                callbacks.append(lambda s, t: self._print_new(s, seen))
            if self.isolate_trials:
                objective = lambda t: run_trial_isolated(t, self.task, self.space)  # noqa: E731
            else:
                objective = lambda t: run_trial(t, self.task, self.space)  # noqa: E731
            study.optimize(objective, n_trials=remaining, callbacks=callbacks,
                           gc_after_trial=True)
        elif remaining > 0:
            self._run_parallel(study, seen, remaining)
        result = TuneResult(study, self.task, self.space, self.out, self.top_k,
                            round(time.perf_counter() - start, 3))
        if self.verbose:
            counts = result.counts()
            print(f"done: {counts} in {result.wall_seconds:.1f} s; best {self.task.metric} "
                  f"{result.best_value:.4f} with {result.best_params}", flush=True)
        return result

    def _run_parallel(self, study, seen, remaining):
        shares = [remaining // self.n_jobs + (i < remaining % self.n_jobs)
                  for i in range(self.n_jobs)]
        jobs = [self._job(i, n) for i, n in enumerate(shares) if n > 0]
        stop = threading.Event()

        def watch():
            while not stop.wait(1.0):
                self._print_new(study, seen)

        watcher = threading.Thread(target=watch, daemon=True) if self.verbose else None
        if watcher:
            watcher.start()
        try:
            if self.backend == "dask":
                _run_on_dask(jobs, self.address)
            else:
                ctx = multiprocessing.get_context("spawn")
                with ctx.Pool(len(jobs)) as pool:
                    pool.map(worker, jobs)
        finally:
            stop.set()
            if watcher:
                watcher.join()
                self._print_new(study, seen)


def _run_on_dask(jobs, address):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("backend='dask' needs dask.distributed: pip install 'dask[distributed]'"
                          ) from None
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=len(jobs), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        address = cluster
    try:
        with Client(address) as client:
            futures = [client.submit(worker, job, pure=False) for job in jobs]
            client.gather(futures)
    finally:
        if cluster is not None:
            cluster.close()


def tune(x, y, **kwargs) -> TuneResult:
    """``Tuner(x, y, **kwargs).run()``."""
    return Tuner(x, y, **kwargs).run()


