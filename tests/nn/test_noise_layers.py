"""GaussianNoise, GaussianDropout and SpatialDropout1D / 2D / 3D: Keras's layers, active in
training only, drawn from the seeded stream (the same seed, the same noise), with the
statistics their definitions give on a large input, gradients passing through as the noise
says."""
import numpy as np
import pytest

import fusednn
from fusednn import Tensor, keras, nn


def test_gaussian_noise_adds_normal_noise_in_training_only():
    x = Tensor(np.ones((200, 500), np.float32), requires_grad=True)
    layer = nn.GaussianNoise(0.3)
    fusednn.seed(0)
    y = layer(x)
    noise = y.numpy() - 1.0
    assert abs(noise.mean()) < 0.003 and noise.std() == pytest.approx(0.3, rel=0.01)
    assert abs(np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1]) < 0.01
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 1.0)  # additive: the identity's gradient
    fusednn.seed(0)
    np.testing.assert_array_equal(layer(x).numpy(), y.numpy())
    layer.eval()
    assert layer(x) is x


def test_gaussian_dropout_multiplies_by_normal_noise_of_the_rates_variance():
    x = Tensor(np.full((200, 500), 2.0, np.float32), requires_grad=True)
    layer = nn.GaussianDropout(0.2)
    fusednn.seed(1)
    y = layer(x)
    factor = y.numpy() / 2.0
    assert factor.mean() == pytest.approx(1.0, abs=0.003)
    assert factor.var() == pytest.approx(0.2 / 0.8, rel=0.02)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), factor, rtol=1e-6)
    layer.eval()
    assert layer(x) is x


def test_spatial_dropout_drops_whole_channels_over_every_step():
    x = Tensor(np.ones((64, 7, 300), np.float32))
    layer = nn.SpatialDropout1D(0.25)
    fusednn.seed(2)
    y = layer(x).numpy()
    assert np.all(y == y[:, :1, :])  # the same for every step
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert (y[:, 0, :] == 0).mean() == pytest.approx(0.25, abs=0.01)
    with pytest.raises(ValueError, match=r"expects \(batch, steps, channels\)"):
        layer(Tensor(np.ones((3, 4), np.float32)))
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        nn.SpatialDropout1D(1.0)


@pytest.mark.parametrize("layer,shape,channel", [
    (nn.SpatialDropout2D(0.3, data_format="channels_last"), (40, 5, 4, 50), 3),
    (nn.SpatialDropout2D(0.3, data_format="channels_first"), (40, 50, 5, 4), 1),
    (nn.SpatialDropout3D(0.3), (40, 3, 2, 2, 50), 4),
])
def test_spatial_dropout_2d_and_3d_drop_whole_channels(layer, shape, channel):
    x = Tensor(np.ones(shape, np.float32), requires_grad=True)
    fusednn.seed(3)
    y = layer(x)
    values = np.moveaxis(y.numpy(), channel, 1).reshape(shape[0], shape[channel], -1)
    assert np.all(values == values[:, :, :1])  # one draw per (sample, channel)
    assert set(np.unique(values)) <= {0.0, np.float32(1 / 0.7)}
    assert (values[:, :, 0] == 0).mean() == pytest.approx(0.3, abs=0.03)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # the mask's gradient
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="expects"):
        layer(Tensor(np.ones((3, 4), np.float32)))


def test_keras_spatial_dropout_2d_follows_the_data_format(tmp_path):
    layer = keras.layers.SpatialDropout2D(0.5)
    assert layer.data_format == "channels_last"
    again = keras.layers.SpatialDropout2D.from_config(layer.get_config())
    assert again.rate == 0.5 and again.data_format == "channels_last"
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.SpatialDropout2D(0.25), keras.layers.Conv2D(2, 3),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    x = np.random.default_rng(1).standard_normal((8, 6, 6, 3)).astype(np.float32)
    model.fit(x, np.zeros((8, 1)), epochs=1, verbose=0)
    model.save(str(tmp_path / "m.fdn"))
    loaded = keras.models.load_model(str(tmp_path / "m.fdn"))
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_noise_layers_train_save_and_load_in_keras_models(tmp_path):
    L = keras.layers
    model = keras.Sequential([L.GaussianNoise(0.1, input_shape=(6, 4)), L.SpatialDropout1D(0.2),
                              L.LSTM(5), L.GaussianDropout(0.1), L.Dense(2)])
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 6, 4), np.float32), rng.random((16, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))  # eval: no noise


def test_keras_dropout_noise_shape_shares_draws_along_its_ones(tmp_path):
    layer = keras.layers.Dropout(0.5, noise_shape=(None, 1, 1, 8))
    x = Tensor(np.ones((200, 3, 3, 8), np.float32), requires_grad=True)
    fusednn.seed(4)
    y = layer(x, training=True)
    values = y.numpy()
    assert np.all(values == values[:, :1, :1, :])  # one draw per (sample, channel)
    assert set(np.unique(values)) <= {0.0, 2.0}
    assert (values[:, 0, 0, :] == 0).mean() == pytest.approx(0.5, abs=0.05)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)
    assert layer(x) is x  # inference
    assert keras.layers.Dropout.from_config(layer.get_config()).noise_shape == (None, 1, 1, 8)
    with pytest.raises(ValueError, match="does not broadcast"):
        layer(Tensor(np.ones((2, 3, 8), np.float32)), training=True)
    with pytest.raises(ValueError, match="positive ints"):
        keras.layers.Dropout(0.5, noise_shape=(None, 0))
    # between channels-last convs it drops the conv's channels (its own layout, not NCHW's)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.Dropout(0.3, noise_shape=(None, 1, 1, 4)),
                              keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.ones((8, 6, 6, 3), np.float32), np.zeros(8), epochs=1, verbose=0)
    model.save(str(tmp_path / "m.fdn"))
    loaded = keras.models.load_model(str(tmp_path / "m.fdn"))
    assert loaded.layers[1].noise_shape == (None, 1, 1, 4)
