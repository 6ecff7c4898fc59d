"""Fused optimizers: one pass over memory per step, the same math as ``torch.optim``.

Classes (param groups, ``step``, ``zero_grad``, ``state_dict``) work on CPU torch tensors as a
drop-in for ``torch.optim``, on numpy arrays, and on a flat :class:`Arena`. The kernels
themselves are in :mod:`fusednn.optim.functional`.
"""
from . import functional
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .arena import Arena
from .functional import NonFiniteGradError, StepResult
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Arena", "Optimizer",
           "NonFiniteGradError", "StepResult", "functional"]
