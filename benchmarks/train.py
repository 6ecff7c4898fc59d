#!/usr/bin/env python3
"""Training epochs vs a hand-written torch eager loop (same layers, Adam, batch size): a
digits MLP and the tutorial's MNIST-shaped CNN; ends with a table.

    python benchmarks/train.py [--quick] [--repeats N] [--out train.md]

The same as ``fusednn bench train``; the suite lives in fusednn.bench.train.
"""
import sys

from fusednn.bench.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
