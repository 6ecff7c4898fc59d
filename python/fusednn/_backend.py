"""The kernel front, Python half: which compiled module runs a call, and the few helpers that
need a Python library (allocating results and scratch on the array's device).

Arrays are never taken apart here. Every binding of ``fusednn._cpu`` and ``fusednn._cuda``
takes the arrays themselves — numpy arrays, torch tensors, CuPy arrays (or anything with
``__cuda_array_interface__``) and ``fusednn.Tensor`` s — and checks them in C++ on every call
(csrc/bindings/front.h): element type, shape, contiguity, alignment, writability, device and
memory overlap, with a ``TypeError``/``ValueError`` naming the argument. GPU calls run on the
arrays' device and on their producer's stream (torch's current stream for torch tensors, the
interface's ``stream`` otherwise).

torch and CuPy are never imported here unless the caller's arrays already come from them.
"""
from __future__ import annotations

import collections
import contextlib
import math
import os
import sys

import threading

import numpy as np

from . import _cpu

# The contracts shared with C++, by name (bound once in csrc/bindings/contracts.h).
Act = _cpu.Act
DType = _cpu.DType
ConvGeometry = _cpu.ConvGeometry
PoolGeometry = _cpu.PoolGeometry
window_output_size = _cpu.window_output_size
RnnCell = _cpu.RnnCell


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


def array_info(x, name: str = "array") -> dict:
    """What the kernel front reads of an array: dtype, shape, gpu, device, address, writable
    (a TypeError naming ``name`` when it is no array the front knows)."""
    return _cpu.describe_array(x, name)


def is_gpu_array(x) -> bool:
    x = unwrap(x)
    if isinstance(x, np.ndarray):
        return False
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.is_cuda
    return hasattr(x, "__cuda_array_interface__")


# ---- CPU kernel paths --------------------------------------------------------------------------
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


# ---- the CUDA module ---------------------------------------------------------------------------
_cuda = None
_tensor_type = None  # fusednn.Tensor, once autograd registers it


def register_tensor_type(cls) -> None:
    """Make fusednn.Tensor known to the kernel front of each compiled module (each keeps its
    own registry), so a Tensor or Parameter passes wherever an array does."""
    global _tensor_type
    _tensor_type = cls
    _cpu.register_tensor_type(cls)
    if _cuda is not None:
        _cuda.register_tensor_type(cls)


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
        if _tensor_type is not None:
            module.register_tensor_type(_tensor_type)
        _cuda = module
    return _cuda


def gpu_available() -> bool:
    """True when fusednn._cuda is built and the CUDA driver sees at least one GPU."""
    try:
        return cuda_module().device_count()[0] > 0
    except RuntimeError:
        return False


def module_for(gpu: bool):
    """The compiled module that runs a call on the CPU or on the GPU."""
    return cuda_module() if gpu else _cpu


# ---- the layers' arrays --------------------------------------------------------------------------
def _cupy():
    import cupy

    return cupy


def xp_of(a):
    """numpy for host arrays, CuPy for device arrays."""
    return np if isinstance(a, np.ndarray) else _cupy()


def to_host(a):
    """A numpy array of a host or device array (a device array is copied to the host)."""
    return a if isinstance(a, np.ndarray) else a.get()


def on_gpu(a) -> bool:
    return not isinstance(a, np.ndarray)


def empty(like, shape, dtype=np.float32):
    """A new array on ``like``'s device (for CuPy: the array's GPU, not the current one)."""
    if isinstance(like, np.ndarray):
        return np.empty(shape, dtype=dtype)
    with _cupy().cuda.Device(like.device.id):
        return _cupy().empty(shape, dtype=dtype)


_host_scratch = threading.local()
# What the scratch cache of one thread may hold: the most recent arrays, within a byte budget.
SCRATCH_MAX_ARRAYS = 16
SCRATCH_MAX_BYTES = 256 << 20
# Smaller arrays come from numpy's allocator: they take no fresh pages, and a plain np.empty
# (about 0.5 us) costs less than the cache's bookkeeping (about 3 us).
SCRATCH_MIN_BYTES = 256 << 10


class _ScratchCache:
    """One thread's scratch arrays, least recently used first, and their total size."""

    def __init__(self):
        self.arrays = collections.OrderedDict()
        self.nbytes = 0


def scratch(like, shape, tag: str, dtype=np.float32):
    """An array that lives only for one kernel call (a conv's raw output before its fused
    epilogue, a gradient before its GEMMs). On the CPU an array of ``SCRATCH_MIN_BYTES`` or
    more is reused from call to call, one per (tag, shape, dtype) and thread, the least
    recently used dropped beyond ``SCRATCH_MAX_ARRAYS`` or ``SCRATCH_MAX_BYTES``: a large array
    then does not take fresh pages (and their page faults) every step. Its contents on entry
    are undefined. On the GPU, a new array (CuPy's pool already reuses memory)."""
    if not isinstance(like, np.ndarray):
        return empty(like, shape, dtype)
    itemsize = 4 if dtype is np.float32 else np.dtype(dtype).itemsize
    if math.prod(shape) * itemsize < SCRATCH_MIN_BYTES:
        return np.empty(shape, dtype=dtype)
    dtype = np.dtype(dtype)
    cache = getattr(_host_scratch, "cache", None)
    if cache is None:
        cache = _host_scratch.cache = _ScratchCache()
    arrays = cache.arrays
    key = (tag, tuple(shape), dtype.str)
    a = arrays.pop(key, None)
    if a is None:
        a = np.empty(shape, dtype=dtype)
        cache.nbytes += a.nbytes
    arrays[key] = a  # most recent last
    while len(arrays) > SCRATCH_MAX_ARRAYS or (len(arrays) > 1 and
                                                 cache.nbytes > SCRATCH_MAX_BYTES):
        cache.nbytes -= arrays.popitem(last=False)[1].nbytes
    return a


def workspace(like, sizer: str, *args) -> dict:
    """The device scratch of a GPU kernel call, as its keyword argument: a byte array of
    ``fusednn._cuda.<sizer>(*args)`` bytes from ``like``'s own library, whose memory pool then
    serves it and frees it in stream order. Nothing on the CPU, whose kernels keep their own."""
    if isinstance(like, np.ndarray):
        return {}
    nbytes = getattr(cuda_module(), sizer)(*args)
    return {"workspace": empty(like, (nbytes,), np.uint8)} if nbytes else {}


def contiguous(a, where: str, name: str):
    """``a`` as C-contiguous float32, or a TypeError naming it (no silent float64 -> float32)."""
    if a.dtype != np.float32:
        raise TypeError(f"{where}: {name} must be float32, got {a.dtype} (shape {a.shape}); "
                        "the float32 kernels do not convert silently: cast with .astype")
    # ascontiguousarray would turn a 0-d array into a 1-element 1-d one.
    if a.flags.c_contiguous:
        return a
    if isinstance(a, np.ndarray):
        return np.ascontiguousarray(a)
    with _cupy().cuda.Device(a.device.id):
        return _cupy().ascontiguousarray(a)


def call(like, name: str, *args, **kwargs):
    """fusednn._cpu.<name>(...) for host arrays, fusednn._cuda.<name>(...) for device arrays
    (which runs on the arrays' device and stream)."""
    return getattr(_cpu if isinstance(like, np.ndarray) else cuda_module(), name)(*args, **kwargs)


# ---- GPU scratch, from the arrays' own library (so its memory pool serves it) -----------------
def gpu_zeros(nbytes: int, like):
    """A zeroed byte buffer on ``like``'s GPU, from the same library (and memory pool)."""
    like = unwrap(like)
    torch = _torch()
    if torch is not None and isinstance(like, torch.Tensor):
        return torch.zeros(max(1, nbytes), dtype=torch.uint8, device=like.device)
    cupy = _cupy()
    device = getattr(getattr(like, "device", None), "id", None)
    with cupy.cuda.Device(device) if device is not None else contextlib.nullcontext():
        return cupy.zeros(max(1, nbytes), dtype=cupy.uint8)


def current_stream(buffer):
    """The stream that work on ``buffer`` is queued to now: the current stream, on the
    buffer's device, of the library that made it (torch or CuPy)."""
    torch = _torch()
    if torch is not None and isinstance(buffer, torch.Tensor):
        return torch.cuda.current_stream(buffer.device)
    cupy = _cupy()
    with cupy.cuda.Device(buffer.device.id):
        return cupy.cuda.get_current_stream()


class Readback:
    """A copy of a small GPU buffer into pinned host memory, queued on a stream behind the work
    already there, with an event after it: ``ready`` asks whether it has landed without
    waiting; ``bytes()`` waits for it (see ``gpu_readback``)."""

    def __init__(self, event, host):
        self._event, self._host = event, host  # the host buffer lives as long as the copy

    @property
    def ready(self) -> bool:
        event = self._event
        return bool(event.query()) if hasattr(event, "query") else bool(event.done)

    def bytes(self) -> bytes:
        self._event.synchronize()
        host = self._host
        return (host.numpy() if hasattr(host, "numpy") else host).tobytes()


def gpu_readback(buffer, stream) -> Readback:
    """Start copying ``buffer`` (a small GPU byte array, torch's or CuPy's) to pinned host
    memory on ``stream``, after the work queued there so far; nothing waits for it."""
    torch = _torch()
    if torch is not None and isinstance(buffer, torch.Tensor):
        host = torch.empty(buffer.numel(), dtype=torch.uint8, pin_memory=True)
        with torch.cuda.stream(stream):
            host.copy_(buffer.reshape(-1), non_blocking=True)
        event = torch.cuda.Event()
        event.record(stream)
        return Readback(event, host)
    cupy = _cupy()
    import cupyx

    with cupy.cuda.Device(buffer.device.id):
        host = cupyx.empty_pinned(buffer.shape, buffer.dtype)
        try:
            cupy.asnumpy(buffer, stream=stream, out=host, blocking=False)
        except TypeError:  # CuPy before 13: a copy given a stream is asynchronous already
            cupy.asnumpy(buffer, stream=stream, out=host)
        event = cupy.cuda.Event(disable_timing=True)
        event.record(stream)
    return Readback(event, host)


def gpu_to_host(buffer, stream=None) -> bytes:
    """The bytes of a small GPU buffer, copied on ``stream`` (default: the current one) and
    waited for: pass the stream that wrote the buffer, or a read from another stream may see
    it before that work is done."""
    torch = _torch()
    if torch is not None and isinstance(buffer, torch.Tensor):
        with torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext():
            return buffer.cpu().numpy().tobytes()
    return buffer.get(stream=stream).tobytes()
