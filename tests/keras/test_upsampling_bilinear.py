"""UpSampling2D(interpolation="bilinear") against torch's interpolate(mode="bilinear",
align_corners=False) — Keras's image resize when upsampling — values and gradients, either
data format, in a model saved and loaded."""
import numpy as np
import pytest

import fusednn
import fusednn.keras as keras

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("size", [(2, 2), (3, 2), (1, 4), (2, 1)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_bilinear_upsampling_matches_torch(size, data_format):
    rng = np.random.default_rng(sum(size))
    x = rng.standard_normal((2, 5, 4, 3))
    layer = keras.layers.UpSampling2D(size, data_format=data_format, interpolation="bilinear")
    xt = fusednn.Tensor(x, requires_grad=True)
    y = layer(xt)
    r = rng.standard_normal(y.shape)
    (y * fusednn.Tensor(r)).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    first = tx.permute(0, 3, 1, 2) if data_format == "channels_last" else tx
    ty = torch.nn.functional.interpolate(first, scale_factor=size, mode="bilinear",
                                         align_corners=False)
    ty = ty.permute(0, 2, 3, 1) if data_format == "channels_last" else ty
    (ty * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_bilinear_upsampling_in_a_saved_model(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 2)),
                              keras.layers.UpSampling2D(2, interpolation="bilinear"),
                              keras.layers.Conv2D(1, 3), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).standard_normal((4, 4, 4, 2)).astype(np.float32)
    model.fit(x, np.zeros(4), epochs=1, verbose=0)
    model.save(str(tmp_path / "m.fdn"))
    loaded = keras.models.load_model(str(tmp_path / "m.fdn"))
    assert loaded.layers[0].interpolation == "bilinear"
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    with pytest.raises(NotImplementedError, match="bicubic"):
        keras.layers.UpSampling2D(interpolation="bicubic")
