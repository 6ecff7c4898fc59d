"""The kernel front: the one place where arrays are checked before they cross into C++.

Every public entry point that runs a compiled kernel goes through here. An array is accepted
when it is a numpy ``ndarray`` or a CPU ``torch.Tensor`` of float32, C-contiguous, and (for
anything a kernel writes) writable; it is then reduced to its address and element count. Any
other input raises ``TypeError``/``ValueError`` naming the argument, before any kernel runs, so
nothing is ever half-updated and nothing is silently copied.

torch is never imported here: a tensor can only exist if the user already imported torch.
"""
from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from . import _cpu

_FLOAT32 = np.dtype(np.float32)


def cpu_module():
    return _cpu


def _torch():
    return sys.modules.get("torch")


def describe(x) -> str:
    """A short description of an argument for error messages."""
    if isinstance(x, np.ndarray):
        return f"numpy array of {x.dtype}, shape {x.shape}"
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        return f"torch tensor of {x.dtype} on {x.device}, shape {tuple(x.shape)}"
    return type(x).__name__


def float32_span(x, name: str, writable: bool):
    """(address, element count, shape) of a float32 CPU array, or a clear error naming it."""
    if isinstance(x, np.ndarray):
        return _cpu.numpy_span(x, name, writable)
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        # The common case in as few attribute reads as possible; details only on failure.
        if (x.dtype is torch.float32 and x.is_cpu and x.layout is torch.strided
                and x.is_contiguous() and not x.is_neg()):
            return x.data_ptr(), x.numel(), tuple(x.shape)
        _reject_tensor(torch, x, name)
    raise TypeError(f"{name}: expected a numpy.ndarray or a CPU torch.Tensor of float32, "
                    f"got {describe(x)}")


def _reject_tensor(torch, x, name):
    if x.device.type != "cpu":
        raise ValueError(f"{name}: is on {x.device}, but this is a CPU kernel; "
                         "fusednn never copies between devices implicitly")
    if x.dtype != torch.float32:
        raise TypeError(f"{name}: expected torch.float32, got {x.dtype}")
    if x.layout != torch.strided:
        raise TypeError(f"{name}: {x.layout} tensors are not supported; pass a dense tensor")
    if not x.is_contiguous():
        raise ValueError(f"{name}: must be contiguous (got strides {x.stride()})")
    raise ValueError(f"{name}: is a lazily negated view; call .resolve_neg() first")


def spans(arrays, name: str, writable: bool, shapes=None):
    """Addresses, sizes and shapes of a list of arrays; with ``shapes``, each must match."""
    arrays = arrays if isinstance(arrays, list) else list(arrays)
    if all(type(x) is np.ndarray for x in arrays):
        addresses, sizes, seen = _cpu.numpy_spans(arrays, name, writable)
    else:
        addresses, sizes, seen = [], [], []
        for i, x in enumerate(arrays):
            address, size, shape = float32_span(x, f"{name}[{i}]", writable)
            addresses.append(address)
            sizes.append(size)
            seen.append(shape)
    if shapes is not None:
        for i, (shape, want) in enumerate(zip(seen, shapes)):
            if shape != want:
                raise ValueError(f"{name}[{i}]: shape {shape} does not match params[{i}] "
                                 f"shape {want}")
    return addresses, sizes, seen


def torch_grad_addresses(grads, sizes, name: str):
    """Addresses of gradients read from torch's ``.grad``. torch keeps those shaped and
    placed like their parameters; the rest is checked in C++ (this runs for every tensor on
    every step), and a failure is described here."""
    torch = _torch()
    addresses, seen, bad = _cpu.torch_spans(grads, torch.float32, torch.strided)
    if bad < 0 and seen == sizes:
        return addresses
    if bad < 0:
        bad = next(i for i, (a, b) in enumerate(zip(seen, sizes)) if a != b)
    _, size, _ = float32_span(grads[bad], f"{name}[{bad}]", writable=False)
    raise ValueError(f"{name}[{bad}]: has {size} elements but its parameter has {sizes[bad]}")


def kernel_path() -> str:
    return _cpu.kernel_path()


def set_kernel_path(path: str) -> None:
    """Select the CPU kernels: 'auto', 'scalar' or 'avx2' (process-wide)."""
    try:
        _cpu.set_kernel_path(path)
    except RuntimeError as e:  # avx2 on a CPU without it
        raise ValueError(str(e)) from None


@contextlib.contextmanager
def kernel_path_set_to(path: str):
    """Run a block with the given CPU kernel path, then restore the previous one."""
    before = _cpu.kernel_path()
    set_kernel_path(path)
    try:
        yield
    finally:
        _cpu.set_kernel_path(before)


def env_kernel_path_error():
    """The complaint about a bad FUSEDNN_CPU value, or None if it is fine (or unset)."""
    value = os.environ.get("FUSEDNN_CPU")
    if value is None or value in ("", "auto", "scalar"):
        return None
    if value == "avx2":
        features = _cpu.cpu_features()
        if features["avx2"] and features["fma"]:
            return None
        return "FUSEDNN_CPU=avx2 but this CPU lacks AVX2+FMA; using the scalar kernels"
    return f"FUSEDNN_CPU={value!r} is not one of auto, scalar, avx2; using 'auto'"
