"""Fused optimizer steps on anyone's arrays.

Each function updates ``params`` and the optimizer state in place, in one pass over memory,
with the same math as the matching ``torch.optim`` optimizer. Arrays are numpy arrays or CPU
``torch.Tensor`` s, C-contiguous: parameters and gradients float32, float64, float16 or
bfloat16 (one type per call), state float64 for float64 parameters and float32 otherwise (the
math runs in the state's type, 16-bit values converted in registers); pass lists (one entry
per tensor, all updated in one call) or single arrays (a flat arena: the fastest streaming
pass).

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
from typing import NamedTuple

from .. import _backend
from .. import _checks
from .. import _cpu


class NonFiniteGradError(FloatingPointError):
    """A gradient held NaN or infinity; the step was not applied."""


def nonfinite_error(norm=None) -> NonFiniteGradError:
    where = "" if norm is None else f" (global norm {norm})"
    return NonFiniteGradError(
        f"non-finite gradient{where}; the step was not applied and parameters and optimizer "
        "state are unchanged (nonfinite='skip' skips instead)")


def read_control(buffer, stream=None):
    """Read a GPU StepControl buffer on ``stream``, the stream of the step that wrote it (the
    read waits for that step): an object with ``scale``, ``norm``, ``skip`` and ``skipped``
    (the layout is fusednn/step_control.h's)."""
    return _backend.cuda_module().StepControl.from_bytes(_backend.gpu_to_host(buffer, stream))


class GpuStepResult:
    """The outcome of a GPU step, read from the device on first access (that read waits for
    the step to finish, on the step's stream, whatever stream is current then)."""

    def __init__(self, control, stream=None):
        self._control, self._stream, self._values = control, stream, None

    def _read(self):  # the StepControl the step wrote
        if self._values is None:
            self._values = read_control(self._control, self._stream)
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


class Call(NamedTuple):
    """One kernel call of a step: the hyperparameters (a bound struct such as
    ``fusednn._cpu.AdamHparams``, its ``step`` already set), the arrays, and on the GPU the
    device step counters and lr. ``prefix`` goes before every argument name in messages."""
    hparams: object
    params: object
    grads: object
    states: list
    prefix: str = ""
    steps: object = None  # GPU: one device step counter per tensor, read by the kernel
    lr: object = None  # GPU: a one-element device array read instead of hparams.lr
    advance_steps: bool = False  # GPU: add 1 to each counter first, unless the step is skipped


def _as_list(x):
    return x if isinstance(x, list) else list(x) if isinstance(x, tuple) else [x]


def _first(x):
    """The first array of a list argument (None for an empty list)."""
    if isinstance(x, (list, tuple)):
        return x[0] if x else None
    return x


def fused_step(kernel: str, calls, max_grad_norm, nonfinite, control=None, buffers=None,
               stream=None):
    """The one route of every fused update, for the functional API and the optimizer classes.

    One C++ call takes every kernel call of the step: it checks all their arrays (nothing
    written may overlap anything else), computes the global gradient norm when clipping or
    checking asks for it, decides whether to skip, and runs each update with the clip
    coefficient applied inside it. A refused or skipped step writes nothing. On the GPU the
    norm, clip and skip stay on the device (``control``: a StepControl buffer kept by the
    caller, or a fresh one; ``buffers``: a dict where the caller keeps the norm pass's
    workspace across steps; ``stream``: the current stream of ``control``, when the caller
    has it already); ``nonfinite="raise"`` then reads the decision back."""
    first = _first(calls[0].params) if calls else None
    if first is not None and _backend.is_gpu_array(first):
        return _gpu_step(kernel, calls, max_grad_norm, nonfinite, control, buffers, stream)
    # The kernel bumps the autograd version of the torch parameters it wrote.
    applied, norm = getattr(_cpu, kernel)([c[:5] for c in calls], max_grad_norm,
                                          nonfinite != "ignore")
    if not applied:
        if nonfinite == "raise":
            raise nonfinite_error(norm)
        return StepResult(False, math.nan)
    return StepResult(True, norm)


def _gpu_step(kernel, calls, max_grad_norm, nonfinite, control, buffers, stream):
    try:
        mod = _backend.cuda_module()
    except RuntimeError:
        getattr(_cpu, "check_" + kernel)([c[:5] for c in calls])  # name a misplaced array
        raise
    launch, calls = getattr(mod, kernel), list(calls)
    # One call checks every array of the step before it launches anything: the norm pass (when
    # clipping or checking asks for it) and then the updates.
    if max_grad_norm is None and nonfinite == "ignore":
        control = None
        launch(calls, None)
    else:
        buffers = {} if buffers is None else buffers
        norm = (max_grad_norm or 0.0, nonfinite != "ignore")
        needed = launch(calls, control, (buffers.get("workspace"),) + norm)
        if needed:  # checked, nothing launched: a control block or a workspace is to be made
            like = _first(calls[0].params)
            if control is None:
                control = _backend.gpu_zeros(mod.control_bytes, like)
            buffers["workspace"] = _backend.gpu_zeros(needed, like)
            launch(calls, control, (buffers["workspace"],) + norm)
    # The launch bumped the autograd version of the torch parameters it writes.
    if control is not None and stream is None:
        stream = _backend.current_stream(control)
    result = GpuStepResult(control, stream if control is not None else None)
    if nonfinite == "raise" and control is not None and not result.applied:
        raise nonfinite_error()
    return result


def _device_scalar(name, value, check, *args):
    """(host value, None) or, for a one-element GPU array, (placeholder, the array)."""
    if _backend.is_gpu_array(value):
        info = _backend.array_info(value, name)
        if info["size"] != 1:
            raise ValueError(f"{name}: a device scalar must have one element, got shape "
                             f"{info['shape']}")
        return 1.0, value
    return check(name, value, *args), None


def _common(weight_decay, l1, maximize, max_grad_norm, nonfinite):
    return dict(weight_decay=_checks.real("weight_decay", weight_decay), l1=_checks.real("l1", l1),
                maximize=_checks.flag("maximize", maximize)), \
        _checks.max_grad_norm(max_grad_norm), _checks.nonfinite(nonfinite)


def _states(*lists):
    """The state lists a step takes: those in use, in the kernel's order."""
    return [x for x in lists if x is not None]


def sgd_(params, grads, momentum_buffers=None, *, lr, momentum=0.0, dampening=0.0,
         nesterov=False, weight_decay=0.0, maximize=False, l1=0.0, first_step=False,
         max_grad_norm=None, nonfinite="raise") -> StepResult:
    """SGD as ``torch.optim.SGD``. ``momentum_buffers`` is needed when ``momentum != 0``;
    ``first_step=True`` initializes them from the gradient (torch's first-step rule)."""
    lr, lr_array = _device_scalar("lr", lr, _checks.real)
    common, max_grad_norm, nonfinite = _common(weight_decay, l1, maximize, max_grad_norm,
                                               nonfinite)
    h = _cpu.SgdHparams(lr=lr, momentum=_checks.real("momentum", momentum),
                        dampening=_checks.real("dampening", dampening),
                        nesterov=_checks.flag("nesterov", nesterov),
                        first_step=_checks.flag("first_step", first_step), **common)
    _checks.sgd_options(h)
    if h.momentum != 0 and momentum_buffers is None:
        raise ValueError("momentum_buffers are required when momentum != 0")
    states = _states(momentum_buffers if h.momentum != 0 else None)
    return fused_step("sgd_step", [Call(h, params, grads, states, lr=lr_array)], max_grad_norm,
                      nonfinite)


def adagrad_(params, grads, state_sums, *, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
             eps=1e-10, maximize=False, l1=0.0, max_grad_norm=None,
             nonfinite="raise") -> StepResult:
    """Adagrad as ``torch.optim.Adagrad``; ``step`` is the 1-based step being taken.
    Start ``state_sums`` at ``initial_accumulator_value``."""
    lr, lr_array = _device_scalar("lr", lr, _checks.real)
    step, step_array = _device_scalar("step", step, _checks.step_count)
    common, max_grad_norm, nonfinite = _common(weight_decay, l1, maximize, max_grad_norm,
                                               nonfinite)
    h = _cpu.AdagradHparams(lr=lr, lr_decay=_checks.real("lr_decay", lr_decay),
                            eps=_checks.real("eps", eps), step=int(step), **common)
    return fused_step("adagrad_step", [Call(h, params, grads, [state_sums], lr=lr_array,
                                            steps=_step_list(step_array, params))],
                      max_grad_norm, nonfinite)


def _step_list(step_array, params):
    """A device step count, given to every tensor of the call (the caller advances it)."""
    return None if step_array is None else [step_array] * len(_as_list(params))


def rmsprop_(params, grads, square_avgs, momentum_buffers=None, grad_avgs=None, *, lr=1e-2,
             alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
             maximize=False, l1=0.0, max_grad_norm=None, nonfinite="raise") -> StepResult:
    """RMSprop as ``torch.optim.RMSprop``. ``momentum_buffers`` are needed when
    ``momentum > 0``, ``grad_avgs`` when ``centered``."""
    lr, lr_array = _device_scalar("lr", lr, _checks.real)
    common, max_grad_norm, nonfinite = _common(weight_decay, l1, maximize, max_grad_norm,
                                               nonfinite)
    h = _cpu.RmspropHparams(lr=lr, alpha=_checks.real("alpha", alpha, high=1.0),
                            eps=_checks.real("eps", eps),
                            momentum=_checks.real("momentum", momentum),
                            centered=_checks.flag("centered", centered), **common)
    if h.momentum > 0 and momentum_buffers is None:
        raise ValueError("momentum_buffers are required when momentum > 0")
    if h.centered and grad_avgs is None:
        raise ValueError("grad_avgs are required when centered=True")
    states = _states(square_avgs, momentum_buffers if h.momentum > 0 else None,
                     grad_avgs if h.centered else None)
    return fused_step("rmsprop_step", [Call(h, params, grads, states, lr=lr_array)],
                      max_grad_norm, nonfinite)


def adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, step, lr=1e-3,
          betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
          amsgrad=False, maximize=False, l1=0.0, max_grad_norm=None,
          nonfinite="raise") -> StepResult:
    """Adam as ``torch.optim.Adam`` (``decoupled_weight_decay=True``: AdamW); ``step`` is the
    1-based step being taken. ``max_exp_avg_sqs`` are needed when ``amsgrad``."""
    lr, lr_array = _device_scalar("lr", lr, _checks.real)
    step, step_array = _device_scalar("step", step, _checks.step_count)
    common, max_grad_norm, nonfinite = _common(weight_decay, l1, maximize, max_grad_norm,
                                               nonfinite)
    beta1, beta2 = _checks.betas(betas)
    h = _cpu.AdamHparams(lr=lr, beta1=beta1, beta2=beta2, eps=_checks.real("eps", eps),
                         step=int(step), amsgrad=_checks.flag("amsgrad", amsgrad),
                         decoupled=_checks.flag("decoupled_weight_decay",
                                                decoupled_weight_decay), **common)
    if h.amsgrad and max_exp_avg_sqs is None:
        raise ValueError("max_exp_avg_sqs are required when amsgrad=True")
    states = _states(exp_avgs, exp_avg_sqs, max_exp_avg_sqs if h.amsgrad else None)
    return fused_step("adam_step", [Call(h, params, grads, states, lr=lr_array,
                                         steps=_step_list(step_array, params))],
                      max_grad_norm, nonfinite)


def adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, step, lr=1e-3,
           betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False,
           l1=0.0, max_grad_norm=None, nonfinite="raise") -> StepResult:
    """AdamW as ``torch.optim.AdamW``: Adam with decoupled weight decay."""
    return adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step=step, lr=lr,
                 betas=betas, eps=eps, weight_decay=weight_decay, decoupled_weight_decay=True,
                 amsgrad=amsgrad, maximize=maximize, l1=l1, max_grad_norm=max_grad_norm,
                 nonfinite=nonfinite)
