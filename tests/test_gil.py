"""Kernels release the GIL: another Python thread runs while a kernel does.

Deterministic, not timed: with a 10 s switch interval the main thread can only get the GIL
back while the worker is inside the kernel if the kernel released it.
"""
import sys
import threading

import numpy as np

from fusednn.optim import functional as F


def test_optimizer_kernel_releases_the_gil():
    n = 4_000_000
    p, g = np.ones(n, np.float32), np.full(n, 0.5, np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    started, finished = threading.Event(), []

    def worker():
        started.set()
        for step in range(1, 6):
            F.adam_(p, g, m, v, step=step, nonfinite="ignore")
        finished.append(True)

    old = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    try:
        t = threading.Thread(target=worker)
        t.start()
        started.wait()
        ran_during_kernel = not finished
        t.join()
    finally:
        sys.setswitchinterval(old)
    assert ran_during_kernel
    assert finished
