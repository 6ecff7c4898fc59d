"""Layers, losses, initializers and regularizers (``fusednn.nn``), with their functional forms
in ``fusednn.nn.functional``."""
from . import functional, init, regularizers
from .layers import (Activation, AvgPool2D, BatchNorm1D, BatchNorm2D, Conv2D, Dense, Dropout,
                     Flatten, LeakyReLU, MaxPool2D, ReLU, Softmax)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, Parameter
from .regularizers import L1, L1L2, L2

__all__ = ["Module", "Parameter", "Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "BatchNorm1D",
           "BatchNorm2D", "Dropout", "Flatten", "Activation", "ReLU", "LeakyReLU", "Softmax",
           "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss", "L1", "L2", "L1L2", "functional",
           "init", "regularizers"]
