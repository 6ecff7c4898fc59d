from .conv import Conv2D
from .core import Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU, Softmax
from .normalization import BatchNorm1D, BatchNorm2D
from .pooling import AvgPool2D, MaxPool2D

__all__ = ["Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "BatchNorm1D", "BatchNorm2D", "Dropout",
           "Flatten", "Activation", "ReLU", "LeakyReLU", "Softmax"]
