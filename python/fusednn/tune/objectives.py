"""What a search optimizes: one or several names, each a key ``fit`` logs (``val_loss``,
``val_accuracy``, ``val_mae``, ``val_auc``...) or a property of the trained model
(``MODEL_PROPERTIES``), with the direction read from the name unless given."""
from __future__ import annotations

import re

# Measured on the trained model rather than logged by fit.
MODEL_PROPERTIES = {"params": "the model's parameter count",
                    "train_seconds": "seconds spent in fit (mean over folds)"}

# Whole words (of a name split at "_") that say lower is better, or higher is better.
_LOWER = {"loss", "error", "mse", "mae", "mape", "msle", "rmse", "crossentropy", "hinge",
          "kld", "divergence", "poisson", "logcosh", "huber", "seconds", "params", "time"}
_HIGHER = {"accuracy", "acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2",
           "similarity"}
_DIRECTIONS = {"min": "minimize", "minimize": "minimize", "max": "maximize",
               "maximize": "maximize"}


class Objective:
    """``Objective("val_auc", direction="max")``: KerasTuner's spelling; "min"/"max" or
    Optuna's "minimize"/"maximize"."""

    def __init__(self, name: str, direction: str = None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"an objective needs a metric name, got {name!r}")
        self.name = name
        self.direction = infer_direction(name) if direction is None else _direction(direction, name)

    def __repr__(self):
        return f"Objective({self.name!r}, direction={self.direction!r})"


def _direction(direction, name) -> str:
    if direction not in _DIRECTIONS:
        raise ValueError(f"objective {name!r}: direction must be 'min' or 'max' (or "
                         f"'minimize'/'maximize'), got {direction!r}")
    return _DIRECTIONS[direction]


def infer_direction(name: str) -> str:
    """"minimize" for losses and errors, "maximize" for accuracy, AUC, precision, recall, F1;
    a name that says neither is refused rather than guessed."""
    words = set(re.split(r"[_\W]+", name.lower()))
    lower, higher = words & _LOWER, words & _HIGHER
    if lower and not higher:
        return "minimize"
    if higher and not lower:
        return "maximize"
    raise ValueError(f"cannot tell whether objective {name!r} is to be minimized or maximized; "
                     f"give it as Objective({name!r}, direction='min' or 'max') (or "
                     "direction=)")


def objectives_from(objective, direction=None) -> list:
    """A list of ``Objective`` from a name, an ``Objective`` or a list of either."""
    items = objective if isinstance(objective, (list, tuple)) else [objective]
    if not items:
        raise ValueError("objectives: needs at least one name")
    if direction is not None and len(items) > 1:
        raise ValueError("direction= applies to one objective; give Objective(name, direction) "
                         "for each of several")
    out = []
    for item in items:
        if isinstance(item, Objective):
            out.append(item if direction is None else Objective(item.name, direction))
        elif isinstance(item, str):
            out.append(Objective(item, direction))
        else:
            raise ValueError(f"an objective is a metric name or Objective(name, direction), got "
                             f"{item!r}")
    names = [o.name for o in out]
    if len(set(names)) != len(names):
        raise ValueError(f"objectives: {names} names one twice")
    return out
