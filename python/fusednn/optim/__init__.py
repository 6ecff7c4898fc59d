"""Fused optimizers: one pass over memory per step, the same math as ``torch.optim``.

Classes (param groups, ``step``, ``zero_grad``, ``state_dict``) work on CPU torch tensors as a
drop-in for ``torch.optim``, on numpy arrays, and on a flat :class:`Arena`. The kernels
themselves are in :mod:`fusednn.optim.functional`.
"""
from . import functional, lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .arena import Arena
from .functional import NonFiniteGradError, StepResult
from .hooks import register_optimizer_step_post_hook, register_optimizer_step_pre_hook
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get(name: str, params, **kwargs) -> Optimizer:
    """An optimizer by name ("sgd", "adagrad", "rmsprop", "adam", "adamw") over ``params``."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)})") from None
    return cls(params, **kwargs)


__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Arena", "Optimizer",
           "NonFiniteGradError", "StepResult", "functional", "lr_scheduler", "get", "OPTIMIZERS",
           "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]
