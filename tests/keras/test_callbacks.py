"""Callbacks with Keras's semantics: EarlyStopping's and ReduceLROnPlateau's counting,
LearningRateScheduler's two schedule forms, ModelCheckpoint's options, CSVLogger's."""
import csv

import numpy as np
import pytest

from fusednn import keras
from fusednn.callbacks import EarlyStopping  # importable as a module


def constant_model():
    """lr 0: the loss never moves, so nothing ever improves after the first epoch."""
    model = keras.Sequential([keras.layers.Dense(1, input_dim=20)])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    return model


def test_early_stopping_kerass_docstring_example():
    # Keras's example: patience=3 on a loss that stops improving runs 4 epochs
    model = constant_model()
    history = model.fit(np.arange(100, dtype=np.float32).reshape(5, 20), np.zeros(5),
                        epochs=10, batch_size=1, verbose=0,
                        callbacks=[EarlyStopping(monitor="loss", patience=3)])
    assert len(history.history["loss"]) == 4


@pytest.mark.parametrize("patience,epochs_run", [(0, 2), (1, 2), (2, 3), (5, 6)])
def test_early_stopping_counts_as_keras(patience, epochs_run):
    model = constant_model()
    history = model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=20, verbose=0,
                        callbacks=[EarlyStopping(monitor="loss", patience=patience)])
    assert len(history.history["loss"]) == epochs_run


def test_early_stopping_baseline_and_start_from_epoch():
    model = constant_model()
    stop = EarlyStopping(monitor="loss", patience=2, baseline=-1.0)  # never beaten
    history = model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=20, verbose=0,
                        callbacks=[stop])
    assert len(history.history["loss"]) == 2
    stop = EarlyStopping(monitor="loss", patience=1, start_from_epoch=5)
    history = model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=20, verbose=0,
                        callbacks=[stop])
    assert len(history.history["loss"]) == 7


def test_mode_auto_follows_the_compiled_metrics_direction():
    """Keras's rule: "auto" is settled at the first epoch's end from the compiled metrics
    (loss and errors down; accuracies, F1, R2, precision up, whatever they are named)."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 4)).astype(np.float32), rng.integers(0, 2, 20)
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_dim=4)])
    model.compile("sgd", "binary_crossentropy",
                  metrics=["mse", "acc", "accuracy", keras.metrics.F1Score(average="micro", name="f1"),
                           keras.metrics.R2Score(), keras.metrics.Precision(name="prec")])
    cases = [("max", "val_mse", np.greater), ("min", "val_loss", np.less),
             ("auto", "val_mse", np.less), ("auto", "loss", np.less), ("auto", "acc", np.greater),
             ("auto", "val_accuracy", np.greater), ("auto", "f1", np.greater),
             ("auto", "r2_score", np.greater), ("auto", "val_prec", np.greater)]
    for mode, monitor, op in cases:
        stop = EarlyStopping(monitor=monitor, mode=mode, patience=5)
        model.fit(x, y, epochs=1, validation_data=(x, y), verbose=0, callbacks=[stop])
        assert stop.monitor_op is op, (mode, monitor)
    with pytest.raises(ValueError, match="monitor=lr, but fusednn cannot tell"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[EarlyStopping(monitor="lr")])
    with pytest.warns(UserWarning, match="EarlyStopping mode 'up' is unknown"):
        stop = EarlyStopping(monitor="loss", mode="up")
    assert stop.mode == "auto"
    model.compile("sgd", "binary_crossentropy", metrics=[keras.metrics.F1Score()])
    with pytest.raises(ValueError, match="'f1_score', whose value is not one number"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[EarlyStopping(monitor="f1_score")])


def test_a_missing_monitor_warns_and_is_not_watched():
    """Keras's rule: the epoch is skipped with a warning listing the keys (a checkpoint with
    save_best_only saves anyway)."""
    model = constant_model()
    with pytest.warns(UserWarning, match="`val_loss` which is not available. Available metrics "
                                         "are: loss"):
        history = model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=3, verbose=0,
                            callbacks=[EarlyStopping(patience=0)])
    assert len(history.history["loss"]) == 3


def test_the_first_watched_epoch_is_the_best_even_when_it_is_nan():
    """Keras starts from no best value: a NaN first epoch becomes the best, and nothing after
    it improves on NaN, so patience runs out."""
    stop = EarlyStopping(monitor="loss", patience=2, mode="min")
    stop.set_model(constant_model())
    stop.on_train_begin()
    for epoch, value in enumerate([float("nan"), 1.0, 0.5]):
        stop.on_epoch_end(epoch, {"loss": value})
    assert stop.model.stop_training and stop.stopped_epoch == 2 and np.isnan(stop.best)
    stop = EarlyStopping(monitor="loss", patience=1, mode="min")
    stop.set_model(constant_model())
    stop.on_train_begin()
    stop.on_epoch_end(0, {"loss": float("inf")})
    assert stop.best == float("inf") and stop.wait == 0


def test_reduce_lr_on_plateau_counts_as_keras():
    model = constant_model()
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.optimizer.learning_rate)

    # Keras: the first epoch sets best; reductions after `patience` further flat epochs
    model.compile(keras.optimizers.SGD(learning_rate=1e-30), "mse")
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2,
                                                min_lr=1e-32)
    model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=7, verbose=0,
              callbacks=[plateau, Spy()])
    assert seen == pytest.approx([1e-30, 1e-30, 5e-31, 5e-31, 2.5e-31, 2.5e-31, 1.25e-31])


def test_learning_rate_scheduler_takes_both_forms_and_refuses_a_second_owner():
    from fusednn.optim.lr_scheduler import StepLR

    seen = []
    model = constant_model()
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    spy = type("Spy", (keras.callbacks.Callback,), {
        "on_epoch_end": lambda self, e, logs=None: seen.append(logs["learning_rate"])})()
    model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=3, verbose=0,
              callbacks=[schedule, spy])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    model = constant_model()
    two = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    model.compile(keras.optimizers.SGD(learning_rate=1.0), "mse")
    model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=2, verbose=0, callbacks=[two])
    assert model.optimizer.learning_rate == pytest.approx(0.25)
    model = keras.Sequential([keras.layers.Dense(1, input_dim=20)])
    model.compile("sgd", "mse", lr_schedule=lambda o: StepLR(o, 1))
    with pytest.raises(ValueError, match="one owner"):
        model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=1, verbose=0,
                  callbacks=[keras.callbacks.LearningRateScheduler(lambda e: 0.1)])


def test_model_checkpoint_options(tmp_path):
    x, y = np.random.default_rng(0).random((32, 20), np.float32), np.zeros(32, np.float32)
    model = keras.Sequential([keras.layers.Dense(1, input_dim=20)])
    model.compile("sgd", "mse")
    path = str(tmp_path / "w-{epoch}.npz")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(
        path, monitor="loss", save_weights_only=True)])
    other = keras.Sequential([keras.layers.Dense(1, input_dim=20)])
    other.load_weights(str(tmp_path / "w-2.npz"))
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    every = str(tmp_path / "b-{epoch}.fdnn")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(every, save_freq=2)])
    assert (tmp_path / "b-1.fdnn").exists()
    never = str(tmp_path / "never.fdnn")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(
        never, monitor="loss", save_best_only=True, initial_value_threshold=-1.0)])
    assert not (tmp_path / "never.fdnn").exists()


def test_csv_logger_separator_and_append(tmp_path):
    path = tmp_path / "log.tsv"
    model = constant_model()
    for _ in range(2):
        model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=2, verbose=0,
                  callbacks=[keras.callbacks.CSVLogger(str(path), separator="\t", append=True)])
    rows = list(csv.reader(open(path), delimiter="\t"))
    assert rows[0][:2] == ["epoch", "loss"] and len(rows) == 5


def test_metrics_as_a_string_and_keras_argument_names_checked_at_compile():
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_dim=4)])
    model.compile("adam", "sparse_categorical_crossentropy", metrics="accuracy")
    assert model.metrics == ["accuracy"]
    from fusednn import Sequential, nn

    plain = Sequential([nn.Dense(3)], input_shape=(4,))
    plain.compile("adam", "cross_entropy", learning_rate=0.01, beta_1=0.8, epsilon=1e-6)
    plain._make_optimizer()
    assert plain.optimizer.param_groups[0]["betas"] == (0.8, 0.999)
    with pytest.raises(TypeError, match="rho"):
        plain.compile("adam", "cross_entropy", rho=0.9)  # Adam has no alpha


def test_lambda_callback_calls_its_functions_with_kerass_arguments():
    from fusednn.keras.callbacks import LambdaCallback

    x = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(2, activation="softmax", input_shape=(3,))])
    model.compile("adam", "sparse_categorical_crossentropy")
    seen = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: seen.append("train"),
        on_epoch_begin=lambda epoch, logs: seen.append(("epoch", epoch)),
        on_batch_end=lambda batch, logs: seen.append(("batch", batch, "loss" in logs)),
        on_epoch_end=lambda epoch, logs: seen.append(("end", epoch, sorted(logs)[0])))
    model.fit(x, y, epochs=2, batch_size=20, verbose=0, callbacks=[callback])
    assert seen == ["train", ("epoch", 0), ("batch", 0, True), ("batch", 1, True),
                    ("end", 0, "loss"), ("epoch", 1), ("batch", 0, True), ("batch", 1, True),
                    ("end", 1, "loss")]
    with pytest.raises(TypeError, match="unknown hook"):
        LambdaCallback(on_step=print)
    with pytest.raises(TypeError, match="must be callable"):
        LambdaCallback(on_epoch_end=3)



def test_history_holds_kerass_keys_and_what_rate_callbacks_log():
    """Keras's History: the loss and metrics (val_ too), "learning_rate" only where a rate
    callback logs it (recorded because the history follows the callbacks); fusednn's own
    Sequential also logs "lr" each epoch."""
    import fusednn

    x = np.random.default_rng(0).random((40, 3)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    model = keras.Sequential([keras.layers.Input((3,)),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    plain = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0).history
    assert sorted(plain) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    scheduled = model.fit(x, y, epochs=2, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)]).history
    assert sorted(scheduled) == ["accuracy", "learning_rate", "loss"]
    assert scheduled["learning_rate"] == pytest.approx([5e-4, 2.5e-4])
    own = fusednn.Sequential([fusednn.nn.Dense(2)], input_shape=(3,))
    own.compile("adam", "cross_entropy")
    assert "lr" in own.fit(x, y, epochs=1, verbose=0).history


def test_csv_logger_writes_kerass_columns(tmp_path):
    """Keras's CSVLogger: the first epoch's keys sorted, val_ columns added when that epoch
    had none ("NA" where a value is missing)."""
    x = np.random.default_rng(1).random((32, 3)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    model = keras.Sequential([keras.layers.Input((3,)),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(path))])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"] and rows[1][3:] == ["NA", "NA"]


def drive(callback, values, lr=0.1):
    """Feeds a callback one monitored value per epoch; returns (wait, lr) after each."""
    model = keras.Sequential([keras.layers.Dense(1, input_dim=3)])
    model.compile(keras.optimizers.SGD(lr), "mse")
    model._make_optimizer()
    callback.set_model(model)
    callback.on_train_begin({})
    trace = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"loss": value})
        trace.append((callback.wait, model.optimizer.param_groups[0]["lr"]))
    return trace


def test_reduce_lr_on_plateau_stops_at_min_lr_and_keeps_waiting():
    """Keras compares its float32 rate with float32(min_lr): at min_lr nothing is reduced,
    so the wait is not reset (Keras 3.15 gives these counts)."""
    plateau = keras.callbacks.ReduceLROnPlateau("loss", factor=0.1, patience=1, mode="max",
                                                min_lr=0.01, min_delta=0.0)
    trace = drive(plateau, [-1.6, -2.5, -2.3, -3.2, -4.6])
    assert [w for w, _ in trace] == [0, 0, 1, 2, 3]
    assert [lr for _, lr in trace] == pytest.approx([0.1, 0.01, 0.01, 0.01, 0.01])


def test_improvements_are_judged_in_float32_as_kerass():
    """1.05 - 0.1 is 0.9500000000000001 in float64 but not above 0.95 in float32, Keras's
    comparison: no improvement, so the wait grows (min_delta's sign is dropped, as Keras's)."""
    plateau = keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=2, mode="max",
                                                min_delta=-0.1)
    trace = drive(plateau, [0.95, 1.05, 1.0])
    assert [w for w, _ in trace] == [0, 1, 0] and plateau.best == 0.95
    assert [lr for _, lr in trace] == pytest.approx([0.1, 0.1, 0.05])


def test_learning_rate_scheduler_wants_a_float_as_keras():
    model = constant_model()
    with pytest.raises(ValueError, match="should be a float. Got: 1"):
        model.fit(np.ones((4, 20), np.float32), np.zeros(4), epochs=1, verbose=0,
                  callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: 1)])


def test_terminate_on_nan_stops_or_raises():
    x, y = np.ones((8, 20), np.float32), np.full(8, np.inf, np.float32)
    model = constant_model()
    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        history = model.fit(x, y, epochs=3, batch_size=4, verbose=0,
                            callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"), \
            pytest.warns(RuntimeWarning, match="non-finite loss"):
        model.fit(x, y, epochs=3, batch_size=4, verbose=0,
                  callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)])


def test_csv_logger_writes_lists_as_keras(tmp_path):
    path = tmp_path / "log.csv"
    logger = keras.callbacks.CSVLogger(str(path))
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 0.5, "f1": np.array([0.25, 0.75])})
    logger.on_train_end()
    rows = list(csv.reader(open(path)))
    assert rows == [["epoch", "f1", "loss", "val_f1", "val_loss"],
                    ["0", '"[0.25, 0.75]"', "0.5", "NA", "NA"]]


def test_kerass_batch_test_and_predict_hooks_with_running_means():
    """Keras 3's hooks and logs: a train or test batch's logs are the running means of the
    loss and metrics since the epoch (or evaluation) began; fit's validation runs the test
    hooks in batches of batch_size; a predict batch's logs hold its outputs. Keras 3.15 gives
    these numbers for this model and data."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.set_weights([np.full((3, 2), 0.1, np.float32) * np.arange(6).reshape(3, 2),
                       np.zeros(2, np.float32)])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    events = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            events.append(("train", batch, round(logs["loss"], 4), logs["accuracy"]))

        def on_test_batch_end(self, batch, logs=None):
            events.append(("test", batch, round(logs["loss"], 4), logs["accuracy"]))

        def on_test_end(self, logs=None):
            events.append(("test_end", round(logs["loss"], 4)))

        def on_predict_batch_end(self, batch, logs=None):
            events.append(("predict", batch, logs["outputs"].shape))

    model.fit(x, y, batch_size=16, epochs=1, validation_data=(x[:20], y[:20]), verbose=0,
              shuffle=False, callbacks=[Recorder()])
    assert events == [("train", 0, 0.7314, 0.25), ("train", 1, 0.7159, 0.3125),
                      ("train", 2, 0.7096, 0.375), ("test", 0, 0.7229, 0.3125),
                      ("test", 1, 0.7123, 0.4), ("test_end", 0.7123)]
    events.clear()
    model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[Recorder()])
    model.predict(x, batch_size=16, verbose=0, callbacks=[Recorder()])
    assert events == [("test", 0, 0.7229, 0.3125), ("test", 1, 0.7087, 0.4375),
                      ("test", 2, 0.7025, 0.5), ("test_end", 0.7025),
                      ("predict", 0, (16, 2)), ("predict", 1, (16, 2)), ("predict", 2, (8, 2))]
    assert Recorder().params is None
    recorder = Recorder()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[recorder])
    assert recorder.params == {"verbose": 0, "epochs": 2, "steps": 3}
