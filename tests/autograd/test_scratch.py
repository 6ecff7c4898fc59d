"""The host scratch arrays of fusednn._backend.scratch: reused per (tag, shape, dtype) and
thread, the least recently used dropped beyond the count and byte budgets; small arrays fresh
each time."""
import threading

import numpy as np

from fusednn import _backend


def test_reused_per_tag_and_shape_and_thread(monkeypatch):
    monkeypatch.setattr(_backend, "SCRATCH_MIN_BYTES", 0)
    like = np.zeros(1, np.float32)
    a = _backend.scratch(like, (3, 4), "test a")
    assert a.shape == (3, 4) and a.dtype == np.float32
    assert _backend.scratch(like, (3, 4), "test a") is a
    assert _backend.scratch(like, (3, 4), "test b") is not a
    assert _backend.scratch(like, (4, 3), "test a") is not a
    assert _backend.scratch(like, (3, 4), "test a", np.int32) is not a
    other = []
    t = threading.Thread(target=lambda: other.append(_backend.scratch(like, (3, 4), "test a")))
    t.start()
    t.join()
    assert other[0] is not a  # each thread its own


def test_least_recently_used_dropped_beyond_the_budgets(monkeypatch):
    like = np.zeros(1, np.float32)
    monkeypatch.setattr(_backend, "SCRATCH_MIN_BYTES", 0)
    monkeypatch.setattr(_backend, "SCRATCH_MAX_ARRAYS", 3)
    first = _backend.scratch(like, (2,), "evict 0")
    for i in range(1, 4):
        _backend.scratch(like, (2,), f"evict {i}")
    assert _backend.scratch(like, (2,), "evict 0") is not first  # dropped, made anew
    monkeypatch.setattr(_backend, "SCRATCH_MAX_BYTES", 1000)
    big = _backend.scratch(like, (1000,), "evict big")  # 4000 bytes: alone over the budget
    assert _backend.scratch(like, (1000,), "evict big") is big  # the newest always stays
    cache = _backend._host_scratch.cache
    assert len(cache.arrays) == 1 and cache.nbytes == big.nbytes


def test_small_arrays_are_not_kept():
    like = np.zeros(1, np.float32)
    small = (_backend.SCRATCH_MIN_BYTES // 4 - 1,)
    assert _backend.scratch(like, small, "small") is not _backend.scratch(like, small, "small")
    large = (_backend.SCRATCH_MIN_BYTES // 4,)
    assert _backend.scratch(like, large, "large") is _backend.scratch(like, large, "large")
