"""keras.layers.Layer subclasses, as Keras's guide writes them: weights from add_weight in
build, call on Tensors, ``training`` passed to call; trained in a Sequential. The numbers
below are Keras 3.15's for the same weights and data."""
import numpy as np
import pytest

from fusednn import keras


class Linear(keras.layers.Layer):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True, name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)
        self.total = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, inputs, training=None):
        y = inputs @ self.w + self.b
        return y * 0.5 if training else y


def test_a_subclassed_layer_trains_as_kerass():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = rng.standard_normal((16, 4)).astype(np.float32)
    layer = Linear(4)
    model = keras.Sequential([keras.Input((3,)), layer, keras.layers.Dense(4)])
    assert [np.shape(w) for w in model.get_weights()] == [(3, 4), (4,), (), (4, 4), (4,)]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 1
    assert model.count_params() == 37
    weights = [rng.standard_normal(np.shape(w)).astype(np.float32) if np.ndim(w) else
               np.float32(0) for w in model.get_weights()]
    model.set_weights(weights)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    first, second = model.train_on_batch(x, y), model.train_on_batch(x, y)
    assert (first, second) == pytest.approx((3.40296, 2.65022), abs=2e-5)
    np.testing.assert_allclose(model.predict(x[:2], verbose=0),
                               [[-1.6257, -2.0255, 0.7207, -1.7608],
                                [-1.7263, -2.1843, 2.102, -2.7245]], atol=2e-4)
    assert layer.get_weights()[2] == 0.0  # the non-trainable weight was not stepped
    assert len(model.optimizer.param_groups[0]["params"]) == 5  # each weight once


def test_layer_errors_and_regularizers():
    class Penalized(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones",
                                     regularizer=keras.regularizers.l2(0.5))

        def call(self, inputs):
            return inputs @ self.w

    layer = Penalized()
    layer(np.ones((1, 3), np.float32))
    assert float(layer.regularization_loss().item()) == pytest.approx(0.5 * 6)
    with pytest.raises(NotImplementedError, match="must define call"):
        keras.layers.Layer()(np.ones((1, 2)))
