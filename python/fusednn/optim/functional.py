"""Fused optimizer steps on anyone's arrays.

Each function updates ``params`` and the optimizer state in place, in one pass over memory,
with the same math as the matching ``torch.optim`` optimizer. Arrays are numpy float32 arrays
or CPU ``torch.Tensor`` s of float32, C-contiguous; pass lists (one entry per tensor, all
updated in one call) or single arrays (a flat arena: the fastest streaming pass).

Options every function shares:

* ``l1``: adds ``l1 * sign(param)`` to the gradient (L1 regularization), next to the L2
  ``weight_decay``.
* ``max_grad_norm``: clips the gradients by their global L2 norm before the update, exactly
  like ``torch.nn.utils.clip_grad_norm_`` followed by the step, but fused: one reduction
  pass, the scale applied inside the update, the gradients themselves left untouched.
* ``nonfinite``: what to do if any gradient holds NaN or infinity. ``"raise"`` (default)
  raises :class:`NonFiniteGradError`, ``"skip"`` returns without touching anything
  (``StepResult.applied`` is False); both leave parameters and state untouched. ``"ignore"``
  skips the check (one read of the gradients less) and lets NaN flow as torch.optim would.

Every function returns a :class:`StepResult`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from .. import _backend
from . import _checks


class NonFiniteGradError(FloatingPointError):
    """A gradient held NaN or infinity; the step was not applied."""


class StepResult(NamedTuple):
    applied: bool
    """False when the step was skipped because of non-finite gradients."""
    grad_norm: float | None
    """Global L2 norm of the raw gradients, when it was computed (clipping or checking)."""


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _gather(params, grads, states):
    """Validate everything and return (param addresses, grad addresses, state addresses, sizes).

    ``states`` maps each state argument's name to its arrays (or None when unused).
    """
    params, grads = _as_list(params), _as_list(grads)
    if len(grads) != len(params):
        raise ValueError(f"grads has {len(grads)} entries but params has {len(params)}")
    p_addr, sizes, shapes = _backend.spans(params, "params", writable=True)
    g_addr, _, _ = _backend.spans(grads, "grads", writable=False, shapes=shapes)
    s_addr = {}
    for name, arrays in states.items():
        if arrays is None:
            s_addr[name] = []
            continue
        arrays = _as_list(arrays)
        if len(arrays) != len(params):
            raise ValueError(f"{name} has {len(arrays)} entries but params has {len(params)}")
        s_addr[name], _, _ = _backend.spans(arrays, name, writable=True, shapes=shapes)
    return p_addr, g_addr, s_addr, sizes


def grad_scale(grad_addresses, sizes, max_grad_norm, nonfinite):
    """One reduction pass over the gradients: (scale, norm), or None to skip the step."""
    if max_grad_norm is None and nonfinite == "ignore":
        return 1.0, None
    norm = math.sqrt(_backend.cpu_module().grad_sum_squares(grad_addresses, sizes))
    if not math.isfinite(norm) and nonfinite != "ignore":
        if nonfinite == "raise":
            raise NonFiniteGradError(
                f"non-finite gradient (global norm {norm}); the step was not applied and "
                "parameters and optimizer state are unchanged (nonfinite='skip' skips instead)")
        return None
    if max_grad_norm is None:
        return 1.0, norm
    # Same coefficient as torch.nn.utils.clip_grad_norm_.
    return min(1.0, max_grad_norm / (norm + 1e-6)), norm


def _common(weight_decay, l1, maximize, max_grad_norm, nonfinite):
    return (_checks.real("weight_decay", weight_decay), _checks.real("l1", l1),
            _checks.flag("maximize", maximize), _checks.max_grad_norm(max_grad_norm),
            _checks.nonfinite(nonfinite))


def sgd_(params, grads, momentum_buffers=None, *, lr, momentum=0.0, dampening=0.0,
         nesterov=False, weight_decay=0.0, maximize=False, l1=0.0, first_step=False,
         max_grad_norm=None, nonfinite="raise") -> StepResult:
    """SGD as ``torch.optim.SGD``. ``momentum_buffers`` is needed when ``momentum != 0``;
    ``first_step=True`` initializes them from the gradient (torch's first-step rule)."""
    lr = _checks.real("lr", lr)
    momentum = _checks.real("momentum", momentum)
    dampening = _checks.real("dampening", dampening)
    nesterov = _checks.flag("nesterov", nesterov)
    weight_decay, l1, maximize, max_grad_norm, nonfinite = _common(
        weight_decay, l1, maximize, max_grad_norm, nonfinite)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("nesterov requires momentum > 0 and dampening == 0")
    if momentum != 0 and momentum_buffers is None:
        raise ValueError("momentum_buffers are required when momentum != 0")
    if momentum == 0:
        momentum_buffers = None
    p, g, s, sizes = _gather(params, grads, {"momentum_buffers": momentum_buffers})
    scaled = grad_scale(g, sizes, max_grad_norm, nonfinite)
    if scaled is None:
        return StepResult(False, math.nan)
    _backend.cpu_module().sgd_step(
        p, g, s["momentum_buffers"], sizes, lr=lr, momentum=momentum, dampening=dampening,
        nesterov=nesterov, weight_decay=weight_decay, maximize=maximize, l1=l1,
        grad_scale=scaled[0], first_step=_checks.flag("first_step", first_step))
    return StepResult(True, scaled[1])


def adagrad_(params, grads, state_sums, *, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
             eps=1e-10, maximize=False, l1=0.0, max_grad_norm=None,
             nonfinite="raise") -> StepResult:
    """Adagrad as ``torch.optim.Adagrad``; ``step`` is the 1-based step being taken.
    Start ``state_sums`` at ``initial_accumulator_value``."""
    lr = _checks.real("lr", lr)
    lr_decay = _checks.real("lr_decay", lr_decay)
    eps = _checks.real("eps", eps)
    step = _checks.step_count("step", step)
    weight_decay, l1, maximize, max_grad_norm, nonfinite = _common(
        weight_decay, l1, maximize, max_grad_norm, nonfinite)
    p, g, s, sizes = _gather(params, grads, {"state_sums": state_sums})
    scaled = grad_scale(g, sizes, max_grad_norm, nonfinite)
    if scaled is None:
        return StepResult(False, math.nan)
    _backend.cpu_module().adagrad_step(
        p, g, s["state_sums"], sizes, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
        eps=eps, maximize=maximize, l1=l1, grad_scale=scaled[0], step=step)
    return StepResult(True, scaled[1])


def rmsprop_(params, grads, square_avgs, momentum_buffers=None, grad_avgs=None, *, lr=1e-2,
             alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
             maximize=False, l1=0.0, max_grad_norm=None, nonfinite="raise") -> StepResult:
    """RMSprop as ``torch.optim.RMSprop``. ``momentum_buffers`` are needed when
    ``momentum > 0``, ``grad_avgs`` when ``centered``."""
    lr = _checks.real("lr", lr)
    alpha = _checks.real("alpha", alpha, high=1.0)
    eps = _checks.real("eps", eps)
    momentum = _checks.real("momentum", momentum)
    centered = _checks.flag("centered", centered)
    weight_decay, l1, maximize, max_grad_norm, nonfinite = _common(
        weight_decay, l1, maximize, max_grad_norm, nonfinite)
    if momentum > 0 and momentum_buffers is None:
        raise ValueError("momentum_buffers are required when momentum > 0")
    if centered and grad_avgs is None:
        raise ValueError("grad_avgs are required when centered=True")
    p, g, s, sizes = _gather(params, grads, {
        "square_avgs": square_avgs,
        "momentum_buffers": momentum_buffers if momentum > 0 else None,
        "grad_avgs": grad_avgs if centered else None})
    scaled = grad_scale(g, sizes, max_grad_norm, nonfinite)
    if scaled is None:
        return StepResult(False, math.nan)
    _backend.cpu_module().rmsprop_step(
        p, g, s["square_avgs"], s["momentum_buffers"], s["grad_avgs"], sizes, lr=lr,
        alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered,
        maximize=maximize, l1=l1, grad_scale=scaled[0])
    return StepResult(True, scaled[1])


def adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, step, lr=1e-3,
          betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
          amsgrad=False, maximize=False, l1=0.0, max_grad_norm=None,
          nonfinite="raise") -> StepResult:
    """Adam as ``torch.optim.Adam`` (``decoupled_weight_decay=True``: AdamW); ``step`` is the
    1-based step being taken. ``max_exp_avg_sqs`` are needed when ``amsgrad``."""
    lr = _checks.real("lr", lr)
    beta1, beta2 = _checks.betas(betas)
    eps = _checks.real("eps", eps)
    step = _checks.step_count("step", step)
    amsgrad = _checks.flag("amsgrad", amsgrad)
    decoupled = _checks.flag("decoupled_weight_decay", decoupled_weight_decay)
    weight_decay, l1, maximize, max_grad_norm, nonfinite = _common(
        weight_decay, l1, maximize, max_grad_norm, nonfinite)
    if amsgrad and max_exp_avg_sqs is None:
        raise ValueError("max_exp_avg_sqs are required when amsgrad=True")
    p, g, s, sizes = _gather(params, grads, {
        "exp_avgs": exp_avgs, "exp_avg_sqs": exp_avg_sqs,
        "max_exp_avg_sqs": max_exp_avg_sqs if amsgrad else None})
    scaled = grad_scale(g, sizes, max_grad_norm, nonfinite)
    if scaled is None:
        return StepResult(False, math.nan)
    _backend.cpu_module().adam_step(
        p, g, s["exp_avgs"], s["exp_avg_sqs"], s["max_exp_avg_sqs"], sizes, lr=lr,
        beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
        amsgrad=amsgrad, maximize=maximize, l1=l1, grad_scale=scaled[0], step=step)
    return StepResult(True, scaled[1])


def adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, step, lr=1e-3,
           betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False,
           l1=0.0, max_grad_norm=None, nonfinite="raise") -> StepResult:
    """AdamW as ``torch.optim.AdamW``: Adam with decoupled weight decay."""
    return adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step=step, lr=lr,
                 betas=betas, eps=eps, weight_decay=weight_decay, decoupled_weight_decay=True,
                 amsgrad=amsgrad, maximize=maximize, l1=l1, max_grad_norm=max_grad_norm,
                 nonfinite=nonfinite)
