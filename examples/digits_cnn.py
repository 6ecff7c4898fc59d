#!/usr/bin/env python3
"""A small convolutional network on the 8x8 digits as 1x8x8 images: runs anywhere.

    python examples/digits_cnn.py [--epochs 15] [--device cpu|cuda]
"""
import argparse

import fusednn
from fusednn import nn
from fusednn.data import load_digits, train_test_split

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--epochs", type=int, default=15)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

fusednn.seed(0)
x, y = load_digits(as_images=True)                     # (1797, 1, 8, 8): NCHW
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=0)

model = fusednn.Sequential([
    nn.Conv2D(32, 3, padding="same", activation="relu"),
    nn.Conv2D(32, 3, padding="same", activation="relu"),
    nn.MaxPool2D(2),
    nn.Conv2D(64, 3, padding="same", activation="relu"),
    nn.MaxPool2D(2),
    nn.Flatten(),
    nn.Dense(128, activation="relu"),
    nn.Dropout(0.25),
    nn.Dense(10),
], input_shape=(1, 8, 8)).to(args.device)
model.compile("adam", "cross_entropy", ["accuracy"], lr=1e-3)
model.summary()
history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_split=0.1)
history.plot("digits_cnn_history.png")
print("test:", model.evaluate(x_test, y_test))
