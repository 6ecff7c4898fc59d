"""``Tuner``: a hyperparameter search over the user's own model (a ``build_model(hp)``
builder, a ``HyperModel``, a "file.py:function" reference) or a built-in one ("mlp", "cnn"),
with Optuna's samplers, fusednn's pruning callback, cross-validation, one objective or several,
and trials in this process, in worker processes, or on a Dask cluster, all sharing one study
that a killed run can resume."""
from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import time
import weakref

import numpy as np

from ..data.preprocessing import check_xy
from . import builders
from .builtin_models import BUILTIN, DEFAULT_BATCH_SIZE, BuiltinModel
from .hyperparameters import HyperModel, HyperParameters
from .isolated import run_trial_isolated
from .objectives import MODEL_PROPERTIES, objectives_from
from .results import TuneResult
from .space import Space, default_space
from .study import (METHODS, PRUNERS, fail_stale_trials, finished_count, make_pruner,
                    make_sampler, make_storage, optuna, process_worker)
from .trial import Task, release_memory, run_trial

_FIT_DEFAULTS = ("epochs", "batch_size", "class_weight", "shuffle")


class _TempFolder:
    """A folder of the search's own (trial models, the study's journal) when the user named
    none: removed once neither the tuner nor its result holds it any more, or at exit, so
    searches do not pile up folders in the temp directory. A worker process that receives it
    gets the path only, never the removal."""

    def __init__(self, prefix: str):
        self.path = tempfile.mkdtemp(prefix=prefix)
        weakref.finalize(self, shutil.rmtree, self.path, True)

    def __reduce__(self):
        return (str, (self.path,))


class Tuner:
    """Search the hyperparameters of a model trained on (x, y).

    The model: ``Tuner(build_model)`` where ``build_model(hp)`` returns a compiled fusednn
    model (``fusednn.Sequential`` or a ``fusednn.keras`` model) drawing its settings from
    ``hp`` (:class:`HyperParameters`: ``hp.Float``, ``hp.Int``, ``hp.Choice``, ``hp.Boolean``,
    ``hp.Fixed``, ``hp.conditional_scope``); values named ``batch_size``, ``epochs``,
    ``class_weight`` or ``shuffle`` go to ``fit``. A :class:`HyperModel`, or a reference
    "path/to/file.py:build_model" / "package.module:build_model", works the same. The built-in
    ``model="mlp"`` or ``"cnn"`` searches ``space`` (a :class:`Space`, dict or JSON/YAML file).
    ``objective=`` may instead be a plain Optuna ``objective(trial) -> float``.

    Use it as KerasTuner's tuners (``Tuner(build_model, objective="val_loss",
    max_trials=20).search(x, y, epochs=10, validation_split=0.2)``, then
    ``get_best_hyperparameters``, ``get_best_models``, ``results_summary``), or give the data
    up front and call ``run()`` for a :class:`TuneResult`.

    ``objective``: a key ``fit`` logs ("val_loss", "val_accuracy", "val_mae", "val_auc",
    "val_f1"...), an :class:`Objective`, or a list of them for a multi-objective search; the
    direction is read from the name (losses and errors are minimized; accuracy, AUC,
    precision, recall and F1 maximized) unless ``direction`` says. ``"params"`` (parameter
    count) and ``"train_seconds"`` are objectives too. A trial's value is the objective at the
    end of its training (KerasTuner takes the best epoch's; here the value belongs to the model
    the trial leaves), the mean over folds with ``cv``. Several objectives use NSGA-II unless
    ``method`` says otherwise, and are not pruned (Optuna prunes single-objective studies).

    ``method``: "bayes"/"tpe" (TPE), "gp", "random", "grid", "nsga2". ``cv=k``: k-fold
    cross-validation, stratified when y holds integer labels (plain k-fold for regression
    targets); otherwise ``validation_data``, or ``validation_split`` held out with the seed
    (stratified for labels). ``pruner``: "median", "halving", "hyperband", "none" or an Optuna
    pruner. ``n_jobs``: worker processes (``backend="processes"``; the builder must be
    importable there) or Dask workers (``backend="dask"``, ``address`` of a scheduler or None
    for a local cluster), sharing ``storage`` ("journal:PATH" or a database URL).
    ``resume=True`` continues a stored study. ``isolate_trials=True`` runs every trial in a
    fresh process. ``out`` (or KerasTuner's ``directory``/``project_name``) keeps each trial's
    model. ``executions_per_trial`` (KerasTuner's): train each trial's model that many times
    from different initial weights (on each fold) and score the mean, to average out the
    luck of the draw. Everything that can be checked is checked before the first trial.
    """

    def __init__(self, x=None, y=None, space=None, model="mlp", method: str = "bayes",
                 n_trials: int = None, metric: str = None, direction: str = None,
                 cv: int = None, validation_split: float = 0.2, epochs: int = 20,
                 pruner="median", seed: int = 0, storage: str = None,
                 study_name: str = "fusednn", n_jobs: int = 1, backend: str = "processes",
                 address: str = None, resume: bool = False, out: str = None, top_k: int = 3,
                 device: str = "cpu", isolate_trials: bool = False, verbose: int = 1, *,
                 hypermodel=None, objective=None, objectives=None, max_trials: int = None,
                 batch_size: int = None, startup_trials: int = None, directory: str = None,
                 project_name: str = None, overwrite: bool = False,
                 executions_per_trial: int = 1):
        if x is not None and _is_builder(x):  # Tuner(build_model, ...)
            if hypermodel is not None or y is not None:
                raise ValueError("Tuner: give the model builder once, and the data to search()")
            hypermodel, x = x, None
        if _is_builder(model) and not isinstance(model, str) or (
                isinstance(model, str) and ":" in model):
            if hypermodel is not None:
                raise ValueError("Tuner: give the model builder once (hypermodel= or model=)")
            hypermodel = model
        elif hypermodel is None and model not in BUILTIN:
            raise ValueError(f"Tuner: model must be 'mlp', 'cnn', a function build_model(hp), "
                             f"a HyperModel or 'file.py:function', got {model!r}")
        if isinstance(hypermodel, str):
            hypermodel = builders.BuilderRef(hypermodel)
        elif isinstance(hypermodel, type) and issubclass(hypermodel, HyperModel):
            hypermodel = hypermodel()
        objective_fn = objective if callable(objective) and not isinstance(objective, type) \
            else None
        given = [a for a, v in (("objective", objective if objective_fn is None else None),
                                ("objectives", objectives), ("metric", metric)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"Tuner: {' and '.join(given)} name the same thing; give one")
        if objective_fn is not None and hypermodel is not None:
            raise ValueError("Tuner: objective=function(trial) replaces the model builder; "
                             "give one or the other")
        names = objectives if objectives is not None else (
            objective if objective is not None and objective_fn is None else metric)
        if names is None:
            names = "val_loss" if hypermodel is not None else "val_accuracy"
        self.objectives = objectives_from(names, direction) if objective_fn is None else \
            objectives_from(["objective"], direction or "minimize")
        if max_trials is not None and n_trials is not None:
            raise ValueError("Tuner: max_trials and n_trials are the same; give one")
        n_trials = max_trials if max_trials is not None else (20 if n_trials is None else n_trials)
        multi = len(self.objectives) > 1
        if multi and method == "bayes":
            method = "nsga2"
        if method not in METHODS:
            raise ValueError(f"Tuner: method must be one of {METHODS}, got {method!r}")
        if not (pruner in PRUNERS or pruner is None
                or isinstance(pruner, optuna().pruners.BasePruner)):
            raise ValueError(f"Tuner: pruner must be one of {PRUNERS} or an Optuna pruner, "
                             f"got {pruner!r}")
        if multi:
            pruner = "none"  # Optuna prunes single-objective studies only
        if backend not in ("processes", "dask"):
            raise ValueError(f"Tuner: backend must be 'processes' or 'dask', got {backend!r}")
        for name, value, low in (("n_trials", n_trials, 1), ("n_jobs", n_jobs, 1),
                                 ("epochs", epochs, 1), ("top_k", top_k, 1)):
            _check_int(name, value, low)
        if batch_size is not None:
            _check_int("batch_size", batch_size, 1)
        _check_cv(cv)
        _check_int("executions_per_trial", executions_per_trial, 1)
        self.executions_per_trial = executions_per_trial
        if hypermodel is not None:
            builders.check_builder(hypermodel)
            if space is not None:
                raise ValueError("Tuner: space= describes the built-in models' search; a model "
                                 "builder draws its hyperparameters from hp")
        self.builder = hypermodel
        self.model_kind = None if hypermodel is not None or objective_fn else model
        self.space = None
        if self.model_kind is not None:
            self.space = Space.load(space) if space is not None else default_space(model)
        if method == "grid" and self.space is not None:
            self.grid = self.space.grid()
            n_trials = min(n_trials, self.space.grid_size())
        else:
            self.grid = None  # a builder's grid is collected from it at the search
        if directory is not None or project_name is not None:
            if out is not None:
                raise ValueError("Tuner: give out= or directory=/project_name=, not both")
            out = os.path.join(directory or ".", project_name or "untitled_project")
            if overwrite and os.path.isdir(out):
                shutil.rmtree(out)
        self._temp_folders = []  # held by the result too (see _TempFolder)
        if (n_jobs > 1 or backend == "dask" or resume) and storage is None:
            folder = out or self._temp_folder("fusednn-tune-")
            storage = "journal:" + os.path.join(folder, "study.log")
        make_storage(storage)  # a bad URL fails now
        self.objective_fn = objective_fn
        self.method, self.n_trials, self.pruner, self.seed = method, n_trials, pruner, seed
        self.startup_trials = startup_trials
        self.storage, self.study_name, self.n_jobs = storage, study_name, n_jobs
        self.backend, self.address, self.resume, self.out = backend, address, resume, out
        self.top_k, self.verbose, self.isolate_trials = top_k, verbose, isolate_trials
        self.device, self.cv, self.validation_split = device, cv, validation_split
        self.fit_defaults = {"epochs": epochs}
        if batch_size is not None:
            self.fit_defaults["batch_size"] = batch_size
        self.task, self.result = None, None
        if x is not None or y is not None:
            self._set_data(x, y)
        elif objective_fn is not None:
            self.task = Task(None, None, objectives=("objective",),
                             directions=(self.objectives[0].direction,), seed=seed,
                             objective_fn=objective_fn)

    # -- data -----------------------------------------------------------------------------------
    def _set_data(self, x, y, validation_data=None, callbacks=(), fit_kwargs=None):
        if x is None or y is None:
            raise ValueError("Tuner: the search needs x and y (arrays)")
        x = np.asarray(x, dtype=np.float32) if self.model_kind else np.asarray(x)
        y = np.asarray(y)
        check_xy(x, y, "Tuner")
        labels = y.ndim == 1 and y.dtype.kind in "iub"
        builder = self.builder
        if self.model_kind is not None:
            if not (labels and y.dtype.kind in "iu"):
                raise ValueError(f"Tuner: the built-in {self.model_kind!r} model classifies, so "
                                 f"y must hold integer class labels (got {y.dtype}, shape "
                                 f"{y.shape}); for regression pass your own build_model(hp)")
            if y.min() < 0:
                raise ValueError("Tuner: class labels must be >= 0")
            builder = BuiltinModel(self.model_kind, self.space, x.shape[1:], int(y.max()) + 1)
        if self.cv:
            if labels and np.unique(y, return_counts=True)[1].min() < self.cv:
                raise ValueError(f"Tuner: cv={self.cv} needs at least {self.cv} samples of "
                                 "every class")
            if len(y) < self.cv:
                raise ValueError(f"Tuner: cv={self.cv} needs at least {self.cv} samples")
        elif validation_data is None and self.validation_split:
            if not 0.0 < self.validation_split < 1.0:
                raise ValueError(f"Tuner: validation_split must be in (0, 1), got "
                                 f"{self.validation_split!r}")
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ValueError("Tuner: validation_data must be (x_val, y_val)")
            xv, yv = (np.asarray(a) for a in validation_data)
            check_xy(xv, yv, "Tuner (validation_data)")
            if xv.shape[1:] != x.shape[1:]:
                raise ValueError(f"Tuner: validation samples have shape {xv.shape[1:]}, the "
                                 f"training samples {x.shape[1:]}")
            validation_data = (xv.astype(x.dtype, copy=False), yv)
        fit = dict(self.fit_defaults)
        if self.model_kind is not None:
            fit.setdefault("batch_size", DEFAULT_BATCH_SIZE)
        fit.update(fit_kwargs or {})
        if "sample_weight" in fit or "validation_split" in fit:
            raise ValueError("Tuner: sample_weight is not supported in a search (use "
                             "class_weight); validation_split is the tuner's own argument")
        save_dir = os.path.join(self.out, "trials") if self.out else \
            self._temp_folder("fusednn-trials-")
        self.task = Task(x, y, builder=builder,
                         objectives=tuple(o.name for o in self.objectives),
                         directions=tuple(o.direction for o in self.objectives), cv=self.cv,
                         validation_split=self.validation_split,
                         validation_data=validation_data, fit_kwargs=fit,
                         callbacks=list(callbacks or []), stratify=labels, seed=self.seed,
                         device=self.device, save_dir=save_dir, verbose=self.verbose,
                         executions=self.executions_per_trial)
        if self.method == "grid" and self.grid is None:
            self.grid = collect_grid(self.task)
            self.n_trials = min(self.n_trials, int(np.prod([len(v) for v in self.grid.values()])))

    # -- KerasTuner's surface --------------------------------------------------------------------
    @property
    def hypermodel(self):
        """The builder as a HyperModel: ``tuner.hypermodel.build(hp)``."""
        target = builders.resolve(self.task.builder if self.task else self.builder)
        return target if isinstance(target, HyperModel) else _FunctionHyperModel(target)

    def search(self, x=None, y=None, *, epochs: int = None, batch_size: int = None,
               validation_split: float = None, validation_data=None, cv: int = None,
               callbacks=None, verbose: int = None, **fit_kwargs) -> TuneResult:
        """Run the search on (x, y); the keyword arguments are ``fit``'s (``class_weight``,
        ``shuffle``...) plus ``cv``. Returns the :class:`TuneResult` (also ``self.result``)."""
        if self.objective_fn is not None:
            raise ValueError("Tuner: a search over objective(trial) has no data; call run()")
        if epochs is not None:
            _check_int("epochs", epochs, 1)
            self.fit_defaults["epochs"] = epochs
        if batch_size is not None:
            _check_int("batch_size", batch_size, 1)
            self.fit_defaults["batch_size"] = batch_size
        if cv is not None:
            _check_cv(cv)
            self.cv = cv
        if validation_split is not None:
            self.validation_split = validation_split
        if verbose is not None:
            self.verbose = verbose
        if validation_data is not None and (validation_split or cv):
            raise ValueError("Tuner.search: give validation_data, validation_split or cv, "
                             "not several")
        self._set_data(x, y, validation_data, callbacks, fit_kwargs)
        return self.run()

    def search_space_summary(self) -> str:
        """The hyperparameters the builder declares (drawn once with their defaults)."""
        hp = HyperParameters()
        if self.task is not None and self.task.builder is not None:
            hp.fit_args = dict(self.task.fit_kwargs)
            builders.build(self.task.builder, hp)
        elif self.builder is not None:
            builders.build(self.builder, hp)
        elif self.space is not None:
            for name, p in self.space.params.items():
                p.draw(hp, name)
        text = hp.summary()
        print(text)
        return text

    def get_best_hyperparameters(self, num_trials: int = 1) -> list:
        return self._result().best_hyperparameters(num_trials)

    def get_best_models(self, num_models: int = 1) -> list:
        return self._result().best_models(num_models)

    def results_summary(self, num_trials: int = 10) -> str:
        text = self._result().results_summary(num_trials)
        print(text)
        return text

    def _temp_folder(self, prefix: str) -> str:
        folder = _TempFolder(prefix)
        self._temp_folders.append(folder)
        return folder.path

    def _result(self) -> TuneResult:
        if self.result is None:
            raise RuntimeError("no search has run yet: call search(x, y, ...) or run()")
        return self.result

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
                               sampler=make_sampler(self.method, self.seed, self.grid,
                                                    self.startup_trials),
                               pruner=make_pruner(self.pruner),
                               directions=list(self.task.directions), load_if_exists=True)
        if list(study.directions) != [getattr(o.study.StudyDirection, d.upper())
                                      for d in self.task.directions]:
            raise RuntimeError(f"study {self.study_name!r} in {self.storage} optimizes other "
                               f"directions than {list(self.task.directions)}")
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
        return {"task": self.task, "study_name": self.study_name, "storage": self.storage,
                "method": self.method, "grid": self.grid, "seed": self.seed + 1000 * (index + 1),
                "startup_trials": self.startup_trials, "pruner": self.pruner,
                "n_trials": n_trials, "threads": threads, "gpu": gpu,
                "isolate": self.isolate_trials, "index": index}

    def _print_new(self, study, seen: set):
        o = optuna()
        done = (o.trial.TrialState.COMPLETE, o.trial.TrialState.PRUNED, o.trial.TrialState.FAIL)
        for t in sorted(study.get_trials(deepcopy=False, states=done), key=lambda t: t.number):
            if t.number in seen:
                continue
            seen.add(t.number)
            values = t.values or [None] * len(self.task.objectives)
            shown = " ".join(f"{name}=" + ("" if v is None else f"{v:.4g}").ljust(7)
                             for name, v in zip(self.task.objectives, values))
            params = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in t.params.items())
            print(f"trial {t.number:>3}  {t.state.name:<8} {shown} "
                  f"{t.user_attrs.get('seconds', 0):6.1f}s  {params}", flush=True)

    def _describe(self) -> str:
        if self.task.builder is None:
            return (f"optimizing the objective function with {self.method}: {self.n_trials} "
                    f"trials ({self.task.direction}), {self.n_jobs} job(s)")
        what = builders.name_of(self.task.builder)
        how = (f"{self.task.cv}-fold CV" if self.task.cv else
               "validation data" if self.task.validation_data is not None else
               "validation split" if self.task.validation_split else "training data")
        goals = ", ".join(f"{n} ({d})" for n, d in zip(self.task.objectives, self.task.directions))
        return (f"tuning {what} with {self.method}: {self.n_trials} trials, {goals}, {how}, "
                f"{self.n_jobs} job(s)")

    def run(self) -> TuneResult:
        if self.task is None:
            raise RuntimeError("Tuner.run: no data; give x and y to Tuner(...) or call "
                               "search(x, y, ...)")
        o = optuna()
        if self.task.builder is not None:
            self._dry_build()
        parallel = self.n_jobs > 1 or self.backend == "dask"
        if parallel:
            self._check_parallel()
        start = time.perf_counter()
        study = self._study()
        seen = set()
        if self.verbose:
            print(self._describe(), flush=True)
        remaining = self.n_trials - finished_count(study)
        if remaining > 0 and not parallel:
            states = (o.trial.TrialState.COMPLETE, o.trial.TrialState.PRUNED)
            callbacks = [o.study.MaxTrialsCallback(self.n_trials, states=states)]
            if self.verbose:
                callbacks.append(lambda s, t: self._print_new(s, seen))
            if self.isolate_trials:
                objective = lambda t: run_trial_isolated(t, self.task)  # noqa: E731
            else:
                objective = lambda t: run_trial(t, self.task)  # noqa: E731
            try:
                study.optimize(objective, n_trials=remaining, callbacks=callbacks,
                               gc_after_trial=True)
            except ValueError as e:
                raise _grid_error(e) from None
        elif remaining > 0:
            self._run_parallel(study, seen, remaining)
        self.result = TuneResult(study, self.task, self.space, self.out, self.top_k,
                                 round(time.perf_counter() - start, 3))
        self.result._temp_folders = self._temp_folders  # its models and journal live there
        if self.verbose:
            print(f"done: {self.result.counts()} in {self.result.wall_seconds:.1f} s; "
                  f"{self.result.best_line()}", flush=True)
        return self.result

    def _dry_build(self):
        """Build once with every hyperparameter at its default, before any trial: a bad
        definition (log scale over zero, low > high, an empty choice...), a builder that
        fails, or a model it does not compile is reported now, not by the first trial."""
        hp = HyperParameters()
        hp.fit_args, hp.train_samples = dict(self.task.fit_kwargs), len(self.task.y)
        try:
            builders.build(self.task.builder, hp)
        finally:
            release_memory()

    def _check_parallel(self):
        """Before any trial: the builder and the task reach the workers, and the workers will
        not re-run the search from an unguarded script."""
        if self.task.builder is not None:
            builders.check_reaches_workers(self.task.builder, self.backend)
        if self.backend == "processes":
            try:
                pickle.dumps(self.task)
            except Exception as e:  # noqa: BLE001
                raise ValueError(f"n_jobs > 1 sends the search (data, callbacks, builder) to "
                                 f"worker processes, but it cannot be pickled: {e}") from None
        if self.backend == "processes" or self.address is None:
            builders.check_main_guard(f"Tuner(n_jobs={self.n_jobs}, backend={self.backend!r})")

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
                _run_in_processes(jobs)
        finally:
            stop.set()
            if watcher:
                watcher.join()
                self._print_new(study, seen)


class _FunctionHyperModel(HyperModel):
    def __init__(self, function):
        super().__init__(name=getattr(function, "__name__", None))
        self.function = function

    def build(self, hp):
        return self.function(hp)


def _run_in_processes(jobs):
    """One spawned process per job. A worker that dies is reported, never replaced: a pool
    would start a new one, which would die the same way, forever."""
    ctx = multiprocessing.get_context("spawn")
    procs, pipes = [], []
    try:
        for job in jobs:
            here, there = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=process_worker, args=(job, there), daemon=True)
            proc.start()
            there.close()
            procs.append(proc)
            pipes.append(here)
        for i, (proc, pipe) in enumerate(zip(procs, pipes)):
            try:
                outcome = pipe.recv()
            except EOFError:
                proc.join(5)
                raise RuntimeError(f"tuning worker {i} died (exit code {proc.exitcode}) before "
                                   "finishing its trials") from None
            if outcome[0] == "error":
                raise RuntimeError(f"tuning worker {i} failed: {outcome[1]}\n{outcome[2]}")
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()


def _run_on_dask(jobs, address):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("backend='dask' needs dask.distributed: pip install 'dask[distributed]'"
                          ) from None
    from .study import worker

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


def collect_grid(task) -> dict:
    """Grid search over a builder: the values of every parameter it declares, collected by
    building once with the defaults and once more for each choice (which finds parameters
    drawn under a condition on it). A continuous Float needs a step."""
    specs, tried = {}, set()
    pending = [{}]
    while pending and len(tried) < 256:
        values = pending.pop()
        key = tuple(sorted(values.items(), key=str))
        if key in tried:
            continue
        tried.add(key)
        hp = HyperParameters(values=values)
        hp.fit_args, hp.train_samples = dict(task.fit_kwargs), len(task.y)
        builders.build(task.builder, hp)
        for name, spec in hp.space.items():
            if name not in specs:
                specs[name] = spec
                for v in _grid_values(name, spec):
                    pending.append({**values, name: v})
    grid = {name: _grid_values(name, spec) for name, spec in specs.items()
            if spec["kind"] != "fixed"}
    if not grid:
        raise ValueError("grid search: the builder draws no hyperparameters")
    return grid


def _grid_values(name, spec) -> list:
    if spec["kind"] == "choice":
        return list(spec["values"])
    if spec["kind"] == "fixed":
        return []
    if spec["kind"] == "int":
        if spec["log"]:
            raise ValueError(f"grid search: {name!r} is a log-sampled Int; give it as a Choice "
                             "of the values to try")
        return list(range(spec["low"], spec["high"] + 1, spec["step"]))
    if spec.get("step") is None:
        raise ValueError(f"grid search: {name!r} is a continuous Float; give it a step or draw "
                         "it with hp.Choice")
    n = int(np.floor((spec["high"] - spec["low"]) / spec["step"] + 1e-9)) + 1
    return [float(spec["low"] + i * spec["step"]) for i in range(n)]


def _grid_error(e):
    text = str(e)
    if "is not found in the given grid" in text or "not contained in the grid" in text:
        return ValueError(f"grid search: {text} The builder drew a parameter the collected grid "
                          "lacks; draw it unconditionally or inside hp.conditional_scope")
    return e


def _is_builder(x) -> bool:
    return isinstance(x, HyperModel) or (isinstance(x, type) and issubclass(x, HyperModel)) \
        or (callable(x) and not hasattr(x, "__array__") and not hasattr(x, "shape")) \
        or (isinstance(x, str) and ":" in x)


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"Tuner: {name} must be an int >= {low}, got {value!r}")


def _check_cv(cv):
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
        raise ValueError(f"Tuner: cv must be an int >= 2 (folds) or None, got {cv!r}")


def tune(x, y, **kwargs) -> TuneResult:
    """``Tuner(x, y, **kwargs).run()``."""
    return Tuner(x, y, **kwargs).run()
