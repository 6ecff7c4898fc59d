"""The kernel front of the layers: picks fusednn._cpu or fusednn._cuda for a tensor's device,
turns arrays into addresses, and adds the caller's CuPy stream on the GPU. Callers pass
C-contiguous float32 arrays they made or checked (``contiguous``)."""
from __future__ import annotations

import numpy as np

from .. import _backend

# The activation codes of fusednn/act_math.h.
ACTIVATIONS = {None: 0, "linear": 0, "identity": 0, "relu": 1, "leaky_relu": 2, "sigmoid": 3,
               "tanh": 4, "gelu": 5, "gelu_tanh": 6}
# Activations whose backward reads the pre-activation (act_saves_input); the rest read y.
SAVES_INPUT = {"leaky_relu", "gelu", "gelu_tanh"}


def act_code(name, where: str) -> int:
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in ACTIVATIONS if k is not None)
        raise ValueError(f"{where}: unknown activation {name!r} (known: None, {known})") from None


_numpy_address = _backend.cpu_module().address


def address(a) -> int:
    if a is None:
        return 0
    return _numpy_address(a) if type(a) is np.ndarray else a.data.ptr


def contiguous(a, where: str, name: str):
    """``a`` as C-contiguous float32, or a TypeError naming it (no silent float64 -> float32)."""
    if a.dtype != np.float32:
        raise TypeError(f"{where}: {name} must be float32, got {a.dtype} (shape {a.shape}); "
                        "the float32 kernels do not convert silently: cast with .astype")
    xp = np if isinstance(a, np.ndarray) else __import__("cupy")
    return xp.ascontiguousarray(a)


def call(device: str, name: str, *args, **kwargs):
    """fusednn._cpu.<name>(...) or fusednn._cuda.<name>(..., stream=<current stream>)."""
    if device == "cpu":
        return getattr(_backend.cpu_module(), name)(*args, **kwargs)
    import cupy

    return getattr(_backend.cuda_module(), name)(
        *args, stream=cupy.cuda.get_current_stream().ptr, **kwargs)


def empty(device: str, shape, dtype=np.float32):
    if device == "cpu":
        return np.empty(shape, dtype=dtype)
    import cupy

    return cupy.empty(shape, dtype=dtype)
