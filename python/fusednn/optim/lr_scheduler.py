"""Learning-rate schedules for every fusednn optimizer, with torch.optim.lr_scheduler's names,
arguments, numbers and state.

A scheduler rewrites ``param_groups[i]["lr"]`` of its optimizer; the fused kernels take the
learning rate as a call argument, so a change costs nothing. As in torch, most schedulers are
*chainable*: each ``step()`` applies its own factor to the group's current lr, so several
schedulers on one optimizer (``ReduceLROnPlateau`` included) compose exactly as torch's do.
Those torch defines by a closed form of the step count (``LambdaLR``, ``CyclicLR``,
``OneCycleLR``, ``CosineAnnealingWarmRestarts``) set the lr outright, as torch's do.
``step(epoch)`` (deprecated in torch) uses the closed form where the class has one.

``state_dict()`` holds every attribute (torch's rule), so loading it into a scheduler built
with other arguments restores those arguments too. ``per_batch = True`` marks schedules whose
lengths count batches (``CyclicLR``, ``OneCycleLR``, ``WarmupCosineLR``): ``Sequential.fit``
steps those after every batch. ``lr_curve`` / ``plot_lr`` show a schedule without training.

``WarmupCosineLR`` is fusednn's own (no torch twin): linear warmup, then cosine decay.
"""
from __future__ import annotations

import inspect
import math
import types
import warnings
from bisect import bisect_right
from collections import Counter


# -- group values: copies, never aliases (a tensor lr is cloned, and filled in place) --------
def _copy(value):
    if hasattr(value, "clone") and hasattr(value, "fill_"):  # a torch tensor
        return value.clone()
    if hasattr(value, "copy") and hasattr(value, "shape"):  # a numpy/CuPy array
        return value.copy()
    return value


def _scalar(value) -> float:
    return float(value.item() if hasattr(value, "item") else value)


def _set(group, key, value) -> None:
    """group[key] = value, filling a tensor or array lr in place rather than replacing it."""
    current = group[key]
    if hasattr(current, "fill_"):
        current.fill_(_scalar(value))
    elif hasattr(current, "fill") and hasattr(current, "shape"):
        current.fill(_scalar(value))
    else:
        group[key] = value


def _values(optimizer, key) -> list:
    return [_copy(group[key]) for group in optimizer.param_groups]


def _per_group(name, optimizer, value) -> list:
    """One value per param group: a list/tuple of that length, or one value repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(value)} values, param_groups has {n}.")
        return [_copy(v) for v in value]
    return [_copy(value) for _ in range(n)]


def _check_optimizer(optimizer, who):
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer ({who} needs "
                        "an optimizer)")


def _functions_state(state, key):
    """torch's rule for saving callables: functions are not saved, callable objects save their
    __dict__."""
    fns = state.pop(key)
    state[key] = [None if isinstance(f, types.FunctionType) else dict(vars(f))
                  for f in fns]
    return state


class LRScheduler:
    """Base class. A subclass computes the next lrs in ``get_lr()`` (from the groups' current
    lrs for a chainable schedule) and may give ``_get_closed_form_lr()``."""

    per_batch = False
    _get_lr_called_within_step = False
    _is_initial = False

    def __init__(self, optimizer, last_epoch: int = -1):
        _check_optimizer(optimizer, type(self).__name__)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                if "initial_lr" not in group:
                    group["initial_lr"] = _copy(group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming scheduler with last_epoch >= 0 "
                                   f"(last_epoch={last_epoch}; load the optimizer's state "
                                   "first, or use last_epoch=-1)")
        self.base_lrs = _values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        raise NotImplementedError

    def _warn_outside_step(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=3)

    def step(self, epoch=None) -> None:
        if self._step_count == 1 and getattr(self.optimizer, "_opt_called", True) is False:
            warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`: "
                          "call them in the opposite order, or the first value of the "
                          "schedule is skipped.", UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated (as in "
                          "torch); call `step()` without it.", UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            _set(group, "lr", lr)
        self._last_lr = _values(self.optimizer, "lr")

    def get_last_lr(self) -> list:
        """The lrs this scheduler last set (copies)."""
        return self._last_lr

    def state_dict(self) -> dict:
        """Every attribute but the optimizer (torch's layout)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)

    def get_config(self) -> dict:
        """The constructor arguments (without the optimizer), read from the attributes they
        are kept under, for saving a model; refuses rather than guessing one it cannot read."""
        out = {}
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name in ("self", "optimizer", "last_epoch") or param.kind in (
                    param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if not hasattr(self, name):
                raise TypeError(f"{type(self).__name__} cannot describe its argument {name!r}")
            value = getattr(self, name)
            out[name] = sorted(value.elements()) if isinstance(value, Counter) else value
        return out


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch), one function or one per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        _check_optimizer(optimizer, type(self).__name__)
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    @property
    def lr_lambda(self):
        return self.lr_lambdas[0] if len(set(map(id, self.lr_lambdas))) == 1 else self.lr_lambdas

    def state_dict(self) -> dict:
        return _functions_state(super().state_dict(), "lr_lambdas")

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)

    def get_lr(self):
        self._warn_outside_step()
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs,
                                                                strict=True)]


def _lambdas(optimizer, lr_lambda):
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(optimizer.param_groups):
            raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, but got "
                             f"{len(lr_lambda)}")
        fns = list(lr_lambda)
    else:
        fns = [lr_lambda] * len(optimizer.param_groups)
    for fn in fns:
        if not callable(fn):
            raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
    return fns


class MultiplicativeLR(LambdaLR):
    """lr *= lr_lambda(epoch) at every step after the first."""

    def get_lr(self):
        self._warn_outside_step()
        if self._is_initial:
            return _values(self.optimizer, "lr")
        return [group["lr"] * fn(self.last_epoch)
                for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups, strict=True)]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Expected positive integer {name}, but got {value!r}")
    return value


class StepLR(LRScheduler):
    """lr *= gamma every step_size epochs."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size, self.gamma = _positive_int("step_size", step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr *= gamma at each milestone (a milestone given twice counts twice, as in torch)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones, self.gamma = Counter(int(m) for m in milestones), gamma
        super().__init__(optimizer, last_epoch)

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        m = state.get("milestones")
        if isinstance(m, dict):  # a Counter, or one that went through JSON (string keys)
            state["milestones"] = Counter({int(k): int(v) for k, v in m.items()})
        elif m is not None:
            state["milestones"] = Counter(int(x) for x in m)
        super().load_state_dict(state)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch not in self.milestones:
            return _values(self.optimizer, "lr")
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr * factor until total_iters, then lr."""

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _values(self.optimizer, "lr")
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        on = self.last_epoch >= self.total_iters
        return [base * (self.factor + on * (1 - self.factor)) for base in self.base_lrs]


class LinearLR(LRScheduler):
    """The factor moves linearly from start_factor to end_factor over total_iters."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             "less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _values(self.optimizer, "lr")
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * done)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr *= gamma every epoch."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self._is_initial:
            return _values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr * (1 - epoch / total_iters) ** power, then constant."""

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self._is_initial or self.last_epoch > self.total_iters:
            return _values(self.optimizer, "lr")
        e, n = self.last_epoch, self.total_iters
        factor = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (1.0 - done) ** self.power for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the lr to eta_min over T_max epochs (torch's recursive form, so it
    composes with other schedulers; past T_max it rises again, as torch's does)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max, self.eta_min = _positive_int("T_max", T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return _values(self.optimizer, "lr")
        if self._step_count == 1 and e > 0:  # resumed: start from the closed form
            return [lo + (base - lo) * (1 + math.cos(e * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # at a trough the ratio below would divide by zero
            return [group["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, self.optimizer.param_groups,
                                           strict=True)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (group["lr"] - lo) + lo for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every T_0, T_0*T_mult, ... epochs (SGDR). ``T_cur`` (epochs
    since the restart) and ``T_i`` (this cycle's length) are live attributes, as in torch;
    ``step(epoch)`` may take a fractional epoch."""

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, (int, float)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min!r}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None) -> None:
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        self._step_count = getattr(self, "_step_count", 0) + 1
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            _set(group, "lr", lr)
        self._last_lr = _values(self.optimizer, "lr")


def _same_optimizer(who, optimizer, schedulers):
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{who} at index {i} should have `optimizer` as its attribute.")
        if isinstance(s, ReduceLROnPlateau) and who == "SequentialLR":
            raise ValueError("SequentialLR does not support `ReduceLROnPlateau` (its step needs "
                             f"a metric), but got one at index {i}.")
        if s.optimizer is not optimizer:
            raise ValueError(f"{who} expects all schedulers to belong to the same optimizer, "
                             f"but the scheduler at index {i} ({type(s).__name__}) has another.")


class _Composite(LRScheduler):
    """State of a scheduler made of schedulers: its own attributes and each one's state."""

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, saved in zip(self._schedulers, inner, strict=True):
            s.load_state_dict(saved)

    def get_config(self) -> dict:
        raise TypeError(f"{type(self).__name__} holds other schedulers and cannot be saved "
                        "with a model; save the schedulers' state_dict() instead")


class SequentialLR(_Composite):
    """schedulers[0] until milestones[0], then schedulers[1] from its start, and so on."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got none.")
        _same_optimizer("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to "
                             "be one more than the number of milestone points, but got number "
                             f"of schedulers {len(schedulers)} and the number of milestones to "
                             f"be equal to {len(milestones)}")
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            _set(group, "lr", group["initial_lr"])
        self._undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_initial_steps(self, scheduler):
        """Each scheduler took its initial step when built; the first one takes it again."""
        if hasattr(scheduler, "_schedulers"):
            for s in scheduler._schedulers:
                self._undo_initial_steps(s)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def recursive_undo(self, sched=None):
        self._undo_initial_steps(self if sched is None else sched)

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Steps every scheduler in turn with one ``step()``."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained, "
                             "but got none.")
        optimizer = optimizer or schedulers[0].optimizer
        _same_optimizer("ChainedScheduler", optimizer, schedulers)
        self._schedulers, self.optimizer = list(schedulers), optimizer
        self._last_lr = _values(optimizer, "lr")

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = _values(self.optimizer, "lr")


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when ``step(metric)`` has not improved for ``patience``
    epochs (torch's semantics: relative or absolute threshold, cooldown, per-group min_lr, eps).
    It scales the current lr, so it composes with other schedulers."""

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0.0, eps: float = 1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if factor <= 0:
            raise ValueError(f"factor must be > 0, got {factor}")
        _check_optimizer(optimizer, type(self).__name__)
        self.factor, self.optimizer = factor, optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, got "
                                 f"{len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * len(optimizer.param_groups)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.last_epoch = 0
        self._last_lr = _values(optimizer, "lr")
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    @property
    def min_lr(self):
        return self.min_lrs if self.default_min_lr is None else self.default_min_lr

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a, best) -> bool:
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if rel else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if rel else best + self.threshold)

    def step(self, metrics, epoch=None) -> None:
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated.",
                          UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = _values(self.optimizer, "lr")

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"the optimizer has {len(groups)} param groups but min_lr "
                                   f"gave {len(self.min_lrs)}; set `min_lrs` to match")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            old = _scalar(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                _set(group, "lr", new)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)

    def get_config(self) -> dict:
        keys = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                "min_lr", "eps")
        return {k: getattr(self, k) for k in keys}


def _momentum_key(optimizer, who):
    """'betas' (cycle beta1) or 'momentum', as torch decides from the optimizer's defaults."""
    defaults = getattr(optimizer, "defaults", {})
    if "momentum" not in defaults and "betas" not in defaults:
        raise ValueError(f"optimizer must support momentum or beta1 with `cycle_momentum` "
                         f"option enabled ({who})")
    return "betas" in defaults


def _set_momentum(group, use_beta1, value):
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _start_momentum_cycle(optimizer, who, base_momentum, max_momentum, last_epoch):
    """(use_beta1, per-group base momentums, per-group max momentums) of a momentum-cycling
    scheduler; a fresh one (last_epoch -1) starts every group at its max momentum and records
    both bounds in the group, under torch's keys."""
    use_beta1 = _momentum_key(optimizer, who)
    lows = _per_group("base_momentum", optimizer, base_momentum)
    highs = _per_group("max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        for hi, lo, group in zip(highs, lows, optimizer.param_groups):
            _set_momentum(group, use_beta1, hi)
            group["max_momentum"], group["base_momentum"] = hi, lo
    return use_beta1, lows, highs


class CyclicLR(LRScheduler):
    """The cyclical learning-rate policy (per batch): triangular, triangular2, exp_range or a
    custom scale_fn; with ``cycle_momentum`` the momentum (or beta1) cycles inversely."""

    per_batch = True

    def __init__(self, optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down=None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn=None, scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum=0.8, max_momentum=0.9, last_epoch: int = -1):
        _check_optimizer(optimizer, type(self).__name__)
        self.optimizer = optimizer
        self.base_lr, self.max_lr = base_lr, max_lr
        self.step_size_up, self.step_size_down = step_size_up, step_size_down
        self.base_momentum, self.max_momentum = base_momentum, max_momentum
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                _set(group, "lr", lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if up <= 0 or down < 0:
            raise ValueError(f"step_size_up must be > 0 and step_size_down >= 0, got {up}, {down}")
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode, self.gamma = mode, gamma
        self.scale_fn, self.scale_mode = scale_fn, scale_mode
        self._pick_scale()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _start_momentum_cycle(
                optimizer, type(self).__name__, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _pick_scale(self):
        if self.scale_fn is not None:
            self._scale = self.scale_fn
        elif self.mode == "triangular":
            self._scale, self.scale_mode = (lambda x: 1.0), "cycle"
        elif self.mode == "triangular2":
            self._scale, self.scale_mode = (lambda x: 1 / (2.0 ** (x - 1))), "cycle"
        else:
            gamma = self.gamma
            self._scale, self.scale_mode = (lambda x: gamma ** x), "iterations"

    def get_lr(self):
        self._warn_outside_step()
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            fraction = x / self.step_ratio
        else:
            fraction = (x - 1) / (self.step_ratio - 1)
        scale = self._scale(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (hi - base) * fraction * scale
               for base, hi in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for lo, hi, group in zip(self.base_momentums, self.max_momentums,
                                     self.optimizer.param_groups, strict=True):
                _set_momentum(group, self.use_beta1, hi - (hi - lo) * fraction * scale)
        return lrs

    def state_dict(self) -> dict:
        """torch's layout: a custom scale_fn object's attributes under ``_scale_fn_custom``
        (None for a plain function or none at all), so torch loads it too."""
        state = super().state_dict()
        state.pop("_scale", None)
        fn = state.pop("scale_fn")
        state["_scale_fn_custom"] = None if fn is None or isinstance(fn, types.FunctionType) \
            else dict(vars(fn))
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        attrs = state.pop("_scale_fn_custom", None)
        earlier = state.pop("scale_fn", None)  # this class's key before torch's layout
        attrs = attrs if attrs is not None else earlier
        state = {k: v for k, v in state.items() if k != "_scale_fn_ref"}  # torch's, unpickled
        super().load_state_dict(state)
        if attrs is not None and self.scale_fn is not None:
            self.scale_fn.__dict__.update(attrs)
        self._pick_scale()


_PHASE_KEYS = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")


class OneCycleLR(LRScheduler):
    """The one-cycle policy (per batch), complete: two phases (up to max_lr over pct_start of
    total_steps, then down to max_lr/(div_factor*final_div_factor)) or ``three_phase``
    (up, back down to the start, then annihilation), ``anneal_strategy`` "cos" or "linear",
    and momentum (or Adam's beta1) cycled inversely between max_momentum and base_momentum."""

    per_batch = True

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        _check_optimizer(optimizer, type(self).__name__)
        self.optimizer = optimizer
        if total_steps is not None:
            self.total_steps = _positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_positive_int("epochs", epochs)
                                * _positive_int("steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if isinstance(pct_start, bool) or not isinstance(pct_start, float) \
                or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy!r}")
        self.max_lr, self.epochs, self.steps_per_epoch = max_lr, epochs, steps_per_epoch
        # the annealing under torch's state key, so state dicts load either way
        self.pct_start, self._anneal_func_type = pct_start, anneal_strategy
        self.three_phase = three_phase
        self.div_factor, self.final_div_factor = div_factor, final_div_factor
        self.base_momentum, self.max_momentum = base_momentum, max_momentum
        up = float(pct_start * self.total_steps) - 1
        last = self.total_steps - 1
        # each phase's end step and the group keys it anneals between, laid out as torch's
        # state dict has them (so either loads the other's)
        if three_phase:
            phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                       "base_momentum", "max_momentum"),
                      (last, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (last, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self._schedule_phases = [dict(zip(_PHASE_KEYS, phase)) for phase in phases]
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for hi, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = hi / div_factor
                group["max_lr"] = hi
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:  # the bounds live in the groups, as torch keeps them
            self.use_beta1 = _start_momentum_cycle(optimizer, type(self).__name__,
                                                   base_momentum, max_momentum, last_epoch)[0]
        super().__init__(optimizer, last_epoch)

    @property
    def anneal_strategy(self) -> str:
        return self._anneal_func_type

    def load_state_dict(self, state_dict: dict) -> None:
        """Torch's state dict or fusednn's, of this version or an earlier one (phases as
        tuples, the annealing under ``anneal_strategy``)."""
        state = dict(state_dict)
        if "anneal_strategy" in state:
            state.setdefault("_anneal_func_type", state.pop("anneal_strategy"))
        state["_schedule_phases"] = [
            phase if isinstance(phase, dict) else dict(zip(_PHASE_KEYS, phase))
            for phase in state.get("_schedule_phases", self._schedule_phases)]
        super().load_state_dict(state)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        self._warn_outside_step()
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total steps "
                             f"is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            begin = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end, lr0, lr1, m0, m1 = (phase[k] for k in _PHASE_KEYS)
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - begin) / (end - begin)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self.use_beta1,
                                      self._anneal(group[m0], group[m1], pct))
                    break
                begin = end
        return lrs


class WarmupCosineLR(LRScheduler):
    """fusednn's own (no torch twin): linear warmup from lr * warmup_start_factor to lr over
    warmup_steps, then cosine decay to eta_min at total_steps (stepped per batch). A closed
    form of the step count, like LambdaLR: it sets the lr outright."""

    per_batch = True

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, eta_min: float = 0.0,
                 warmup_start_factor: float = 0.0, last_epoch: int = -1):
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps}, "
                             f"{total_steps}")
        self.warmup_steps, self.total_steps = int(warmup_steps), int(total_steps)
        self.eta_min, self.warmup_start_factor = float(eta_min), float(warmup_start_factor)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        e = self.last_epoch
        out = []
        for base in self.base_lrs:
            if e < self.warmup_steps:
                f = self.warmup_start_factor
                out.append(base * (f + (1 - f) * e / self.warmup_steps))
            else:
                done = min(1.0, (e - self.warmup_steps) / (self.total_steps - self.warmup_steps))
                out.append(self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * done)) / 2)
        return out


class _Probe:
    """An optimizer stand-in with one param group, for drawing a schedule."""

    def __init__(self, lr):
        self.defaults = {"lr": lr, "momentum": 0.0}
        self.param_groups = [{"lr": lr, "momentum": 0.0}]


def lr_curve(make_scheduler, steps: int, lr: float = 1.0):
    """The lr at steps 0..steps-1 of ``make_scheduler(optimizer)`` (e.g.
    ``lambda opt: CosineAnnealingLR(opt, T_max=50)``), starting from ``lr``."""
    probe = _Probe(lr)
    scheduler = make_scheduler(probe)
    out = []
    for _ in range(steps):
        out.append(probe.param_groups[0]["lr"])
        scheduler.step()
    return out


def plot_lr(make_scheduler, steps: int, path: str, lr: float = 1.0, title: str = None) -> str:
    """Draw ``lr_curve`` to a PNG at ``path`` (needs matplotlib)."""
    from .._report import pyplot as _pyplot

    plt = _pyplot()
    curve = lr_curve(make_scheduler, steps, lr)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(range(steps), curve)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title or "learning-rate schedule")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


SCHEDULERS = {c.__name__: c for c in (
    LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR,
    PolynomialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, SequentialLR,
    ChainedScheduler, ReduceLROnPlateau, CyclicLR, OneCycleLR, WarmupCosineLR)}
