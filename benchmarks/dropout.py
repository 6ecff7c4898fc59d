#!/usr/bin/env python3
"""Dropout vs torch.nn.functional.dropout (CPU, and GPU when present); ends with a table.

    python benchmarks/dropout.py [--quick] [--out dropout.md]

The same as ``fusednn bench dropout``; the suite lives in fusednn.bench.dropout.
"""
import sys

from fusednn.bench.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["dropout", *sys.argv[1:]]))
