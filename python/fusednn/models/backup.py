"""``BackupAndRestore``: a fit that is interrupted (killed, crashed, stopped by the user)
resumes where it was when fit runs again with the same callback — the weights, optimizer
state and schedule position of the last finished epoch, and the epoch after it."""
from __future__ import annotations

import json
import os

from .callbacks import Callback
from .loading import restore_training_state
from .saving import write_atomically

_STATE = "training_state.json"  # {"epoch": the last finished epoch, "file": its backup}


class BackupAndRestore(Callback):
    """Keras's BackupAndRestore. After every epoch the model (``model.save``: weights,
    optimizer state, schedule) goes to a new file in ``backup_dir``, then a small state file
    naming it and the epoch is replaced atomically, then the older backup is removed — a
    crash at any point leaves a consistent pair. At the start of fit, a backup found there
    is restored into the model and training continues at the epoch after it; a fit that ends
    normally deletes the backup (``delete_checkpoint``). Backups are taken per epoch
    (``save_freq="epoch"``) and need a model ``save`` can write."""

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir is required")
        if save_freq != "epoch":
            raise NotImplementedError(f"BackupAndRestore: save_freq={save_freq!r} (backups are "
                                      "taken after every epoch: 'epoch')")
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = bool(delete_checkpoint)

    def _state_path(self):
        return os.path.join(self.backup_dir, _STATE)

    def _state(self):
        """(last finished epoch, its backup's path), or None when there is no backup."""
        try:
            with open(self._state_path()) as f:
                state = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise ValueError(f"BackupAndRestore: {self._state_path()} cannot be read "
                             f"({type(e).__name__}: {e}); remove it to start afresh") from e
        if not (isinstance(state, dict) and isinstance(state.get("epoch"), int)
                and isinstance(state.get("file"), str) and os.sep not in state["file"]):
            raise ValueError(f"BackupAndRestore: {self._state_path()} is not a backup state "
                             f"file: {state!r}")
        return state["epoch"], os.path.join(self.backup_dir, state["file"])

    def on_train_begin(self, logs=None):
        found = self._state()
        if found is None:
            return
        epoch, path = found
        restore_training_state(self.model, path)
        self.model.resume_epoch = epoch + 1  # fit starts there

    def on_epoch_end(self, epoch, logs=None):
        old = self._state()
        name = f"backup-epoch-{epoch + 1}.fdn"
        self.model.save(os.path.join(self.backup_dir, name))
        state = json.dumps({"epoch": epoch, "file": name}).encode()
        write_atomically(self._state_path(), lambda f: f.write(state))
        if old is not None and os.path.basename(old[1]) != name:
            _remove(old[1])

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        found = self._state()
        _remove(self._state_path())
        if found is not None:
            _remove(found[1])


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
