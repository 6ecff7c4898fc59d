"""Learning-rate schedules for every fusednn optimizer (torch's semantics and names).

A scheduler rewrites ``param_groups[i]["lr"]`` of its optimizer; the fused kernels take the
learning rate as a call argument, so a change costs nothing. ``step()`` advances one epoch
(or one batch for schedulers with ``per_batch = True``: warmup-cosine and one-cycle, whose
lengths are counted in steps). Each is a closed form of its step count, so ``state_dict()``
is just that count. ``lr_curve`` / ``plot_lr`` show a schedule without training.
"""
from __future__ import annotations

import bisect
import math


class LRScheduler:
    per_batch = False

    def __init__(self, optimizer, last_epoch: int = -1):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(self).__name__} needs an optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, step: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base, self.last_epoch)

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict) -> None:
        self.base_lrs = list(state["base_lrs"])
        self.last_epoch = int(state["last_epoch"]) - 1
        self.step()

    def get_config(self) -> dict:
        """Constructor arguments (without the optimizer), for saving a model."""
        return {k: v for k, v in vars(self).items()
                if k not in ("optimizer", "base_lrs", "last_epoch") and not k.startswith("_")}


def _positive(name, value, strict=True):
    if not (value > 0 if strict else value >= 0):
        raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}, got {value}")
    return value


class StepLR(LRScheduler):
    """lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size, self.gamma = int(_positive("step_size", step_size)), float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, e):
        return base * self.gamma ** (e // self.step_size)


class MultiStepLR(LRScheduler):
    """lr * gamma ** (number of milestones passed)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones, self.gamma = sorted(int(m) for m in milestones), float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, e):
        return base * self.gamma ** bisect.bisect_right(self.milestones, e)


class ExponentialLR(LRScheduler):
    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = float(_positive("gamma", gamma))
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, e):
        return base * self.gamma ** e


def _cosine(start, end, fraction):
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


class CosineAnnealingLR(LRScheduler):
    """eta_min + (lr - eta_min) (1 + cos(pi * epoch / T_max)) / 2."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max, self.eta_min = int(_positive("T_max", T_max)), float(eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, e):
        return _cosine(base, self.eta_min, e / self.T_max)


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every T_0, T_0*T_mult, ... epochs (SGDR)."""

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        self.T_0, self.T_mult = int(_positive("T_0", T_0)), int(_positive("T_mult", T_mult))
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, e):
        t, length = e, self.T_0
        while t >= length:
            t -= length
            length *= self.T_mult
        return _cosine(base, self.eta_min, t / length)


class WarmupCosineLR(LRScheduler):
    """Linear warmup from lr * warmup_start_factor to lr over warmup_steps, then cosine decay to
    eta_min at total_steps (stepped per batch)."""
    per_batch = True

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, eta_min: float = 0.0,
                 warmup_start_factor: float = 0.0, last_epoch: int = -1):
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps}, "
                             f"{total_steps}")
        self.warmup_steps, self.total_steps = int(warmup_steps), int(total_steps)
        self.eta_min, self.warmup_start_factor = float(eta_min), float(warmup_start_factor)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, e):
        if e < self.warmup_steps:
            f = self.warmup_start_factor
            return base * (f + (1 - f) * e / self.warmup_steps)
        span = self.total_steps - self.warmup_steps
        return _cosine(base, self.eta_min, min(1.0, (e - self.warmup_steps) / span))


class OneCycleLR(LRScheduler):
    """The one-cycle policy (torch's three-phase-off form): cosine from max_lr/div_factor up to
    max_lr over pct_start of total_steps, then down to max_lr/(div_factor*final_div_factor)."""
    per_batch = True

    def __init__(self, optimizer, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, last_epoch: int = -1):
        if not 0 < pct_start < 1:
            raise ValueError(f"pct_start must be in (0, 1), got {pct_start}")
        self.max_lr, self.total_steps = float(_positive("max_lr", max_lr)), int(total_steps)
        self.pct_start, self.div_factor = float(pct_start), float(div_factor)
        self.final_div_factor = float(final_div_factor)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, e):
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        peak = float(self.pct_start * self.total_steps) - 1
        end = float(self.total_steps) - 1
        if e <= peak:
            return _cosine(initial, self.max_lr, e / peak if peak > 0 else 1.0)
        return _cosine(self.max_lr, final, min(1.0, (e - peak) / (end - peak)))


class ReduceLROnPlateau:
    """Multiply the lr by ``factor`` when ``step(metric)`` has not improved for ``patience``
    epochs (torch's semantics: relative or absolute threshold, cooldown, min_lr)."""

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8):
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError("mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs'")
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.min_lr, self.eps = int(cooldown), float(min_lr), float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        self.last_epoch = 0

    def _better(self, a, best):
        if self.mode == "min":
            edge = best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
            return a < edge
        edge = best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        return a > edge

    def step(self, metric: float) -> None:
        metric = float(metric)
        self.last_epoch += 1
        if self._better(metric, self.best):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group in self.optimizer.param_groups:
                new = max(group["lr"] * self.factor, self.min_lr)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict) -> None:
        vars(self).update(state)

    def get_config(self) -> dict:
        keys = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                "min_lr", "eps")
        return {k: getattr(self, k) for k in keys}


class _Probe:
    """An optimizer stand-in with one param group, for drawing a schedule."""

    def __init__(self, lr):
        self.param_groups = [{"lr": lr}]


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


SCHEDULERS = {c.__name__: c for c in (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
                                      CosineAnnealingWarmRestarts, WarmupCosineLR, OneCycleLR,
                                      ReduceLROnPlateau)}
