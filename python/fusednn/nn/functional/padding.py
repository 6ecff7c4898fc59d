"""pad with torch's arguments: constant padding of the last axes, differentiable."""
from __future__ import annotations

import numbers

from ...autograd import Tensor
from ...autograd.tensor_ops import Pad
from ._args import check_tensor


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last ``len(pad) // 2`` axes of ``input`` with ``value`` (0 by default). As in
    torch, ``pad`` lists (before, after) widths from the last axis backwards:
    ``(left, right, top, bottom)`` pads width then height. Only ``mode="constant"`` and widths
    >= 0 (torch's negative widths crop; slice instead)."""
    check_tensor(input, "pad", "input")
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} is not supported; only 'constant'")
    widths = list(pad)
    if len(widths) % 2 or len(widths) > 2 * input.ndim:
        raise ValueError(f"pad: needs an even number of widths, at most two per axis of the "
                         f"{input.ndim}-D input, got {tuple(widths)}")
    if any(isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 0 for w in widths):
        raise ValueError(f"pad: widths must be integers >= 0, got {tuple(widths)}")
    pairs = [(0, 0)] * input.ndim
    for k in range(len(widths) // 2):
        pairs[input.ndim - 1 - k] = (int(widths[2 * k]), int(widths[2 * k + 1]))
    return Pad.apply(input, tuple(pairs), 0.0 if value is None else float(value))
