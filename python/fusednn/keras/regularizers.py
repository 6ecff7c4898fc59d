"""Keras's weight regularizers: ``l1``, ``l2``, ``l1_l2`` and their classes (l2(0.01) adds
0.01 * sum(w^2) to the loss, as Keras)."""
from ..nn.regularizers import L1, L2, L1L2, Regularizer, get, l1, l1_l2, l2

L1_L2 = L1L2

__all__ = ["L1", "L2", "L1L2", "L1_L2", "Regularizer", "get", "l1", "l2", "l1_l2"]
