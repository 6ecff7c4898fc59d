"""Hyperparameter search over the user's own models (``build_model(hp)``) or the built-in ones,
with Optuna: grid, random, TPE, GP and NSGA-II samplers, pruning, cross-validation, one or
several objectives, and parallel or distributed trials; see :class:`Tuner`."""
from .builders import BuilderRef
from .builtin_models import build_model, compile_arguments
from .hyperparameters import FIT_ARGUMENTS, HyperModel, HyperParameters
from .objectives import Objective
from .presets import BayesianOptimization, GridSearch, Hyperband, RandomSearch
from .results import TuneResult
from .space import ARGUMENTS, Choice, Float, Int, Space, default_space
from .trial import PruningCallback, kfold, stratified_folds
from .tuner import Tuner, tune

__all__ = ["Tuner", "tune", "TuneResult", "HyperParameters", "HyperModel", "Objective",
           "RandomSearch", "BayesianOptimization", "Hyperband", "GridSearch", "BuilderRef",
           "FIT_ARGUMENTS", "Space", "Float", "Int", "Choice", "ARGUMENTS", "default_space",
           "PruningCallback", "build_model", "compile_arguments", "stratified_folds", "kfold"]
