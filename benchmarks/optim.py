#!/usr/bin/env python3
"""Fused optimizers vs torch.optim on the CPU; ends with a markdown table.

    python benchmarks/optim.py            # full suite: 1M/10M/50M params in 1, 10, 200 tensors
    python benchmarks/optim.py --quick    # a smoke run
    python benchmarks/optim.py --only adam,sgd --out optim.md

The same as ``fusednn bench optim``; the suite lives in fusednn.bench.optim.
"""
import sys

from fusednn.bench.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["optim", *sys.argv[1:]]))
