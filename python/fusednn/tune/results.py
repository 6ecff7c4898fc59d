"""What a tuning run leaves: every trial, the best configuration (or the Pareto front of
several objectives), plots, the top models, and the retrained best model."""
from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np

from .hyperparameters import HyperParameters
from .study import optuna


class TuneResult:
    def __init__(self, study, task, space=None, out=None, top_k=3, wall_seconds=None):
        self.study, self.task, self.space, self.out = study, task, space, out
        self.top_k, self.wall_seconds = top_k, wall_seconds

    # -- the trials -------------------------------------------------------------------------
    @property
    def trials(self):
        """One dict per trial: number, state, value (the first objective's), values, std,
        params, seconds, model_params."""
        rows = []
        for t in self.study.get_trials(deepcopy=False):
            rows.append({"number": t.number, "state": t.state.name, "value": t.values[0]
                         if t.values else None, "values": list(t.values) if t.values else None,
                         "std": t.user_attrs.get("std"), "params": dict(t.params),
                         "seconds": t.user_attrs.get("seconds"),
                         "model_params": t.user_attrs.get("model_params")})
        return rows

    def counts(self) -> dict:
        out = {}
        for row in self.trials:
            out[row["state"]] = out.get(row["state"], 0) + 1
        return out

    def _complete(self):
        return [t for t in self.study.get_trials(deepcopy=False)
                if t.state == optuna().trial.TrialState.COMPLETE]

    def ranked(self, n: int = None) -> list:
        """The completed trials best first; with several objectives, the Pareto front (ordered
        by the first objective)."""
        if self.task.multi:
            front = [t for t in self.study.best_trials]
            trials = sorted(front, key=lambda t: t.values[0],
                            reverse=self.task.directions[0] == "maximize")
        else:
            trials = sorted(self._complete(), key=lambda t: t.value,
                            reverse=self.task.direction == "maximize")
        if not trials:
            raise RuntimeError("no trial completed; nothing to report")
        return trials if n is None else trials[:n]

    @property
    def best_trial(self):
        if self.task.multi:
            raise ValueError(f"a search over {list(self.task.objectives)} has no single best "
                             "trial; see pareto_front()")
        return self.ranked(1)[0]

    @property
    def best_params(self) -> dict:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)

    def pareto_front(self) -> list:
        """The non-dominated trials of a multi-objective search, as rows like ``trials``."""
        numbers = {t.number for t in self.ranked()}
        return [r for r in self.trials if r["number"] in numbers]

    def best_line(self) -> str:
        if self.task.multi:
            return f"Pareto front of {len(self.ranked())} trial(s)"
        try:
            return f"best {self.task.metric} {self.best_value:.4f} with {self.best_params}"
        except RuntimeError:
            return "no trial completed"

    # -- KerasTuner's views -------------------------------------------------------------------
    def best_hyperparameters(self, n: int = 1) -> list:
        """``HyperParameters`` of the ``n`` best trials (values: drawn and fixed)."""
        out = []
        for t in self.ranked(n):
            hp = HyperParameters(values=_values(t))
            hp.values = _values(t)  # shown before any build, as KerasTuner's
            out.append(hp)
        return out

    def best_models(self, n: int = 1) -> list:
        """The models the ``n`` best trials trained (the last fold's under cv), loaded from
        where the search saved them; a model that could not be saved is trained again the
        same way (same split, same seed)."""
        return [self._trial_model(t) for t in self.ranked(n)]

    def _trial_model(self, t):
        path = os.path.join(self.task.save_dir or "", f"trial_{t.number}.fdnn")
        if self.task.save_dir and os.path.exists(path):
            if t.user_attrs.get("keras_model"):
                from ..keras.models import load_model
            else:
                from ..models.loading import load_model
            return load_model(path, device=self.task.device)
        from .trial import fit_once, fit_seed

        tr, va = self.task.splits()[-1]  # the trial's last fit, the model it left
        validation = self.task.validation_data if va is None else (self.task.x[va],
                                                                   self.task.y[va])
        hp = HyperParameters(values=_values(t))
        model, _, _ = fit_once(self.task, hp, self.task.x[tr], self.task.y[tr], validation, [],
                               fit_seed(self.task, t.number, self.task.executions - 1))
        return model

    def results_summary(self, n: int = 10) -> str:
        goals = ", ".join(f"{o} ({d})" for o, d in zip(self.task.objectives, self.task.directions))
        lines = [f"Results summary: {len(self._complete())} completed trial(s), objective "
                 f"{goals}"]
        for t in self.ranked(n):
            lines.append(f"Trial {t.number}: " + ", ".join(
                f"{o}={v:.4g}" for o, v in zip(self.task.objectives, t.values)))
            lines += [f"  {k}: {_short(v)}" for k, v in _values(t).items()]
        return "\n".join(lines)

    # -- tables and plots ---------------------------------------------------------------------
    def table(self, limit: int = None) -> str:
        from .._report import markdown_table

        rows = sorted(self.trials, key=lambda r: r["number"])[:limit]
        body = []
        for r in rows:
            values = r["values"] or [None] * len(self.task.objectives)
            cells = ["" if v is None else f"{v:.4f}" for v in values]
            if r["std"] and cells[0]:
                cells[0] += f" ± {r['std']:.4f}"
            params = ", ".join(f"{k}={_short(v)}" for k, v in r["params"].items())
            body.append([r["number"], r["state"], *cells, f"{r['seconds'] or 0:.1f}", params])
        return markdown_table(["trial", "state", *self.task.objectives, "s", "hyperparameters"],
                              body)

    def pareto_table(self) -> str:
        from .._report import markdown_table

        body = [[r["number"], *(_number(v) for v in r["values"]),
                 ", ".join(f"{k}={_short(v)}" for k, v in r["params"].items())]
                for r in sorted(self.pareto_front(), key=lambda r: r["values"][0])]
        return markdown_table(["trial", *self.task.objectives, "hyperparameters"], body)

    def retrain_best(self, x_test=None, y_test=None, full_train: bool = True, trial=None):
        """Train the best configuration (or trial number ``trial``, e.g. one of the Pareto
        front) again: on all the search data when ``full_train`` (else on the trials' training
        part), then evaluate on the test set. Returns ``(model, test metrics or None)``."""
        from .trial import fit_once

        task = self.task
        t = self.best_trial if trial is None else self.study.trials[trial]
        if full_train or task.cv or not task.validation_split:
            x, y = task.x, task.y
        else:
            tr, _ = task.splits()[0]
            x, y = task.x[tr], task.y[tr]
        hp = HyperParameters(values=_values(t))
        model, _, _ = fit_once(task, hp, x, y, None, [], task.seed, label="retraining the best")
        metrics = None
        if x_test is not None:
            metrics = model.evaluate(x_test, y_test, return_dict=True)
        return model, metrics

    def keep_top_models(self, folder: str) -> list:
        """Copy the saved models of the best ``top_k`` completed trials (the Pareto front's
        first ``top_k`` with several objectives) to ``folder`` as rank_<r>_trial_<n>.fdnn;
        returns the paths."""
        os.makedirs(folder, exist_ok=True)
        paths = []
        try:
            trials = self.ranked(self.top_k)
        except RuntimeError:
            return paths
        for rank, t in enumerate(trials, 1):
            src = os.path.join(self.task.save_dir or "", f"trial_{t.number}.fdnn")
            if self.task.save_dir and os.path.exists(src):
                dst = os.path.join(folder, f"rank_{rank}_trial_{t.number}.fdnn")
                shutil.copyfile(src, dst)
                paths.append(dst)
        return paths

    def plots(self, folder: str) -> list:
        """Optimization history, parameter importances and parallel coordinates as PNGs (the
        ones the finished trials allow); with several objectives, the Pareto front."""
        from .._report import pyplot as _pyplot

        plt = _pyplot()
        os.makedirs(folder, exist_ok=True)
        if self.task.multi:
            path = self.plot_pareto_front(os.path.join(folder, "pareto_front.png"))
            return [path] if path else []
        import optuna.visualization.matplotlib as vm

        out = []
        complete = self._complete()
        jobs = [("optimization_history.png", vm.plot_optimization_history, 1),
                ("param_importances.png", vm.plot_param_importances, 2),
                ("parallel_coordinate.png", vm.plot_parallel_coordinate, 2)]
        for name, plot, needed in jobs:
            if len(complete) < needed:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna().exceptions.ExperimentalWarning)
                    warnings.simplefilter("ignore", UserWarning)  # axis limits of a constant
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

    def plot_pareto_front(self, path: str):
        """Every completed trial of a two-objective search, the Pareto front joined and
        labelled by trial number; returns the path (None for other than two objectives)."""
        from .._report import pyplot as _pyplot

        if len(self.task.objectives) != 2 or not self._complete():
            return None
        plt = _pyplot()
        xs = np.array([t.values for t in self._complete()])
        front = sorted(self.ranked(), key=lambda t: t.values[0])
        fx = np.array([t.values for t in front])
        fig, ax = plt.subplots(figsize=(8, 5))
        ax.scatter(xs[:, 0], xs[:, 1], c="0.6", s=25, label="trials")
        ax.plot(fx[:, 0], fx[:, 1], "o-", c="C3", drawstyle="steps-post", label="Pareto front")
        for t in front:
            ax.annotate(str(t.number), t.values, textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
        names = [f"{o} ({'max' if d == 'maximize' else 'min'})"
                 for o, d in zip(self.task.objectives, self.task.directions)]
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        if self.task.objectives[1] == "params" or self.task.objectives[0] == "params":
            (ax.set_yscale if self.task.objectives[1] == "params" else ax.set_xscale)("log")
        ax.set_title(f"{len(front)} of {len(xs)} completed trials on the Pareto front")
        ax.legend()
        fig.tight_layout()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    # -- summaries ------------------------------------------------------------------------------
    def summary(self) -> dict:
        base = {"objectives": list(self.task.objectives),
                "directions": list(self.task.directions), "trials": self.counts(),
                "wall_seconds": self.wall_seconds}
        if self.task.multi:
            front = [{"trial": r["number"], "values": r["values"], "params": r["params"]}
                     for r in self.pareto_front()]
            return {**base, "pareto_front": front}
        best = self.best_trial
        return {**base, "metric": self.task.metric, "direction": self.task.direction,
                "best_value": best.value, "best_std": best.user_attrs.get("std"),
                "best_params": dict(best.params), "best_trial": best.number}

    def write_summary(self, path: str, **extra) -> dict:
        data = {**self.summary(), **extra}
        with open(path, "w") as f:
            json.dump(data, f, indent=2, default=float)
        return data


def _values(trial) -> dict:
    """A trial's hyperparameters: those the sampler drew and the builder's Fixed ones."""
    return {**trial.user_attrs.get("fixed", {}), **trial.params}


def _number(v) -> str:
    """An objective's value: counts (parameters) whole, the rest to 4 significant digits."""
    return str(int(v)) if float(v).is_integer() and abs(v) >= 1e4 else f"{v:.4g}"


def _short(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)
