"""Timing and reporting shared by every benchmark suite.

Timings on a shared machine are noisy, so a suite never reports a lone absolute time: the
implementations it compares run interleaved in one process (alternating which goes first),
after warm-up, and it reports medians, their ratio, and the achieved bandwidth as a share of
a copy measured in the same run.
"""
from __future__ import annotations

import statistics

from .._report import markdown_table  # noqa: F401 (the suites' table)
import sys
import time
from dataclasses import dataclass, field


def interleaved_medians(fns, repeats: int, warmup: int = 2):
    """Median seconds of each zero-argument callable, timed round-robin."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    order = list(range(len(fns)))
    for r in range(repeats):
        for i in (order if r % 2 == 0 else order[::-1]):
            t0 = time.perf_counter()
            fns[i]()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def copy_bandwidth(elements: int = 32 * 1024 * 1024, repeats: int = 9) -> dict:
    """Bytes moved per second (read + write) by a large float32 copy: numpy's single-threaded
    copy and, when torch is installed, torch's threaded one. The best is the roofline."""
    import numpy as np

    src = np.random.default_rng(0).standard_normal(elements, dtype=np.float32)
    dst = np.empty_like(src)
    fns, names = [lambda: np.copyto(dst, src)], ["numpy"]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        tsrc, tdst = torch.from_numpy(src), torch.empty(elements)
        fns.append(lambda: tdst.copy_(tsrc))
        names.append("torch")
    medians = interleaved_medians(fns, repeats)
    rates = {name: 8.0 * elements / t for name, t in zip(names, medians)}
    best = max(rates, key=rates.get)
    return {"bytes_per_s": rates[best], "by": best, "all": rates}


@dataclass
class Row:
    """One comparison: fusednn against a baseline on the same case."""
    suite: str
    case: dict
    baseline: str
    baseline_s: float
    fusednn_s: float
    bytes_moved: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def speedup(self) -> float:
        return self.baseline_s / self.fusednn_s

    def gbps(self) -> float:
        return self.bytes_moved / self.fusednn_s / 1e9


def report(text: str, out: str = None) -> None:
    """Print a suite's table, and write it to ``out`` when given (``--out``)."""
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
