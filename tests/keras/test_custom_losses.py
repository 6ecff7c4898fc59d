"""Losses given to compile as Keras code gives them: a keras.losses function, a function of
(y_true, y_pred) on Tensors, a keras.losses.Loss subclass defining call. Keras calls them
with y_true first and reduces the per-sample values as "sum_over_batch_size":
sum(values * sample_weight) / their number. Checked against that formula in float64, and
one SGD step against the gradient worked out by hand."""
import numpy as np
import pytest

from fusednn import keras

ops = keras.ops


def shifted(y_true, y_pred):
    """Asymmetric on purpose: swapping the arguments changes the value."""
    return ops.mean(ops.square(y_true - 2.0 * y_pred), axis=-1)


class Shifted(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return shifted(y_true, y_pred)


def one_dense(w, b):
    model = keras.Sequential([keras.Input((w.shape[0],)), keras.layers.Dense(w.shape[1])])
    model.set_weights([w, b])
    return model


@pytest.mark.parametrize("loss", [shifted, Shifted()], ids=["function", "Loss subclass"])
def test_a_custom_loss_is_called_and_reduced_as_keras_does(loss):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    sw = rng.random(8).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    lr = 0.1
    model = one_dense(w, b)
    model.compile(keras.optimizers.SGD(lr), loss)
    out = x.astype(np.float64) @ w + b
    per = np.mean((y - 2 * out) ** 2, axis=-1)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), per.mean(), rtol=1e-5)
    history = model.fit(x, y, sample_weight=sw, epochs=1, batch_size=8, shuffle=False,
                        verbose=0).history
    np.testing.assert_allclose(history["loss"], [np.sum(per * sw) / 8], rtol=1e-5)
    d_out = (sw[:, None] * -4 * (y - 2 * out) / 2) / 8  # d/d_out of sum(sw * per) / 8
    np.testing.assert_allclose(model.get_weights()[0], w - lr * x.T.astype(np.float64) @ d_out,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b - lr * d_out.sum(0), rtol=1e-5,
                               atol=1e-6)


def test_keras_loss_functions_train_as_their_names():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.random((10, 1)).astype(np.float32)
    w = rng.standard_normal((3, 1)).astype(np.float32) * 0.1
    b = np.zeros(1, np.float32)
    for function, name in [(keras.losses.mean_squared_error, "mean_squared_error"),
                           (keras.losses.mae, "mean_absolute_error"),
                           (keras.losses.huber, "huber")]:
        by_function, by_name = one_dense(w, b), one_dense(w, b)
        by_function.compile(keras.optimizers.SGD(0.1), function)
        by_name.compile(keras.optimizers.SGD(0.1), name)
        a = by_function.fit(x, y, epochs=2, batch_size=5, shuffle=False, verbose=0)
        b_ = by_name.fit(x, y, epochs=2, batch_size=5, shuffle=False, verbose=0)
        np.testing.assert_allclose(a.history["loss"], b_.history["loss"], rtol=1e-6)


def test_a_loss_subclass_called_directly_reduces_as_keras():
    rng = np.random.default_rng(13)
    y_true = rng.standard_normal((5, 2)).astype(np.float32)
    y_pred = rng.standard_normal((5, 2)).astype(np.float32)
    per = np.mean((y_true - 2 * y_pred) ** 2, axis=-1)
    np.testing.assert_allclose(Shifted()(y_true, y_pred), per.mean(), rtol=1e-5)
    np.testing.assert_allclose(Shifted(reduction="sum")(y_true, y_pred), per.sum(), rtol=1e-5)
    with pytest.raises(NotImplementedError, match="reduction='sum' is not supported"):
        one_dense(np.ones((2, 2), np.float32), np.zeros(2, np.float32)).compile(
            "sgd", Shifted(reduction="sum"))


def test_metric_functions_are_averaged_over_the_epochs_samples_as_keras_does():
    """Keras wraps a metric function in MeanMetricWrapper: the mean of its per-sample values
    over every sample of the epoch (batches of unequal size weigh by their samples)."""
    rng = np.random.default_rng(14)
    x = rng.standard_normal((11, 3)).astype(np.float32)
    y = rng.standard_normal((11, 2)).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    b = np.zeros(2, np.float32)

    def doubled_gap(y_true, y_pred):
        return ops.mean(ops.abs(y_true - 2.0 * y_pred), axis=-1)

    model = one_dense(w, b)
    model.compile(keras.optimizers.SGD(0.0), "mse",
                  metrics=[doubled_gap, keras.metrics.mean_absolute_error, "mae"])
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0).history
    out = x.astype(np.float64) @ w
    np.testing.assert_allclose(history["doubled_gap"], [np.abs(y - 2 * out).mean()], rtol=1e-5)
    np.testing.assert_allclose(history["mean_absolute_error"], history["mae"], rtol=1e-6)
    np.testing.assert_allclose(history["mae"], [np.abs(y - out).mean()], rtol=1e-5)
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["doubled_gap"], np.abs(y - 2 * out).mean(), rtol=1e-5)


def test_a_metric_function_gets_the_targets_and_outputs_as_keras_passes_them():
    """Class indices stay indices (not one-hot rows), and the outputs are the model's."""
    rng = np.random.default_rng(15)
    x = rng.standard_normal((9, 4)).astype(np.float32)
    y = rng.integers(0, 3, 9)
    seen = {}

    def peek(y_true, y_pred):
        seen["shapes"] = (tuple(y_true.shape), tuple(y_pred.shape))
        seen["rows"] = ops.convert_to_numpy(ops.sum(y_pred, axis=-1))
        return ops.mean(y_pred, axis=-1)

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy", metrics=[peek])
    model.evaluate(x, y, batch_size=9, verbose=0)
    assert seen["shapes"] in {((9,), (9, 3)), ((9, 1), (9, 3))}
    np.testing.assert_allclose(seen["rows"], 1.0, rtol=1e-5)  # softmax rows: the outputs


class BinaryTruePositives(keras.metrics.Metric):
    """Keras's guide's custom metric, as written there."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros",
                                                name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "bool")
        y_pred = ops.cast(ops.greater(y_pred, 0.5), "bool")
        values = ops.logical_and(ops.equal(y_true, True), ops.equal(y_pred, True))
        values = ops.cast(values, self.dtype)
        if sample_weight is not None:
            values = values * ops.cast(sample_weight, self.dtype)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives


def test_a_custom_metric_class_counts_over_each_epoch_as_keras_does():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((13, 3)).astype(np.float32)
    y = rng.integers(0, 2, (13, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    metric = BinaryTruePositives()
    model.compile(keras.optimizers.SGD(0.0), "binary_crossentropy", metrics=[metric])
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0).history
    expected = float(((model.predict(x, verbose=0) > 0.5) & (y > 0.5)).sum())
    assert history["binary_true_positives"] == [expected, expected]  # reset between epochs
    assert model.evaluate(x, y, verbose=0, return_dict=True)["binary_true_positives"] == expected
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(np.array([1.0, 1.0]), np.array([0.9, 0.2]), sample_weight=[2.0, 1.0])
    assert float(metric.result()) == 2.0


def test_bad_shapes_in_custom_losses_and_metric_variables_are_named():
    x = np.ones((5, 3), np.float32)
    y = np.ones((5, 2), np.float32)
    model = one_dense(np.ones((3, 2), np.float32), np.zeros(2, np.float32))
    model.compile(keras.optimizers.SGD(0.1), lambda y_true, y_pred: ops.square(y_true - y_pred))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"sample_weight of shape \(5,\) does not broadcast to "
                                         r"the loss of shape \(5, 2\)"):
        model.fit(x, y, sample_weight=np.ones(5, np.float32), batch_size=5, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    metric = BinaryTruePositives()
    with pytest.raises(ValueError, match="metric variable 'true_positives' of shape"):
        metric.true_positives.assign(np.ones(3))
