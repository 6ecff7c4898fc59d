"""``HyperParameters``: what a model builder draws its settings from, KerasTuner's spelling over
an Optuna trial (define-by-run: a value drawn inside an ``if`` exists only in trials that take
that branch).

One object serves three uses: during a search it asks the trial (``trial`` given); replaying a
finished trial it returns the stored values (``values`` given); with neither it returns each
parameter's default and records the space (for ``search_space_summary`` and grid search).

Values named as ``fit`` arguments (``FIT_ARGUMENTS``: batch size, epochs, class weights,
shuffling) are passed to the trial's ``fit``, so a builder tunes them by drawing them.
"""
from __future__ import annotations

import contextlib
import math

FIT_ARGUMENTS = ("batch_size", "epochs", "class_weight", "shuffle")
SAMPLINGS = ("linear", "log")
_PRIMITIVE = (bool, int, float, str, type(None))


class HyperParameters:
    def __init__(self, trial=None, values: dict = None):
        self.trial = trial
        self._replay = dict(values) if values is not None else None
        self.values = {}  # the active values, in the order drawn
        self.space = {}  # name -> what was declared (kind, bounds, conditions)
        self._scopes = []  # (parent_name, parent_values) of the enclosing conditional scopes
        # Set by the search before each build, for builders that need them (e.g. a one-cycle
        # schedule's step count): the fit arguments the trial will use, and its training size.
        self.fit_args = {}
        self.train_samples = None

    # -- reading --------------------------------------------------------------------------------
    def get(self, name: str):
        """The value of ``name``; a KeyError names the ones drawn so far."""
        if name in self.values:
            return self.values[name]
        if name in self.space:  # declared but inactive in this trial
            return None
        raise KeyError(f"hyperparameter {name!r} has not been drawn; drawn so far: "
                       f"{sorted(self.values)}")

    __getitem__ = get

    def __contains__(self, name) -> bool:
        return name in self.values

    def __repr__(self):
        return f"HyperParameters({self.values})"

    # -- conditions -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values):
        """Parameters drawn inside are active only while ``parent_name`` takes one of
        ``parent_values``; an inactive one returns None and is not part of the trial."""
        if parent_name not in self.space:
            raise ValueError(f"conditional_scope: {parent_name!r} must be drawn before a scope "
                             f"depends on it; drawn so far: {sorted(self.space)}")
        wanted = list(parent_values) if isinstance(parent_values, (list, tuple, set)) \
            else [parent_values]
        self._scopes.append((parent_name, wanted))
        try:
            yield
        finally:
            self._scopes.pop()

    def _active(self, conditions) -> bool:
        return all(self.values.get(name) in wanted for name, wanted in conditions)

    # -- drawing --------------------------------------------------------------------------------
    def Float(self, name, min_value=None, max_value=None, step=None, sampling="linear",
              default=None, parent_name=None, parent_values=None, *, log=None, low=None,
              high=None):
        low, high = _bounds(name, "Float", min_value, max_value, low, high)
        log = _is_log(name, sampling, log)
        for bound in (low, high):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) \
                    or not math.isfinite(bound):
                raise ValueError(f"hp.Float {name!r}: bounds must be finite numbers, got "
                                 f"{low!r}, {high!r}")
        _check_range(name, "Float", low, high, log, step)
        fallback = float(low) if default is None else float(default)
        if step is not None and log:
            grid = [float(v) for v in _geometric(name, "Float", low, high, step)]
            return self._choose(name, grid, fallback, parent_name, parent_values)
        spec = {"kind": "float", "low": float(low), "high": float(high), "log": log,
                "step": None if step is None else float(step)}
        return self._draw(name, spec, fallback, parent_name, parent_values,
                          lambda t: t.suggest_float(name, float(low), float(high),
                                                    step=spec["step"], log=log))

    def Int(self, name, min_value=None, max_value=None, step=None, sampling="linear",
            default=None, parent_name=None, parent_values=None, *, log=None, low=None,
            high=None):
        low, high = _bounds(name, "Int", min_value, max_value, low, high)
        log = _is_log(name, sampling, log)
        step = 1 if step is None else step
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, step)):
            raise ValueError(f"hp.Int {name!r}: bounds and step must be integers, got "
                             f"{low!r}, {high!r}, step={step!r}")
        _check_range(name, "Int", low, high, log, step)
        fallback = low if default is None else int(default)
        if log and step != 1:
            grid = [int(v) for v in _geometric(name, "Int", low, high, step)]
            return self._choose(name, grid, fallback, parent_name, parent_values)
        spec = {"kind": "int", "low": low, "high": high, "log": log, "step": step}
        return self._draw(name, spec, fallback, parent_name, parent_values,
                          lambda t: t.suggest_int(name, low, high, step=step, log=log))

    def Choice(self, name, values, ordered=None, default=None, parent_name=None,
               parent_values=None):
        """One of ``values`` (numbers, strings, booleans or None). ``ordered`` is accepted for
        KerasTuner's signature; Optuna's samplers treat choices as unordered."""
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"hp.Choice {name!r}: needs a non-empty list of values, got "
                             f"{values!r}")
        for v in values:
            if not isinstance(v, _PRIMITIVE):
                raise ValueError(f"hp.Choice {name!r}: values must be numbers, strings, "
                                 f"booleans or None, got {v!r}")
        kinds = {_kind(v) for v in values if v is not None}
        if len(kinds) > 1:  # KerasTuner's rule (ints and floats may mix here, and None join)
            raise TypeError(f"hp.Choice {name!r}: a Choice can contain only one type of value, "
                            f"found values: {list(values)} ({', '.join(sorted(kinds))})")
        if ordered and kinds - {"number"}:
            raise ValueError(f"hp.Choice {name!r}: `ordered` must be False for non-numeric "
                             "types.")
        if default is not None and default not in values:
            raise ValueError(f"hp.Choice {name!r}: default {default!r} is not one of {values}")
        fallback = values[0] if default is None else default
        return self._choose(name, list(values), fallback, parent_name, parent_values)

    def _choose(self, name, values, fallback, parent_name, parent_values):
        spec = {"kind": "choice", "values": values}
        return self._draw(name, spec, fallback, parent_name, parent_values,
                          lambda t: t.suggest_categorical(name, values))

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        spec = {"kind": "choice", "values": [False, True]}
        return self._draw(name, spec, bool(default), parent_name, parent_values,
                          lambda t: t.suggest_categorical(name, [False, True]))

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        """A constant: part of ``values`` (and of what ``fit`` receives, for a fit argument)
        but not searched."""
        if not isinstance(value, _PRIMITIVE):
            raise ValueError(f"hp.Fixed {name!r}: the value must be a number, string, boolean "
                             f"or None, got {value!r}")
        spec = {"kind": "fixed", "value": value}
        return self._draw(name, spec, value, parent_name, parent_values, None)

    def _draw(self, name, spec, fallback, parent_name, parent_values, suggest):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a hyperparameter needs a non-empty string name, got {name!r}")
        conditions = list(self._scopes)
        if parent_name is not None:
            if parent_name not in self.space:
                raise ValueError(f"hp {name!r}: parent {parent_name!r} must be drawn first")
            wanted = list(parent_values) if isinstance(parent_values, (list, tuple, set)) \
                else [parent_values]
            conditions.append((parent_name, wanted))
        spec = {**spec, "conditions": conditions}
        known = self.space.get(name)
        if known is not None and _shape(known) != _shape(spec):
            raise ValueError(f"hyperparameter {name!r} drawn twice with different definitions: "
                             f"{_describe(known)} and then {_describe(spec)}")
        self.space[name] = spec
        if not self._active(conditions):
            return None
        if name in self.values:
            return self.values[name]
        if spec["kind"] == "fixed":
            value = spec["value"]
        elif self.trial is not None:
            value = suggest(self.trial)
        elif self._replay is not None and name in self._replay:
            value = self._replay[name]
        else:
            value = fallback
        self.values[name] = value
        return value

    # -- what the search reads -------------------------------------------------------------------
    def fit_values(self) -> dict:
        """The drawn values that are ``fit`` arguments."""
        return {k: self.values[k] for k in FIT_ARGUMENTS if k in self.values}

    def summary(self) -> str:
        lines = [f"search space: {len(self.space)} hyperparameter(s)"]
        for name, spec in self.space.items():
            cond = "".join(f" (when {p} in {w})" for p, w in spec["conditions"])
            lines.append(f"  {name}: {_describe(spec)}{cond}")
        return "\n".join(lines)


class HyperModel:
    """KerasTuner's ``HyperModel``: subclass it and define ``build(hp)`` returning a compiled
    model; override ``fit(hp, model, x, y, **kwargs)`` to tune how it trains."""

    def __init__(self, name: str = None, tunable: bool = True):
        self.name = name or type(self).__name__
        self.tunable = tunable

    def build(self, hp):
        raise NotImplementedError("a HyperModel defines build(hp)")

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, **kwargs)


def _bounds(name, what, min_value, max_value, low, high):
    """KerasTuner's ``min_value``/``max_value`` or Optuna's ``low``/``high``, not both."""
    if low is not None and min_value is not None or high is not None and max_value is not None:
        raise ValueError(f"hp.{what} {name!r}: give min_value/max_value or low/high, not both")
    low = min_value if low is None else low
    high = max_value if high is None else high
    if low is None or high is None:
        raise ValueError(f"hp.{what} {name!r}: needs both bounds (min_value, max_value)")
    return low, high


def _is_log(name, sampling, log) -> bool:
    sampling = "linear" if sampling is None else str(sampling).lower()  # KerasTuner: any case
    if sampling not in SAMPLINGS:
        raise ValueError(f"hp {name!r}: sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if log is not None and bool(log) != (sampling == "log") and sampling != "linear":
        raise ValueError(f"hp {name!r}: log={log} contradicts sampling={sampling!r}")
    return bool(log) or sampling == "log"


def _check_range(name, what, low, high, log, step):
    if low > high:
        raise ValueError(f"hp.{what} {name!r}: min_value {low} > max_value {high}")
    if log and low <= 0:
        raise ValueError(f"hp.{what} {name!r}: log sampling needs positive bounds, got "
                         f"min_value={low}")
    if step is not None and not step > 0:
        raise ValueError(f"hp.{what} {name!r}: step must be > 0, got {step!r}")


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    return "str" if isinstance(value, str) else "number"


def _geometric(name, what, low, high, step) -> list:
    """KerasTuner's log sampling with a step: low, low * step, low * step^2, ... up to high
    (a choice among them)."""
    if not step > 1:
        raise ValueError(f"hp.{what} {name!r}: with log sampling, step is a factor and must "
                         f"be > 1, got {step!r}")
    n = int(math.log(high / low, step) + 1e-8) + 1
    return [low * step ** k for k in range(n)]


def _shape(spec) -> dict:
    return {k: v for k, v in spec.items() if k != "conditions"}


def _describe(spec) -> str:
    kind = spec["kind"]
    if kind == "choice":
        return f"Choice({spec['values']})"
    if kind == "fixed":
        return f"Fixed({spec['value']!r})"
    extra = ", log" if spec["log"] else ""
    extra += f", step={spec['step']}" if spec.get("step") not in (None, 1) else ""
    return f"{kind.capitalize()}({spec['low']}, {spec['high']}{extra})"
