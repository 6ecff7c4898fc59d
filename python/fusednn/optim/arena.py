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
from operator import is_

import numpy as np

from .. import _backend


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
            self._span(a, f"arrays[{i}]", writable=False)
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
        self._param_address = self._span(self.param_buffer, "param_buffer", True)[0]
        self._expected = [self._param_address + 4 * off for off in self.offsets[:-1]]
        self._torch_data_ptr = _torch().Tensor.data_ptr if self.is_torch else None
        self._grad_address = self._span(self.grad_buffer, "grad_buffer", False)[0]

    def _span(self, array, name, writable):
        """(address, size, ...) of a float32 array on the arena's device."""
        if self.on_gpu:
            return _backend.gpu_span(array, name, writable)
        return _backend.float32_span(array, name, writable)

    def _zeros(self):
        if self.is_torch:
            return _torch().zeros(self.size, dtype=_torch().float32, device=self.device)
        return np.zeros(self.size, dtype=np.float32)

    def _views(self, buffer):
        return [buffer[a:b].reshape(s)
                for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]

    def __len__(self):
        return len(self.params)

    def param_address(self) -> int:
        return self._param_address

    def grad_address(self) -> int:
        return self._grad_address

    def zero_grad(self) -> None:
        """Zero every gradient in one pass, re-attaching torch gradients that were replaced."""
        if self.is_torch:
            self.grad_buffer.zero_()
            for p, g in zip(self.params, self.grads):
                if p.grad is not g:
                    p.grad = g
        else:
            self.grad_buffer.fill(0.0)

    def covers(self, params, grads) -> bool:
        """True when these are all the arena's params and grads, still backed by it."""
        if len(params) != len(self.params) or not all(map(is_, params, self.params)) \
                or not all(map(is_, grads, self.grads)):
            return False
        # A torch param can be re-pointed (p.data = ...) away from the arena.
        return not self.is_torch or list(map(self._torch_data_ptr, self.params)) == self._expected


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

    def flat_states(self, names, states):
        """Addresses of the flat buffers of ``names`` if every state array is still the
        arena's view (state replaced by hand falls back to the multi-tensor path), else None."""
        out = []
        for name in names:
            entry = self._state_views.get(name)
            if entry is None:
                return None
            buffer, views = entry
            if any(s.get(name) is not v for s, v in zip(states, views)):
                return None
            out.append(self._span(buffer, f"arena state {name}", True)[0])
        return out
