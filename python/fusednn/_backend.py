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


def is_fusednn_tensor(x) -> bool:
    return getattr(type(x), "_is_fusednn_tensor", False)


def unwrap(x):
    """The array behind a fusednn.Tensor; anything else as it is."""
    return x.data if getattr(type(x), "_is_fusednn_tensor", False) else x


def describe(x) -> str:
    """A short description of an argument for error messages."""
    x = unwrap(x)
    if isinstance(x, np.ndarray):
        return f"numpy array of {x.dtype}, shape {x.shape}"
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        return f"torch tensor of {x.dtype} on {x.device}, shape {tuple(x.shape)}"
    if hasattr(x, "__cuda_array_interface__"):
        return f"{type(x).__module__}.{type(x).__name__} on the GPU"
    return type(x).__name__


def float32_span(x, name: str, writable: bool):
    """(address, element count, shape) of a float32 CPU array, or a clear error naming it."""
    x = unwrap(x)
    if isinstance(x, np.ndarray):
        return _cpu.numpy_span(x, name, writable)
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        # The common case in as few attribute reads as possible; details only on failure.
        if (x.dtype is torch.float32 and x.is_cpu and x.layout is torch.strided
                and x.is_contiguous() and not x.is_neg()):
            return x.data_ptr(), x.numel(), tuple(x.shape)
        _reject_tensor(torch, x, name)
    if hasattr(x, "__cuda_array_interface__"):
        raise ValueError(f"{name}: is a GPU array ({describe(x)}), but this is a CPU kernel; "
                         "fusednn never copies between devices implicitly")
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


# ---------------------------------------------------------------------------------------------
# GPU arrays: CuPy arrays (and anything with __cuda_array_interface__) and CUDA torch tensors.
# Kernels run on the caller's current stream of the arrays' library, on the arrays' device.
# ---------------------------------------------------------------------------------------------
GPU_DTYPES = {"float32": 0, "float16": 1, "bfloat16": 2}
_TYPESTRS = {"<f4": "float32", "<f2": "float16"}

_cuda = None


def cuda_module():
    """fusednn._cuda, or a RuntimeError saying why there is none."""
    global _cuda
    if _cuda is None:
        try:
            from . import _cuda as module
        except ImportError as e:
            raise RuntimeError("this fusednn was built without its CUDA module (fusednn._cuda); "
                               "rebuild with FUSEDNN_CUDA=ON where nvcc and cuBLAS are "
                               f"available ({e})") from None
        _cuda = module
    return _cuda


def gpu_available() -> bool:
    """True when fusednn._cuda is built and the CUDA driver sees at least one GPU."""
    try:
        return cuda_module().device_count()[0] > 0
    except RuntimeError:
        return False


def is_gpu_array(x) -> bool:
    x = unwrap(x)
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.is_cuda
    return hasattr(x, "__cuda_array_interface__")


class GpuSpan(tuple):
    """(address, size, shape, dtype, device, library) of a validated GPU array."""
    __slots__ = ()
    address = property(lambda s: s[0])
    size = property(lambda s: s[1])
    shape = property(lambda s: s[2])
    dtype = property(lambda s: s[3])
    device = property(lambda s: s[4])
    library = property(lambda s: s[5])


def gpu_span(x, name: str, writable: bool, dtypes=("float32",)) -> GpuSpan:
    """A GPU array's address and layout, or a clear error naming it."""
    x = unwrap(x)
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        if not x.is_cuda:
            raise ValueError(f"{name}: is on {x.device}, but this call runs on the GPU; "
                             "fusednn never copies between devices implicitly")
        dtype = str(x.dtype).replace("torch.", "")
        if dtype not in dtypes:
            raise TypeError(f"{name}: expected {' or '.join(dtypes)}, got {x.dtype}")
        if x.layout != torch.strided:
            raise TypeError(f"{name}: {x.layout} tensors are not supported; pass a dense tensor")
        if not x.is_contiguous():
            raise ValueError(f"{name}: must be contiguous (got strides {x.stride()})")
        if x.is_neg() or x.is_conj():
            raise ValueError(f"{name}: is a lazily negated view; call .resolve_neg() first")
        return GpuSpan((x.data_ptr(), x.numel(), tuple(x.shape), dtype, x.device.index, "torch"))
    cai = getattr(x, "__cuda_array_interface__", None)
    if cai is None:
        if isinstance(x, np.ndarray) or (torch is not None and isinstance(x, torch.Tensor)):
            raise ValueError(f"{name}: is a CPU array ({describe(x)}), but this call runs on the "
                             "GPU; fusednn never copies between devices implicitly")
        raise TypeError(f"{name}: expected a CuPy array or a CUDA torch.Tensor, "
                        f"got {describe(x)}")
    shape = tuple(cai["shape"])
    dtype = _TYPESTRS.get(cai["typestr"])
    if dtype not in dtypes:
        raise TypeError(f"{name}: expected {' or '.join(dtypes)}, got typestr {cai['typestr']}")
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    strides = cai.get("strides")
    if strides is not None and size > 1:
        expected, step = [], 2 if dtype == "float16" else 4
        for extent in reversed(shape):
            expected.append(step)
            step *= extent
        if tuple(reversed(expected)) != tuple(strides):
            raise ValueError(f"{name}: must be C-contiguous (got strides {tuple(strides)})")
    address, readonly = cai["data"]
    if writable and readonly:
        raise ValueError(f"{name}: is read-only, but the optimizer updates it in place")
    device = getattr(getattr(x, "device", None), "id", None)
    return GpuSpan((address, size, shape, dtype, device, "cupy"))


def gpu_stream(span: GpuSpan) -> int:
    """The caller's current stream on the array's device, as an address; also checks that
    the array lives on the current device (kernels launch there)."""
    if span.library == "torch":
        torch = _torch()
        current = torch.cuda.current_device()
        if span.device != current:
            raise ValueError(f"the arrays are on cuda:{span.device} but the current device is "
                             f"cuda:{current}; run under `with torch.cuda.device({span.device})`")
        return torch.cuda.current_stream(current).cuda_stream
    import cupy

    current = cupy.cuda.Device().id
    if span.device is not None and span.device != current:
        raise ValueError(f"the arrays are on GPU {span.device} but the current device is "
                         f"{current}; run under `with cupy.cuda.Device({span.device})`")
    return cupy.cuda.get_current_stream().ptr


def gpu_zeros(nbytes: int, like: GpuSpan):
    """A zeroed byte buffer on the GPU, from the same library (and memory pool) as ``like``."""
    if like.library == "torch":
        torch = _torch()
        return torch.zeros(max(1, nbytes), dtype=torch.uint8, device=f"cuda:{like.device}")
    import cupy

    return cupy.zeros(max(1, nbytes), dtype=cupy.uint8)


def gpu_address(buffer) -> int:
    torch = _torch()
    if torch is not None and isinstance(buffer, torch.Tensor):
        return buffer.data_ptr()
    return buffer.data.ptr


def gpu_to_host(buffer) -> bytes:
    """The bytes of a small GPU buffer (this synchronizes with its stream)."""
    torch = _torch()
    if torch is not None and isinstance(buffer, torch.Tensor):
        return buffer.cpu().numpy().tobytes()
    return buffer.get().tobytes()
