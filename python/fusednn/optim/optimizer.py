"""The optimizer base class: param groups, per-parameter state, state_dict round trips with
torch.optim, and the step driver that hands all tensors of a group to one fused kernel call.

Parameters may be CPU ``torch.Tensor`` s (gradients read from ``.grad``: a drop-in for
``torch.optim``), numpy float32 arrays (gradients passed to ``step(grads=...)``), or the views
of an :class:`~fusednn.optim.Arena` (one contiguous buffer: one streaming pass per step).
"""
from __future__ import annotations

import copy
import math
import sys
import warnings
from collections.abc import MutableMapping

import numpy as np

from .. import _backend
from . import _checks
from .arena import Arena
from .functional import grad_scale


def _torch():
    return sys.modules.get("torch")


def _is_torch(x) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def zeros_like(p, fill: float = 0.0):
    """A new contiguous float32 array like ``p`` (same library, shape), filled with ``fill``."""
    if _is_torch(p):
        return _torch().full(tuple(p.shape), fill, dtype=p.dtype, device=p.device)
    return np.full(p.shape, fill, dtype=np.float32)


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


class Optimizer:
    """Base class. Subclasses set ``state_names``, ``tracks_step`` and implement
    ``_hyper`` (validated hyperparameters of a group) and ``_kernel`` (one fused call)."""

    tracks_step = True

    def __init__(self, params, defaults, *, max_grad_norm=None, nonfinite="raise"):
        self.defaults = defaults
        self.max_grad_norm = _checks.max_grad_norm(max_grad_norm)
        self.nonfinite = _checks.nonfinite(nonfinite)
        self.state = ParamState()
        self.param_groups = []
        self.skipped_steps = 0
        self.last_grad_norm = None
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
            _backend.float32_span(p, f"params[{i}]", writable=True)
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

    # -- hooks for subclasses ------------------------------------------------------------------
    def _hyper(self, group) -> dict:
        raise NotImplementedError

    def _state_names(self, hyper) -> list:
        raise NotImplementedError

    def _new_state(self, p, hyper) -> dict:
        return {name: zeros_like(p) for name in self._state_names(hyper)}

    def _kernel(self, hyper, params, grads, states, sizes, step, first_step, scale):
        raise NotImplementedError

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
                if _is_torch(p) and p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.detach_()
                        p.grad.zero_()

    def _collect(self, grads):
        """[(group, [(param, grad), ...]), ...] for the parameters that have gradients."""
        all_params = [p for g in self.param_groups for p in g["params"]]
        if grads is not None:
            grads = list(grads)
            if len(grads) != len(all_params):
                raise ValueError(f"step() got {len(grads)} grads for {len(all_params)} params")
        work, k = [], 0
        for group in self.param_groups:
            arena = group.get("arena")
            pairs = []
            for i, p in enumerate(group["params"]):
                if grads is not None:
                    g = grads[k]
                elif arena is not None and not _is_torch(p):
                    g = arena.grads[i]
                elif _is_torch(p):
                    g = p.grad
                else:
                    raise ValueError("numpy parameters carry no gradient: pass "
                                     "step(grads=[...]) or build the optimizer on an Arena")
                k += 1
                if g is not None:
                    pairs.append((p, g))
            work.append((group, pairs))
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

        work = self._collect(grads)
        hypers = [self._hyper(group) for group, _ in work]
        g_all, sizes_all, checked = [], [], []
        for gi, (group, pairs) in enumerate(work):
            shapes = [tuple(p.shape) for p, _ in pairs]
            p_addr, sizes, _ = _backend.spans([p for p, _ in pairs], "params", writable=True)
            g_addr, _, _ = _backend.spans([g for _, g in pairs], "grads", writable=False,
                                          shapes=shapes)
            g_all += g_addr
            sizes_all += sizes
            checked.append((p_addr, g_addr, sizes))

        scaled = grad_scale(g_all, sizes_all, self.max_grad_norm, self.nonfinite)
        if scaled is None:
            self.skipped_steps += 1
            self.last_grad_norm = math.nan
            warnings.warn("fusednn: non-finite gradient, step skipped (parameters and "
                          "optimizer state unchanged)", RuntimeWarning, stacklevel=2)
            return loss
        scale, self.last_grad_norm = scaled
        for (group, pairs), hyper, addresses in zip(work, hypers, checked):
            if pairs:
                self._group_step(group, hyper, pairs, addresses, scale)
        return loss

    def _bucket_key(self, state):
        """Parameters whose state gives the same key are updated in one kernel call."""
        if self.tracks_step:
            return state["step"]
        return None

    def _group_step(self, group, hyper, pairs, addresses, scale):
        p_addr, g_addr, sizes = addresses
        names = self._state_names(hyper)
        arena = group.get("arena")
        for p, _ in pairs:
            if p not in self.state:
                self.state[p] = (arena.new_state(p, self._new_state(p, hyper)) if arena
                                 else self._new_state(p, hyper))
        states = [self.state[p] for p, _ in pairs]
        first = [not self._has_state(s, names) for s in states]
        for (p, _), s in zip(pairs, states):
            self._fill_missing(p, s, names, arena)
            if self.tracks_step:
                s["step"] += 1

        if arena is not None and arena.covers(pairs) and len(set(
                (self._bucket_key(s), f) for s, f in zip(states, first))) == 1:
            flat = arena.flat_states(names, states)
            if flat is not None:
                self._kernel(hyper, [arena.param_address()], [arena.grad_address()],
                             [[a] for a in flat], [arena.size], self._bucket_key(states[0]),
                             first[0], scale)
                return

        buckets = {}
        for i, (s, f) in enumerate(zip(states, first)):
            buckets.setdefault((self._bucket_key(s), f), []).append(i)
        for (key, first_step), idx in buckets.items():
            st = []
            for name in names:
                arrays = [states[i][name] for i in idx]
                st.append(_backend.spans(arrays, name, writable=True)[0])
            self._kernel(hyper, [p_addr[i] for i in idx], [g_addr[i] for i in idx], st,
                         [sizes[i] for i in idx], key, first_step, scale)

    def _has_state(self, state, names) -> bool:
        return all(state.get(n) is not None for n in names)

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
            if "step" in out and _is_torch(p):
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

    def _import_state(self, p, key, saved, groups):
        arena = next((g["arena"] for g in groups if "arena" in g
                      and any(q is p for q in g["params"])), None)
        out = {}
        for name, value in saved.items():
            if name == "step":
                out[name] = _checks.saved_step(f"state[{key}]['step']", value)
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
        """A contiguous float32 copy of ``value`` of the same library as ``p``."""
        if _is_torch(value):
            value = value.detach()
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
