"""Optuna plumbing: samplers and pruners by name, storages from a URL, and the worker that
runs trials against a shared study (in this process, in worker processes, or on Dask)."""
from __future__ import annotations

import os

METHODS = ("grid", "random", "bayes", "gp")
PRUNERS = ("median", "halving", "hyperband", "none")


def optuna():
    try:
        import optuna as _optuna
    except ImportError:
        raise ImportError("fusednn.tune needs Optuna: pip install optuna "
                          "(or pip install 'fusednn[tune]')") from None
    _optuna.logging.set_verbosity(_optuna.logging.WARNING)
    return _optuna


def make_sampler(method: str, seed, grid=None):
    o = optuna()
    if method == "grid":
        return o.samplers.GridSampler(grid, seed=seed)
    if method == "random":
        return o.samplers.RandomSampler(seed=seed)
    if method == "bayes":
        return o.samplers.TPESampler(seed=seed)
    if method == "gp":
        return o.samplers.GPSampler(seed=seed)
    raise ValueError(f"unknown method {method!r} (known: {', '.join(METHODS)})")


def make_pruner(name):
    o = optuna()
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
    its workers). ``job`` holds the task, the space, the study and storage names and the
    sampler/pruner settings: plain data, sent to another process or a Dask worker."""
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
    from .objective import run_trial
    from .space import Space

    space = Space.load(job["space"])
    study = o.load_study(study_name=job["study_name"], storage=make_storage(job["storage"]),
                         sampler=make_sampler(job["method"], job["seed"], job.get("grid")),
                         pruner=make_pruner(job["pruner"]))
    if job.get("isolate"):
        objective = lambda t: run_trial_isolated(t, job["task"], space, threads)  # noqa: E731
    else:
        objective = lambda t: run_trial(t, job["task"], space)  # noqa: E731
    if job["n_trials"] > 0:
        study.optimize(objective, n_trials=job["n_trials"], gc_after_trial=True)
    return job["n_trials"]
