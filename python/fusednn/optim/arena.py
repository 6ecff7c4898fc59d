"""A flat arena: all parameters of a group in one contiguous float32 buffer.

An optimizer built on an arena updates the whole group with one streaming pass over a single
span (parameters, gradients and every state buffer are each one contiguous block), which is
the fastest layout a fused optimizer can be given.

numpy::

    arena = Arena([np.random.randn(256, 784), np.zeros(256)])  # values are copied in
    w, b = arena.params            # views into arena.param_buffer: use these from now on
    gw, gb = arena.grads           # write gradients here
    opt = fusednn.optim.Adam(arena, lr=1e-3)

torch: ``Arena(model.parameters())`` moves the parameters' storage into the arena in place
(``p.data`` and ``p.grad`` become views), so the model keeps working unchanged; call the
optimizer's ``zero_grad()`` (which zeroes in place) so gradients stay in the arena. CUDA
parameters get an arena on their device (float32), updated by the CUDA kernels.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from .. import _cpu


def _torch():
    return sys.modules.get("torch")


class Arena:
    def __init__(self, arrays):
        arrays = list(arrays)
        if not arrays:
            raise ValueError("Arena needs at least one array")
        torch = _torch()
        is_torch = [torch is not None and isinstance(a, torch.Tensor) for a in arrays]
        if any(is_torch) and not all(is_torch):
            raise TypeError("Arena arrays must be all numpy arrays or all torch tensors")
        self.is_torch = all(is_torch)
        self.device = arrays[0].device if self.is_torch else None
        self.on_gpu = self.is_torch and arrays[0].is_cuda
        for i, a in enumerate(arrays):
            if self.is_torch and a.device != self.device:
                raise ValueError(f"arrays[{i}]: is on {a.device} but arrays[0] is on "
                                 f"{self.device}; an arena lives on one device")
            _cpu.check_parameter(a, f"arrays[{i}]")
        self.shapes = [tuple(a.shape) for a in arrays]
        sizes = [math.prod(s) for s in self.shapes]
        self.offsets = [0]
        for n in sizes:
            self.offsets.append(self.offsets[-1] + n)
        self.size = self.offsets[-1]
        self.param_buffer = self._zeros()
        self.grad_buffer = self._zeros()
        self.grads = self._views(self.grad_buffer)
        views = self._views(self.param_buffer)
        if self.is_torch:
            with torch.no_grad():
                for p, v, gv in zip(arrays, views, self.grads):
                    v.copy_(p)
                    if p.grad is not None:
                        gv.copy_(p.grad)
                    p.data = v
                    p.grad = gv
            self.params = arrays
        else:
            for a, v in zip(arrays, views):
                v[...] = a
            self.params = views
        self._state_views = {}

    def _zeros(self):
        if self.is_torch:
            return _torch().zeros(self.size, dtype=_torch().float32, device=self.device)
        return np.zeros(self.size, dtype=np.float32)

    def _views(self, buffer):
        return [buffer[a:b].reshape(s)
                for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]

    def __len__(self):
        return len(self.params)

    def zero_grad(self) -> None:
        """Zero every gradient in one pass, re-attaching torch gradients that were replaced."""
        if self.is_torch:
            self.grad_buffer.zero_()
            for p, g in zip(self.params, self.grads):
                if p.grad is not g:
                    p.grad = g
        else:
            self.grad_buffer.fill(0.0)

    def new_state(self, param, state: dict) -> dict:
        """Move a parameter's state into the arena's flat state buffers (values copied)."""
        i = next(k for k, p in enumerate(self.params) if p is param)
        out = {}
        for name, value in state.items():
            if not hasattr(value, "shape"):
                out[name] = value
                continue
            views = self._state_views.get(name)
            if views is None:
                buffer = self._zeros()
                views = self._state_views[name] = (buffer, self._views(buffer))
            view = views[1][i]
            if self.is_torch:
                view.copy_(value)
            else:
                view[...] = value
            out[name] = view
        return out

    def flat_call(self, params, grads, states, keys):
        """(param buffer, grad buffer, [[state buffer] for each key]) when these are all of
        the arena's parameters, and they, their gradients and their states of ``keys`` still
        lie end to end in the arena's buffers, read as they are now; else None (a gradient
        replaced by hand, a re-pointed ``p.data``, a resized buffer: the step then takes the
        tensors one by one, as they are)."""
        if len(params) != len(self.params):
            return None
        if not (_cpu.tiles(params, self.param_buffer) and _cpu.tiles(grads, self.grad_buffer)):
            return None
        flat = []
        for key in keys:
            entry = self._state_views.get(key)
            if entry is None or not _cpu.tiles([s[key] for s in states], entry[0]):
                return None
            flat.append([entry[0]])
        return self.param_buffer, self.grad_buffer, flat
