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
        if x.dtype != _FLOAT32:
            raise TypeError(f"{name}: expected float32, got {x.dtype} ({describe(x)})")
        flags = x.flags
        if not flags.c_contiguous:
            raise ValueError(f"{name}: must be C-contiguous (got strides {x.strides}); "
                             "use np.ascontiguousarray on a copy you keep")
        if writable and not flags.writeable:
            raise ValueError(f"{name}: is read-only, but the optimizer updates it in place")
        return x.__array_interface__["data"][0], x.size, x.shape
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        if x.device.type != "cpu":
            raise ValueError(f"{name}: is on {x.device}, but this is a CPU kernel; "
                             "fusednn never copies between devices implicitly")
        if x.dtype != torch.float32:
            raise TypeError(f"{name}: expected torch.float32, got {x.dtype}")
        if x.layout != torch.strided:
            raise TypeError(f"{name}: {x.layout} tensors are not supported; pass a dense tensor")
        if not x.is_contiguous():
            raise ValueError(f"{name}: must be contiguous (got strides {x.stride()})")
        if x.is_neg() or x.is_conj():
            raise ValueError(f"{name}: is a lazily negated view; call .resolve_neg() first")
        return x.data_ptr(), x.numel(), tuple(x.shape)
    raise TypeError(f"{name}: expected a numpy.ndarray or a CPU torch.Tensor of float32, "
                    f"got {describe(x)}")


def spans(arrays, name: str, writable: bool, shapes=None):
    """Addresses and sizes of a list of arrays; with ``shapes``, each must match its shape."""
    addresses, sizes, seen = [], [], []
    for i, x in enumerate(arrays):
        address, size, shape = float32_span(x, f"{name}[{i}]", writable)
        if shapes is not None and shape != shapes[i]:
            raise ValueError(f"{name}[{i}]: shape {shape} does not match params[{i}] "
                             f"shape {shapes[i]}")
        addresses.append(address)
        sizes.append(size)
        seen.append(shape)
    return addresses, sizes, seen


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
