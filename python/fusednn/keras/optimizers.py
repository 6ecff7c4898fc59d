"""Keras's optimizers: Keras's names, arguments and defaults, and Keras's update rules (to
float32 rounding), on fusednn's fused kernels. An optimizer is unbound until ``compile`` gives
it the model's parameters; after that ``model.optimizer`` is the fused optimizer, whose
``learning_rate`` reads and assigns the live rate.

Keras's rules where they differ from torch's: RMSprop and Adagrad divide by sqrt(v + epsilon)
(torch: sqrt(v) + eps), Adam adds epsilon to the uncorrected sqrt(v), ``weight_decay`` is
decoupled (p -= lr * wd * p) on every optimizer that takes it here, Adagrad's accumulator starts
at 0.1. SGD's momentum (m = momentum*m - lr*g; p += m) is torch's buffer scaled by -lr: the
same steps while the learning rate is constant.
"""
from __future__ import annotations

from .. import optim as _optim
from ..models.saving import register_optimizer


class Optimizer:
    """A Keras optimizer's configuration; ``build_optimizer(params)`` makes the fused one."""

    fused_class = None

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        unsupported = {k: v for k, v in dict(clipnorm=clipnorm, clipvalue=clipvalue).items()
                       if v is not None}
        if unsupported:
            raise NotImplementedError(f"{type(self).__name__}: {sorted(unsupported)} (per-variable "
                                      "clipping) is not supported; use global_clipnorm (clipping by"
                                      " the global norm, fused into the step)")
        extra = set(kwargs) - {"use_ema", "ema_momentum", "ema_overwrite_frequency",
                               "loss_scale_factor", "gradient_accumulation_steps"}
        if extra:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(extra)}")
        if kwargs.get("use_ema"):
            raise NotImplementedError(f"{type(self).__name__}: use_ema is not supported")
        self.learning_rate, self.weight_decay = learning_rate, weight_decay
        self.global_clipnorm, self.name = global_clipnorm, name or type(self).__name__.lower()

    def _fused_arguments(self) -> dict:
        raise NotImplementedError

    def build_optimizer(self, params, max_grad_norm=None):
        if callable(self.learning_rate):
            raise TypeError("a learning-rate schedule object is not supported as learning_rate; "
                            "use compile(lr_schedule=...) or the LearningRateScheduler callback")
        clip = self.global_clipnorm if max_grad_norm is None else max_grad_norm
        fused = self.fused_class(params, lr=float(self.learning_rate), max_grad_norm=clip,
                                 **self._fused_arguments())
        fused.keras_config = (type(self).__name__, self.get_config())  # to save the model
        return fused

    def get_config(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


def _no_weight_decay(opt):
    if opt.weight_decay:
        raise NotImplementedError(f"{type(opt).__name__}: Keras's decoupled weight_decay is "
                                  "supported on Adam and AdamW here; use a kernel_regularizer")


class _KerasRMSprop(_optim.RMSprop):
    def _hparams(self, g):
        h = super()._hparams(g)
        h.eps_inside_sqrt = True
        return h


class _KerasAdagrad(_optim.Adagrad):
    def _hparams(self, g):
        h = super()._hparams(g)
        h.eps_inside_sqrt = True
        return h


class _KerasAdam(_optim.Adam):
    def _hparams(self, g):
        h = super()._hparams(g)
        h.eps_before_bias_correction = True
        return h


class SGD(Optimizer):
    fused_class = _optim.SGD

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.momentum, self.nesterov = momentum, nesterov

    def _fused_arguments(self):
        _no_weight_decay(self)
        return dict(momentum=self.momentum, nesterov=self.nesterov)


class RMSprop(Optimizer):
    fused_class = _KerasRMSprop

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _fused_arguments(self):
        _no_weight_decay(self)
        return dict(alpha=self.rho, eps=self.epsilon, momentum=self.momentum,
                    centered=self.centered)


class Adagrad(Optimizer):
    fused_class = _KerasAdagrad

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _fused_arguments(self):
        _no_weight_decay(self)
        return dict(initial_accumulator_value=self.initial_accumulator_value, eps=self.epsilon)


class Adam(Optimizer):
    fused_class = _KerasAdam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _fused_arguments(self):
        return dict(betas=(self.beta_1, self.beta_2), eps=self.epsilon, amsgrad=self.amsgrad,
                    weight_decay=self.weight_decay or 0.0, decoupled_weight_decay=True)


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
    raise ValueError(f"unknown optimizer {identifier!r} (known: {', '.join(_BY_NAME)})")
