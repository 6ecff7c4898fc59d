"""Keras's ``keras.backend`` functions that Keras code calls between models:
``clear_session`` (between trials or folds), ``epsilon``, ``floatx``, the image data format,
and ``backend()`` (which names fusednn)."""
from __future__ import annotations

import gc

from .config import epsilon, floatx, image_data_format, set_image_data_format  # noqa: F401


def backend() -> str:
    return "fusednn"


def clear_session(free_memory: bool = True) -> None:
    """Drop what earlier models left behind: unreachable graphs and arrays, and on the GPU
    CuPy's pooled blocks. fusednn keeps no global graph or name registry to reset."""
    if not free_memory:
        return
    gc.collect()
    try:
        import cupy
    except ImportError:
        return
    try:
        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()
    except Exception:  # CuPy without a usable GPU: nothing is pooled
        pass
