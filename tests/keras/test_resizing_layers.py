"""Keras's Resizing (bilinear, against torch's interpolate without antialiasing, gradients
included) and CenterCrop (the central window, the odd pixel on the far side), batched or
one image, either data format, in a saved model."""
import numpy as np
import pytest

import fusednn
from fusednn import keras

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("size", [(5, 11), (18, 14), (9, 7), (1, 3)])
def test_resizing_is_bilinear_between_pixel_centers(size):
    x = np.random.default_rng(0).standard_normal((2, 9, 7, 3))
    xt = fusednn.Tensor(x, requires_grad=True)
    out = keras.layers.Resizing(*size)(xt)
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.interpolate(tx.permute(0, 3, 1, 2), size=size, mode="bilinear",
                                          align_corners=False,
                                          antialias=False).permute(0, 2, 3, 1)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    r = np.random.default_rng(1).standard_normal(ref.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_center_crop_and_errors(tmp_path):
    x = np.arange(2 * 9 * 7 * 3, dtype=np.float32).reshape(2, 9, 7, 3)
    np.testing.assert_array_equal(keras.layers.CenterCrop(4, 4)(x).numpy(), x[:, 2:6, 1:5])
    np.testing.assert_array_equal(keras.layers.CenterCrop(3, 2)(x[0]).numpy(), x[0, 3:6, 2:4])
    first = np.moveaxis(x, -1, 1)
    np.testing.assert_array_equal(
        keras.layers.CenterCrop(4, 4, data_format="channels_first")(first).numpy(),
        first[:, :, 2:6, 1:5])
    with pytest.raises(NotImplementedError, match="smaller than the crop"):
        keras.layers.CenterCrop(10, 4)(x)
    with pytest.raises(NotImplementedError, match="only 'bilinear'"):
        keras.layers.Resizing(4, 4, interpolation="nearest")
    model = keras.Sequential([keras.Input((9, 7, 3)), keras.layers.Resizing(8, 8),
                              keras.layers.CenterCrop(6, 6), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, np.zeros(2), verbose=0)
    model.save(str(tmp_path / "m.fdn"))
    np.testing.assert_array_equal(keras.models.load_model(str(tmp_path / "m.fdn")).predict(
        x, verbose=0), model.predict(x, verbose=0))
