from __future__ import annotations

from .. import _checks
from .. import _cpu
from .optimizer import Optimizer, torch_switches


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (alpha, eps, momentum, centered, weight decay,
    maximize), plus ``l1``, fused ``max_grad_norm`` clipping and ``nonfinite`` handling (see
    :mod:`fusednn.optim.functional`). It counts steps, as torch does; its update does not use
    them."""

    kernel = "rmsprop_step"

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, l1=0.0, max_grad_norm=None, nonfinite="raise"):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize, l1=l1,
                        **torch_switches(foreach, differentiable, capturable=capturable))
        super().__init__(params, defaults, max_grad_norm=max_grad_norm, nonfinite=nonfinite)

    def _hparams(self, g):
        return _cpu.RmspropHparams(
            lr=_checks.real("lr", g["lr"]), alpha=_checks.real("alpha", g["alpha"], high=1.0),
            eps=_checks.real("eps", g["eps"]),
            weight_decay=_checks.real("weight_decay", g["weight_decay"]),
            momentum=_checks.real("momentum", g["momentum"]),
            centered=_checks.flag("centered", g["centered"]),
            maximize=_checks.flag("maximize", g["maximize"]), l1=_checks.real("l1", g["l1"]))
