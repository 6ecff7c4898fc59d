"""Devices and their array libraries: numpy on "cpu", CuPy on "cuda"."""
from __future__ import annotations

import numpy as np


def normalize(device) -> str:
    """"cpu" or "cuda" from what a user may write ("cpu", "cuda", "cuda:0", "gpu")."""
    if device is None:
        return "cpu"
    name = str(device).lower()
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "gpu", "cuda:0"):
        return "cuda"
    if name.startswith("cuda:"):
        raise ValueError(f"device {device!r}: fusednn runs on the current CUDA device; select it "
                         "with cupy.cuda.Device(i) and pass device='cuda'")
    raise ValueError(f"unknown device {device!r} (expected 'cpu' or 'cuda')")


def cupy():
    try:
        import cupy as cp
    except ImportError:
        raise RuntimeError("device 'cuda' needs CuPy (pip install cupy-cuda12x or cupy-cuda13x) "
                           "and a GPU") from None
    return cp


def array_module(device: str):
    return np if device == "cpu" else cupy()


def device_of(array) -> str:
    if isinstance(array, np.ndarray):
        return "cpu"
    if hasattr(array, "__cuda_array_interface__"):
        return "cuda"
    raise TypeError(f"expected a numpy or CuPy array, got {type(array).__name__}")
