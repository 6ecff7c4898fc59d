from __future__ import annotations

from .. import _checks
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (momentum, dampening, Nesterov,
    weight decay, maximize), plus ``l1``, fused ``max_grad_norm`` clipping and ``nonfinite``
    handling (see :mod:`fusednn.optim.functional`)."""

    tracks_step = False
    step_in_math = False

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, l1=0.0, max_grad_norm=None,
                 nonfinite="raise"):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize, l1=l1)
        super().__init__(params, defaults, max_grad_norm=max_grad_norm, nonfinite=nonfinite)

    def _hyper(self, g):
        h = dict(lr=_checks.real("lr", g["lr"]), momentum=_checks.real("momentum", g["momentum"]),
                 dampening=_checks.real("dampening", g["dampening"]),
                 weight_decay=_checks.real("weight_decay", g["weight_decay"]),
                 nesterov=_checks.flag("nesterov", g["nesterov"]),
                 maximize=_checks.flag("maximize", g["maximize"]), l1=_checks.real("l1", g["l1"]))
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise ValueError("nesterov requires momentum > 0 and dampening == 0")
        return h

    def _state_names(self, h):
        return ["momentum_buffer"] if h["momentum"] != 0 else []

    def _new_state(self, p, h):
        # Created at the first step with momentum, from the gradient (torch's rule).
        return {}

    kernel = "sgd_step"

    def _kernel_args(self, h, states, step, first_step):
        return dict(momentum_buffers=states[0] if states else [], lr=h["lr"],
                    momentum=h["momentum"], dampening=h["dampening"], nesterov=h["nesterov"],
                    weight_decay=h["weight_decay"], maximize=h["maximize"], l1=h["l1"],
                    first_step=first_step)
