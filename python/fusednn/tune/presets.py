"""KerasTuner's tuner names as presets of :class:`Tuner` over Optuna's samplers and pruners:
``RandomSearch`` (random sampling), ``BayesianOptimization`` (Optuna's Gaussian-process
sampler), ``Hyperband`` (random configurations, Optuna's Hyperband pruner over epochs) and
``GridSearch`` (every combination). Each takes the builder first and KerasTuner's argument
names; any other ``Tuner`` argument passes through."""
from __future__ import annotations

import math

from .tuner import Tuner


class RandomSearch(Tuner):
    def __init__(self, hypermodel=None, objective=None, max_trials: int = 10, seed: int = 0,
                 **kwargs):
        kwargs.setdefault("pruner", "none")
        super().__init__(hypermodel=hypermodel, objective=objective, max_trials=max_trials,
                         seed=seed, method="random", **kwargs)


class BayesianOptimization(Tuner):
    """``num_initial_points`` random trials first (Optuna's default when None), then the
    Gaussian-process sampler (it needs scipy and torch, as Optuna's GPSampler does)."""

    def __init__(self, hypermodel=None, objective=None, max_trials: int = 10,
                 num_initial_points: int = None, seed: int = 0, **kwargs):
        kwargs.setdefault("pruner", "none")
        super().__init__(hypermodel=hypermodel, objective=objective, max_trials=max_trials,
                         seed=seed, method="gp", startup_trials=num_initial_points, **kwargs)


class Hyperband(Tuner):
    """Random configurations trained for up to ``max_epochs``, stopped early by Optuna's
    Hyperband pruner (brackets of successive halving by ``factor``). ``max_trials`` defaults
    to the trial count of ``hyperband_iterations`` rounds of the classic algorithm (Li et al.,
    2018): the sum over brackets s = 0..s_max of ceil((s_max + 1) / (s + 1) * factor**s)."""

    def __init__(self, hypermodel=None, objective=None, max_epochs: int = 100, factor: int = 3,
                 hyperband_iterations: int = 1, seed: int = 0, max_trials: int = None,
                 **kwargs):
        from .study import optuna

        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"Hyperband: max_epochs must be an int >= 1, got {max_epochs!r}")
        if not isinstance(factor, int) or factor < 2:
            raise ValueError(f"Hyperband: factor must be an int >= 2, got {factor!r}")
        if max_trials is None:
            s_max = int(math.floor(math.log(max_epochs) / math.log(factor) + 1e-9))
            per_round = sum(math.ceil((s_max + 1) / (s + 1) * factor ** s)
                            for s in range(s_max + 1))
            max_trials = hyperband_iterations * per_round
        pruner = optuna().pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs,
                                                  reduction_factor=factor)
        super().__init__(hypermodel=hypermodel, objective=objective, max_trials=max_trials,
                         seed=seed, method="random", pruner=pruner, epochs=max_epochs, **kwargs)


class GridSearch(Tuner):
    """Every combination of the builder's values (Choice, Boolean, Int, and Float with a
    step), at most ``max_trials`` of them."""

    def __init__(self, hypermodel=None, objective=None, max_trials: int = 10_000, seed: int = 0,
                 **kwargs):
        kwargs.setdefault("pruner", "none")
        super().__init__(hypermodel=hypermodel, objective=objective, max_trials=max_trials,
                         seed=seed, method="grid", **kwargs)
