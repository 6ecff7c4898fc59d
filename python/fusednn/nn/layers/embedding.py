"""Embedding: integer indices to rows of a learned table (torch's layout (input_dim,
output_dim); Keras's argument names)."""
from __future__ import annotations

from ... import _checks
from ...autograd import Tensor
from .. import functional as F
from .. import init, initializers, regularizers
from ..module import Module, Parameter


class Embedding(Module):
    """``input_dim`` rows of ``output_dim`` values; an input of integer indices (N, ...)
    becomes (N, ..., output_dim). ``mask_zero=True`` (Keras): index 0 is padding — it gets no
    gradient, ``compute_mask`` marks it, and ``input_dim`` must leave room for it.
    ``padding_idx`` (torch) does the same for another index. A float input holding integers
    (a model's float32 batch) is accepted; anything else out of [0, input_dim) is an error."""

    keras_initializers = False  # fusednn.keras's resolves Keras's initializers
    takes_indices = True
    # whether mask_zero also makes row 0 padding (zero, no gradient); Keras's only masks
    mask_zero_pads = True

    def __init__(self, input_dim: int, output_dim: int, mask_zero: bool = False,
                 padding_idx: int = None, embeddings_initializer="standard_normal",
                 embeddings_regularizer=None, name: str = None):
        super().__init__(name)
        input_dim = _checks.positive_int("Embedding: input_dim", input_dim)
        output_dim = _checks.positive_int("Embedding: output_dim", output_dim)
        if mask_zero and padding_idx not in (None, 0):
            raise ValueError("Embedding: mask_zero=True makes index 0 the padding; padding_idx "
                             f"{padding_idx} conflicts")
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, bool(mask_zero)
        self.padding_idx = 0 if mask_zero and self.mask_zero_pads else padding_idx
        self.embeddings_initializer = embeddings_initializer
        keras = self.keras_initializers
        self.initializer = (initializers.get if keras else init.get)(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.weight = Parameter(initializers.draw(self.initializer, (input_dim, output_dim),
                                                  None, keras))
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx % input_dim] = 0  # torch zeroes the padding row
        self.built = True

    def build(self, input_shape):
        pass

    def forward(self, x):
        return F.embedding(x, self.weight, padding_idx=self.padding_idx)

    def compute_mask(self, x, mask=None):
        """True where a step holds a real index (Keras's mask of ``mask_zero``), else None."""
        if not self.mask_zero:
            return None
        data = x.data if isinstance(x, Tensor) else x
        return data != 0

    def _penalties(self):
        if self.embeddings_regularizer is not None:
            return (self.embeddings_regularizer(self.weight),)
        return ()

    def get_config(self):
        init_name = self.embeddings_initializer  # a name, or an initializer object
        return dict(input_dim=self.input_dim, output_dim=self.output_dim,
                    mask_zero=self.mask_zero,
                    padding_idx=None if self.mask_zero else self.padding_idx,
                    embeddings_initializer=init_name, name=self.name)

    def extra_repr(self):
        return f"{self.input_dim}, {self.output_dim}" + (", mask_zero" if self.mask_zero else "")
