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

Every function returns a :class:`StepResult` (on the GPU a :class:`GpuStepResult`, whose
fields are read from the device only when looked at).

On the GPU (CuPy arrays or CUDA torch tensors) the same functions run the CUDA kernels on the
caller's current stream. Parameters and gradients may be float32, float16 or bfloat16 (torch)
with float32 state. The clip scale and the non-finite decision are made on the device, so a
step never waits for the host, except ``nonfinite="raise"``, which must read the decision.
``lr`` and ``step`` may be device scalars (one-element float32 GPU arrays): a step then reads
nothing from the host and can be captured in a CUDA graph (advance a device ``step`` yourself).
"""
from __future__ import annotations

import math
import struct
from typing import NamedTuple

from .. import _backend
from .. import _checks


class NonFiniteGradError(FloatingPointError):
    """A gradient held NaN or infinity; the step was not applied."""


def nonfinite_error(norm=None) -> NonFiniteGradError:
    where = "" if norm is None else f" (global norm {norm})"
    return NonFiniteGradError(
        f"non-finite gradient{where}; the step was not applied and parameters and optimizer "
        "state are unchanged (nonfinite='skip' skips instead)")


class Control(NamedTuple):
    """The device StepControl of csrc/cuda/multi_tensor.cuh, read back to the host."""
    scale: float
    norm: float
    skip: bool
    skipped: int  # steps skipped since the buffer was made


def read_control(buffer) -> Control:
    """Read a GPU StepControl buffer (this waits for the stream to reach it)."""
    scale, norm, skip, skipped = struct.unpack_from("<ffii", _backend.gpu_to_host(buffer))
    return Control(scale, norm, bool(skip), skipped)


class GpuStepResult:
    """The outcome of a GPU step, read from the device on first access (that read waits for
    the step to finish)."""

    def __init__(self, control):
        self._control, self._values = control, None

    def _read(self) -> Control:
        if self._values is None:
            self._values = read_control(self._control)
        return self._values

    @property
    def applied(self) -> bool:
        return True if self._control is None else not self._read().skip

    @property
    def grad_norm(self):
        return None if self._control is None else float(self._read().norm)

    def __repr__(self):
        return f"GpuStepResult(applied={self.applied}, grad_norm={self.grad_norm})"


class StepResult(NamedTuple):
    applied: bool
    """False when the step was skipped because of non-finite gradients."""
    grad_norm: float | None
    """Global L2 norm of the raw gradients, when it was computed (clipping or checking)."""


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


class _Call(NamedTuple):
    """Validated arguments of one fused step: addresses, sizes, and for the GPU the element
    type, the stream and an array whose library allocates scratch buffers."""
    gpu: bool
    params: list
    grads: list
    states: dict
    sizes: list
    dtype: int = 0
    stream: int = 0
    like: object = None


def _gather(params, grads, states) -> _Call:
    """Validate everything; ``states`` maps each state argument's name to its arrays (or None
    when unused). Runs on the GPU when the first parameter is a GPU array."""
    params, grads = _as_list(params), _as_list(grads)
    if len(grads) != len(params):
        raise ValueError(f"grads has {len(grads)} entries but params has {len(params)}")
    for name, arrays in states.items():
        if arrays is not None and len(_as_list(arrays)) != len(params):
            raise ValueError(f"{name} has {len(_as_list(arrays))} entries but params has "
                             f"{len(params)}")
    if params and _backend.is_gpu_array(params[0]):
        return gather_gpu(params, grads, states)
    p_addr, sizes, shapes = _backend.spans(params, "params", writable=True)
    g_addr, _, _ = _backend.spans(grads, "grads", writable=False, shapes=shapes)
    s_addr = {name: [] if arrays is None else
              _backend.spans(_as_list(arrays), name, writable=True, shapes=shapes)[0]
              for name, arrays in states.items()}
    return _Call(False, p_addr, g_addr, s_addr, sizes)


def gather_gpu(params, grads, states, prefix="") -> _Call:
    """The GPU half of _gather (also the optimizer classes' GPU step); `prefix` goes before
    every argument name in messages."""
    dtypes = tuple(_backend.GPU_DTYPES)
    first = _backend.gpu_span(params[0], f"{prefix}params[0]", True, dtypes)
    spans = {"params": [_backend.gpu_span(p, f"{prefix}params[{i}]", True, dtypes)
                        for i, p in enumerate(params)],
             "grads": [_backend.gpu_span(g, f"{prefix}grads[{i}]", False, dtypes)
                       for i, g in enumerate(grads)]}
    for name, arrays in states.items():
        if arrays is not None:
            spans[name] = [_backend.gpu_span(a, f"{prefix}{name}[{i}]", True)
                           for i, a in enumerate(_as_list(arrays))]
    for name, group in spans.items():
        for i, sp in enumerate(group):
            where = f"{prefix}{name}[{i}]"
            if sp.device != first.device and None not in (sp.device, first.device):
                raise ValueError(f"{where}: is on cuda:{sp.device} but {prefix}params[0] is on "
                                 f"cuda:{first.device}")
            if i < len(params) and sp.shape != spans["params"][i].shape:
                raise ValueError(f"{where}: shape {sp.shape} does not match {prefix}params[{i}] "
                                 f"shape {spans['params'][i].shape}")
            if name in ("params", "grads") and sp.dtype != first.dtype:
                raise TypeError(f"{where}: is {sp.dtype} but {prefix}params[0] is "
                                f"{first.dtype}; parameters and gradients share one type")
    stream = _backend.gpu_stream(first)
    addresses = {name: [sp.address for sp in group] for name, group in spans.items()}
    s_addr = {name: addresses.get(name, []) for name in states}
    return _Call(True, addresses["params"], addresses["grads"], s_addr,
                 [sp.size for sp in spans["params"]], _backend.GPU_DTYPES[first.dtype], stream,
                 first)


def _device_scalar(name, value, check, *args):
    """(host value, 0) or, for a one-element float32 GPU array, (placeholder, its address)."""
    if _backend.is_gpu_array(value):
        span = _backend.gpu_span(value, name, writable=False)
        if span.size != 1:
            raise ValueError(f"{name}: a device scalar must have one element, got {span.size}")
        return 1.0, span.address
    return check(name, value, *args), 0


def _run_gpu(kernel, call, max_grad_norm, nonfinite, **kwargs):
    """Norm/clip/non-finite control on the device (when asked for), then the update kernel."""
    mod = _backend.cuda_module()
    control = None
    if max_grad_norm is not None or nonfinite != "ignore":
        workspace = _backend.gpu_zeros(mod.grad_norm_workspace_bytes(call.sizes), call.like)
        control = _backend.gpu_zeros(mod.control_bytes, call.like)
        mod.grad_norm(call.grads, call.sizes, call.dtype, _backend.gpu_address(workspace),
                      _backend.gpu_address(control), max_grad_norm or 0.0,
                      nonfinite != "ignore", call.stream)
    getattr(mod, kernel)(params=call.params, grads=call.grads, sizes=call.sizes,
                         dtype=call.dtype, control=_backend.gpu_address(control)
                         if control is not None else 0, stream=call.stream, **kwargs)
    result = GpuStepResult(control)
    if nonfinite == "raise" and control is not None and not result.applied:
        raise nonfinite_error()
    return result


def grad_scale(grad_addresses, sizes, max_grad_norm, nonfinite):
    """One reduction pass over the gradients: (scale, norm), or None to skip the step."""
    if max_grad_norm is None and nonfinite == "ignore":
        return 1.0, None
    norm = math.sqrt(_backend.cpu_module().grad_sum_squares(grad_addresses, sizes))
    if not math.isfinite(norm) and nonfinite != "ignore":
        if nonfinite == "raise":
            raise nonfinite_error(norm)
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
    lr, lr_ptr = _device_scalar("lr", lr, _checks.real)
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
    first_step = _checks.flag("first_step", first_step)
    call = _gather(params, grads, {"momentum_buffers": momentum_buffers})
    hyper = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                 weight_decay=weight_decay, maximize=maximize, l1=l1, first_step=first_step)
    if call.gpu:
        return _run_gpu("sgd_step", call, max_grad_norm, nonfinite, grad_scale=1.0,
                        momentum_buffers=call.states["momentum_buffers"], lr_ptr=lr_ptr,
                        **hyper)
    scaled = grad_scale(call.grads, call.sizes, max_grad_norm, nonfinite)
    if scaled is None:
        return StepResult(False, math.nan)
    _backend.cpu_module().sgd_step(call.params, call.grads, call.states["momentum_buffers"],
                                   call.sizes, grad_scale=scaled[0], **hyper)
    return StepResult(True, scaled[1])


def adagrad_(params, grads, state_sums, *, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
             eps=1e-10, maximize=False, l1=0.0, max_grad_norm=None,
             nonfinite="raise") -> StepResult:
    """Adagrad as ``torch.optim.Adagrad``; ``step`` is the 1-based step being taken.
    Start ``state_sums`` at ``initial_accumulator_value``."""
    lr, lr_ptr = _device_scalar("lr", lr, _checks.real)
    lr_decay = _checks.real("lr_decay", lr_decay)
    eps = _checks.real("eps", eps)
    step, step_ptr = _device_scalar("step", step, _checks.step_count)
    weight_decay, l1, maximize, max_grad_norm, nonfinite = _common(
        weight_decay, l1, maximize, max_grad_norm, nonfinite)
    call = _gather(params, grads, {"state_sums": state_sums})
    hyper = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                 maximize=maximize, l1=l1, step=step)
    if call.gpu:
        return _run_gpu("adagrad_step", call, max_grad_norm, nonfinite, grad_scale=1.0,
                        state_sums=call.states["state_sums"], lr_ptr=lr_ptr,
                        steps=[step_ptr] * len(call.sizes) if step_ptr else [], **hyper)
    scaled = grad_scale(call.grads, call.sizes, max_grad_norm, nonfinite)
    if scaled is None:
        return StepResult(False, math.nan)
    _backend.cpu_module().adagrad_step(call.params, call.grads, call.states["state_sums"],
                                       call.sizes, grad_scale=scaled[0], **hyper)
    return StepResult(True, scaled[1])


def rmsprop_(params, grads, square_avgs, momentum_buffers=None, grad_avgs=None, *, lr=1e-2,
             alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
             maximize=False, l1=0.0, max_grad_norm=None, nonfinite="raise") -> StepResult:
    """RMSprop as ``torch.optim.RMSprop``. ``momentum_buffers`` are needed when
    ``momentum > 0``, ``grad_avgs`` when ``centered``."""
    lr, lr_ptr = _device_scalar("lr", lr, _checks.real)
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
    call = _gather(params, grads, {
        "square_avgs": square_avgs,
        "momentum_buffers": momentum_buffers if momentum > 0 else None,
        "grad_avgs": grad_avgs if centered else None})
    hyper = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                 centered=centered, maximize=maximize, l1=l1)
    states = dict(square_avgs=call.states["square_avgs"],
                  momentum_buffers=call.states["momentum_buffers"],
                  grad_avgs=call.states["grad_avgs"])
    if call.gpu:
        return _run_gpu("rmsprop_step", call, max_grad_norm, nonfinite, grad_scale=1.0,
                        lr_ptr=lr_ptr, **states, **hyper)
    scaled = grad_scale(call.grads, call.sizes, max_grad_norm, nonfinite)
    if scaled is None:
        return StepResult(False, math.nan)
    _backend.cpu_module().rmsprop_step(call.params, call.grads, sizes=call.sizes,
                                       grad_scale=scaled[0], **states, **hyper)
    return StepResult(True, scaled[1])


def adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, step, lr=1e-3,
          betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
          amsgrad=False, maximize=False, l1=0.0, max_grad_norm=None,
          nonfinite="raise") -> StepResult:
    """Adam as ``torch.optim.Adam`` (``decoupled_weight_decay=True``: AdamW); ``step`` is the
    1-based step being taken. ``max_exp_avg_sqs`` are needed when ``amsgrad``."""
    lr, lr_ptr = _device_scalar("lr", lr, _checks.real)
    beta1, beta2 = _checks.betas(betas)
    eps = _checks.real("eps", eps)
    step, step_ptr = _device_scalar("step", step, _checks.step_count)
    amsgrad = _checks.flag("amsgrad", amsgrad)
    decoupled = _checks.flag("decoupled_weight_decay", decoupled_weight_decay)
    weight_decay, l1, maximize, max_grad_norm, nonfinite = _common(
        weight_decay, l1, maximize, max_grad_norm, nonfinite)
    if amsgrad and max_exp_avg_sqs is None:
        raise ValueError("max_exp_avg_sqs are required when amsgrad=True")
    call = _gather(params, grads, {
        "exp_avgs": exp_avgs, "exp_avg_sqs": exp_avg_sqs,
        "max_exp_avg_sqs": max_exp_avg_sqs if amsgrad else None})
    hyper = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                 decoupled=decoupled, amsgrad=amsgrad, maximize=maximize, l1=l1, step=step)
    if call.gpu:
        return _run_gpu("adam_step", call, max_grad_norm, nonfinite, grad_scale=1.0,
                        lr_ptr=lr_ptr, steps=[step_ptr] * len(call.sizes) if step_ptr else [],
                        **call.states, **hyper)
    scaled = grad_scale(call.grads, call.sizes, max_grad_norm, nonfinite)
    if scaled is None:
        return StepResult(False, math.nan)
    _backend.cpu_module().adam_step(call.params, call.grads, sizes=call.sizes,
                                    grad_scale=scaled[0], **call.states, **hyper)
    return StepResult(True, scaled[1])


def adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, step, lr=1e-3,
           betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False,
           l1=0.0, max_grad_norm=None, nonfinite="raise") -> StepResult:
    """AdamW as ``torch.optim.AdamW``: Adam with decoupled weight decay."""
    return adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step=step, lr=lr,
                 betas=betas, eps=eps, weight_decay=weight_decay, decoupled_weight_decay=True,
                 amsgrad=amsgrad, maximize=maximize, l1=l1, max_grad_norm=max_grad_norm,
                 nonfinite=nonfinite)
