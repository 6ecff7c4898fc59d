"""pad with torch's arguments: constant padding of the last axes, differentiable."""
from __future__ import annotations

import numbers

from ...autograd import Tensor
from ...autograd.tensor_ops import Pad
from ._args import check_tensor


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last ``len(pad) // 2`` axes of ``input`` with ``value`` (0 by default). As in
    torch, ``pad`` lists (before, after) widths from the last axis backwards:
    ``(left, right, top, bottom)`` pads width then height. A negative width crops that many
    elements from that side (torch's rule: a crop may not reach past the axis). Only
    ``mode="constant"``."""
    check_tensor(input, "pad", "input")
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} is not supported; only 'constant'")
    widths = list(pad)
    if len(widths) % 2 or len(widths) > 2 * input.ndim:
        raise ValueError(f"pad: needs an even number of widths, at most two per axis of the "
                         f"{input.ndim}-D input, got {tuple(widths)}")
    if any(isinstance(w, bool) or not isinstance(w, numbers.Integral) for w in widths):
        raise ValueError(f"pad: widths must be integers, got {tuple(widths)}")
    pairs = [(0, 0)] * input.ndim
    crop = [slice(None)] * input.ndim
    for k in range(len(widths) // 2):
        axis = input.ndim - 1 - k
        before, after = int(widths[2 * k]), int(widths[2 * k + 1])
        size = input.shape[axis]
        start, stop = max(0, -before), size - max(0, -after)
        if start > size or stop < start:
            raise ValueError(f"pad: cropping {(before, after)} from axis {axis} of size {size} "
                             f"(input {input.shape}) leaves a negative size")
        pairs[axis] = (max(0, before), max(0, after))
        crop[axis] = slice(start, stop)
    if any(c != slice(None) for c in crop):
        input = input[tuple(crop)]
        if all(p == (0, 0) for p in pairs):
            return input
    return Pad.apply(input, tuple(pairs), 0.0 if value is None else float(value))
