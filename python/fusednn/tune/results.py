"""What a tuning run leaves: every trial, the best configuration, plots, the top models, and
the retrained best model."""
from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np

from .study import optuna


class TuneResult:
    def __init__(self, study, task, space, out=None, top_k=3, wall_seconds=None):
        self.study, self.task, self.space, self.out = study, task, space, out
        self.top_k, self.wall_seconds = top_k, wall_seconds

    @property
    def trials(self):
        """One dict per trial: number, state, value, std, params, seconds."""
        rows = []
        for t in self.study.get_trials(deepcopy=False):
            rows.append({"number": t.number, "state": t.state.name, "value": t.value,
                         "std": t.user_attrs.get("std"), "params": dict(t.params),
                         "seconds": t.user_attrs.get("seconds")})
        return rows

    def counts(self) -> dict:
        out = {}
        for row in self.trials:
            out[row["state"]] = out.get(row["state"], 0) + 1
        return out

    @property
    def best_trial(self):
        complete = [t for t in self.study.get_trials(deepcopy=False)
                    if t.state == optuna().trial.TrialState.COMPLETE]
        if not complete:
            raise RuntimeError("no trial completed; nothing to report")
        pick = max if self.task.direction == "maximize" else min
        return pick(complete, key=lambda t: t.value)

    @property
    def best_params(self) -> dict:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)

    def table(self, limit: int = None) -> str:
        from .._report import markdown_table

        rows = sorted(self.trials, key=lambda r: r["number"])[:limit]
        body = []
        for r in rows:
            value = "" if r["value"] is None else f"{r['value']:.4f}"
            if r["std"]:
                value += f" ± {r['std']:.4f}"
            params = ", ".join(f"{k}={_short(v)}" for k, v in r["params"].items())
            body.append([r["number"], r["state"], value, f"{r['seconds'] or 0:.1f}", params])
        return markdown_table(["trial", "state", self.task.metric, "s", "params"], body)

    def retrain_best(self, x_test=None, y_test=None, full_train: bool = True):
        """Train the best configuration again: on all the training data when ``full_train``
        (else on the same train part as the trials), then evaluate on the test set.
        Returns ``(model, test_metrics or None)``."""
        from ..data.preprocessing import split_indices
        from .objective import train_one

        task, params = self.task, self.best_params
        if full_train:
            x, y = task.x, task.y
        else:
            keep, _ = split_indices(len(task.y), task.validation_split, task.y, True,
                                    np.random.default_rng(task.seed))
            x, y = task.x[keep], task.y[keep]
        model, _ = train_one(task, params, x, y, None, [], task.seed)
        metrics = model.evaluate(x_test, y_test) if x_test is not None else None
        return model, metrics

    def keep_top_models(self, folder: str) -> list:
        """Copy the saved models of the best ``top_k`` completed trials to ``folder`` as
        rank_<r>_trial_<n>.fdnn; returns the paths."""
        complete = [t for t in self.study.get_trials(deepcopy=False)
                    if t.state == optuna().trial.TrialState.COMPLETE]
        complete.sort(key=lambda t: t.value, reverse=self.task.direction == "maximize")
        os.makedirs(folder, exist_ok=True)
        paths = []
        for rank, t in enumerate(complete[:self.top_k], 1):
            src = os.path.join(self.task.save_dir or "", f"trial_{t.number}.fdnn")
            if self.task.save_dir and os.path.exists(src):
                dst = os.path.join(folder, f"rank_{rank}_trial_{t.number}.fdnn")
                shutil.copyfile(src, dst)
                paths.append(dst)
        return paths

    def plots(self, folder: str) -> list:
        """Optimization history, parameter importances and parallel coordinates as PNGs (the
        ones the finished trials allow)."""
        from .._report import pyplot as _pyplot
        import optuna.visualization.matplotlib as vm

        plt = _pyplot()
        os.makedirs(folder, exist_ok=True)
        out = []
        complete = [t for t in self.study.get_trials(deepcopy=False)
                    if t.state == optuna().trial.TrialState.COMPLETE]
        jobs = [("optimization_history.png", vm.plot_optimization_history, 1),
                ("param_importances.png", vm.plot_param_importances, 2),
                ("parallel_coordinate.png", vm.plot_parallel_coordinate, 2)]
        for name, plot, needed in jobs:
            if len(complete) < needed:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna().exceptions.ExperimentalWarning)
                    ax = plot(self.study)
            except (ValueError, RuntimeError):  # e.g. importances of a single-valued space
                continue
            fig = (ax[0] if isinstance(ax, np.ndarray) else ax).figure
            fig.set_size_inches(8, 5)
            fig.tight_layout()
            path = os.path.join(folder, name)
            fig.savefig(path, dpi=100)
            plt.close(fig)
            out.append(path)
        return out

    def summary(self) -> dict:
        best = self.best_trial
        return {"metric": self.task.metric, "direction": self.task.direction,
                "best_value": best.value, "best_std": best.user_attrs.get("std"),
                "best_params": dict(best.params), "best_trial": best.number,
                "trials": self.counts(), "wall_seconds": self.wall_seconds}

    def write_summary(self, path: str, **extra) -> dict:
        data = {**self.summary(), **extra}
        with open(path, "w") as f:
            json.dump(data, f, indent=2, default=float)
        return data


def _short(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)
