"""Masking: padded steps of a float sequence marked for the layers after it (Keras's
``Masking``), as ``Embedding(mask_zero=True)`` marks padded indices."""
from __future__ import annotations

import math

from ..._backend import xp_of
from ...autograd import Tensor
from ..module import Module


class Masking(Module):
    """A step of an (N, T, F) input whose features all equal ``mask_value`` is padding: its
    output is zero, and ``compute_mask`` gives the (N, T) mask of the other steps, which the
    recurrent layers after it skip (state and output held) and which ``fit``/``evaluate`` leave
    out of the loss and metrics when it reaches the model's output. As Keras's, the mask is
    the layer's own: a mask arriving from before is replaced."""

    def __init__(self, mask_value: float = 0.0, name: str = None):
        super().__init__(name)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise TypeError(f"Masking: mask_value must be a number, got {mask_value!r}")
        if math.isnan(mask_value):
            raise ValueError("Masking: mask_value NaN never equals a feature (NaN != NaN), so "
                             "nothing would be masked; pad with a number")
        self.mask_value = float(mask_value)
        self.built = True

    def build(self, input_shape):
        pass

    def compute_mask(self, x, mask=None):
        data = x.data if isinstance(x, Tensor) else x
        if data.ndim < 2:
            raise ValueError(f"{self.name}: expects (batch, steps, features) input, got shape "
                             f"{tuple(data.shape)}")
        return (data != self.mask_value).any(axis=-1)

    def forward(self, x):
        keep = self.compute_mask(x)
        return x * Tensor(xp_of(keep).asarray(keep[..., None], dtype=x.dtype), device=x.device)

    def get_config(self):
        return dict(mask_value=self.mask_value, name=self.name)
