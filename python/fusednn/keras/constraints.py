"""Keras's weight constraints (``kernel_constraint=`` / ``bias_constraint=`` on Dense, Conv1D,
Conv2D and Conv2DTranspose): after every optimizer update of ``fit`` the weight is replaced by
``constraint(weight)``, seen in Keras's layout — Dense kernel (in, out), Conv2D kernel
(kh, kw, in, out) — so ``axis`` means what it means in Keras. The formulas are Keras's, in
float32, with Keras's epsilon (``keras.config.epsilon()``, 1e-7) under the norms."""
from __future__ import annotations

from .._backend import xp_of
from ..autograd import Tensor
from . import config


class Constraint:
    """The identity; subclasses return the constrained array (numpy or CuPy; a Tensor gives a
    Tensor, without a gradient: the constraint is applied outside autograd, as Keras's)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__call__")
        if own is not None:
            def call(self, w, _own=own):
                if isinstance(w, Tensor):
                    return Tensor(_own(self, w.data))
                return _own(self, w)
            call.__doc__ = own.__doc__
            cls.__call__ = call

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _norms(w, axis):
    xp = xp_of(w)
    return xp.sqrt(xp.sum(xp.square(w), axis=_axis(axis), keepdims=True))


def _axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


class MaxNorm(Constraint):
    """Each slice along ``axis`` (a unit's incoming weights) scaled down to a norm of at most
    ``max_value``: w * clip(norm, 0, max_value) / (epsilon + norm)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = xp_of(w).clip(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms moved into [min_value, max_value] at ``rate``: w * (rate * clip(norm, min, max) +
    (1 - rate) * norm) / (epsilon + norm)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (self.rate * xp_of(w).clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Negative weights set to zero."""

    def __call__(self, w):
        return w * (w >= 0.0).astype(w.dtype)


class UnitNorm(Constraint):
    """Each slice along ``axis`` divided by (epsilon + its norm)."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

CLASSES = {"MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm, "NonNeg": NonNeg,
           "UnitNorm": UnitNorm, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
           "non_neg": NonNeg, "unit_norm": UnitNorm}


def get(identifier):
    """A constraint from a name ("max_norm", "MaxNorm", ...), Keras's serialized form
    ({"class_name": ..., "config": {...}}), a Constraint or any callable; None stays None."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in CLASSES:
        return CLASSES[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in CLASSES:
        return CLASSES[identifier["class_name"]].from_config(identifier.get("config") or {})
    raise ValueError(f"unknown constraint {identifier!r} (known: "
                     f"{', '.join(sorted(k for k in CLASSES if '_' in k))}, their classes, "
                     "or a callable)")


def serialize(constraint):
    """Keras's serialized form of a built-in constraint (what a saved layer config holds);
    None stays None. Another callable cannot be saved."""
    if constraint is None:
        return None
    name = type(constraint).__name__
    if CLASSES.get(name) is not type(constraint):
        raise TypeError(f"cannot save the constraint {constraint!r}: only the built-in ones "
                        "(MaxNorm, MinMaxNorm, NonNeg, UnitNorm) can be saved")
    return {"class_name": name, "config": constraint.get_config()}


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "get", "serialize"]
