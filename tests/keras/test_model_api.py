"""Keras's Sequential API beyond fit: train_on_batch / test_on_batch / predict_on_batch (their
numbers checked against Keras 3.15 on the same weights), pop and add after training, configs
and JSON, clone_model, History.params."""
import json

import numpy as np
import pytest

from fusednn import keras


def two_layer_model():
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype("float32")
    y = rng.integers(0, 3, 32)
    weights = [rng.standard_normal((4, 5)).astype("float32"),
               rng.standard_normal(5).astype("float32"),
               rng.standard_normal((5, 3)).astype("float32"), np.zeros(3, "float32")]
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(5, activation="relu", kernel_regularizer=keras.regularizers.l2(0.01)),
        keras.layers.Dense(3, activation="softmax")])
    model.set_weights(weights)
    model.compile(keras.optimizers.SGD(0.1, momentum=0.5), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, x, y


def test_on_batch_methods_give_kerass_numbers():
    """Each train_on_batch is one step; its loss (penalty included) and accuracy come from
    the step's forward pass. Keras 3.15 gives these values for these weights and data."""
    model, x, y = two_layer_model()
    w = np.linspace(0.5, 1.5, 32)
    got = [model.train_on_batch(x, y), model.train_on_batch(x, y, sample_weight=w),
           model.train_on_batch(x, y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}),
           model.test_on_batch(x, y), model.test_on_batch(x, y, sample_weight=w)]
    keras_3_15 = [[2.15534, 0.3125], [1.92361, 0.3125], [2.54043, 0.375], [1.49697, 0.375],
                  [1.51339, 0.375]]
    np.testing.assert_allclose(got, keras_3_15, atol=2e-5)
    assert model.optimizer.iterations == 3
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert model.predict_on_batch(x).shape == (32, 3)
    with pytest.raises(ValueError, match="cannot be specified at the same time"):
        model.train_on_batch(x, y, sample_weight=w, class_weight={0: 1.0})


def test_a_layer_added_after_training_is_trained_and_pop_removes_one():
    """The optimizer compile made is made again over the new parameters (before, a layer
    added after fit was silently never updated)."""
    rng = np.random.default_rng(1)
    x, y = rng.random((32, 4)).astype("float32"), rng.random((32, 2)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", "mse")
    model.fit(x, np.repeat(y[:, :1], 3, 1), epochs=1, verbose=0)
    model.add(keras.layers.Dense(2))
    before = model.layers[-1].get_weights()[0].copy()
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.allclose(before, model.layers[-1].get_weights()[0])
    popped = model.pop()
    assert isinstance(popped, keras.layers.Dense) and model.output_shape == (None, 3)
    model.pop()
    with pytest.raises(TypeError, match="There are no layers in the model"):
        model.pop()


def test_configs_json_and_clone_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu",
                                                                    name="hidden"),
                              keras.layers.Dropout(0.25), keras.layers.Dense(3)], name="net")
    config = model.get_config()
    assert config["name"] == "net" and config["build_input_shape"] == (None, 4)
    again = keras.Sequential.from_config(config)
    assert [type(l) for l in again.layers] == [type(l) for l in model.layers]
    assert again.get_layer("hidden").get_config() == model.get_layer("hidden").get_config()
    assert again.count_params() == model.count_params() == 67
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Sequential"
    assert keras.models.model_from_json(text).output_shape == (None, 3)
    clone = keras.models.clone_model(model)
    assert clone is not model and clone.count_params() == 67
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])  # fresh weights
    dense = keras.layers.Dense.from_config(model.layers[0].get_config())
    assert dense.units == 8 and dense.activation == "relu"


def test_history_params():
    rng = np.random.default_rng(2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(rng.random((40, 4)), rng.random(40), epochs=2, batch_size=16, verbose=0)
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 3}
    assert history.epoch == [0, 1]


def test_losses_metrics_optimizers_round_trip_through_configs():
    """Keras's get / serialize / deserialize and get_config / from_config."""
    for loss in (keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
                 keras.losses.SparseCategoricalCrossentropy(ignore_class=0),
                 keras.losses.Huber(delta=2.0, reduction="sum"),
                 keras.losses.BinaryFocalCrossentropy(gamma=3.0, apply_class_balancing=True)):
        again = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
        y, p = np.array([[1.0, 0.0]]), np.array([[0.7, 0.4]])
        if not isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
            assert again(y, p) == loss(y, p)
    assert keras.losses.get("mse") is keras.losses.mean_squared_error
    assert isinstance(keras.losses.get("Huber"), keras.losses.Huber)
    auc = keras.metrics.AUC.from_config(keras.metrics.AUC(num_thresholds=50).get_config())
    assert auc.get_config()["num_thresholds"] == 50
    assert isinstance(keras.metrics.get("Precision"), keras.metrics.Precision)
    opt = keras.optimizers.deserialize(keras.optimizers.serialize(
        keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)))
    assert (opt.learning_rate, opt.momentum, opt.nesterov) == (0.1, 0.9, True)
    assert keras.optimizers.Adam.from_config(keras.optimizers.Adam(0.01).get_config()) \
        .learning_rate == 0.01
    assert keras.regularizers.get("l2").get_config() == {"l1": 0.0, "l2": 0.01}
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        keras.losses.get("bogus")


def test_mean_sum_and_accuracy_metrics():
    mean = keras.metrics.Mean(name="train_loss")
    mean.update_state([1.0, 2.0, 3.0])
    mean.update_state(10.0)
    assert mean.result() == pytest.approx(4.0) and mean.name == "train_loss"
    mean.reset_state()
    mean.update_state([[1.0, 3.0], [5.0, 7.0]], sample_weight=[1.0, 0.0])  # rows averaged
    assert mean.result() == pytest.approx(2.0)
    total = keras.metrics.Sum()
    total.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 0.5, 0.0])
    assert total.result() == pytest.approx(2.0)
    acc = keras.metrics.Accuracy()
    acc.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert acc.result() == pytest.approx(0.75)


def test_auc_takes_kerass_arguments():
    auc = keras.metrics.AUC(num_thresholds=50, from_logits=True)
    auc.update_state([0, 1, 1, 0], [-2.0, 3.0, 0.5, 1.0])  # logits: ranks as probabilities
    assert auc.result() == pytest.approx(0.75)
    assert keras.metrics.AUC.from_config(auc.get_config()).get_config() == auc.get_config()
    with pytest.raises(NotImplementedError, match="curve='PR'"):
        keras.metrics.AUC(curve="PR")
