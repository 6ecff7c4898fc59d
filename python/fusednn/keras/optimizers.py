"""Keras's optimizers: Keras's names, arguments and defaults, and Keras's update rules (to
float32 rounding), on fusednn's fused kernels. An optimizer is unbound until ``compile`` gives
it the model's parameters; after that ``model.optimizer`` is the fused optimizer, whose
``learning_rate`` reads and assigns the live rate and ``iterations`` counts its steps.
``learning_rate`` may be a schedule of ``keras.optimizers.schedules`` (read at each step).

Keras's rules where they differ from torch's: RMSprop and Adagrad divide by sqrt(v + epsilon)
(torch: sqrt(v) + eps), Adam adds epsilon to the uncorrected sqrt(v), ``weight_decay`` is
decoupled (p -= lr * wd * p, before the update, every variable) on every optimizer, Adagrad's
accumulator starts at 0.1. Gradients are clipped as Keras clips them, by one of ``clipnorm``
(each gradient to that norm), ``global_clipnorm`` (all of them together, fused into the step)
or ``clipvalue`` (each element). SGD's and RMSprop's momentum (Keras's velocity, kept at the
scale of the rate it was built at) is torch's buffer with its decay rescaled when the rate
changes (see _KerasVelocity): Keras's steps under a schedule too, Nesterov's included, except
at a rate of exactly 0.
"""
from __future__ import annotations

from .. import _backend
from .. import optim as _optim
from ..models.saving import register_optimizer
from . import schedules


class Optimizer:
    """A Keras optimizer's configuration; ``build_optimizer(params)`` makes the fused one."""

    fused_class = None

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        clipping = dict(clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm)
        if sum(v is not None for v in clipping.values()) > 1:
            raise ValueError(f"{type(self).__name__}: only one of clipnorm, clipvalue and "
                             f"global_clipnorm can be set, got {clipping}")
        for key, value in clipping.items():
            if value is not None and (isinstance(value, bool) or
                                      not isinstance(value, (int, float)) or not value > 0):
                raise ValueError(f"{type(self).__name__}: {key} must be a positive number, "
                                 f"got {value!r}")
        if weight_decay is not None and (isinstance(weight_decay, bool) or
                                         not isinstance(weight_decay, (int, float))
                                         or not weight_decay >= 0):
            raise ValueError(f"{type(self).__name__}: weight_decay must be a number >= 0, got "
                             f"{weight_decay!r}")
        extra = set(kwargs) - {"use_ema", "ema_momentum", "ema_overwrite_frequency",
                               "loss_scale_factor", "gradient_accumulation_steps"}
        if extra:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(extra)}")
        if kwargs.get("use_ema"):
            raise NotImplementedError(f"{type(self).__name__}: use_ema is not supported")
        iterations = 0
        if isinstance(learning_rate, dict):  # a saved schedule, with the steps it had taken
            iterations = int(learning_rate.get("iterations", 0))
            learning_rate = schedules.deserialize(learning_rate)
        elif callable(learning_rate) and not isinstance(learning_rate,
                                                        schedules.LearningRateSchedule):
            raise TypeError(f"{type(self).__name__}: learning_rate must be a number or a "
                            "keras.optimizers.schedules schedule, got "
                            f"{type(learning_rate).__name__}")
        self.learning_rate, self.weight_decay = learning_rate, weight_decay
        self.clipnorm, self.clipvalue = clipnorm, clipvalue
        self.global_clipnorm, self.name = global_clipnorm, name or type(self).__name__.lower()
        self._iterations = iterations
        self._fused, self._vars = None, []

    def _fused_arguments(self) -> dict:
        raise NotImplementedError

    def build_optimizer(self, params, max_grad_norm=None):
        clip = self.global_clipnorm if max_grad_norm is None else max_grad_norm
        schedule = self.learning_rate
        scheduled = isinstance(schedule, schedules.LearningRateSchedule)
        # the rate of the last step taken (what a saved optimizer's groups hold), or the first
        lr = schedule(max(self._iterations - 1, 0)) if scheduled else self.learning_rate
        fused = self.fused_class(params, lr=float(lr), max_grad_norm=clip,
                                 weight_decay=float(self.weight_decay or 0.0),
                                 **self._fused_arguments())
        fused.iterations = self._iterations
        fused.clipnorm, fused.clipvalue = self.clipnorm, self.clipvalue
        if scheduled:
            fused.schedule, fused.scheduled_lr = schedule, float(lr)
        fused.keras_config = self.saved_config  # to save the model
        self._fused = fused
        return fused

    @property
    def iterations(self) -> int:
        """The steps taken (by the fused optimizer once built)."""
        return self._fused.iterations if self._fused is not None else self._iterations

    def apply_gradients(self, grads_and_vars):
        """Keras's ``apply_gradients(zip(grads, variables))``: one step over the variables
        (numpy arrays, fusednn Tensors or torch tensors, updated in place). The first call
        builds the fused optimizer over them and later calls with the same variables keep its
        state; other variables build a new one."""
        pairs = list(grads_and_vars)
        if not pairs:
            raise ValueError(f"{type(self).__name__}.apply_gradients: no (gradient, variable) "
                             "pairs given")
        grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
        return self.apply(grads, variables)

    def apply(self, grads, trainable_variables=None):
        """Keras's ``apply(grads, trainable_variables)``; without variables, those of the
        previous call."""
        if trainable_variables is None:
            if self._fused is None:
                raise ValueError(f"{type(self).__name__}.apply: give the trainable_variables "
                                 "the first time")
        else:
            variables = list(trainable_variables)
            built = self._fused is not None and len(self._vars) == len(variables) and all(
                a is b for a, b in zip(self._vars, variables))
            if not built:
                self._iterations = self.iterations
                self.build_optimizer(variables)
                self._vars = variables
        grads = list(grads)
        if len(grads) != len(self._vars):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for "
                             f"{len(self._vars)} variables")
        self._fused.step(grads=grads)
        return self.iterations

    def saved_config(self):
        """(class name, config) as a saved model keeps it: a schedule serialized with the
        steps the optimizer has taken, so a loaded model resumes it."""
        config = self.get_config()
        if isinstance(self.learning_rate, schedules.LearningRateSchedule):
            config["learning_rate"] = dict(
                schedules.serialize(self.learning_rate),
                iterations=self._fused.iterations if self._fused is not None else
                self._iterations)
        return type(self).__name__, config

    def get_config(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _KerasSteps:
    """What Keras's optimizers keep beside the update: ``iterations``, the steps taken, and a
    learning-rate schedule given as ``learning_rate``, read before each step at the step's
    number (0 for the first), as Keras does. A rate set by anything else while a schedule
    drives it (a LearningRateScheduler or ReduceLROnPlateau callback, compile's lr_schedule) is
    an error at the next step, as assigning to a scheduled Keras optimizer's rate is."""

    iterations = 0
    schedule = None
    scheduled_lr = None
    clipnorm = clipvalue = None

    def step(self, closure=None, **kwargs):
        before = [g["lr"] for g in self.param_groups]
        if self.schedule is not None:
            if any(lr != self.scheduled_lr for lr in before):
                raise RuntimeError(
                    f"the learning rate is driven by the {type(self.schedule).__name__} schedule "
                    "given as this Keras optimizer's learning_rate; it cannot also be set (by a "
                    "LearningRateScheduler or ReduceLROnPlateau callback, or lr_schedule)")
            lr = float(self.schedule(self.iterations))
            for g in self.param_groups:
                if g["lr"] != lr:
                    g["lr"] = lr
            self.scheduled_lr = lr
        self._before_update(before)
        if self.clipnorm is not None or self.clipvalue is not None:
            if closure is not None:
                raise ValueError("clipnorm / clipvalue clip the gradients before the step; "
                                 "they cannot be combined with a closure")
            kwargs["grads"] = self._clipped(kwargs.get("grads"))
        out = super().step(closure, **kwargs)
        self._after_update()
        self.iterations += 1
        return out

    def _before_update(self, rates_before):
        """Called with each group's rate before this step's schedule set it."""

    def _clipped(self, grads):
        """Keras's per-variable clipping, on copies of the gradients (``grads``, or each
        parameter's ``.grad``): ``clipnorm`` scales each gradient g to
        g * clipnorm / max(|g|, clipnorm), ``clipvalue`` clips each element to
        [-clipvalue, clipvalue]; on the gradients' device, without synchronizing."""
        if grads is None:
            grads = [p.grad for group in self.param_groups for p in group["params"]]
        out = []
        for g in grads:
            if g is None:
                out.append(None)
                continue
            g = _backend.unwrap(g)
            xp = _backend.xp_of(g)
            if self.clipnorm is not None:
                clip = g.dtype.type(self.clipnorm)
                out.append(g * clip / xp.maximum(xp.sqrt(xp.sum(xp.square(g))), clip))
            else:
                bound = g.dtype.type(self.clipvalue)
                out.append(xp.clip(g, -bound, bound))
        return out

    def _after_update(self):
        """Called after a step that ran."""


class _KerasVelocity:
    """Keras's momentum (SGD's v = momentum * v - lr * g, RMSprop's v = momentum * v + lr * g /
    rms; p += v or -= v) runs in torch's form b = v / lr, the same steps while the rate is
    constant. When the rate changes from lr' to lr, Keras's velocity keeps its old scale; the
    kernels take lr' as ``buffer_lr`` and decay the buffer by momentum * lr' / lr that step. A
    rate of exactly 0 does not coast on the velocity as Keras's does: nothing moves, and the
    buffer restarts from the next gradient."""

    _rates = None  # each group's rate at its last step, by position
    _buffer_rates = None  # this step's buffer_lr of each group, by id

    def _before_update(self, rates_before):
        rates = self._rates or {}
        buffer_rates = self._buffer_rates if self._buffer_rates is not None else {}
        for i, g in enumerate(self.param_groups):
            prev = rates.get(i, rates_before[i])
            buffer_lr = 0.0 if prev == g["lr"] else prev
            if buffer_rates.get(id(g), 0.0) != buffer_lr:
                buffer_rates[id(g)] = buffer_lr
                g._changed()  # the cached hyperparameters hold the old buffer_lr
        self._buffer_rates = buffer_rates

    def _after_update(self):
        self._rates = {i: g["lr"] for i, g in enumerate(self.param_groups)}

    def _hparams(self, g):
        h = super()._hparams(g)
        h.buffer_lr = (self._buffer_rates or {}).get(id(g), 0.0)
        h.decoupled = True
        return h


class _KerasSGD(_KerasVelocity, _KerasSteps, _optim.SGD):
    pass


class _KerasRMSprop(_KerasVelocity, _KerasSteps, _optim.RMSprop):
    def _hparams(self, g):
        h = super()._hparams(g)
        h.eps_inside_sqrt = True
        return h


class _KerasAdagrad(_KerasSteps, _optim.Adagrad):
    def _hparams(self, g):
        h = super()._hparams(g)
        h.eps_inside_sqrt = h.decoupled = True
        return h


class _KerasAdam(_KerasSteps, _optim.Adam):
    def _hparams(self, g):
        h = super()._hparams(g)
        h.eps_before_bias_correction = h.decoupled = True
        return h


class SGD(Optimizer):
    fused_class = _KerasSGD

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.momentum, self.nesterov = momentum, nesterov

    def _fused_arguments(self):
        # Keras's Nesterov step without momentum is the plain step (torch refuses the pair)
        return dict(momentum=self.momentum, nesterov=bool(self.nesterov) and self.momentum > 0)


class RMSprop(Optimizer):
    fused_class = _KerasRMSprop

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _fused_arguments(self):
        return dict(alpha=self.rho, eps=self.epsilon, momentum=self.momentum,
                    centered=self.centered)


class Adagrad(Optimizer):
    fused_class = _KerasAdagrad

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _fused_arguments(self):
        return dict(initial_accumulator_value=self.initial_accumulator_value, eps=self.epsilon)


class Adam(Optimizer):
    fused_class = _KerasAdam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _fused_arguments(self):
        return dict(betas=(self.beta_1, self.beta_2), eps=self.epsilon, amsgrad=self.amsgrad)


class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **kwargs)


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam, "adamw": AdamW}
for _cls in _BY_NAME.values():
    register_optimizer(_cls.__name__, _cls)


def get(identifier):
    """An optimizer from a name (Keras's defaults), or the optimizer itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"unknown optimizer {identifier!r} (known: {', '.join(_BY_NAME)})")


def serialize(optimizer) -> dict:
    """``{"class_name": ..., "config": ...}`` for an optimizer (a schedule as its config)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"cannot serialize {optimizer!r}: not one of keras.optimizers")
    return {"class_name": type(optimizer).__name__, "config": optimizer.saved_config()[1]}


def deserialize(config):
    names = {cls.__name__: cls for cls in _BY_NAME.values()}
    if not isinstance(config, dict) or config.get("class_name") not in names:
        raise ValueError(f"not a serialized optimizer: {config!r} (known: {', '.join(names)})")
    return names[config["class_name"]].from_config(dict(config.get("config") or {}))
