"""Argument checks shared by the kernels' Python entry points (optimizers, ops)."""
from __future__ import annotations

import math
import numbers

NONFINITE_MODES = ("raise", "skip", "ignore")
MAX_STEP = 2 ** 53  # step counts stay exact as floats (torch keeps them in float tensors)


# How torch.optim words an invalid hyperparameter ("Invalid learning rate: -1"); other names
# read "Invalid <name> value: ...", as torch's do. The rule that was broken follows.
_TORCH_WORDS = {"lr": "Invalid learning rate", "eps": "Invalid epsilon value",
                "betas[0]": "Invalid beta parameter at index 0",
                "betas[1]": "Invalid beta parameter at index 1"}


def real(name: str, value, *, low: float | None = 0.0, high: float | None = None,
         high_open: bool = False, invalid: str | None = None) -> float:
    """``value`` as a float, or TypeError/ValueError naming ``name``. A ValueError opens with
    ``invalid`` (default: torch.optim's words for ``name``), then the value and the rule."""
    if hasattr(value, "item") and not isinstance(value, numbers.Real):  # numpy/torch scalar
        numel = getattr(value, "numel", None)
        count = numel() if callable(numel) else getattr(value, "size", 1)
        if count != 1:
            raise ValueError(f"Tensor {name} must be 1-element, got {count} elements")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    words = invalid or _TORCH_WORDS.get(name, f"Invalid {name} value")
    if not math.isfinite(v):
        raise ValueError(f"{words}: {value} ({name} must be finite)")
    if low is not None and v < low:
        raise ValueError(f"{words}: {value} ({name} must be >= {low})")
    if high is not None and (v >= high if high_open else v > high):
        bound = f"< {high}" if high_open else f"<= {high}"
        raise ValueError(f"{words}: {value} ({name} must be {bound})")
    return v


def positive_int(name: str, value) -> int:
    """A size (units, filters, ...) as an int: any integer, numpy's included, >= 1; not a bool
    or a float. A ValueError names ``name`` (e.g. "Dense: units")."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def flag(name: str, value) -> bool:
    if not isinstance(value, (bool, int)) or value not in (0, 1):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def step_count(name: str, value) -> int:
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1 \
            or value >= MAX_STEP:
        raise ValueError(f"{name} must be an integer >= 1 (the 1-based step, below 2**53), "
                         f"got {value!r}")
    return int(value)


def betas(value) -> tuple[float, float]:
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {value!r}") from None
    return (real("betas[0]", b1, high=1.0, high_open=True),
            real("betas[1]", b2, high=1.0, high_open=True))


def max_grad_norm(value):
    if value is None:
        return None
    v = real("max_grad_norm", value)
    if v <= 0:
        raise ValueError(f"max_grad_norm must be > 0 (or None to disable), got {value}")
    return v


def nonfinite(value) -> str:
    if value not in NONFINITE_MODES:
        raise ValueError(f"nonfinite must be one of {NONFINITE_MODES}, got {value!r}")
    return value


def saved_step(name: str, value) -> int:
    """A step count from a state_dict (torch stores it as a float tensor); 0 allowed."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or float(value) != int(value) or value >= MAX_STEP:
        raise ValueError(f"{name} must be a whole number in [0, 2**53), got {value!r}")
    return int(value)


def sgd_options(h) -> None:
    """torch's rule for SGD's options (on a bound SgdHparams)."""
    if h.nesterov and (h.momentum <= 0 or h.dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening (got "
                         f"momentum={h.momentum}, dampening={h.dampening})")
