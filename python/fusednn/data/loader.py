"""Batches over in-memory arrays, shuffled each epoch from a seeded generator."""
from __future__ import annotations



class DataLoader:
    """Iterate ``(x_batch, y_batch[, w_batch])`` over aligned arrays.

    ``shuffle`` draws a new permutation every epoch from ``rng`` (default: the one
    ``fusednn.seed`` sets); ``drop_last`` drops a final short batch."""

    def __init__(self, *arrays, batch_size: int = 32, shuffle: bool = False, rng=None,
                 drop_last: bool = False):
        if not arrays:
            raise ValueError("DataLoader needs at least one array")
        n = len(arrays[0])
        for k, a in enumerate(arrays):
            if len(a) != n:
                raise ValueError(f"DataLoader: array {k} has {len(a)} rows, array 0 has {n}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.arrays, self.batch_size, self.shuffle = arrays, batch_size, shuffle
        self.drop_last, self._rng = drop_last, rng

    def __len__(self):
        n = len(self.arrays[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        from .._seeding import data_rng

        n = len(self.arrays[0])
        order = (self._rng or data_rng()).permutation(n) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            if self.drop_last and stop - start < self.batch_size:
                return
            if order is None:
                yield tuple(a[start:stop] for a in self.arrays)
            else:
                idx = order[start:stop]
                yield tuple(a[idx] for a in self.arrays)
