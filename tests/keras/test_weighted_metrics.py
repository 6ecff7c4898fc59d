"""Keras's weighted_metrics: weighed by the sample (or class) weights, where ``metrics`` are
not; a weighted metric named like a plain one is logged as "weighted_<name>"; in fit,
validation, evaluate's list order, and a saved model."""
import numpy as np
import pytest

from fusednn import keras

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 40)
W = RNG.uniform(0.0, 2.0, 40)


def _model(**compile_args):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", **compile_args)
    return model


def test_weighted_metrics_weigh_by_the_sample_weights():
    model = _model(metrics=["accuracy"],
                   weighted_metrics=["accuracy", keras.metrics.SparseCategoricalAccuracy(
                       name="sca")])
    logs = model.evaluate(X, Y, sample_weight=W, return_dict=True, verbose=0)
    hits = (model.predict(X, verbose=0).argmax(axis=1) == Y).astype(np.float64)
    assert logs["accuracy"] == pytest.approx(hits.mean())
    assert logs["weighted_accuracy"] == pytest.approx((hits * W).sum() / W.sum())
    assert logs["sca"] == pytest.approx((hits * W).sum() / W.sum())
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy", "sca"]
    assert model.evaluate(X, Y, sample_weight=W, verbose=0) == [
        logs[k] for k in model.metrics_names]
    unweighted = model.evaluate(X, Y, return_dict=True, verbose=0)
    assert unweighted["weighted_accuracy"] == pytest.approx(hits.mean())  # no weights given


def test_class_weights_weigh_them_in_fit_and_validation():
    model = _model(weighted_metrics=["accuracy"])
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}
    history = model.fit(X, Y, class_weight=class_weight, epochs=1, batch_size=40,
                        shuffle=False, verbose=0, validation_data=(X, Y, W))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    hits = (model.predict(X, verbose=0).argmax(axis=1) == Y).astype(np.float64)
    assert history.history["val_accuracy"][0] == pytest.approx((hits * W).sum() / W.sum())


def test_saved_and_loaded(tmp_path):
    model = _model(metrics=["accuracy"], weighted_metrics=["accuracy"])
    model.fit(X, Y, sample_weight=W, epochs=1, verbose=0)
    path = str(tmp_path / "m.fdn")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.evaluate(X, Y, sample_weight=W, return_dict=True, verbose=0) == \
        model.evaluate(X, Y, sample_weight=W, return_dict=True, verbose=0)


def _sgd_model(learning_rate, loss_weights=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy",
                  loss_weights=loss_weights, metrics=["accuracy"])
    return model


@pytest.mark.parametrize("weight", [0.5, [0.5], {"dense": 0.5}])
def test_loss_weights_of_one_output_scale_the_loss(weight, tmp_path):
    plain, weighted = _sgd_model(0.1), _sgd_model(0.1, weight)
    base, scaled = (m.evaluate(X, Y, verbose=0) for m in (plain, weighted))
    assert scaled[0] == pytest.approx(0.5 * base[0]) and scaled[1] == base[1]
    # half the loss under SGD: the step of half the learning rate
    half_rate = _sgd_model(0.05)
    for m in (weighted, half_rate):
        m.fit(X, Y, epochs=1, batch_size=40, shuffle=False, verbose=0)
    np.testing.assert_allclose(weighted.get_weights()[0], half_rate.get_weights()[0],
                               rtol=1e-6, atol=1e-7)
    path = str(tmp_path / "m.fdn")
    weighted.save(path)
    assert keras.models.load_model(path).evaluate(X, Y, verbose=0) == \
        weighted.evaluate(X, Y, verbose=0)
    with pytest.raises(ValueError, match="one output"):
        _sgd_model(0.1, [0.5, 0.5])
