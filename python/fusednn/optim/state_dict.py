"""An optimizer's state_dict in torch.optim's layout, both ways: what fusednn saves loads into
the matching ``torch.optim`` optimizer (including ``fused=True``), and torch's loads here.
Loading checks everything before anything changes, and copies every value."""
from __future__ import annotations

import copy
import sys

import numpy as np

from .. import _backend
from .. import _checks
from .groups import ParamGroup, ParamState


def _torch():
    return sys.modules.get("torch")


def _is_torch(x) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def state_dtype_name(p) -> str:
    """The optimizer state's element type for parameter ``p``: float64 for float64 CPU
    parameters (their math runs in double), complex64 for complex64 ones (as torch keeps it;
    updated as (re, im) pairs), float32 for every other parameter type."""
    p = _backend.unwrap(p)
    name = str(getattr(p, "dtype", "")).replace("torch.", "")
    if name == "complex64":
        return name
    return "float64" if name == "float64" and not _backend.is_gpu_array(p) else "float32"


def optimizer_state_dict(opt) -> dict:
    """Tensors are references, not copies (as torch's)."""
    index, groups = {}, []
    for group in opt.param_groups:
        packed = {k: v for k, v in group.items() if k not in ("params", "arena")}
        packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
        groups.append(packed)
    state = {}
    for p, s in opt.state.items():
        out = {k: v for k, v in s.items() if not k.startswith("_")}  # private device counters
        if "step" in out and _is_torch(p) and not _is_torch(out["step"]):
            out["step"] = _torch().tensor(float(out["step"]))
        state[index[id(p)]] = out
    return {"state": state, "param_groups": groups}


def load_optimizer_state(opt, state_dict: dict, device_step) -> None:
    saved_groups = state_dict["param_groups"]
    if len(saved_groups) != len(opt.param_groups):
        raise ValueError("loaded state dict has a different number of parameter groups "
                         f"({len(saved_groups)}; the optimizer has {len(opt.param_groups)})")
    id_map, new_groups = {}, []
    for i, (group, saved) in enumerate(zip(opt.param_groups, saved_groups)):
        if len(saved["params"]) != len(group["params"]):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             f"the size of optimizer's group (group {i}: "
                             f"{len(saved['params'])} params; the optimizer's has "
                             f"{len(group['params'])})")
        id_map.update(zip(saved["params"], group["params"]))
        new = ParamGroup({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        new["params"] = group["params"]
        for k in opt.defaults:  # options torch.optim does not have (l1): keep ours
            new.setdefault(k, group[k])
        if "param_names" in group and "param_names" not in saved:  # torch keeps the names
            new["param_names"] = group["param_names"]
        if "arena" in group:
            new["arena"] = group["arena"]
        new.hparams(opt._hparams)  # validates
        new_groups.append(new)
    new_state = ParamState()
    for key, saved in state_dict["state"].items():
        if key not in id_map:
            raise ValueError(f"state_dict has state for parameter {key}, which is not in "
                             "any param group")
        p = id_map[key]
        new_state[p] = _import_state(p, key, saved, new_groups, device_step)
    opt.param_groups = new_groups
    opt.state = new_state


def _import_state(p, key, saved, groups, device_step):
    arena = next((g["arena"] for g in groups if "arena" in g
                  and any(q is p for q in g["params"])), None)
    out = {}
    for name, value in saved.items():
        if name == "step":
            out[name] = _checks.saved_step(f"state[{key}]['step']", value)
            if _backend.is_gpu_array(p):
                out[name] = device_step(p, out[name])
        elif value is None:
            continue
        elif hasattr(value, "shape"):
            if tuple(value.shape) != tuple(p.shape):
                raise ValueError(f"state[{key}][{name!r}] has shape {tuple(value.shape)} "
                                 f"but the parameter has shape {tuple(p.shape)}")
            out[name] = _copy_like(p, value, f"state[{key}][{name!r}]")
        else:
            out[name] = copy.deepcopy(value)
    if arena is not None:
        out = arena.new_state(p, out)
    return out


def _copy_like(p, value, name):
    """A contiguous copy of ``value`` in the state type of ``p`` (see ``state_dtype_name``), of
    the same library and device as ``p``: torch's float16/bfloat16 state loads as float32."""
    dtype = state_dtype_name(p)
    if _is_torch(value):
        value = value.detach()
    elif isinstance(value, np.ndarray) and value.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected a numeric array, got dtype {value.dtype}")
    p = _backend.unwrap(p)
    if _backend.is_gpu_array(p) and not _is_torch(p):
        import cupy

        v = value.float().cpu().numpy() if _is_torch(value) else value
        with cupy.cuda.Device(p.device.id):
            return cupy.array(v, dtype=cupy.float32, order="C", copy=True)
    if _is_torch(p):
        torch = _torch()
        v = value if _is_torch(value) else torch.from_numpy(np.asarray(value))
        return v.to(dtype=getattr(torch, dtype), device=p.device).contiguous().clone()
    v = value.to(getattr(_torch(), dtype)).cpu().numpy() if _is_torch(value) else value
    return np.array(v, dtype=dtype, order="C", copy=True)
