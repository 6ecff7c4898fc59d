"""Kernel-level operations on raw arrays: numpy, CuPy or torch (CPU or CUDA) in, the same kind
out; GPU arrays run the CUDA kernels on the caller's current stream.

* :func:`dropout` / :func:`dropout_backward`: fused mask-and-scale from a counter-based
  Philox4x32-10 stream; the mask is a pure function of ``(seed, offset, i)``, so backward
  regenerates it instead of storing it.
* :func:`philox`: the raw uint32 stream.
* :class:`PhiloxGenerator`: hands out ``(seed, offset)`` pairs, one offset per call.
"""
from .dropout import PhiloxGenerator, dropout, dropout_backward, philox

__all__ = ["dropout", "dropout_backward", "philox", "PhiloxGenerator"]
