"""A trial in its own process: whatever it allocates (host or GPU memory) goes back to the
system when it ends; reports, pruning decisions and attributes cross a pipe to the parent's
real Optuna trial."""
from __future__ import annotations

from .objective import Task, run_trial


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
