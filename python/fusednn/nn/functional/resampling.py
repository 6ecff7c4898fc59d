"""torch's ``interpolate`` ("nearest", "bilinear", "linear") and ``adaptive_avg_pool2d`` /
``adaptive_avg_pool1d``: each axis resampled by a weight matrix (out, in) — one einsum over
the input, so the gradient is the transposed resampling."""
from __future__ import annotations

import math

import numpy as np

from ...autograd import Tensor
from ...autograd.tensor_ops import Einsum
from ._args import check_tensor


def linear_weights(size_in: int, size_out: int, scale: float, align_corners: bool):
    """(size_out, size_in): linear interpolation between the two nearest input samples of
    each output's source position — (o + 1/2) * scale - 1/2 clamped at 0 (torch's
    align_corners=False, ``scale`` in / out or 1 / scale_factor), or o * (in - 1) / (out - 1)
    with ``align_corners``."""
    out = np.arange(size_out)
    if align_corners:
        source = out * ((size_in - 1) / (size_out - 1)) if size_out > 1 else out * 0.0
    else:
        source = np.maximum((out + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    frac = np.clip(source - low, 0.0, 1.0)
    weights = np.zeros((size_out, size_in))
    np.add.at(weights, (out, low), 1.0 - frac)
    np.add.at(weights, (out, high), frac)
    return weights


def _nearest_weights(size_in: int, size_out: int, scale: float):
    """(size_out, size_in): output o takes input floor(o * scale) (torch's "nearest")."""
    source = np.minimum(np.floor(np.arange(size_out) * scale).astype(np.int64), size_in - 1)
    weights = np.zeros((size_out, size_in))
    weights[np.arange(size_out), source] = 1.0
    return weights


def _bin_weights(size_in: int, size_out: int):
    """(size_out, size_in): output o averages inputs floor(o * in / out) to
    ceil((o + 1) * in / out) (torch's adaptive pooling bins)."""
    weights = np.zeros((size_out, size_in))
    for o in range(size_out):
        start = (o * size_in) // size_out
        end = -(-((o + 1) * size_in) // size_out)
        weights[o, start:end] = 1.0 / (end - start)
    return weights


def _apply(input: Tensor, matrices) -> Tensor:
    """Each of the trailing axes of ``input`` resampled by its (out, in) matrix."""
    letters = "hw"[-len(matrices):] if len(matrices) <= 2 else None
    if letters is None:
        raise NotImplementedError("resampling of more than two axes")
    outs = "pq"[-len(matrices):]
    subscripts = ",".join(o + i for o, i in zip(outs, letters))
    equation = f"{subscripts},nc{letters}->nc{outs}"
    weights = [Tensor(m.astype(input.dtype), device=input.device) for m in matrices]
    return Einsum.apply(equation, *weights, input)


def _sizes(input, size, scale_factor, where):
    """(output sizes, scales in / out) of the trailing spatial axes."""
    spatial = input.shape[2:]
    n = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{where}: give exactly one of size and scale_factor")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * n
        if len(sizes) != n or any(int(s) < 1 for s in sizes):
            raise ValueError(f"{where}: size {size!r} for {n} spatial axes")
        sizes = tuple(int(s) for s in sizes)
        return sizes, tuple(i / o for i, o in zip(spatial, sizes))
    factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else \
        (scale_factor,) * n
    if len(factors) != n or any(not f > 0 for f in factors):
        raise ValueError(f"{where}: scale_factor {scale_factor!r} for {n} spatial axes")
    sizes = tuple(int(math.floor(i * f)) for i, f in zip(spatial, factors))
    if min(sizes) < 1:
        raise ValueError(f"{where}: scale_factor {scale_factor!r} leaves an empty output")
    return sizes, tuple(1.0 / f for f in factors)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None) -> Tensor:
    """torch's interpolate of (N, C, L) or (N, C, H, W): "nearest" (input floor(o * scale)),
    "linear" / "bilinear" (``align_corners`` as torch's)."""
    where = "interpolate"
    check_tensor(input, where, "input")
    expected = {"nearest": (3, 4), "linear": (3,), "bilinear": (4,)}
    if mode not in expected:
        raise NotImplementedError(f"{where}: mode={mode!r} (supported: {sorted(expected)})")
    if input.ndim not in expected[mode]:
        raise ValueError(f"{where}: mode {mode!r} takes inputs of {expected[mode]} axes, got "
                         f"shape {input.shape}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{where}: align_corners only goes with the linear modes")
    sizes, scales = _sizes(input, size, scale_factor, where)
    matrices = [(_nearest_weights(i, o, s) if mode == "nearest" else
                 linear_weights(i, o, s, bool(align_corners)))
                for i, o, s in zip(input.shape[2:], sizes, scales)]
    return _apply(input, matrices)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """The mean over torch's adaptive bins of (N, C, H, W) (``output_size``: int or pair;
    None keeps that axis)."""
    check_tensor(input, "adaptive_avg_pool2d", "input")
    if input.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: input must be (N, C, H, W), got {input.shape}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    sizes = [i if o is None else int(o) for i, o in zip(input.shape[2:], sizes)]
    if len(sizes) != 2 or min(sizes) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size {output_size!r}")
    return _apply(input, [_bin_weights(i, o) for i, o in zip(input.shape[2:], sizes)])


def adaptive_avg_pool1d(input: Tensor, output_size: int) -> Tensor:
    check_tensor(input, "adaptive_avg_pool1d", "input")
    if input.ndim != 3 or int(output_size) < 1:
        raise ValueError(f"adaptive_avg_pool1d: input (N, C, L) and output_size >= 1, got "
                         f"{input.shape} and {output_size!r}")
    return _apply(input, [_bin_weights(input.shape[2], int(output_size))])
