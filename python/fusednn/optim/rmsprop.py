from __future__ import annotations

from .. import _checks
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (alpha, eps, momentum, centered, weight decay,
    maximize), plus ``l1``, fused ``max_grad_norm`` clipping and ``nonfinite`` handling (see
    :mod:`fusednn.optim.functional`)."""

    step_in_math = False  # counts steps, as torch does, but its update does not use them

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False, l1=0.0, max_grad_norm=None,
                 nonfinite="raise"):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize, l1=l1)
        super().__init__(params, defaults, max_grad_norm=max_grad_norm, nonfinite=nonfinite)

    def _hyper(self, g):
        return dict(lr=_checks.real("lr", g["lr"]), alpha=_checks.real("alpha", g["alpha"], high=1.0),
                    eps=_checks.real("eps", g["eps"]),
                    weight_decay=_checks.real("weight_decay", g["weight_decay"]),
                    momentum=_checks.real("momentum", g["momentum"]),
                    centered=_checks.flag("centered", g["centered"]),
                    maximize=_checks.flag("maximize", g["maximize"]), l1=_checks.real("l1", g["l1"]))

    def _state_names(self, h):
        # Order matches the kernel: square_avg, momentum_buffer, grad_avg.
        names = ["square_avg"]
        if h["momentum"] > 0:
            names.append("momentum_buffer")
        if h["centered"]:
            names.append("grad_avg")
        return names

    def _new_state(self, p, h):
        return {"step": 0, **super()._new_state(p, h)}


    kernel = "rmsprop_step"

    def _kernel_args(self, h, states, step, first_step):
        by_name = dict(zip(self._state_names(h), states))
        return dict(square_avgs=by_name["square_avg"],
                    momentum_buffers=by_name.get("momentum_buffer", []),
                    grad_avgs=by_name.get("grad_avg", []), lr=h["lr"], alpha=h["alpha"],
                    eps=h["eps"], weight_decay=h["weight_decay"], momentum=h["momentum"],
                    centered=h["centered"], maximize=h["maximize"], l1=h["l1"])
