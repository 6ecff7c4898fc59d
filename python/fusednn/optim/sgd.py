from __future__ import annotations

from .. import _checks
from .. import _cpu
from .optimizer import Optimizer, torch_switches


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (momentum, dampening, Nesterov,
    weight decay, maximize), plus ``l1``, fused ``max_grad_norm`` clipping and ``nonfinite``
    handling (see :mod:`fusednn.optim.functional`). The momentum buffer is created at the
    first step with momentum, from the gradient (torch's rule); momentum 0 keeps no state."""

    kernel = "sgd_step"

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None, l1=0.0, max_grad_norm=None, nonfinite="raise"):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize, l1=l1,
                        **torch_switches(foreach, differentiable, fused=fused))
        super().__init__(params, defaults, max_grad_norm=max_grad_norm, nonfinite=nonfinite)

    def _hparams(self, g):
        h = _cpu.SgdHparams(
            lr=_checks.real("lr", g["lr"]), momentum=_checks.real("momentum", g["momentum"]),
            dampening=_checks.real("dampening", g["dampening"]),
            weight_decay=_checks.real("weight_decay", g["weight_decay"]),
            nesterov=_checks.flag("nesterov", g["nesterov"]),
            maximize=_checks.flag("maximize", g["maximize"]), l1=_checks.real("l1", g["l1"]))
        _checks.sgd_options(h)
        return h
