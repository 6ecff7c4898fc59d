"""Loss objects over the functional losses (torch names; Keras-style aliases)."""
from __future__ import annotations

from . import functional as F


class MSELoss:
    def __init__(self, reduction: str = "mean"):
        self.reduction = reduction

    def __call__(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class CrossEntropyLoss:
    """Softmax cross-entropy on logits (class indices or probability / one-hot targets)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        self.weight, self.ignore_index = weight, ignore_index
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def __call__(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class BCEWithLogitsLoss:
    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        self.weight, self.reduction, self.pos_weight = weight, reduction, pos_weight

    def __call__(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


mse = MeanSquaredError = MSELoss
SparseCategoricalCrossentropy = CrossEntropyLoss  # from logits
