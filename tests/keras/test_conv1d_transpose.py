"""Transposed 1-D convolution: torch's conv_transpose1d with every gradient, and Keras's
Conv1DTranspose (its output lengths, kernel (k, filters, in), config, a saved model)."""
import numpy as np
import pytest

import fusednn
import fusednn.keras as keras
import fusednn.nn.functional as F

from ..nn.against_torch import compare, rand

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("xs,ws,stride,padding,output_padding,groups,dilation", [
    ((2, 4, 7), (4, 3, 3), 2, 1, 1, 1, 1),
    ((1, 6, 5), (6, 2, 2), 1, 0, 0, 3, 2),
    ((0, 2, 4), (2, 3, 3), 1, 0, 0, 1, 1),
])
def test_conv_transpose1d_matches_torch(xs, ws, stride, padding, output_padding, groups,
                                        dilation):
    rng = np.random.default_rng(1)
    x, w, b = rand(rng, *xs), rand(rng, *ws, scale=0.4), rand(rng, ws[1] * groups)
    compare(lambda x, w, b: F.conv_transpose1d(x, w, b, stride, padding, output_padding,
                                               groups, dilation),
            lambda x, w, b: torch.nn.functional.conv_transpose1d(
                x, w, b, stride, padding, output_padding, groups, dilation), [x, w, b])


@pytest.mark.parametrize("padding,strides,output_padding,length", [
    ("valid", 2, None, 11), ("same", 2, None, 10), ("same", 3, 1, 14), ("valid", 1, None, 7)])
def test_keras_conv1d_transpose_lengths_and_numbers(padding, strides, output_padding, length):
    keras.utils.set_random_seed(2)
    layer = keras.layers.Conv1DTranspose(4, 3, strides=strides, padding=padding,
                                         output_padding=output_padding)
    x = np.random.default_rng(3).standard_normal((2, 5, 3)).astype(np.float32)
    y = layer(x).numpy()
    assert y.shape == (2, length, 4)  # Keras's output lengths
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 4, 3)  # (k, filters, in_channels)
    if padding == "valid":  # torch's transposed conv, whole
        ref = torch.nn.functional.conv_transpose1d(
            torch.tensor(x).permute(0, 2, 1), torch.tensor(kernel).permute(2, 1, 0),
            torch.tensor(bias), strides).permute(0, 2, 1)
        np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-5)
    else:  # Keras's "same": the 2-D layer's, which is checked against torch, on height 1
        image = keras.layers.Conv2DTranspose(
            4, (1, 3), strides=(1, strides), padding=padding,
            output_padding=None if output_padding is None else (0, output_padding))
        image(x[:, None])
        image.set_weights([kernel[None], bias])
        np.testing.assert_allclose(y, image(x[:, None]).numpy()[:, 0], rtol=1e-6, atol=1e-6)


def test_keras_conv1d_transpose_config_fans_and_saving(tmp_path):
    keras.utils.set_random_seed(4)
    layer = keras.layers.Conv1DTranspose(8, 5, strides=2, padding="same")
    layer(np.zeros((1, 6, 16), np.float32))
    kernel = layer.get_weights()[0]
    limit = np.sqrt(6.0 / (5 * 8 + 5 * 16))  # Keras's fans of a (5, 8, 16) kernel
    assert limit * 0.9 < np.abs(kernel).max() <= limit
    config = layer.get_config()
    assert (config["kernel_size"], config["strides"]) == (5, 2)
    assert keras.layers.Conv1DTranspose.from_config(config).kernel_size == (1, 5)
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.Conv1DTranspose(2, 3, 2),
                              keras.layers.Conv1D(1, 3)])
    model.compile("adam", "mse")
    x = np.random.default_rng(5).standard_normal((4, 6, 3)).astype(np.float32)
    model.fit(x, np.zeros((4, 11, 1)), epochs=1, verbose=0)
    model.save(str(tmp_path / "m.fdn"))
    loaded = keras.models.load_model(str(tmp_path / "m.fdn"))
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    with pytest.raises(ValueError, match="3-D inputs"):
        layer(fusednn.Tensor(np.zeros((1, 2, 3, 4), np.float32)))
