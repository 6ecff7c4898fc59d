from __future__ import annotations

from .. import _checks
from .. import _cpu
from .optimizer import Optimizer, torch_switches


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (lr_decay, initial_accumulator_value, eps, weight
    decay, maximize), plus ``l1``, fused ``max_grad_norm`` clipping and ``nonfinite``
    handling (see :mod:`fusednn.optim.functional`)."""

    kernel = "adagrad_step"

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False, foreach=None,
                 differentiable=False, fused=None, l1=0.0, max_grad_norm=None,
                 nonfinite="raise"):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize, l1=l1,
                        **torch_switches(foreach, differentiable, fused=fused))
        super().__init__(params, defaults, max_grad_norm=max_grad_norm, nonfinite=nonfinite)

    def _hparams(self, g):
        _checks.real("initial_accumulator_value", g["initial_accumulator_value"])
        return _cpu.AdagradHparams(
            lr=_checks.real("lr", g["lr"]), lr_decay=_checks.real("lr_decay", g["lr_decay"]),
            weight_decay=_checks.real("weight_decay", g["weight_decay"]),
            eps=_checks.real("eps", g["eps"]),
            maximize=_checks.flag("maximize", g["maximize"]), l1=_checks.real("l1", g["l1"]))

    def _state_fill(self, group, key):
        return float(group["initial_accumulator_value"])
