"""Hyperparameter search (grid, random, TPE, GP) over fusednn models with Optuna, pruning,
cross-validation, and parallel or distributed trials; see :class:`Tuner`."""
from .builtin_models import build_model, compile_arguments
from .objective import PruningCallback, stratified_folds
from .results import TuneResult
from .space import ARGUMENTS, Choice, Float, Int, Space, default_space
from .tuner import Tuner, tune

__all__ = ["Tuner", "tune", "TuneResult", "Space", "Float", "Int", "Choice", "ARGUMENTS",
           "default_space", "PruningCallback", "build_model", "compile_arguments",
           "stratified_folds"]
