"""BackupAndRestore: a fit interrupted mid-way and run again resumes at the epoch after the
last finished one, with that epoch's weights, optimizer state and schedule position — the
same weights as a fit never interrupted — and a finished fit leaves no backup."""
import os

import numpy as np
import pytest

import fusednn
from fusednn import keras
from fusednn.callbacks import BackupAndRestore, Callback


class StopAt(Callback):
    """Raises at the start of an epoch, as a killed process stops."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(learning_rate=0.01), "mse")
    return model


DATA = (np.random.default_rng(1).standard_normal((32, 5)).astype(np.float32),
        np.random.default_rng(2).standard_normal((32, 1)).astype(np.float32))


def test_an_interrupted_fit_resumes_with_the_same_numbers(tmp_path):
    whole = _model()
    whole.fit(*DATA, epochs=5, batch_size=8, shuffle=False, verbose=0)
    backup = str(tmp_path / "backup")
    model = _model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(*DATA, epochs=5, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[BackupAndRestore(backup), StopAt(3)])
    assert sorted(os.listdir(backup)) == ["backup-epoch-3.fdn", "training_state.json"]
    again = _model()  # a new process: fresh weights, restored from the backup
    history = again.fit(*DATA, epochs=5, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[BackupAndRestore(backup)])
    assert history.epoch == [3, 4]  # epochs 4 and 5 only
    for a, b in zip(whole.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert os.listdir(backup) == []  # a finished fit deletes its backup


def test_the_backup_is_kept_when_asked_and_a_bad_state_file_is_named(tmp_path):
    backup = tmp_path / "b"
    model = _model()
    model.fit(*DATA, epochs=2, verbose=0,
              callbacks=[BackupAndRestore(str(backup), delete_checkpoint=False)])
    assert sorted(os.listdir(backup)) == ["backup-epoch-2.fdn", "training_state.json"]
    (backup / "training_state.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        _model().fit(*DATA, epochs=3, verbose=0, callbacks=[BackupAndRestore(str(backup))])
    with pytest.raises(NotImplementedError, match="save_freq"):
        BackupAndRestore(str(backup), save_freq=10)


def test_fusednn_sequential_resumes_too(tmp_path):
    def make():
        fusednn.seed(0)
        model = fusednn.Sequential([fusednn.nn.Dense(4, activation="relu"), fusednn.nn.Dense(1)],
                                   input_shape=(5,))
        model.compile("sgd", "mse", lr=0.05, momentum=0.9)
        return model

    whole = make()
    whole.fit(*DATA, epochs=4, batch_size=8, shuffle=False, verbose=0)
    model = make()
    with pytest.raises(KeyboardInterrupt):
        model.fit(*DATA, epochs=4, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[BackupAndRestore(str(tmp_path)), StopAt(2)])
    again = make()
    again.fit(*DATA, epochs=4, batch_size=8, shuffle=False, verbose=0,
              callbacks=[BackupAndRestore(str(tmp_path))])
    for (_, a), (_, b) in zip(whole.state_dict().items(), again.state_dict().items()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
