"""Keras's layer and model attributes: trainable (freezing: no update, a frozen
BatchNormalization runs in inference mode, kept across save and load), weights /
trainable_weights / non_trainable_weights, count_params, compute_output_shape, get_layer,
metrics_names."""
import numpy as np
import pytest

from fusednn import keras

L = keras.layers


def model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([L.Dense(4, input_dim=3, name="base"), L.BatchNormalization(),
                          L.Dense(2, name="head")])
    m.compile("adam", "mse", metrics=["mae"])
    return m


def test_weights_counts_and_shapes_are_kerass():
    m = model()
    assert [w.shape for w in m.weights] == [(3, 4), (4,), (4,), (4,), (4,), (4,), (4, 2), (2,)]
    assert len(m.trainable_weights) == 6 and len(m.non_trainable_weights) == 2
    assert m.layers[1].count_params() == 16 and m.count_params() == 42  # Keras: all weights
    assert m.get_layer("head").compute_output_shape((None, 4)) == (None, 2)
    assert m.get_layer(index=-1) is m.get_layer("head")
    assert m.metrics_names == ["loss", "mae"]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        m.get_layer("nope")
    with pytest.raises(ValueError, match="not built"):
        L.Dense(3).count_params()


def test_frozen_layers_keep_their_weights_and_statistics(tmp_path):
    m = model()
    base, bn, head = m.layers
    base.trainable = bn.trainable = False
    assert not m.trainable and len(m.trainable_weights) == 2
    before = [layer.get_weights() for layer in m.layers]
    rng = np.random.default_rng(1)
    x, y = rng.random((32, 3), np.float32), rng.random((32, 2), np.float32)
    m.fit(x, y, epochs=2, verbose=0)
    for frozen, was in zip((base, bn), before[:2]):
        for a, b in zip(frozen.get_weights(), was):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head.get_weights()[0], before[2][0])
    again = keras.models.load_model(m.save(str(tmp_path / "m.fdnn")))
    assert [layer.trainable for layer in again.layers] == [False, False, True]
    m.trainable = True
    m.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(base.get_weights()[0], before[0][0])


def test_a_model_with_nothing_to_train_fits_with_a_warning_and_changes_nothing():
    """Keras's trainer: no trainable weights, so no update; the epochs still run and report
    their loss, with a warning."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((12, 3)).astype(np.float32)
    y = rng.standard_normal((12, 2)).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    model.trainable = False
    model.compile(keras.optimizers.SGD(0.1), "mse")
    before = model.get_weights()
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        history = model.fit(x, y, epochs=2, batch_size=4, verbose=0).history
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    expected = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    np.testing.assert_allclose(history["loss"], [expected] * 2, rtol=1e-5)


def test_default_layer_names_are_keras_snake_case():
    """Keras names a layer after its class in snake case; get_layer finds it by that name."""
    class MyDenseLayer(keras.layers.Layer):
        pass

    model = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.BatchNormalization(),
                              keras.layers.BatchNormalization(),
                              keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1)])
    assert [layer.name for layer in model.layers] == [
        "batch_normalization", "batch_normalization_1", "conv2d_transpose",
        "global_average_pooling2d", "dense"]
    assert model.get_layer("conv2d_transpose") is model.layers[2]
    assert keras.layers.SimpleRNN(3).name == "simple_rnn"
    assert MyDenseLayer().name == "my_dense_layer"


def test_batch_normalization_shows_kerass_momentum_and_epsilon():
    bn = keras.layers.BatchNormalization()
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)  # Keras's values, not torch's 0.01
    bn = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-2)
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32) + 5.0
    bn(x, training=True)
    moving_mean = bn.get_weights()[2]
    np.testing.assert_allclose(moving_mean, 0.1 * x.mean(axis=0), rtol=1e-5)
    assert keras.layers.BatchNormalization.from_config(bn.get_config()).momentum == 0.9
