"""What was built and what was found at run time, for ``fusednn.info()`` and ``fusednn info``."""
from __future__ import annotations

import ctypes
import importlib
import os
import platform

from . import _backend, _cpu


def _cuda_module():
    try:
        module = importlib.import_module("fusednn._cuda")
    except ImportError as e:
        return {"built": False, "detail": str(e) if "No module named" not in str(e)
                else "not built (this build has the CPU kernels only)"}
    build = module.build_info()
    count, why = module.device_count()
    return {"built": True, "architectures": build["cuda_architectures"],
            "cuda_runtime": build["cuda_runtime"], "cublas": build["cublas"],
            "devices": count,
            "detail": f"{count} device(s) usable" if count else f"no usable device: {why}"}


def _gpus():
    """GPUs seen by the CUDA driver, asked directly so no CUDA module or toolkit is needed."""
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        return {"driver": False, "count": 0, "detail": "no CUDA driver found"}
    if lib.cuInit(0) != 0:
        return {"driver": True, "count": 0, "detail": "CUDA driver present but cuInit failed"}
    count = ctypes.c_int(0)
    if lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return {"driver": True, "count": 0, "detail": "cuDeviceGetCount failed"}
    names = []
    for i in range(count.value):
        dev, buf = ctypes.c_int(0), ctypes.create_string_buffer(256)
        if lib.cuDeviceGet(ctypes.byref(dev), i) == 0 and \
                lib.cuDeviceGetName(buf, 256, dev) == 0:
            names.append(buf.value.decode(errors="replace"))
    return {"driver": True, "count": count.value, "names": names,
            "detail": f"{count.value} GPU(s)"}


def info() -> dict:
    """Version, build, CPU features, the CPU kernel path in use, CUDA module and GPU status."""
    build = _cpu.build_info()
    features = _cpu.cpu_features()
    out = {
        "version": build["version"],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "build": {
            "compiler": build["compiler"],
            "openmp": build["openmp"],
            "blas": build["blas"],
            "cpu_kernel_paths": list(build["kernel_paths"]),
            "cuda_option": build["cuda_option"],
            "cuda_toolkit": build["cuda_toolkit"],
        },
        "cpu": {
            "features": [k for k, v in features.items() if v],
            "kernel_path": _cpu.kernel_path(),
            "threads": _cpu.num_threads(),
            "FUSEDNN_CPU": os.environ.get("FUSEDNN_CPU"),
        },
        "cuda_module": _cuda_module(),
        "gpu": _gpus(),
    }
    warning = _backend.env_kernel_path_error()
    if warning:
        out["cpu"]["warning"] = warning
    return out


def format_info(data: dict) -> str:
    lines = [f"fusednn {data['version']} (Python {data['python']}, {data['platform']})"]

    def section(title, items):
        lines.append(f"{title}:")
        for k, v in items.items():
            if isinstance(v, list):
                v = ", ".join(map(str, v)) or "-"
            lines.append(f"  {k:<17} {v}")

    section("build", data["build"])
    section("cpu", data["cpu"])
    section("cuda module", data["cuda_module"])
    section("gpu", data["gpu"])
    return "\n".join(lines)
