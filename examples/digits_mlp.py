#!/usr/bin/env python3
"""A multilayer perceptron on scikit-learn's 8x8 digits: runs anywhere, in seconds.

    python examples/digits_mlp.py [--epochs 20] [--device cpu|cuda]
"""
import argparse

import fusednn
from fusednn import nn
from fusednn.data import load_digits, train_test_split
from fusednn.optim.lr_scheduler import CosineAnnealingLR

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

fusednn.seed(0)
x, y = load_digits()                                   # (1797, 64) in [0, 1], labels 0..9
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=0)  # stratified

model = fusednn.Sequential([
    nn.Dense(256, activation="relu", kernel_initializer="he_uniform"),
    nn.Dropout(0.1),
    nn.Dense(128, activation="relu", kernel_initializer="he_uniform",
             kernel_regularizer=nn.L2(1e-5)),
    nn.Dropout(0.1),
    nn.Dense(10),                                      # logits; the loss applies the softmax
], input_shape=(64,)).to(args.device)
model.compile("adam", "cross_entropy", ["accuracy"], lr=1e-3,
              lr_schedule=lambda opt: CosineAnnealingLR(opt, T_max=args.epochs))
model.summary()
model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_split=0.1,
          callbacks=[fusednn.callbacks.EarlyStopping("val_loss", patience=5,
                                                     restore_best_weights=True)])
print("test:", model.evaluate(x_test, y_test))
