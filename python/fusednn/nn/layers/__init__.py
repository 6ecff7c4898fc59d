from .conv import Conv1D, Conv2D, Conv2DTranspose
from .core import Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU, Softmax
from .embedding import Embedding
from .masking import Masking
from .noise import (GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
                    SpatialDropout3D)
from .normalization import BatchNorm1D, BatchNorm2D, LayerNormalization
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .pooling import (AvgPool2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool2D)

__all__ = ["Dense", "Conv1D", "Conv2D", "Conv2DTranspose", "MaxPool2D", "AvgPool2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "BatchNorm1D",
           "BatchNorm2D", "LayerNormalization", "Embedding", "Masking", "Dropout", "Flatten",
           "Activation", "ReLU", "LeakyReLU", "Softmax", "SimpleRNN", "LSTM", "GRU",
           "Bidirectional", "GaussianNoise", "GaussianDropout", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D"]
