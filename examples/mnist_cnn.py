#!/usr/bin/env python3
"""The MNIST convolutional network of the Keras tutorial (Conv-Pool-Conv-Pool-Conv-Flatten-
Dense-Dense, Adam, validation_split=0.1), from local MNIST files.

    python examples/mnist_cnn.py --data-path DIR_OR_NPZ [--epochs 5] [--device cpu|cuda]
    python examples/mnist_cnn.py --download          # fetch once into ~/.cache/fusednn

DIR holds the four IDX files (train-images-idx3-ubyte[.gz], ...), or pass Keras's mnist.npz.
The tutorial feeds (N, 28, 28, 1) images to channels-last layers; fusednn's loaders give
NCHW (N, 1, 28, 28), which the Conv2D kernels take directly (for channels-last arrays use
Conv2D(..., data_format="channels_last") or x.transpose(0, 3, 1, 2)).
"""
import argparse

import fusednn
from fusednn import nn
from fusednn.data import load_mnist

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data-path", default=None)
parser.add_argument("--download", action="store_true")
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

fusednn.seed(0)
(x_train, y_train), (x_test, y_test) = load_mnist(args.data_path, download=args.download)

model = fusednn.Sequential([
    nn.Conv2D(32, 3, activation="relu"),
    nn.MaxPool2D(2),
    nn.Conv2D(64, 3, activation="relu"),
    nn.MaxPool2D(2),
    nn.Conv2D(64, 3, activation="relu"),
    nn.Flatten(),
    nn.Dense(64, activation="relu"),
    nn.Dense(10),
], input_shape=(1, 28, 28)).to(args.device)
model.summary()
model.compile("adam", "cross_entropy", ["accuracy"])
model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
          validation_split=0.1)
print("test:", model.evaluate(x_test, y_test))
