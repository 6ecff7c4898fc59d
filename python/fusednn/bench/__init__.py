"""Kernel benchmarks against PyTorch: ``fusednn bench SUITE`` / ``python -m fusednn.bench``.

A suite is a module with ``add_arguments(parser)`` and ``run(args) -> list[Row]``, registered in
``SUITES``; the harness (:mod:`fusednn.bench.harness`) times, interleaves and tabulates.
"""
SUITES = {
    "optim": "fusednn.bench.optim",
    "dropout": "fusednn.bench.dropout",
    "nn": "fusednn.bench.nn",
    "train": "fusednn.bench.train",
    "rnn": "fusednn.bench.rnn",
}
