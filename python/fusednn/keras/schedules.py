"""Keras's learning-rate schedules (``keras.optimizers.schedules``): callables of the optimizer
step (0 for the first update) that a Keras optimizer takes as its ``learning_rate`` and reads
before every update. The formulas are Keras's; they run in float64 here (Keras computes in
the rate's float32, so the two agree to float32 rounding)."""
from __future__ import annotations

import math


class LearningRateSchedule:
    """The base of the schedules: ``schedule(step) -> learning rate``; ``get_config()`` and
    ``from_config(config)`` as Keras's."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(step)")

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _positive(name, value, where):
    if not value > 0:
        raise ValueError(f"{where}: {name} must be > 0, got {value!r}")
    return value


class _RateDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: the arguments, and the progress
    step / decay_steps (floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        self.initial_learning_rate, self.decay_rate = initial_learning_rate, decay_rate
        self.decay_steps = _positive("decay_steps", decay_steps, type(self).__name__)
        self.staircase, self.name = staircase, name or type(self).__name__

    def _progress(self, step):
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate,
                    decay_steps=self.decay_steps, decay_rate=self.decay_rate,
                    staircase=self.staircase, name=self.name)


class ExponentialDecay(_RateDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps), the exponent floored with
    ``staircase``."""

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"PiecewiseConstantDecay: boundaries must have one element fewer "
                             f"than values, got {len(boundaries)} and {len(values)}")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return dict(boundaries=self.boundaries, values=self.values, name=self.name)


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, the step held at decay_steps;
    with ``cycle`` the horizon grows to the first multiple of decay_steps past the step."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        self.initial_learning_rate, self.end_learning_rate = initial_learning_rate, \
            end_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps, "PolynomialDecay")
        self.power, self.cycle, self.name = power, cycle, name

    def __call__(self, step):
        horizon = self.decay_steps
        if self.cycle:
            horizon *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, self.decay_steps)
        return ((self.initial_learning_rate - self.end_learning_rate)
                * (1 - step / horizon) ** self.power + self.end_learning_rate)

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate,
                    decay_steps=self.decay_steps, end_learning_rate=self.end_learning_rate,
                    power=self.power, cycle=self.cycle, name=self.name)


class InverseTimeDecay(_RateDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps), the ratio floored with
    ``staircase``."""

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


def _cosine(fraction, alpha):
    return (1 - alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or, after a linear warmup of ``warmup_steps`` from
    the initial rate to ``warmup_target``, from that target) to ``alpha`` times it over
    ``decay_steps``, then held."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps, "CosineDecay")
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step):
        if self.warmup_target is None:
            step = min(step, self.decay_steps)
            return self.initial_learning_rate * _cosine(step / self.decay_steps, self.alpha)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            return ((self.warmup_target - self.initial_learning_rate) * step / self.warmup_steps
                    + self.initial_learning_rate)
        return self.warmup_target * _cosine((step - self.warmup_steps) / self.decay_steps,
                                            self.alpha)

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate,
                    decay_steps=self.decay_steps, alpha=self.alpha, name=self.name,
                    warmup_target=self.warmup_target, warmup_steps=self.warmup_steps)


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay over ``first_decay_steps``, then warm restarts: period i lasts t_mul ** i
    times as long and starts at m_mul ** i times the initial rate."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = _positive("first_decay_steps", first_decay_steps,
                                           "CosineDecayRestarts")
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        fraction = step / self.first_decay_steps
        t = self.t_mul
        if t == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:  # the period holding this step, its start, and how far into it the step is
            remaining = 1.0 - fraction * (1.0 - t)
            if remaining <= 0.0:
                # t_mul < 1 shrinks the periods geometrically, so they sum to
                # first_decay_steps / (1 - t_mul); Keras returns NaN past that point.
                raise ValueError(
                    f"CosineDecayRestarts(first_decay_steps={self.first_decay_steps}, "
                    f"t_mul={t}) has no period left at step {step}: its periods end at step "
                    f"{self.first_decay_steps / (1.0 - t):g}")
            restart = math.floor(math.log(remaining) / math.log(t))
            start = (1.0 - t ** restart) / (1.0 - t)
            fraction = (fraction - start) / t ** restart
        decayed = (1 - self.alpha) * 0.5 * self.m_mul ** restart * (
            1.0 + math.cos(math.pi * fraction)) + self.alpha
        return self.initial_learning_rate * decayed

    def get_config(self):
        return dict(initial_learning_rate=self.initial_learning_rate,
                    first_decay_steps=self.first_decay_steps, t_mul=self.t_mul,
                    m_mul=self.m_mul, alpha=self.alpha, name=self.name)


SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay,
                                           PolynomialDecay, InverseTimeDecay, CosineDecay,
                                           CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": ...}``, as Keras's serialize gives it."""
    name = type(schedule).__name__
    if SCHEDULES.get(name) is not type(schedule):
        raise TypeError(f"cannot serialize {name}: only the built-in schedules "
                        f"({', '.join(SCHEDULES)})")
    return {"class_name": name, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {name!r} (known: "
                         f"{', '.join(SCHEDULES)})")
    return SCHEDULES[name].from_config(config.get("config", {}))
