"""Where ``fit`` and ``evaluate`` get their batches: arrays split into batches, or the user's
own generator / iterable / DataLoader yielding ``(x, y)`` or ``(x, y, sample_weight)``, as Keras
takes them (``steps_per_epoch`` batches per epoch, drawn from one running iterator when given;
otherwise one full pass per epoch)."""
from __future__ import annotations

import numpy as np


def is_arrays(x) -> bool:
    """Arrays (numpy, anything with __array__, nested lists of numbers) rather than a batch
    stream (a generator, an iterable, a list of (x, y) tuples)."""
    if isinstance(x, np.ndarray) or hasattr(x, "__array__"):
        return True
    if isinstance(x, (list, tuple)):
        first = x[0] if len(x) else None
        return not (isinstance(first, tuple) or (isinstance(first, list) and first
                                                 and hasattr(first[0], "shape")))
    return False


class StreamBatches:
    """The batches of a user's iterable, converted by ``convert(x, y, w)`` -> (x, y, w) host
    arrays ready for the model."""

    def __init__(self, source, convert, steps_per_epoch=None, where="fit"):
        if steps_per_epoch is not None and (isinstance(steps_per_epoch, bool)
                                            or not isinstance(steps_per_epoch, int)
                                            or steps_per_epoch < 1):
            raise ValueError(f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}")
        try:
            self._iterator = iter(source)
        except TypeError:
            raise TypeError(f"{where}: x must be arrays, or a generator / iterable yielding "
                            f"(x, y) or (x, y, sample_weight) batches; got "
                            f"{type(source).__name__}") from None
        self.source, self.convert, self.steps, self.where = source, convert, steps_per_epoch, where
        self.reiterable = self._iterator is not source

    def __len__(self):
        return self.steps or 0  # unknown for a full pass: the progress bar counts up

    def _next(self):
        try:
            return next(self._iterator)
        except StopIteration:
            if not self.reiterable:
                raise
            self._iterator = iter(self.source)  # a dataset: start its next pass
            return next(self._iterator)

    def __iter__(self):
        if self.steps is None:
            # a dataset starts a new pass; a generator goes on (and is empty after one pass)
            batches = iter(self.source) if self.reiterable else self._iterator
            produced = 0
            for batch in batches:
                produced += 1
                yield self._unpack(batch)
            if produced == 0:
                raise ValueError(f"{self.where}: the data yielded no batches (a generator runs "
                                 "out after one pass: give steps_per_epoch, or a re-iterable "
                                 "dataset)")
            return
        for k in range(self.steps):
            try:
                batch = self._next()
            except StopIteration:
                raise ValueError(f"{self.where}: the data ran out after {k} of "
                                 f"{self.steps} steps of this epoch") from None
            yield self._unpack(batch)

    def _unpack(self, batch):
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise ValueError(f"{self.where}: each batch must be (x, y) or (x, y, sample_weight), "
                             f"got {type(batch).__name__}"
                             + (f" of length {len(batch)}" if hasattr(batch, "__len__") else ""))
        x, y = np.asarray(batch[0]), np.asarray(batch[1])
        w = None if len(batch) == 2 or batch[2] is None else np.asarray(batch[2], np.float32)
        return self.convert(x, y, w)
