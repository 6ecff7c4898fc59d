"""A trial in its own process: whatever it allocates (host or GPU memory) goes back to the
system when it ends; suggestions, reports, pruning decisions and attributes cross a pipe to
the parent's real Optuna trial."""
from __future__ import annotations

from .trial import Task, run_trial


class _RemoteTrial:
    """The trial as the child process sees it: every call goes to the parent's real trial over
    a pipe, so the sampler, the pruner and the storage see one ordinary trial."""

    def __init__(self, conn, number: int):
        self._conn, self.number = conn, number
        self.params = {}

    def _ask(self, method, *args, **kwargs):
        self._conn.send(("call", method, args, kwargs))
        return self._conn.recv()

    def suggest_float(self, name, *args, **kwargs):
        self.params[name] = self._ask("suggest_float", name, *args, **kwargs)
        return self.params[name]

    def suggest_int(self, name, *args, **kwargs):
        self.params[name] = self._ask("suggest_int", name, *args, **kwargs)
        return self.params[name]

    def suggest_categorical(self, name, *args, **kwargs):
        self.params[name] = self._ask("suggest_categorical", name, *args, **kwargs)
        return self.params[name]

    def report(self, value, step):
        self._ask("report", float(value), int(step))

    def should_prune(self) -> bool:
        return self._ask("should_prune")

    def set_user_attr(self, key, value):
        self._ask("set_user_attr", key, value)


_RELAYED = ("suggest_float", "suggest_int", "suggest_categorical", "report", "should_prune",
            "set_user_attr")


def _child(conn, task, number, threads):
    import traceback

    if threads:
        from .. import _cpu

        _cpu.set_num_threads(threads)
    try:
        value = run_trial(_RemoteTrial(conn, number), task)
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


def run_trial_isolated(trial, task: Task, threads=None):
    """``run_trial`` in a fresh process: whatever the trial allocates (host or GPU memory) is
    returned to the system when it ends. The trial's calls cross a pipe."""
    import multiprocessing

    import optuna

    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_child, daemon=True, args=(there, task, trial.number, threads))
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
            if kind == "call":
                _, method, args, kwargs = msg
                if method not in _RELAYED:
                    raise RuntimeError(f"trial {trial.number}: unexpected call {method!r}")
                try:
                    answer = getattr(trial, method)(*args, **kwargs)
                except Exception:
                    proc.terminate()
                    raise
                here.send(answer)
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
