"""Keras's metric classes beside the epoch ones (BinaryAccuracy(threshold), the accuracies,
the regression errors, RootMeanSquaredError, R2Score, SparseTopK) and the "mape" / "msle"
names: through evaluate, against their formulas over the whole data in float64; a regression
model's metric objects see its outputs, not a sigmoid of them."""
import numpy as np
import pytest

from fusednn import keras

K = keras.metrics
rng = np.random.default_rng(0)


def model(units, activation, loss, metrics):
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.layers.Dense(units, activation=activation, input_dim=5)])
    m.compile("sgd", loss, metrics=metrics)
    return m


def test_regression_metrics_match_their_formulas():
    x = rng.standard_normal((50, 5)).astype(np.float32)
    t = np.abs(rng.standard_normal((50, 2))) + 0.1
    m = model(2, None, "mse", ["mape", "msle", K.RootMeanSquaredError(), K.R2Score(),
                               K.MeanAbsoluteError(), K.MeanSquaredError(),
                               K.R2Score(class_aggregation=None, name="r2_each")])
    got = m.evaluate(x, t.astype(np.float32), batch_size=16, verbose=0, return_dict=True)
    y = m.predict(x).astype(np.float64)
    eps = 1e-7
    assert got["mape"] == pytest.approx(
        np.mean(100 * np.abs((t - y) / np.maximum(np.abs(t), eps))), rel=1e-5)
    assert got["msle"] == pytest.approx(
        np.mean((np.log(np.maximum(y, eps) + 1) - np.log(np.maximum(t, eps) + 1)) ** 2),
        rel=1e-5)
    assert got["root_mean_squared_error"] == pytest.approx(np.sqrt(np.mean((y - t) ** 2)),
                                                           rel=1e-6)
    assert got["mean_absolute_error"] == pytest.approx(np.mean(np.abs(y - t)), rel=1e-6)
    assert got["mean_squared_error"] == pytest.approx(np.mean((y - t) ** 2), rel=1e-6)
    r2 = 1 - ((t - y) ** 2).sum(0) / ((t - t.mean(0)) ** 2).sum(0)
    assert got["r2_score"] == pytest.approx(r2.mean(), rel=1e-6)
    np.testing.assert_allclose(got["r2_each"], r2, rtol=1e-6)


def test_accuracy_classes_and_thresholds():
    x = rng.standard_normal((64, 5)).astype(np.float32)
    labels = rng.integers(0, 3, 64)
    m = model(3, "softmax", "sparse_categorical_crossentropy",
              [K.SparseCategoricalAccuracy(), K.SparseTopKCategoricalAccuracy(k=2),
               K.CategoricalAccuracy(name="cat")])
    got = m.evaluate(x, labels, batch_size=16, verbose=0, return_dict=True)
    p = m.predict(x)
    assert got["sparse_categorical_accuracy"] == pytest.approx(np.mean(p.argmax(1) == labels))
    assert got["cat"] == got["sparse_categorical_accuracy"]
    top2 = np.argsort(-p, axis=1, kind="stable")[:, :2]
    assert got["sparse_top_k_categorical_accuracy"] == pytest.approx(
        np.mean((top2 == labels[:, None]).any(1)))

    yb = (rng.random((64, 1)) > 0.5).astype(np.float32)
    m = model(1, "sigmoid", "binary_crossentropy",
              [K.BinaryAccuracy(threshold=0.3), K.BinaryAccuracy(name="default")])
    got = m.evaluate(x, yb, batch_size=16, verbose=0, return_dict=True)
    p = m.predict(x)
    assert got["binary_accuracy"] == pytest.approx(np.mean((p > 0.3) == (yb > 0.5)))
    assert got["default"] == pytest.approx(np.mean((p > 0.5) == (yb > 0.5)))


def test_metric_objects_save_with_their_arguments(tmp_path):
    m = model(1, "sigmoid", "binary_crossentropy", [K.BinaryAccuracy(threshold=0.3),
                                                     K.R2Score(num_regressors=2)])
    again = keras.models.load_model(m.save(str(tmp_path / "m.fdnn")))
    assert [x.get_config() for x in again.metrics] == [x.get_config() for x in m.metrics]
    with pytest.raises(ValueError, match="class_aggregation"):
        K.R2Score(class_aggregation="median")
