"""Identity, ELU, PReLU, ZeroPadding1D, Cropping1D and UpSampling1D: values from their
formulas, and a model that trains and saves them (their training steps matched Keras 3.15's on
the same weights when written)."""
import numpy as np
import pytest

from fusednn import keras

L = keras.layers
X = np.random.default_rng(2).standard_normal((3, 6, 2)).astype(np.float32)


@pytest.mark.parametrize("layer,formula", [
    (L.Identity(), lambda x: x),
    (L.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (L.PReLU(alpha_initializer=keras.initializers.Constant(0.25)),
     lambda x: np.where(x > 0, x, 0.25 * x)),
    (L.ZeroPadding1D((1, 3)), lambda x: np.pad(x, ((0, 0), (1, 3), (0, 0)))),
    (L.Cropping1D((1, 2)), lambda x: x[:, 1:-2]),
    (L.UpSampling1D(3), lambda x: np.repeat(x, 3, axis=1)),
])
def test_values(layer, formula):
    np.testing.assert_allclose(layer(X).numpy(), formula(X), rtol=1e-6, atol=1e-7)


def test_prelu_learns_its_slopes_and_a_model_saves(tmp_path):
    prelu = L.PReLU(shared_axes=[1])
    model = keras.Sequential([keras.Input((6, 2)), L.ZeroPadding1D(1), prelu,
                              L.UpSampling1D(2), L.Cropping1D((2, 1)), L.Flatten(), L.Dense(1)])
    assert prelu.get_weights()[0].shape == (1, 2)  # shared along the steps
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(X, np.ones((3, 1), np.float32), epochs=3, verbose=0)
    assert np.abs(prelu.get_weights()[0]).max() > 0  # the slopes moved from 0
    again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))
    with pytest.raises(ValueError, match="must be smaller than the input length"):
        L.Cropping1D((3, 3))(X)
    for layer in (L.ZeroPadding1D(1), L.Cropping1D(1), L.UpSampling1D(2)):
        with pytest.raises(ValueError, match="expects 3-D inputs"):
            layer(np.ones((2, 3), np.float32))
