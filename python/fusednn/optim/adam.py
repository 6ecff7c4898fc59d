from __future__ import annotations

from .. import _checks
from .. import _cpu
from .optimizer import Optimizer, torch_switches


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (betas, eps, L2 weight decay or decoupled with
    ``decoupled_weight_decay=True``, amsgrad, maximize), plus ``l1``, fused ``max_grad_norm``
    clipping and ``nonfinite`` handling (see :mod:`fusednn.optim.functional`)."""

    kernel = "adam_step"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False, l1=0.0,
                 max_grad_norm=None, nonfinite="raise"):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay, l1=l1,
                        **torch_switches(foreach, differentiable, capturable=capturable,
                                        fused=fused))
        super().__init__(params, defaults, max_grad_norm=max_grad_norm, nonfinite=nonfinite)

    def _hparams(self, g):
        beta1, beta2 = _checks.betas(g["betas"])
        return _cpu.AdamHparams(
            lr=_checks.real("lr", g["lr"]), beta1=beta1, beta2=beta2,
            eps=_checks.real("eps", g["eps"]),
            weight_decay=_checks.real("weight_decay", g["weight_decay"]),
            amsgrad=_checks.flag("amsgrad", g["amsgrad"]),
            maximize=_checks.flag("maximize", g["maximize"]),
            decoupled=_checks.flag("decoupled_weight_decay", g["decoupled_weight_decay"]),
            l1=_checks.real("l1", g["l1"]))


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None, l1=0.0, max_grad_norm=None,
                 nonfinite="raise"):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True, l1=l1, max_grad_norm=max_grad_norm,
                         nonfinite=nonfinite)
