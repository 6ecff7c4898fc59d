"""Layers, losses, initializers and regularizers (``fusednn.nn``), with their functional forms
in ``fusednn.nn.functional``."""
from . import functional, init, initializers, regularizers
from .layers import (Activation, AvgPool2D, BatchNorm1D, BatchNorm2D, Conv1D, Conv2D,
                     Conv2DTranspose, Dense,
                     Dropout, Embedding, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D,
                     GlobalMaxPooling1D, GlobalMaxPooling2D, LayerNormalization, LeakyReLU,
                     Masking, MaxPool2D, ReLU, Softmax, SimpleRNN, LSTM, GRU,
                     Bidirectional, GaussianDropout, GaussianNoise, SpatialDropout1D,
                     SpatialDropout2D, SpatialDropout3D)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .pointwise_losses import BCELoss, HuberLoss, KLDivLoss, L1Loss, SmoothL1Loss
from .module import Module, Parameter
from .regularizers import L1, L1L2, L2

__all__ = ["Module", "Parameter", "Dense", "Conv1D", "Conv2D", "Conv2DTranspose", "MaxPool2D",
           "AvgPool2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "BatchNorm1D", "BatchNorm2D", "LayerNormalization", "Embedding",
           "Masking", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "GaussianNoise",
           "GaussianDropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
           "Dropout", "Flatten", "Activation", "ReLU", "LeakyReLU", "Softmax",
           "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss", "NLLLoss", "BCELoss", "L1Loss",
           "HuberLoss", "SmoothL1Loss", "KLDivLoss", "L1", "L2", "L1L2", "functional",
           "init", "regularizers"]
