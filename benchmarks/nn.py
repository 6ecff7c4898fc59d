#!/usr/bin/env python3
"""Layers vs torch: Dense and Conv2D forward + backward with bias + ReLU, and softmax
cross-entropy (CPU, and GPU when present); ends with a table of ms, speedup, GFLOP/s and % of
the SGEMM rate measured in the same run.

    python benchmarks/nn.py [--quick] [--repeats N] [--device cuda] [--out nn.md]

The same as ``fusednn bench nn``; the suite lives in fusednn.bench.nn.
"""
import sys

from fusednn.bench.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["nn", *sys.argv[1:]]))
