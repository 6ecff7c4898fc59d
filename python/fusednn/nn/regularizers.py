"""Weight penalties added to the loss (Keras semantics: L1 is l1 * sum|w|, L2 is
l2 * sum w^2, no factor 1/2)."""
from __future__ import annotations


class Regularizer:
    def __call__(self, weight):
        raise NotImplementedError


class L1L2(Regularizer):
    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        if l1 < 0 or l2 < 0:
            raise ValueError(f"regularization factors must be >= 0, got l1={l1}, l2={l2}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, weight):
        penalty = 0.0
        if self.l1:
            penalty = self.l1 * weight.abs().sum()
        if self.l2:
            term = self.l2 * (weight * weight).sum()
            penalty = term if isinstance(penalty, float) else penalty + term
        return penalty

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)


def l1(factor: float = 0.01):
    return L1(factor)


def l2(factor: float = 0.01):
    return L2(factor)


def l1_l2(l1: float = 0.01, l2: float = 0.01):
    return L1L2(l1, l2)


def get(regularizer):
    if regularizer is None or isinstance(regularizer, Regularizer) or callable(regularizer):
        return regularizer
    table = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}
    if regularizer not in table:
        raise ValueError(f"unknown regularizer {regularizer!r} (known: l1, l2, l1_l2)")
    return table[regularizer]()
