"""The optimizer base class: param groups, per-parameter state, state_dict round trips with
torch.optim, and the step driver that hands all tensors of a group to one fused kernel call.

Parameters may be ``fusednn.Tensor`` s (gradients read from ``.grad``, CPU or GPU), CPU
``torch.Tensor`` s (gradients read from ``.grad``: a drop-in for
``torch.optim``), numpy float32 arrays (gradients passed to ``step(grads=...)``), or the views
of an :class:`~fusednn.optim.Arena` (one contiguous buffer: one streaming pass per step).
"""
from __future__ import annotations

import copy
import math
import sys
import warnings
from collections.abc import MutableMapping
from itertools import repeat
from operator import is_, methodcaller

import numpy as np

from .. import _backend
from .. import _checks
from .arena import Arena
from .functional import gather_gpu
from .functional import grad_scale, nonfinite_error, read_control


def _torch():
    return sys.modules.get("torch")


def _is_torch(x) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def zeros_like(p, fill: float = 0.0):
    """A new contiguous float32 array shaped like ``p``, of its library and on its device,
    filled with ``fill``: optimizer state is float32 whatever the parameters' type."""
    p = _backend.unwrap(p)
    if _is_torch(p):
        return _torch().full(tuple(p.shape), fill, dtype=_torch().float32, device=p.device)
    if _backend.is_gpu_array(p):
        import cupy

        return cupy.full(p.shape, fill, dtype=cupy.float32)
    return np.full(p.shape, fill, dtype=np.float32)


_UNSET = object()


def _device_step(p, value):
    """A step count as a float32 scalar on p's device (torch's layout for fused GPU steps)."""
    if _is_torch(p):
        return _torch().tensor(float(value), dtype=_torch().float32, device=p.device)
    import cupy

    return cupy.full((), float(value), dtype=cupy.float32)


class ParamState(MutableMapping):
    """Per-parameter state keyed by the parameter object itself (numpy arrays are unhashable,
    so keys are compared by identity, as torch.optim effectively does for tensors)."""

    def __init__(self):
        self._entries = {}

    def __getitem__(self, param):
        return self._entries[id(param)][1]

    def __setitem__(self, param, value):
        self._entries[id(param)] = (param, value)

    def __delitem__(self, param):
        del self._entries[id(param)]

    def __contains__(self, param):
        return id(param) in self._entries

    def __iter__(self):
        return (p for p, _ in self._entries.values())

    def __len__(self):
        return len(self._entries)

    def items(self):
        return list(self._entries.values())


class _Plan:
    """What a group's step needs that does not change from step to step while the same
    parameter and state objects are in place: their addresses, sizes and shapes."""

    __slots__ = ("params", "addresses", "sizes", "shapes", "torch_index", "states", "names",
                 "ids", "entries", "arrays", "state_addresses", "flat_states")

    def __init__(self, params, where):
        self.params = params
        self.addresses, self.sizes, self.shapes = [], [], []
        for i, p in enumerate(params):
            address, size, shape = _backend.float32_span(p, f"{where}.params[{i}]", True)
            self.addresses.append(address)
            self.sizes.append(size)
            self.shapes.append(shape)
        # A torch tensor's storage can be swapped under it (p.data = ...): re-read each step.
        self.torch_index = [i for i, p in enumerate(params)
                            if _is_torch(p) or _backend.is_fusednn_tensor(p)]
        self.states = None

    # The checks below run once per step over every tensor; they are written as map() over
    # C-level callables because a Python-level loop costs more than a small tensor's update.
    def holds_params(self, params, check_addresses=True) -> bool:
        if len(params) != len(self.params) or not all(map(is_, params, self.params)):
            return False
        for i in (self.torch_index if check_addresses else ()):
            p = params[i]
            if p.data_ptr() != self.addresses[i] or p.numel() != self.sizes[i]:
                return False
        return True

    def unchanged_states(self, entries, names):
        """The state dicts of last step if the same dicts and arrays are still in place."""
        if self.states is None or self.names != names:
            return None
        if not all(map(is_, map(entries.get, self.ids), self.entries)):
            return None
        for name, arrays in zip(names, self.arrays):
            if not all(map(is_, map(methodcaller("get", name), self.states), arrays)):
                return None
        return self.states

    def set_states(self, states, names, entries, arena):
        self.states, self.names = states, list(names)
        self.ids = [id(p) for p in self.params]
        self.entries = [entries[i] for i in self.ids]
        self.arrays = [[s[name] for s in states] for name in names]
        self.state_addresses = [
            [_backend.float32_span(a, f"state {name}[{i}]", True)[0] for i, a in enumerate(arrays)]
            for name, arrays in zip(names, self.arrays)]
        # When these states are all views of the arena's flat buffers: those buffers' addresses.
        self.flat_states = arena.flat_states(names, states) if arena is not None else None


class Optimizer:
    """Base class. Subclasses set ``tracks_step``/``step_in_math`` and ``kernel``, and implement
    ``_hyper`` (validated hyperparameters of a group), ``_state_names`` and ``_kernel_args``."""

    tracks_step = True  # keeps a per-parameter 'step' in its state, as torch.optim does
    step_in_math = True  # the update depends on that step (bias correction, lr decay)

    def __init__(self, params, defaults, *, max_grad_norm=None, nonfinite="raise"):
        self.defaults = defaults
        self.max_grad_norm = _checks.max_grad_norm(max_grad_norm)
        self.nonfinite = _checks.nonfinite(nonfinite)
        self.state = ParamState()
        self.param_groups = []
        self._skipped_steps = 0
        self._last_grad_norm = None
        self._plans = {}
        # "cpu", or the CUDA device of every parameter (None when the array does not say
        # which); _UNSET until the first parameter is seen.
        self._device = _UNSET
        self._gpu_dtype = None
        self._control = None  # GPU: the device StepControl, kept across steps
        if isinstance(params, Arena):
            params = [{"params": params}]
        elif _is_torch(params) or isinstance(params, np.ndarray):
            raise TypeError("params must be an iterable of tensors or arrays (or dicts of "
                            f"param groups), got a single {_backend.describe(params)}")
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    # -- groups ---------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"a param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Arena):
            group["arena"] = params
            params = params.params
        elif _is_torch(params) or isinstance(params, np.ndarray):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("params must be an ordered collection, not a set")
        params = list(params) if params is not None else []
        if not params:
            raise ValueError("a param group needs at least one parameter")
        for i, p in enumerate(params):
            self._check_param(p, f"params[{i}]")
            if _is_torch(p) and not p.is_leaf:
                raise ValueError(f"params[{i}]: can't optimize a non-leaf tensor")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError("some parameters appear in more than one parameter group")
        unknown = set(group) - set(self.defaults) - {"params", "arena"}
        if unknown:
            raise TypeError(f"unknown option(s) for {type(self).__name__}: {sorted(unknown)}; "
                            f"known: {sorted(self.defaults)}")
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._hyper(group)  # validate now, not at the first step
        self.param_groups.append(group)

    def _check_param(self, p, name):
        """Validate a parameter and keep every parameter of the optimizer on one device."""
        if _backend.is_gpu_array(p):
            span = _backend.gpu_span(p, name, True, tuple(_backend.GPU_DTYPES))
            device, dtype = span.device, span.dtype
            if self._gpu_dtype not in (None, dtype):
                raise TypeError(f"{name}: is {dtype} but earlier parameters are "
                                f"{self._gpu_dtype}; one optimizer takes one element type")
            self._gpu_dtype = dtype
        else:
            _backend.float32_span(p, name, writable=True)
            device = "cpu"
        if self._device is not _UNSET and self._device != device:
            where = lambda d: d if d == "cpu" else ("a GPU" if d is None else f"cuda:{d}")
            raise ValueError(f"{name}: is on {where(device)} but earlier parameters are on "
                             f"{where(self._device)}; one optimizer updates one device")
        self._device = device

    @property
    def on_gpu(self) -> bool:
        return self._device is not _UNSET and self._device != "cpu"

    @property
    def skipped_steps(self) -> int:
        """Steps skipped for non-finite gradients (on the GPU, read from the device)."""
        if self._control is not None:
            return self._skipped_steps + read_control(self._control).skipped
        return self._skipped_steps

    @property
    def last_grad_norm(self):
        """Global gradient norm of the last step, when it was computed (clipping or checking)."""
        if self._control is not None:
            return read_control(self._control).norm
        return self._last_grad_norm

    # -- hooks for subclasses ------------------------------------------------------------------
    def _hyper(self, group) -> dict:
        raise NotImplementedError

    def _state_names(self, hyper) -> list:
        raise NotImplementedError

    def _new_state(self, p, hyper) -> dict:
        return {name: zeros_like(p) for name in self._state_names(hyper)}

    # The kernel: `kernel` names it in fusednn._cpu / fusednn._cuda, `_kernel_args` maps a
    # group's hyperparameters and state lists to its arguments.
    kernel = ""

    def _kernel_args(self, hyper, states, step, first_step) -> dict:
        raise NotImplementedError

    def _kernel(self, hyper, params, grads, states, sizes, step, first_step, scale):
        """One fused CPU call for tensors that share a step count."""
        getattr(_backend.cpu_module(), self.kernel)(
            params=params, grads=grads, sizes=sizes, grad_scale=scale,
            **self._kernel_args(hyper, states, step, first_step))

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
        """Per group: (params that have gradients, their gradients, whether the gradients came
        from torch's ``.grad``, which torch keeps shaped, typed and placed like the param)."""
        if grads is not None:
            grads = list(grads)
            total = sum(len(g["params"]) for g in self.param_groups)
            if len(grads) != total:
                raise ValueError(f"step() got {len(grads)} grads for {total} params")
        work, k = [], 0
        for group in self.param_groups:
            params = group["params"]
            arena = group.get("arena")
            from_attr = False
            if grads is not None:
                gs = grads[k:k + len(params)]
            elif arena is not None and not arena.is_torch:
                gs = arena.grads
            elif params and all(map(_backend.is_fusednn_tensor, params)):
                # fusednn Tensors: their .grad arrays, checked against the params' shapes
                gs = [None if p.grad is None else p.grad.data for p in params]
            else:
                try:
                    gs = [p.grad for p in params]
                except AttributeError:
                    raise ValueError("numpy parameters carry no gradient: pass "
                                     "step(grads=[...]) or build the optimizer on an Arena"
                                     ) from None
                from_attr = True
            k += len(params)
            if any(map(is_, gs, repeat(None))):
                keep = [i for i, g in enumerate(gs) if g is not None]
                params, gs = [params[i] for i in keep], [gs[i] for i in keep]
            work.append((group, params, gs, from_attr))
        return work

    # -- the step ------------------------------------------------------------------------------
    def step(self, closure=None, *, grads=None):
        """One fused update of every parameter that has a gradient. Returns the closure's loss.

        ``grads``: gradients for numpy parameters, one per parameter across all groups, in
        order (None entries skip that parameter).
        """
        loss = None
        if closure is not None:
            torch = _torch()
            if torch is not None:
                with torch.enable_grad():
                    loss = closure()
            else:
                loss = closure()

        if self.on_gpu:
            self._step_gpu(self._collect(grads))
            return loss
        prepared, g_all, sizes_all = [], [], []
        for gi, (group, params, gs, from_attr) in enumerate(self._collect(grads)):
            hyper = self._hyper(group)
            if not params:
                continue
            where = f"param_groups[{gi}]"
            arena = group.get("arena")
            # An arena whose params and grads are all still its own views is one span: its
            # buffers were validated when it was made, so nothing per tensor is checked.
            flat = arena is not None and arena.covers(params, gs)
            plan = self._plans.get(gi)
            if plan is None or not plan.holds_params(params, check_addresses=not flat):
                plan = self._plans[gi] = _Plan(params, where)
            if flat:
                g_addr = [arena.grad_address()]
                sizes = [arena.size]
            elif from_attr:
                g_addr = _backend.torch_grad_addresses(gs, plan.sizes, f"{where}.grads")
                sizes = plan.sizes
            else:
                g_addr = _backend.spans(gs, f"{where}.grads", writable=False,
                                        shapes=plan.shapes)[0]
                sizes = plan.sizes
            g_all += g_addr
            sizes_all += sizes
            prepared.append((group, hyper, params, plan, g_addr, flat))

        scaled = grad_scale(g_all, sizes_all, self.max_grad_norm, self.nonfinite)
        if scaled is None:
            self._skipped_steps += 1
            self._last_grad_norm = math.nan
            warnings.warn("fusednn: non-finite gradient, step skipped (parameters and "
                          "optimizer state unchanged)", RuntimeWarning, stacklevel=2)
            return loss
        scale, self._last_grad_norm = scaled
        for group, hyper, params, plan, g_addr, flat in prepared:
            self._group_step(group, hyper, params, plan, g_addr, flat, scale)
        return loss

    def _group_step(self, group, hyper, params, plan, g_addr, flat, scale):
        names = self._state_names(hyper)
        arena = group.get("arena")
        states = plan.unchanged_states(self.state._entries, names)
        if states is not None:
            first = [False] * len(states)
        else:
            states, first = self._prepare_states(params, hyper, names, arena)
            plan.set_states(states, names, self.state._entries, arena)

        if self.tracks_step:
            for s in states:
                s["step"] += 1
        # Tensors whose updates use different step counts go to separate kernel calls.
        keys = [s["step"] for s in states] if self.step_in_math else [None] * len(states)
        uniform = keys.count(keys[0]) == len(keys) and first.count(first[0]) == len(first)

        if flat:
            if uniform and plan.flat_states is not None:
                self._kernel(hyper, [arena.param_address()], g_addr,
                             [[a] for a in plan.flat_states], [arena.size], keys[0], first[0],
                             scale)
                return
            # Steps or state no longer line up with the arena: go tensor by tensor.
            g_addr = [_backend.float32_span(g, "grads", False)[0] for g in arena.grads]
        if uniform:
            self._kernel(hyper, plan.addresses, g_addr, plan.state_addresses, plan.sizes,
                         keys[0], first[0], scale)
            return
        buckets = {}
        for i, key in enumerate(zip(keys, first)):
            buckets.setdefault(key, []).append(i)
        for (key, first_step), idx in buckets.items():
            self._kernel(hyper, [plan.addresses[i] for i in idx], [g_addr[i] for i in idx],
                         [[addresses[i] for i in idx] for addresses in plan.state_addresses],
                         [plan.sizes[i] for i in idx], key, first_step, scale)

    def _step_gpu(self, work):
        """The GPU step: the norm, clip scale and non-finite decision stay on the device;
        step counts are device tensors, advanced on the device unless the step is skipped."""
        prepared, g_all, sizes_all, like = [], [], [], None
        for gi, (group, params, gs, _) in enumerate(work):
            hyper = self._hyper(group)
            if not params:
                continue
            where = f"param_groups[{gi}]"
            arena = group.get("arena")
            if arena is not None and arena.covers(params, gs):
                # One span over the arena's buffers; its views were checked when it was made.
                like = like or _backend.gpu_span(arena.param_buffer, "arena", True)
                g_all.append(arena.grad_address())
                sizes_all.append(arena.size)
                prepared.append((group, hyper, params, None))
                continue
            call = gather_gpu(params, gs, {}, prefix=f"{where}.")
            like = like or call.like
            g_all += call.grads
            sizes_all += call.sizes
            prepared.append((group, hyper, params, call))
        if not prepared:
            return
        mod = _backend.cuda_module()  # after the arguments are checked, as in functional
        stream = _backend.gpu_stream(like)
        dtype = _backend.GPU_DTYPES[like.dtype]
        control = 0
        if self.max_grad_norm is not None or self.nonfinite != "ignore":
            if self._control is None:
                self._control = _backend.gpu_zeros(mod.control_bytes, like)
            workspace = _backend.gpu_zeros(mod.grad_norm_workspace_bytes(sizes_all), like)
            control = _backend.gpu_address(self._control)
            mod.grad_norm(g_all, sizes_all, dtype, _backend.gpu_address(workspace), control,
                          self.max_grad_norm or 0.0, self.nonfinite != "ignore", stream)
        for group, hyper, params, call in prepared:
            names = self._state_names(hyper)
            arena = group.get("arena")
            states, first = self._prepare_states(params, hyper, names, arena)
            steps = []
            if self.tracks_step:
                for p, st in zip(params, states):
                    if not _backend.is_gpu_array(st["step"]):
                        st["step"] = _device_step(p, st["step"])
                steps = [_backend.gpu_span(st["step"], "state step", True).address
                         for st in states]
                mod.advance_steps(steps, control, stream)
            if call is None:  # the arena's flat path: all tensors share one step count
                flat_states = arena.flat_states(names, states)
                if flat_states is None or len(set(first)) != 1:
                    raise RuntimeError("arena state is no longer in the arena's buffers; "
                                       "rebuild the optimizer on the arena")
                kwargs = self._kernel_args(hyper, [[a] for a in flat_states], 1, first[0])
                if self.step_in_math:
                    kwargs["steps"] = steps[:1]
                getattr(mod, self.kernel)(
                    params=[arena.param_address()], grads=[arena.grad_address()],
                    sizes=[arena.size], dtype=dtype, grad_scale=1.0, lr_ptr=0,
                    control=control, stream=stream, **kwargs)
                continue
            state_addresses = [[_backend.gpu_span(st[n], f"state {n}", True).address
                                for st in states] for n in names]
            for is_first in sorted(set(first)):
                idx = [i for i, f in enumerate(first) if f == is_first]
                kwargs = self._kernel_args(hyper, [[a[i] for i in idx] for a in state_addresses],
                                           1, is_first)
                if self.step_in_math:
                    kwargs["steps"] = [steps[i] for i in idx]
                getattr(mod, self.kernel)(
                    params=[call.params[i] for i in idx], grads=[call.grads[i] for i in idx],
                    sizes=[call.sizes[i] for i in idx], dtype=dtype, grad_scale=1.0,
                    lr_ptr=0, control=control, stream=stream, **kwargs)
        if self.nonfinite == "raise" and control and read_control(self._control).skip:
            raise nonfinite_error()

    def _prepare_states(self, params, hyper, names, arena):
        """Each param's state, created or completed as needed; and whether it was missing
        (SGD's first step with momentum copies the gradient into the new buffer)."""
        states, first = [], []
        for p in params:
            s = self.state._entries.get(id(p))
            if s is None:
                s = self._new_state(p, hyper)
                if arena is not None:
                    s = arena.new_state(p, s)
                self.state[p] = s
            else:
                s = s[1]
            missing = any(s.get(name) is None for name in names)
            if missing:
                self._fill_missing(p, s, names, arena)
            states.append(s)
            first.append(missing)
        return states, first

    def _fill_missing(self, p, state, names, arena):
        """Zero state a group needs now but did not before: SGD's momentum buffer at its
        first step (the kernel then copies the gradient in), amsgrad switched on later."""
        missing = {n: zeros_like(p) for n in names if state.get(n) is None}
        if missing:
            state.update(arena.new_state(p, missing) if arena is not None else missing)

    # -- state_dict ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Same layout as ``torch.optim.Optimizer.state_dict()``; for torch parameters it loads
        into the matching torch optimizer and back. Tensors are references, not copies."""
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k not in ("params", "arena")}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            out = dict(s)
            if "step" in out and _is_torch(p) and not _is_torch(out["step"]):
                out["step"] = _torch().tensor(float(out["step"]))
            state[index[id(p)]] = out
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state_dict from this class or from the matching ``torch.optim`` optimizer.
        Everything is checked before anything changes; values are copied."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(saved_groups)} param groups, the optimizer "
                             f"has {len(self.param_groups)}")
        id_map, new_groups = {}, []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"param group {i}: state_dict has {len(saved['params'])} "
                                 f"params, the optimizer has {len(group['params'])}")
            id_map.update(zip(saved["params"], group["params"]))
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            for k in self.defaults:  # options torch.optim does not have (l1): keep ours
                new.setdefault(k, group[k])
            if "arena" in group:
                new["arena"] = group["arena"]
            self._hyper(new)
            new_groups.append(new)
        new_state = ParamState()
        for key, saved in state_dict["state"].items():
            if key not in id_map:
                raise ValueError(f"state_dict has state for parameter {key}, which is not in "
                                 "any param group")
            p = id_map[key]
            new_state[p] = self._import_state(p, key, saved, new_groups)
        self.param_groups = new_groups
        self.state = new_state
        self._plans.clear()

    def _import_state(self, p, key, saved, groups):
        arena = next((g["arena"] for g in groups if "arena" in g
                      and any(q is p for q in g["params"])), None)
        out = {}
        for name, value in saved.items():
            if name == "step":
                out[name] = _checks.saved_step(f"state[{key}]['step']", value)
                if _backend.is_gpu_array(p):
                    out[name] = _device_step(p, out[name])
            elif value is None:
                continue
            elif hasattr(value, "shape"):
                if tuple(value.shape) != tuple(p.shape):
                    raise ValueError(f"state[{key}][{name!r}] has shape {tuple(value.shape)} "
                                     f"but the parameter has shape {tuple(p.shape)}")
                out[name] = self._copy_like(p, value)
            else:
                out[name] = copy.deepcopy(value)
        if arena is not None:
            out = arena.new_state(p, out)
        return out

    @staticmethod
    def _copy_like(p, value):
        """A contiguous float32 copy of ``value`` of the same library and device as ``p``."""
        if _is_torch(value):
            value = value.detach()
        if _backend.is_gpu_array(p) and not _is_torch(p):
            import cupy

            v = value.cpu().numpy() if _is_torch(value) else value
            return cupy.array(v, dtype=cupy.float32, order="C", copy=True)
        if _is_torch(p):
            torch = _torch()
            v = value if _is_torch(value) else torch.from_numpy(np.asarray(value))
            return v.to(dtype=torch.float32, device=p.device).contiguous().clone()
        v = value.cpu().numpy() if _is_torch(value) else value
        return np.array(v, dtype=np.float32, order="C", copy=True)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k not in ("params", "arena"):
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)
