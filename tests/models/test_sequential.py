"""Sequential on the digits: the accuracy targets, reproducibility, save/load, callbacks,
validation splitting, weighting, and errors raised before training starts."""
import json
import math
import os
import struct
import zipfile

import numpy as np
import pytest

import fusednn
from fusednn import nn
from fusednn.data import load_digits, train_test_split
from fusednn.models import callbacks, zoo

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    return train_test_split(x, y, test_size=0.2, seed=0)


@pytest.fixture(scope="module")
def digit_images():
    x, y = load_digits(as_images=True)
    return train_test_split(x, y, test_size=0.2, seed=0)


def small_mlp():
    return fusednn.Sequential([nn.Dense(32, activation="relu"), nn.Dropout(0.1), nn.Dense(10)],
                              input_shape=(64,))


def test_digits_mlp_reaches_97_percent(digits):
    x_tr, x_te, y_tr, y_te = digits
    fusednn.seed(0)
    model = zoo.mlp((64,), 10)
    model.compile("adam", "cross_entropy", ["accuracy"], lr=1e-3)
    model.fit(x_tr, y_tr, epochs=20, batch_size=64, validation_split=0.1, verbose=0)
    assert model.evaluate(x_te, y_te)["accuracy"] >= 0.97


def test_digits_cnn_reaches_98_percent(digit_images):
    x_tr, x_te, y_tr, y_te = digit_images
    fusednn.seed(0)
    model = zoo.cnn((1, 8, 8), 10)
    model.compile("adam", "cross_entropy", ["accuracy"], lr=1e-3)
    model.fit(x_tr, y_tr, epochs=15, batch_size=64, verbose=0)
    assert model.evaluate(x_te, y_te)["accuracy"] >= 0.98


def run(digits, seed=0, **fit):
    x_tr, _, y_tr, _ = digits
    fusednn.seed(seed)
    model = small_mlp()
    model.compile("adam", "cross_entropy", ["accuracy"], lr=3e-3)
    history = model.fit(x_tr, y_tr, epochs=3, batch_size=32, validation_split=0.2, verbose=0,
                        **fit)
    return model, history


def test_same_seed_gives_identical_history(digits):
    _, a = run(digits)
    _, b = run(digits)
    assert a.history == b.history
    _, c = run(digits, seed=1)
    assert c.history != a.history


def test_save_load_identical_predictions_and_training_continues(digits, tmp_path):
    x_tr, x_te, y_tr, _ = digits
    model, _ = run(digits)
    path = str(tmp_path / "m.fdnn")
    model.save(path)
    loaded = fusednn.load(path)
    np.testing.assert_array_equal(loaded.predict(x_te), model.predict(x_te))
    assert loaded.optimizer.state[loaded.parameters()[0]]["step"] == \
        model.optimizer.state[model.parameters()[0]]["step"]
    for m in (model, loaded):  # one more epoch each, from the same shuffle and dropout state
        fusednn.seed(5)
        m.fit(x_tr, y_tr, epochs=1, batch_size=32, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x_te), model.predict(x_te))


def test_schedule_position_is_saved(digits, tmp_path):
    from fusednn.optim.lr_scheduler import StepLR

    x_tr, _, y_tr, _ = digits
    model = small_mlp()
    model.compile("sgd", lr=0.1, lr_schedule=lambda opt: StepLR(opt, step_size=1, gamma=0.5))
    model.fit(x_tr[:64], y_tr[:64], epochs=3, verbose=0)
    model.save(str(tmp_path / "s.fdnn"))
    loaded = fusednn.load(str(tmp_path / "s.fdnn"))
    assert loaded.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    assert loaded.lr_schedule.last_epoch == model.lr_schedule.last_epoch


def test_save_is_atomic(digits, tmp_path, monkeypatch):
    model, _ = run(digits)
    path = tmp_path / "m.fdnn"
    model.save(str(path))
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(str(path))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.fdnn"]  # no temporary file left behind


def test_early_stopping_restores_the_best_epoch(digits):
    x_tr, _, y_tr, _ = digits
    fusednn.seed(0)
    model = small_mlp()
    model.compile("sgd", lr=0.5)  # large enough that val_loss gets worse at some point
    stopper = callbacks.EarlyStopping("val_loss", patience=1, restore_best_weights=True)
    snapshots = []

    class Snap(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.state_dict())

    history = model.fit(x_tr, y_tr, epochs=30, validation_split=0.2, verbose=0,
                        callbacks=[Snap(), stopper])
    best = int(np.argmin(history["val_loss"]))
    assert stopper.best_epoch == best
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, snapshots[best][k])


def test_missing_monitor_lists_the_available_keys(digits):
    x_tr, _, y_tr, _ = digits
    model = small_mlp()
    model.compile("adam", metrics=["accuracy"])
    with pytest.warns(UserWarning, match=r"Available metrics are: loss,accuracy,lr"):
        model.fit(x_tr[:64], y_tr[:64], epochs=2, verbose=0,
                  callbacks=[callbacks.EarlyStopping("val_loss")])


def test_validation_split_is_shuffled_and_stratified(digits):
    x_tr, _, y_tr, _ = digits
    order = np.argsort(y_tr, kind="stable")  # sorted labels: Keras's split would hold out 9s
    model = small_mlp()
    model.compile("adam", metrics=["accuracy"])
    seen = {}

    class Peek(callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["n"] = True

    h = model.fit(x_tr[order], y_tr[order], epochs=1, validation_split=0.2, verbose=0,
                  callbacks=[Peek()])
    # a validation set of only 9s would score about 0 after one epoch on all classes
    assert h["val_accuracy"][0] > 0.3
    from fusednn.data import split_indices

    keep, held = split_indices(len(y_tr), 0.2, y_tr[order], True, np.random.default_rng(0))
    counts = np.bincount(y_tr[order][held], minlength=10)
    assert counts.min() > 0 and counts.max() - counts.min() <= 3


def test_class_and_sample_weights_change_the_loss(digits):
    x_tr, _, y_tr, _ = digits
    results = []
    for kwargs in ({}, {"class_weight": {0: 5.0}}, {"sample_weight": np.full(len(y_tr), 2.0)}):
        fusednn.seed(0)
        model = small_mlp()
        model.compile("adam")
        results.append(model.fit(x_tr, y_tr, epochs=1, verbose=0, shuffle=False, **kwargs)["loss"][0])
    assert results[1] != results[0]
    assert results[2] == pytest.approx(2 * results[0], rel=0.05)


def test_bad_data_fails_before_training(digits):
    x_tr, _, y_tr, _ = digits
    model = small_mlp()
    model.compile("adam")
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        model.fit(x_tr[:10], y_tr[:9], verbose=0)
    bad = x_tr[:10].copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad, y_tr[:10], verbose=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.fit(x_tr[:10], np.full(10, 12), verbose=0)
    with pytest.raises(ValueError, match=r"samples of shape \(64,\)"):
        model.fit(x_tr[:10].reshape(10, 1, 8, 8), y_tr[:10], verbose=0)
    cnn = zoo.cnn((1, 8, 8), 10)
    cnn.compile("adam")
    with pytest.raises(ValueError, match=r"samples of shape \(1, 8, 8\)"):
        cnn.fit(x_tr[:10], y_tr[:10], verbose=0)


def test_summary_lists_layers_shapes_and_counts():
    text = small_mlp().summary(print_fn=None)
    assert "dense (Dense)" in text and "(None, 32)" in text and "2,080" in text
    assert "Total params: 2,410" in text


def test_csv_tensorboard_and_terminate_on_nan(digits, tmp_path):
    x_tr, _, y_tr, _ = digits
    model = small_mlp()
    model.compile("adam", metrics=["accuracy"])
    model.fit(x_tr[:128], y_tr[:128], epochs=2, validation_split=0.25, verbose=0,
              callbacks=[callbacks.CSVLogger(str(tmp_path / "log.csv")),
                         callbacks.TensorBoard(str(tmp_path / "tb"))])
    lines = (tmp_path / "log.csv").read_text().splitlines()
    # the keys sorted, as Keras's CSVLogger writes them
    assert lines[0] == "epoch,accuracy,loss,lr,val_accuracy,val_loss" and len(lines) == 3
    tags = set()
    from tensorboardX.proto import event_pb2

    for name in os.listdir(tmp_path / "tb"):
        data = (tmp_path / "tb" / name).read_bytes()
        pos = 0
        while pos < len(data):  # TFRecord framing: length, crc, payload, crc
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
            tags.update(v.tag for v in event.summary.value)
            pos += 12 + length + 4
    assert {"loss/train", "loss/validation", "accuracy/validation"} <= tags

    x_bad = np.full_like(x_tr[:64], 1e30)
    model.compile("sgd", lr=1e30)
    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        h = model.fit(x_bad, y_tr[:64], epochs=5, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(h.epoch) == 1 and not math.isfinite(h["loss"][0])


def test_history_plot_and_summary_json_from_the_cli(tmp_path):
    from fusednn.cli import main

    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--model", "mlp", "--epochs", "3",
                 "--out", str(out), "--verbose", "0"]) == 0
    for name in ("history.png", "log.csv", "model.fdnn", "summary.json"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert 0.5 < summary["test_accuracy"] <= 1.0
    assert summary["device"] == "cpu" and summary["kernel_path"] in ("scalar", "avx2")
    assert (out / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_epoch_metrics_of_a_logits_model_match_scikit_learn():
    """Epoch metrics (AUC, F1, balanced accuracy) on a model whose loss takes logits: the
    scores pass through the loss's activation first, and the numbers are scikit-learn's."""
    sk = pytest.importorskip("sklearn.metrics")
    from fusednn.models.metrics import F1Score

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.9).astype(np.int64)  # imbalanced: about 20% positives
    model = fusednn.Sequential([nn.Dense(16, activation="relu"), nn.Dense(2)], input_shape=(6,))
    model.compile(optimizer="adam", lr=0.01, loss="cross_entropy",
                  metrics=["balanced_accuracy", F1Score(average="macro", name="f1"), "auc"])
    model.fit(x[:200], y[:200], epochs=3, batch_size=32, verbose=0)
    got = model.evaluate(x[200:], y[200:])
    z = model.predict(x[200:])
    prob = np.exp(z - z.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    pred = z.argmax(1)
    assert got["balanced_accuracy"] == pytest.approx(sk.balanced_accuracy_score(y[200:], pred))
    assert got["f1"] == pytest.approx(sk.f1_score(y[200:], pred, average="macro"))
    onehot = np.eye(2)[y[200:]]  # Keras's AUC counts every element of the one-hot rows
    assert got["auc"] == pytest.approx(sk.roc_auc_score(onehot.ravel(), prob.ravel()), abs=1e-6)


@pytest.mark.parametrize("model", ["lstm", "gru"])
def test_cli_recurrent_models_pass_097_on_digits_with_their_defaults(tmp_path, model):
    """digits read as 8 steps of 8 pixels, seed 0, the CLI's per-model defaults (lr 0.01, 40
    epochs): the test accuracy the recurrent models are held to."""
    from fusednn.cli import main

    out = tmp_path / model
    assert main(["train", "--model", model, "--out", str(out), "--verbose", "0"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lr"] == 0.01 and summary["epochs"] == 40
    assert summary["test_accuracy"] >= 0.97


def test_a_callable_loss_is_weighed_per_sample_or_refuses_weights():
    """A callable giving per-sample losses is averaged, and sample weights weigh its samples
    (sum(w * loss) / N); one giving a single value cannot be weighed per sample, so weights
    are refused rather than approximated."""
    from fusednn import Tensor

    rng = np.random.default_rng(17)
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    sw = rng.random(10).astype(np.float32)

    def per_sample(out, target):
        gap = out - Tensor(np.asarray(target, np.float32))
        return (gap * gap).mean(axis=1)

    def one_value(out, target):
        return per_sample(out, target).mean()

    model = fusednn.Sequential([nn.Dense(1, input_dim=3)])
    model.compile("sgd", per_sample, lr=0.0)
    squared = ((model.predict(x) - y) ** 2)[:, 0].astype(np.float64)
    history = model.fit(x, y, epochs=1, batch_size=10, verbose=0).history
    np.testing.assert_allclose(history["loss"], [squared.mean()], rtol=1e-5)
    history = model.fit(x, y, sample_weight=sw, epochs=1, batch_size=10, verbose=0).history
    np.testing.assert_allclose(history["loss"], [np.sum(sw * squared) / 10], rtol=1e-5)
    model.compile("sgd", one_value, lr=0.0)
    with pytest.raises(ValueError, match="returns one value for the batch"):
        model.fit(x, y, sample_weight=sw, epochs=1, verbose=0)
