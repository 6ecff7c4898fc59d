"""The networks of the tutorials, by name: a digits MLP and CNN, the MNIST CNN
(Conv-Pool-Conv-Pool-Conv-Flatten-Dense-Dense), and recurrent classifiers of images read as
sequences of rows (LSTM, GRU: (steps, features) samples)."""
from __future__ import annotations

from .. import nn
from .sequential import Sequential


def mlp(input_shape, classes: int, hidden=(256, 128), dropout: float = 0.1) -> Sequential:
    layers = [nn.Flatten()] if len(input_shape) > 1 else []
    for width in hidden:
        layers += [nn.Dense(width, activation="relu", kernel_initializer="he_uniform")]
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Dense(classes))
    return Sequential(layers, input_shape=input_shape, name="mlp")


def cnn(input_shape, classes: int) -> Sequential:
    """Small images (digits' 1x8x8): two 3x3 convs, a pool, a third conv, a pool, two dense."""
    return Sequential([
        nn.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer="he_uniform"),
        nn.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer="he_uniform"),
        nn.MaxPool2D(2),
        nn.Conv2D(64, 3, padding="same", activation="relu", kernel_initializer="he_uniform"),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(128, activation="relu", kernel_initializer="he_uniform"),
        nn.Dropout(0.25),
        nn.Dense(classes),
    ], input_shape=input_shape, name="cnn")


def mnist_cnn(input_shape=(1, 28, 28), classes: int = 10) -> Sequential:
    """The Keras tutorial's MNIST network: Conv(32)-Pool-Conv(64)-Pool-Conv(64)-Flatten-
    Dense(64)-Dense(10)."""
    return Sequential([
        nn.Conv2D(32, 3, activation="relu"),
        nn.MaxPool2D(2),
        nn.Conv2D(64, 3, activation="relu"),
        nn.MaxPool2D(2),
        nn.Conv2D(64, 3, activation="relu"),
        nn.Flatten(),
        nn.Dense(64, activation="relu"),
        nn.Dense(classes),
    ], input_shape=input_shape, name="mnist_cnn")


def _recurrent(layer, input_shape, classes, units):
    """(steps, features) samples, one recurrent layer, a classifier on its last state."""
    shape = tuple(input_shape)
    if len(shape) != 2:
        raise ValueError(f"a recurrent model reads (steps, features) samples, got {shape}; "
                         "read an image as its rows: x.reshape(len(x), height, -1)")
    return Sequential([layer(units), nn.Dense(classes)], input_shape=shape,
                      name=layer.__name__.lower())


def lstm(input_shape, classes: int, units: int = 128) -> Sequential:
    return _recurrent(nn.LSTM, input_shape, classes, units)


def gru(input_shape, classes: int, units: int = 128) -> Sequential:
    return _recurrent(nn.GRU, input_shape, classes, units)


MODELS = {"mlp": mlp, "cnn": cnn, "mnist_cnn": mnist_cnn, "lstm": lstm, "gru": gru}
