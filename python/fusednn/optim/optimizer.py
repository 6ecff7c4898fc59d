"""The optimizer base class: a thin driver over the functional kernels.

Each step gathers, per param group, the parameters that have gradients, their gradients and
their state lists, and hands them to :func:`fusednn.optim.functional.fused_step` — the same
route the functional API takes (one norm/clip/skip sequence, one kernel call per group, or per
set of tensors that share a step count). Nothing is remembered about the arrays between steps:
every call reads them as they are now, in C++.

Parameters may be ``fusednn.Tensor`` s (gradients read from ``.grad``, CPU or GPU), torch
tensors (gradients read from ``.grad``: a drop-in for ``torch.optim``), numpy float32 arrays
(gradients passed to ``step(grads=...)``), or the views of an :class:`~fusednn.optim.Arena`
(one contiguous buffer: one streaming pass per step).
"""
from __future__ import annotations

import math
import sys
import threading
import warnings
from itertools import repeat
from operator import is_

import numpy as np

from .. import _backend
from .. import _checks
from .. import _cpu
from .arena import Arena
from .functional import Call, NonFiniteGradError, fused_step, read_control
from .groups import ParamGroup, ParamState
from .hooks import OptimizerHooks, add_hook
from .state_dict import load_optimizer_state, optimizer_state_dict, state_dtype_name


def _torch():
    return sys.modules.get("torch")


def _is_torch(x) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def zeros_like(p, fill: float = 0.0):
    """A new contiguous state array shaped like ``p``, of its library and on its device, filled
    with ``fill``, of type ``state_dtype_name(p)``."""
    dtype = state_dtype_name(p)
    if dtype == "complex64" and fill:
        fill = complex(fill, fill)  # torch's: both halves of each (re, im) pair start there
    p = _backend.unwrap(p)
    if _is_torch(p):
        torch = _torch()
        return torch.full(tuple(p.shape), fill, dtype=getattr(torch, dtype), device=p.device)
    if _backend.is_gpu_array(p):
        import cupy

        with cupy.cuda.Device(p.device.id):
            return cupy.full(p.shape, fill, dtype=dtype)
    return np.full(p.shape, fill, dtype=dtype)


# The state key of SGD's per-buffer count of applied steps on the GPU (see _gpu_calls); not
# part of state_dict(), which keeps torch's layout.
APPLIED_STEPS = "_applied_steps"


def _is_device_array(x) -> bool:
    """A GPU array, told apart cheaply (this runs per tensor per step): torch's is_cuda, else
    the array interface on the type (an attribute of the class: no property call, which CuPy
    answers by building a dict) or in the instance's own attributes."""
    is_cuda = getattr(x, "is_cuda", None)
    if is_cuda is not None:
        return bool(is_cuda)
    return (hasattr(type(x), "__cuda_array_interface__")
            or "__cuda_array_interface__" in getattr(x, "__dict__", ()))


def _device_step(p, value):
    """A step count as a float32 scalar on p's device (torch's layout for fused GPU steps)."""
    p = _backend.unwrap(p)
    if _is_torch(p):
        return _torch().tensor(float(value), dtype=_torch().float32, device=p.device)
    import cupy

    with cupy.cuda.Device(p.device.id):
        return cupy.full((), float(value), dtype=cupy.float32)


_UNSET = object()


def torch_switches(foreach=None, differentiable=False, **fused_capturable) -> dict:
    """torch.optim's implementation switches, taken so torch code ports unchanged and kept in
    each group as torch keeps them. They change nothing here: every step runs fusednn's one
    fused multi-tensor kernel, and on the GPU step counts already live on the device (what
    torch's ``capturable`` asks for). What torch refuses is refused; a differentiable step
    is not supported."""
    if fused_capturable.get("fused") and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if differentiable:
        raise NotImplementedError("differentiable=True (autograd through the optimizer step) "
                                  "is not supported by fusednn's fused steps")
    return dict(foreach=foreach, differentiable=False, **fused_capturable)


class Optimizer:
    """Base class. A subclass names its ``kernel`` (e.g. ``"adam_step"``) and builds its
    validated hyperparameter struct from a group in ``_hparams``; the struct says which state
    the step keeps (``state_keys()``) and whether it counts steps."""

    kernel = ""

    def __init__(self, params, defaults, *, max_grad_norm=None, nonfinite="raise"):
        self.defaults = defaults
        self.max_grad_norm = _checks.max_grad_norm(max_grad_norm)
        self.nonfinite = _checks.nonfinite(nonfinite)
        self.state = ParamState()
        self.param_groups = []
        self._skipped_steps = 0
        self._last_grad_norm = None
        self._opt_called = False  # a scheduler stepped before the first step() warns, as torch's
        # "cpu", or the CUDA device of every parameter (None when the array does not say
        # which); _UNSET until the first parameter is seen.
        self._device = _UNSET
        self._gpu_dtype = None
        self._cpu_dtypes = set()  # more than one: each group's step splits its calls by type
        self._control = None  # GPU: the device StepControl, kept across steps
        self._control_stream = None  # and the stream the last step wrote it on
        # GPU with nonfinite="raise": the control block on its way to the host (a Readback),
        # and how many device-skipped steps have been raised about already.
        self._readback = None
        self._reported_skips = 0
        self._gpu_buffers = {}  # GPU: the norm pass's workspace, kept across steps
        # step() is serialized: two threads stepping one optimizer take turns (functional
        # kernels on disjoint arrays need no lock).
        self._lock = threading.Lock()
        self._hooks = OptimizerHooks()
        if isinstance(params, Arena):
            params = [{"params": params}]
        elif _is_torch(params) or isinstance(params, np.ndarray):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a single "
                            f"{_backend.describe(params)} (params must be an iterable of "
                            "tensors or arrays, or dicts of param groups)")
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)
        if any(g.get("capturable") for g in self.param_groups) and not self.on_gpu:
            raise ValueError("capturable=True needs parameters on a GPU (as torch's, whose "
                             "capturable steps run on CUDA devices only)")

    # -- hooks for subclasses ------------------------------------------------------------------
    def _hparams(self, group):
        """The group's options, validated, as the kernel's hyperparameter struct."""
        raise NotImplementedError

    def _state_fill(self, group, key) -> float:
        """The value a new state tensor starts at."""
        return 0.0

    # -- groups ---------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"a param group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:  # torch's KeyError, with what is missing
            raise KeyError("params (a param group needs a 'params' entry)")
        group = ParamGroup(param_group)
        params = group.get("params")
        if isinstance(params, Arena):
            group["arena"] = params
            params = params.params
        elif _is_torch(params) or isinstance(params, np.ndarray):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("params must be an ordered collection, not a set")
        params = list(params) if params is not None else []
        named = [isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params]
        if any(named):  # model.named_parameters(), as torch takes them
            if not all(named):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        if any(("param_names" in group) != ("param_names" in g) for g in self.param_groups):
            raise ValueError("all optimizer param groups should be with/without names")
        if len({id(p) for p in params}) != len(params):
            # torch warns and keeps both (updating the parameter twice); a parameter is
            # updated once here, so the copies after the first are dropped.
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "fusednn keeps the first and updates it once per step", UserWarning,
                          stacklevel=3)
            first, keep = set(), []
            for i, p in enumerate(params):
                if id(p) not in first:
                    first.add(id(p))
                    keep.append(i)
            params = [params[i] for i in keep]
            if "param_names" in group:
                group["param_names"] = [group["param_names"][i] for i in keep]
        for i, p in enumerate(params):
            self._check_param(p, f"params[{i}]")
            if _is_torch(p) and not p.is_leaf:
                raise ValueError(f"params[{i}]: can't optimize a non-leaf Tensor")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        unknown = set(group) - set(self.defaults) - {"params", "arena", "param_names"}
        if unknown:
            raise TypeError(f"unknown option(s) for {type(self).__name__}: {sorted(unknown)}; "
                            f"known: {sorted(self.defaults)}")
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        group.hparams(self._hparams)  # validate now, not at the first step
        self.param_groups.append(group)

    def _check_param(self, p, name):
        """Validate a parameter and keep every parameter of the optimizer on one device."""
        gpu, device, dtype = _cpu.check_parameter(p, name)
        if gpu:
            device = None if device < 0 else device
            if self._gpu_dtype not in (None, dtype):
                raise TypeError(f"{name}: is {dtype} but earlier parameters are "
                                f"{self._gpu_dtype}; one optimizer takes one element type")
            self._gpu_dtype = dtype
        else:
            device = "cpu"
            self._cpu_dtypes.add(dtype)
        if self._device is not _UNSET and self._device != device:
            where = lambda d: d if d == "cpu" else ("a GPU" if d is None else f"cuda:{d}")
            raise ValueError(f"{name}: is on {where(device)} but earlier parameters are on "
                             f"{where(self._device)}; one optimizer updates one device")
        self._device = device

    @property
    def learning_rate(self):
        """The first group's lr; assigning sets every group's (Keras's
        ``model.optimizer.learning_rate = ...``; ``lr`` is the same)."""
        return self.param_groups[0]["lr"] if self.param_groups else None

    @learning_rate.setter
    def learning_rate(self, value):
        for group in self.param_groups:
            group["lr"] = value

    lr = learning_rate

    @property
    def on_gpu(self) -> bool:
        return self._device is not _UNSET and self._device != "cpu"

    @property
    def skipped_steps(self) -> int:
        """Steps skipped for non-finite gradients (on the GPU, read from the device)."""
        if self._control is not None:
            return self._skipped_steps + read_control(self._control, self._control_stream).skipped
        return self._skipped_steps

    def check_nonfinite(self) -> None:
        """On the GPU with ``nonfinite="raise"``, raise :class:`NonFiniteGradError` for any step
        the device skipped for a non-finite gradient since the last report, waiting for the
        steps queued so far (``fit`` calls it after each epoch). Each ``step()`` also checks,
        without waiting, what the device has finished by then. Nothing to do elsewhere: the CPU
        raises at the step itself."""
        if self._control is None or self.nonfinite != "raise":
            return
        if self._readback is not None:
            self._readback.bytes()  # its host buffer must outlive the copy in flight
            self._readback = None
        self._raise_new_skips(read_control(self._control, self._control_stream))

    def _poll_nonfinite(self) -> None:
        """The non-waiting half of check_nonfinite: read the control block copied after an
        earlier step if the copy has landed (the step then starts the next copy)."""
        readback = self._readback
        if readback is not None and readback.ready:
            self._readback = None
            self._raise_new_skips(
                _backend.cuda_module().StepControl.from_bytes(readback.bytes()))

    def _raise_new_skips(self, control) -> None:
        new = control.skipped - self._reported_skips
        if new <= 0:
            return
        self._reported_skips = control.skipped
        more = f" ({new} steps skipped since the last report)" if new > 1 else ""
        raise NonFiniteGradError(
            f"non-finite gradient at step {control.last_skipped} of this optimizer on the GPU"
            f"{more}: the device skipped that step (parameters and optimizer state untouched by "
            "it). The check runs without stopping the GPU, so finite steps after it may have "
            "been applied before this error (nonfinite='skip' skips without raising)")

    @property
    def last_grad_norm(self):
        """Global gradient norm of the last step, when it was computed (clipping or checking)."""
        if self._control is not None:
            return read_control(self._control, self._control_stream).norm
        return self._last_grad_norm

    # -- gradients -----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of torch parameters. Arena groups always zero in place (one
        memset over the gradient buffer), which keeps the gradients inside the arena."""
        for group in self.param_groups:
            arena = group.get("arena")
            if arena is not None:
                arena.zero_grad()
                continue
            for p in group["params"]:
                if _backend.is_fusednn_tensor(p):
                    p.grad = None
                elif _is_torch(p) and p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.detach_()
                        p.grad.zero_()

    def _collect(self, grads):
        """Per group: (index, group, params that have gradients, their gradients)."""
        if grads is not None:
            grads = list(grads)
            total = sum(len(g["params"]) for g in self.param_groups)
            if len(grads) != total:
                raise ValueError(f"step() got {len(grads)} grads for {total} params")
        work, k = [], 0
        for gi, group in enumerate(self.param_groups):
            params = group["params"]
            arena = group.get("arena")
            if grads is not None:
                gs = grads[k:k + len(params)]
            elif arena is not None and not arena.is_torch:
                gs = arena.grads
            elif not params:
                gs = []
            elif _backend.is_fusednn_tensor(params[0]):
                gs = [None if p.grad is None else p.grad.data for p in params]
            else:
                try:
                    gs = [p.grad for p in params]
                except AttributeError:
                    raise ValueError("numpy parameters carry no gradient: pass "
                                     "step(grads=[...]) or build the optimizer on an Arena"
                                     ) from None
            k += len(params)
            if any(map(is_, gs, repeat(None))):  # `in` would compare arrays with ==
                keep = [i for i, g in enumerate(gs) if g is not None]
                params, gs = [params[i] for i in keep], [gs[i] for i in keep]
            if params:
                work.append((gi, group, params, gs))
        return work

    # -- the step ------------------------------------------------------------------------------
    def step(self, closure=None, *, grads=None):
        """One fused update of every parameter that has a gradient. Returns the closure's loss.

        ``grads``: gradients for numpy parameters, one per parameter across all groups, in
        order (None entries skip that parameter). Calls from several threads are serialized.
        """
        with self._lock:
            self._opt_called = True
            if not self._hooks.any_step():
                return self._step(closure, grads)
            args = (self,) if closure is None else (self, closure)
            kwargs = {} if grads is None else {"grads": grads}
            args, kwargs = self._hooks.run_step_pre(self, args, kwargs)
            out = Optimizer._run_step(*args, **kwargs)
            self._hooks.run_step_post(self, args, kwargs)
            return out

    def _run_step(self, closure=None, *, grads=None):
        return self._step(closure, grads)

    # -- hooks (torch.optim's signatures; see fusednn.optim.hooks) -------------------------------
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None | (new_args, new_kwargs)`` before each step."""
        return add_hook(self._hooks.step_pre, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` after each step."""
        return add_hook(self._hooks.step_post, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False):
        """``hook(optimizer)`` before ``state_dict()`` builds its result."""
        return add_hook(self._hooks.state_dict_pre, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False):
        """``hook(optimizer, state_dict) -> None | state_dict`` on ``state_dict()``'s result."""
        return add_hook(self._hooks.state_dict_post, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False):
        """``hook(optimizer, state_dict) -> None | state_dict`` before loading."""
        return add_hook(self._hooks.load_state_dict_pre, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False):
        """``hook(optimizer)`` after loading."""
        return add_hook(self._hooks.load_state_dict_post, hook, prepend)

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_lock"], state["_hooks"]  # hooks are not pickled, as in torch
        state["_gpu_buffers"] = {}  # scratch, made again at the next step
        state["_readback"] = None  # a copy in flight; the next step starts another
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("_gpu_buffers", {})
        self.__dict__.setdefault("_readback", None)
        self.__dict__.setdefault("_reported_skips", 0)
        self._lock = threading.Lock()
        self._hooks = OptimizerHooks()

    def _step(self, closure, grads):
        # GPU, nonfinite="raise": the device skips a non-finite step by itself; the host learns
        # of it from a copy of the control block it reads only once it has landed (no wait).
        deferred = self.nonfinite == "raise" and self.on_gpu
        if deferred:
            self._poll_nonfinite()
        loss = None
        if closure is not None:
            torch = _torch()
            if torch is not None:
                with torch.enable_grad():
                    loss = closure()
            else:
                loss = closure()
        gpu = self.on_gpu
        calls, counted, created = [], [], []
        work = self._collect(grads)
        entries = self.state._entries
        if gpu and not all(id(p) in entries for _, _, params, _ in work for p in params):
            # GPU state is made on the device: check params and grads before making any (in
            # the steady state the step's own check, before anything launches, is enough)
            _cpu.check_sgd_step([(_cpu.SgdHparams(), params, gs, [], f"param_groups[{gi}].")
                                 for gi, _, params, gs in work])
        for gi, group, params, gs in work:
            h = group.hparams(self._hparams)
            if len(self._cpu_dtypes) > 1 and not gpu:
                for ps, gs_of_type in _split_by_type(params, gs, gi):
                    calls += self._group_calls(gi, group, h.__copy__(), ps, gs_of_type,
                                               counted, created, gpu)
            else:
                calls += self._group_calls(gi, group, h, params, gs, counted, created, gpu)
        if not calls:
            return loss
        if gpu and self._control is None and (self.max_grad_norm is not None
                                              or self.nonfinite != "ignore"):
            self._control = _backend.gpu_zeros(_backend.cuda_module().control_bytes,
                                               _backend.unwrap(calls[0].params[0]))
        if gpu and self._control is not None:  # the stream the step's control is written on
            self._control_stream = _backend.current_stream(self._control)
        try:
            result = fused_step(self.kernel, calls, self.max_grad_norm,
                                "skip" if deferred else self.nonfinite,
                                self._control if gpu else None, self._gpu_buffers,
                                self._control_stream if gpu else None)
        except BaseException as error:
            self._forget(created)
            if isinstance(error, NonFiniteGradError) and not gpu:
                self._skipped_steps += 1
                self._last_grad_norm = math.nan
            raise
        if gpu:
            if deferred and self._readback is None:
                self._readback = _backend.gpu_readback(self._control, self._control_stream)
            return loss
        if not result.applied:
            self._forget(created)
            self._skipped_steps += 1
            self._last_grad_norm = math.nan
            warnings.warn("fusednn: non-finite gradient, step skipped (parameters and "
                          "optimizer state unchanged)", RuntimeWarning, stacklevel=3)
            return loss
        self._last_grad_norm = result.grad_norm
        for s in counted:
            s["step"] += 1
        return loss

    def _forget(self, created):
        """Undo the state a refused or skipped step created (nothing else was written)."""
        for p, keys in created:
            state = self.state.get_state(p)
            if state is None:
                continue
            if keys is None:
                del self.state[p]
            else:
                for key in keys:
                    state.pop(key, None)

    def _group_calls(self, gi, group, h, params, gs, counted, created, gpu):
        """The kernel calls of one group: one, or one per set of tensors that share a step
        count and first-step flag (SGD's momentum buffer starts from the gradient)."""
        keys = h.state_keys()
        counts = type(h).counts_steps
        arena = group.get("arena")
        prefix = f"param_groups[{gi}]."
        entries = self.state._entries
        if not keys and not counts:  # stateless (SGD without momentum): torch keeps no state
            _set_step(h, 0, False)
            flat = arena.flat_call(params, gs, [], []) if arena is not None else None
            if flat is not None:
                return [Call(h, flat[0], flat[1], [], prefix)]
            return [Call(h, params, gs, [], prefix)]
        if not gpu:
            # The steady state, in C-level loops: every parameter has all its state already.
            try:
                states = [entries[id(p)][1] for p in params]
                lists = [[s[k] for s in states] for k in keys]
                steps = [s["step"] for s in states] if counts else None
            except KeyError:
                pass
            else:
                if counts:
                    counted += states
                if steps is None or steps.count(steps[0]) == len(steps):
                    _set_step(h, steps[0] + 1 if counts else 0, False)
                    flat = (arena.flat_call(params, gs, states, keys) if arena is not None
                            else None)
                    if flat is not None:
                        return [Call(h, flat[0], flat[1], flat[2], prefix)]
                    return [Call(h, params, gs, lists, prefix)]
                if counts:
                    del counted[-len(states):]
        states, first = [], []
        for p in params:
            s = self.state.get_state(p)
            if s is None:
                s = self._new_state(p, group, keys, counts, arena, gpu)
                created.append((p, None))
                fresh = [k for k in keys if k in s]
            else:
                fresh = [k for k in keys if s.get(k) is None]
                if fresh:
                    s.update(self._fresh_state(p, group, fresh, arena))
                    created.append((p, fresh))
            states.append(s)
            first.append(bool(fresh) and not counts)
        if counts:
            counted += states
        if gpu:
            return self._gpu_calls(h, params, gs, states, keys, first, prefix)
        steps = [s["step"] + 1 for s in states] if counts else [0] * len(states)
        buckets = {}
        for i, key in enumerate(zip(steps, first)):
            buckets.setdefault(key, []).append(i)
        calls = []
        for (step, is_first), idx in buckets.items():
            hb = h.__copy__() if len(buckets) > 1 else h
            _set_step(hb, step, is_first)
            if len(buckets) == 1 and arena is not None:
                flat = arena.flat_call(params, gs, states, keys)
                if flat is not None:
                    return [Call(hb, flat[0], flat[1], flat[2], prefix)]
            calls.append(Call(hb, [params[i] for i in idx], [gs[i] for i in idx],
                              [[states[i][k] for i in idx] for k in keys], prefix))
        return calls

    def _gpu_calls(self, h, params, gs, states, keys, first, prefix):
        """GPU: step counts live on the device, advanced there unless the step is skipped. SGD's
        momentum buffers carry a private device count of the steps applied to them
        (APPLIED_STEPS, 0 when the buffer is new), from which the kernel takes the first-step
        rule: a skipped first step leaves the next one first, as on the CPU and in torch."""
        counts = type(h).counts_steps
        key = "step" if counts else APPLIED_STEPS if keys else None  # None: SGD, no momentum
        steps = None
        if key is not None:
            steps = []
            for p, s, new in zip(params, states, first):
                count = s.get(key)
                if new or not _is_device_array(count):
                    # a host step count (state loaded or made on the CPU) moves to the device;
                    # SGD's starts at 0 with a new buffer, at 1 beside one it did not make
                    s[key] = _device_step(p, count if counts else 0 if new else 1)
                steps.append(s[key])
        _set_step(h, 1, False)
        return [Call(h, params, gs, [[s[k] for s in states] for k in keys], prefix, steps=steps,
                     advance_steps=steps is not None)]

    def _new_state(self, p, group, keys, counts, arena, gpu):
        state = {}
        if counts:
            state["step"] = _device_step(p, 0) if gpu else 0
        state.update(self._fresh_state(p, group, keys, arena))
        if state:
            self.state[p] = state
        return state

    def _fresh_state(self, p, group, keys, arena):
        fresh = {k: zeros_like(p, self._state_fill(group, k)) for k in keys}
        return arena.new_state(p, fresh) if arena is not None else fresh

    # -- state_dict ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Same layout as ``torch.optim.Optimizer.state_dict()``; for torch parameters it loads
        into the matching torch optimizer and back. Tensors are references, not copies."""
        hooks = self._hooks
        hooks.notify(hooks.state_dict_pre, self)
        return hooks.transform(hooks.state_dict_post, self, optimizer_state_dict(self))

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state_dict from this class or from the matching ``torch.optim`` optimizer.
        Everything is checked before anything changes; values are copied."""
        hooks = self._hooks
        # a hook may edit the dict: the caller's is not touched
        state_dict = hooks.transform(hooks.load_state_dict_pre, self, dict(state_dict))
        with self._lock:
            load_optimizer_state(self, state_dict, _device_step)
        hooks.notify(hooks.load_state_dict_post, self)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k not in ("params", "arena"):
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


def _set_step(h, step, first):
    """The per-call fields of a hyperparameter struct: the step being taken, and SGD's
    first-step rule."""
    if hasattr(h, "step"):
        h.step = step
    if hasattr(h, "first_step"):
        h.first_step = first


def _split_by_type(params, grads, gi):
    """(params, grads) per parameter type, in order of first appearance: one kernel call takes
    one type (read now: a parameter's type may have changed since it was added)."""
    by_type = {}
    for i, (p, g) in enumerate(zip(params, grads)):
        dtype = _cpu.check_parameter(p, f"param_groups[{gi}].params[{i}]")[2]
        ps, gs = by_type.setdefault(dtype, ([], []))
        ps.append(p)
        gs.append(g)
    return list(by_type.values())
