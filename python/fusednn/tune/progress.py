"""A live line for each running trial and for the final retraining: epoch k/n and the metrics
the search watches, through tqdm's auto front (a text line in a terminal, a widget in Jupyter).
The line is removed when the trial ends; the search then prints the trial's one-line result."""
from __future__ import annotations

import sys

from ..models.callbacks import Callback


class TrialProgress(Callback):
    def __init__(self, label: str, epochs: int, watch, position: int = 0):
        self.label, self.epochs, self.watch, self.position = label, epochs, list(watch), position
        self.bar = None

    def on_train_begin(self, logs=None):
        try:
            from tqdm.auto import tqdm
        except ImportError:  # no tqdm: the per-trial result lines still print
            return
        self.close()
        self.bar = tqdm(total=self.epochs, desc=self.label, unit="epoch", leave=False,
                        position=self.position, file=sys.stdout, dynamic_ncols=True)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is None:
            return
        logs = logs or {}
        shown = {k: f"{logs[k]:.4g}" for k in self.watch if k in logs}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
