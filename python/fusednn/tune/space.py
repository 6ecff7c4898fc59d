"""Search spaces: what a trial may vary, checked before any trial runs.

A space maps argument names to parameters: ``Float(low, high, log=False)``, ``Int(low, high,
log=False, step=1)``, ``Choice([...])``. Any parameter may be conditional, ``when={"optimizer":
"sgd"}``: it is sampled only in trials where the named parameter takes that value (or one of a
list of values). Names are the arguments of the model, ``compile`` and ``fit`` (see
``ARGUMENTS``); a space also loads from a dict, a JSON or a YAML file::

    lr:        {type: float, low: 1.0e-4, high: 0.03, log: true}
    optimizer: {type: choice, values: [adam, sgd]}
    momentum:  {type: float, low: 0.0, high: 0.95, when: {optimizer: sgd}}
"""
from __future__ import annotations

import json
import math
import os

# Every argument a trial can vary, with what it sets.
ARGUMENTS = {
    "lr": "learning rate", "batch_size": "fit batch size", "epochs": "fit epochs",
    "optimizer": "sgd, adagrad, rmsprop, adam or adamw", "momentum": "SGD/RMSprop momentum",
    "nesterov": "SGD Nesterov momentum", "weight_decay": "optimizer weight decay",
    "beta1": "Adam beta1", "beta2": "Adam beta2", "grad_clip": "clip by global norm",
    "schedule": "none, cosine, step or onecycle", "hidden": "width of the hidden layers",
    "depth": "number of hidden layers", "dropout": "dropout rate after hidden layers",
    "l1": "L1 penalty on the weights", "l2": "L2 penalty on the weights",
    "filters": "channels of the first conv layer (doubled after each pool)",
    "activation": "hidden activation: relu, leaky_relu, tanh, gelu, sigmoid",
}


class Param:
    kind = ""

    def __init__(self, when=None):
        self.when = dict(when or {})

    def active(self, params: dict) -> bool:
        for name, value in self.when.items():
            wanted = value if isinstance(value, (list, tuple)) else [value]
            if params.get(name) not in wanted:
                return False
        return True

    def check(self, name: str) -> None:
        pass


class Float(Param):
    kind = "float"

    def __init__(self, low, high, log: bool = False, when=None, sampling: str = None):
        super().__init__(when)
        if sampling not in (None, "linear", "log"):
            raise ValueError(f"sampling must be 'linear' or 'log', got {sampling!r}")
        self.low, self.high, self.log = low, high, bool(log) or sampling == "log"

    def check(self, name):
        for bound in (self.low, self.high):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise ValueError(f"search space: {name!r}: bounds must be finite numbers, got "
                                 f"low={self.low!r}, high={self.high!r}")
        if self.low > self.high:
            raise ValueError(f"search space: {name!r}: low {self.low} > high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"search space: {name!r}: a log scale needs positive bounds, got "
                             f"low={self.low}")

    def draw(self, hp, name):
        return hp.Float(name, float(self.low), float(self.high), log=self.log)


class Int(Float):
    kind = "int"

    def __init__(self, low, high, log: bool = False, step: int = 1, when=None,
                 sampling: str = None):
        super().__init__(low, high, log, when, sampling)
        self.step = step

    def check(self, name):
        super().check(name)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high, self.step)):
            raise ValueError(f"search space: {name!r}: an Int needs integer bounds and step")
        if self.step < 1 or (self.log and self.step != 1):
            raise ValueError(f"search space: {name!r}: step must be >= 1 (and 1 on a log scale)")

    def draw(self, hp, name):
        return hp.Int(name, self.low, self.high, step=self.step, log=self.log)

    def values(self):
        return list(range(self.low, self.high + 1, self.step))


class Choice(Param):
    kind = "choice"

    def __init__(self, values, when=None):
        super().__init__(when)
        self.choices = list(values) if isinstance(values, (list, tuple)) else values

    def check(self, name):
        if not isinstance(self.choices, list) or not self.choices:
            raise ValueError(f"search space: {name!r}: a Choice needs a non-empty list of values, "
                             f"got {self.choices!r}")
        for v in self.choices:
            if v is not None and not isinstance(v, (bool, int, float, str)):
                raise ValueError(f"search space: {name!r}: choices must be numbers, strings, "
                                 f"booleans or None, got {v!r}")

    def draw(self, hp, name):
        return hp.Choice(name, self.choices)

    def values(self):
        return list(self.choices)


def _boolean(when=None):
    return Choice([False, True], when=when)


_TYPES = {"float": Float, "int": Int, "choice": Choice, "categorical": Choice,
          "boolean": _boolean, "bool": _boolean}
_KEYS = {"float": ("low", "high", "log", "sampling", "when"),
         "int": ("low", "high", "log", "step", "sampling", "when"),
         "choice": ("values", "when"), "categorical": ("values", "when"),
         "boolean": ("when",), "bool": ("when",)}


class Space:
    """An ordered, validated set of parameters (see the module documentation)."""

    def __init__(self, params: dict):
        if not isinstance(params, dict) or not params:
            raise ValueError("search space: needs at least one parameter")
        self.params = {}
        for name, p in params.items():
            if name not in ARGUMENTS:
                raise ValueError(f"search space: unknown argument {name!r}; tunable arguments: "
                                 f"{', '.join(sorted(ARGUMENTS))}")
            if isinstance(p, dict):
                p = _from_dict(name, p)
            elif isinstance(p, (list, tuple)):
                p = Choice(list(p))
            elif not isinstance(p, Param):
                raise ValueError(f"search space: {name!r}: expected Float, Int, Choice, a list "
                                 f"of choices or a dict, got {p!r}")
            p.check(name)
            self.params[name] = p
        for name, p in self.params.items():
            for other, value in p.when.items():
                if other not in self.params:
                    raise ValueError(f"search space: {name!r} depends on {other!r}, which is "
                                     "not in the space")
                if list(self.params).index(other) > list(self.params).index(name):
                    raise ValueError(f"search space: {name!r} depends on {other!r}, which must "
                                     "come before it")
                wanted = value if isinstance(value, (list, tuple)) else [value]
                dep = self.params[other]
                if isinstance(dep, Choice) and any(w not in dep.choices for w in wanted):
                    raise ValueError(f"search space: {name!r}: when {other}={value!r}, but "
                                     f"{other!r} takes {dep.choices}")

    @classmethod
    def load(cls, source) -> "Space":
        """From a Space, a dict, or a path to a .json / .yaml / .yml file."""
        if isinstance(source, Space):
            return source
        if isinstance(source, (str, os.PathLike)):
            with open(source) as f:
                text = f.read()
            if str(source).endswith((".yaml", ".yml")):
                import yaml

                source = yaml.safe_load(text)
            else:
                source = json.loads(text)
        return cls(source)

    def draw(self, hp) -> dict:
        """The values of one trial, drawn through ``hp`` (a ``HyperParameters``)."""
        out = {}
        for name, p in self.params.items():
            if p.active(out):
                out[name] = p.draw(hp, name)
        return out

    def grid(self) -> dict:
        """The grid for grid search: every parameter must be a Choice or an Int."""
        grid = {}
        for name, p in self.params.items():
            if p.when:
                raise ValueError(f"grid search: {name!r} is conditional; a grid needs every "
                                 "parameter in every trial")
            if isinstance(p, Float) and not isinstance(p, Int):
                raise ValueError(f"grid search: {name!r} is continuous; give it as a Choice of "
                                 "the values to try")
            grid[name] = p.values()
        return grid

    def grid_size(self) -> int:
        n = 1
        for values in self.grid().values():
            n *= len(values)
        return n

    def __repr__(self):
        return f"Space({', '.join(self.params)})"


def _from_dict(name, d):
    d = dict(d)
    kind = d.pop("type", None)
    if kind not in _TYPES:
        raise ValueError(f"search space: {name!r}: type must be one of {sorted(_TYPES)}, got "
                         f"{kind!r}")
    unknown = [k for k in d if k not in _KEYS[kind]]
    if unknown:
        raise ValueError(f"search space: {name!r}: unknown key {unknown[0]!r} for type {kind}; "
                         f"known keys: {', '.join(_KEYS[kind])}")
    for key in ("low", "high", "step"):
        d[key] = _number(name, key, d[key]) if key in d else d.get(key)
        if d[key] is None:
            del d[key]
    try:
        return _TYPES[kind](**d)
    except (TypeError, ValueError) as e:
        raise ValueError(f"search space: {name!r}: {e}") from None


def _number(name, key, value):
    """A bound as a number: YAML reads ``1e-4`` (no dot) as a string, which is coerced here;
    an integer-valued string stays an int (for Int bounds)."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"search space: {name!r}: {key} must be a number, got "
                             f"{value!r}") from None
    return value


def default_space(model: str = "mlp") -> Space:
    """What ``fusednn tune`` searches when no space file is given."""
    space = {
        "lr": Float(1e-4, 3e-2, log=True),
        "batch_size": Choice([32, 64, 128]),
        "optimizer": Choice(["adam", "sgd", "rmsprop"]),
        "momentum": Float(0.0, 0.95, when={"optimizer": ["sgd", "rmsprop"]}),
        "dropout": Float(0.0, 0.5),
        "l2": Float(1e-7, 1e-3, log=True),
    }
    if model == "cnn":
        space["filters"] = Choice([8, 16, 32])
        space["hidden"] = Int(32, 256, log=True)
    else:
        space["hidden"] = Int(32, 512, log=True)
        space["depth"] = Int(1, 3)
    return Space(space)
