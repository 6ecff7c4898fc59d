from __future__ import annotations

from .. import _checks
from .optimizer import Optimizer, zeros_like


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (lr_decay, initial_accumulator_value, eps, weight
    decay, maximize), plus ``l1``, fused ``max_grad_norm`` clipping and ``nonfinite``
    handling (see :mod:`fusednn.optim.functional`)."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False, l1=0.0,
                 max_grad_norm=None, nonfinite="raise"):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize, l1=l1)
        super().__init__(params, defaults, max_grad_norm=max_grad_norm, nonfinite=nonfinite)

    def _hyper(self, g):
        return dict(lr=_checks.real("lr", g["lr"]), lr_decay=_checks.real("lr_decay", g["lr_decay"]),
                    weight_decay=_checks.real("weight_decay", g["weight_decay"]),
                    initial_accumulator_value=_checks.real(
                        "initial_accumulator_value", g["initial_accumulator_value"]),
                    eps=_checks.real("eps", g["eps"]),
                    maximize=_checks.flag("maximize", g["maximize"]), l1=_checks.real("l1", g["l1"]))

    def _state_names(self, h):
        return ["sum"]

    def _new_state(self, p, h):
        return {"step": 0, "sum": zeros_like(p, h["initial_accumulator_value"])}

    kernel = "adagrad_step"

    def _kernel_args(self, h, states, step, first_step):
        return dict(state_sums=states[0], lr=h["lr"], lr_decay=h["lr_decay"],
                    weight_decay=h["weight_decay"], eps=h["eps"], maximize=h["maximize"],
                    l1=h["l1"], step=step)
