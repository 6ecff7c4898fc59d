"""Optuna plumbing: samplers and pruners by name, storages from a URL, and the worker that
runs trials against a shared study (in this process, in worker processes, or on Dask)."""
from __future__ import annotations

import dataclasses
import os

METHODS = ("grid", "random", "bayes", "tpe", "gp", "nsga2")
PRUNERS = ("median", "halving", "hyperband", "none")


def optuna():
    try:
        import optuna as _optuna
    except ImportError:
        raise ImportError("fusednn.tune needs Optuna: pip install optuna "
                          "(or pip install 'fusednn[tune]')") from None
    _optuna.logging.set_verbosity(_optuna.logging.WARNING)
    return _optuna


def make_sampler(method: str, seed, grid=None, startup_trials: int = None):
    """Optuna's sampler for a method name: "bayes"/"tpe" (TPE, several objectives too), "gp"
    (Gaussian process), "nsga2" (NSGA-II, for several objectives), "random", "grid"."""
    o = optuna()
    startup = {} if startup_trials is None else {"n_startup_trials": startup_trials}
    if method == "grid":
        return o.samplers.GridSampler(grid, seed=seed)
    if method == "random":
        return o.samplers.RandomSampler(seed=seed)
    if method in ("bayes", "tpe"):
        return o.samplers.TPESampler(seed=seed, **startup)
    if method == "gp":
        return o.samplers.GPSampler(seed=seed, **startup)
    if method == "nsga2":
        return o.samplers.NSGAIISampler(seed=seed)
    raise ValueError(f"unknown method {method!r} (known: {', '.join(METHODS)})")


def make_pruner(name):
    """A pruner by name, or an Optuna pruner object as given."""
    o = optuna()
    if isinstance(name, o.pruners.BasePruner):
        return name
    if name in (None, "none"):
        return o.pruners.NopPruner()
    if name == "median":
        return o.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
    if name == "halving":
        return o.pruners.SuccessiveHalvingPruner()
    if name == "hyperband":
        return o.pruners.HyperbandPruner()
    raise ValueError(f"unknown pruner {name!r} (known: {', '.join(PRUNERS)})")


def make_storage(url):
    """None (in memory), "journal:PATH" (a journal file, safe across processes on one machine),
    or an Optuna RDB URL ("sqlite:///study.db", "postgresql://...")."""
    if url is None:
        return None
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = url[len("journal:"):]
        if not path:
            raise ValueError("journal storage needs a path: journal:./study.log")
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        return JournalStorage(JournalFileBackend(path))
    if "://" in url:
        return url
    raise ValueError(f"storage must be journal:PATH or a database URL, got {url!r}")


FINISHED = ("COMPLETE", "PRUNED")


def finished_count(study) -> int:
    o = optuna()
    states = (o.trial.TrialState.COMPLETE, o.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def fail_stale_trials(study) -> int:
    """Trials left RUNNING by a killed run are marked FAIL (a resumed study reruns their share
    of the budget); returns how many."""
    o = optuna()
    stale = study.get_trials(deepcopy=False, states=(o.trial.TrialState.RUNNING,))
    for t in stale:
        study._storage.set_trial_state_values(t._trial_id, state=o.trial.TrialState.FAIL)
    return len(stale)


def worker(job: dict) -> int:
    """Run ``n_trials`` trials of a shared study (the run splits its budget exactly between
    its workers). ``job`` holds the task, the study and storage names and the sampler/pruner
    settings: plain data, sent to another process or a Dask worker."""
    threads = job.get("threads")
    if threads:
        # k workers on one machine share its cores: OpenMP threads that outnumber the cores
        # spin against each other (a 2.7x slowdown measured with 2 workers on 2 cores).
        from .. import _cpu

        os.environ["OMP_NUM_THREADS"] = str(threads)
        _cpu.set_num_threads(threads)
    if job.get("gpu") is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(job["gpu"])
    o = optuna()
    from .isolated import run_trial_isolated
    from .trial import run_trial

    task = dataclasses.replace(job["task"], progress_row=job.get("index", 0))
    study = o.load_study(study_name=job["study_name"], storage=make_storage(job["storage"]),
                         sampler=make_sampler(job["method"], job["seed"], job.get("grid"),
                                              job.get("startup_trials")),
                         pruner=make_pruner(job["pruner"]))
    if job.get("isolate"):
        objective = lambda t: run_trial_isolated(t, task, threads)  # noqa: E731
    else:
        objective = lambda t: run_trial(t, task)  # noqa: E731
    if job["n_trials"] > 0:
        study.optimize(objective, n_trials=job["n_trials"], gc_after_trial=True)
    return job["n_trials"]


def process_worker(job: dict, conn) -> None:
    """``worker`` in a child process, its outcome (or its error) sent back over ``conn``."""
    import traceback

    try:
        conn.send(("done", worker(job)))
    except BaseException as e:  # noqa: BLE001 - the parent reports it
        conn.send(("error", f"{type(e).__name__}: {e}", traceback.format_exc()))
    finally:
        conn.close()
