"""keras.layers.Normalization: adapt from an array or from batches (the same statistics:
Keras combines batches exactly), given statistics, invert, and a model that keeps them."""
import numpy as np
import pytest

from fusednn import keras

rng = np.random.default_rng(1)
DATA = (rng.standard_normal((20, 3, 4)) * [1, 2, 3, 0.001] + [5, -1, 0, 2]).astype(np.float32)


@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1])
def test_adapt_from_an_array_or_batches(axis):
    layer = keras.layers.Normalization(axis=axis)
    layer.adapt(DATA)
    keep = () if axis is None else tuple(a % 3 for a in ((axis,) if isinstance(axis, int)
                                                         else axis))
    reduce = tuple(d for d in range(3) if d not in keep)
    mean = DATA.astype(np.float64).mean(axis=reduce, keepdims=True)
    std = np.maximum(DATA.astype(np.float64).std(axis=reduce, keepdims=True), 1e-7)
    np.testing.assert_allclose(layer(DATA[:4]).numpy(), ((DATA - mean) / std)[:4], rtol=1e-4,
                               atol=1e-4)
    batched = keras.layers.Normalization(axis=axis)
    batched.adapt([DATA[i:i + 6] for i in range(0, 20, 6)])
    for a, b in zip(batched.get_weights()[:2], layer.get_weights()[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_given_statistics_invert_and_a_saved_model(tmp_path):
    given = keras.layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 0.0, 16.0])
    x = DATA[:2]
    np.testing.assert_allclose(given(x).numpy(),
                               (x - [1, 2, 3, 4]) / np.maximum(np.sqrt([1, 4, 0, 16]), 1e-7),
                               rtol=1e-5)
    assert given.get_weights() == []
    back = keras.layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 0.0, 16.0],
                                      invert=True)
    np.testing.assert_allclose(back(given(x)).numpy()[..., [0, 1, 3]], x[..., [0, 1, 3]],
                               rtol=1e-5)
    model = keras.Sequential([keras.Input((3, 4)), keras.layers.Normalization(),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.layers[0].adapt(DATA)
    assert model.count_params() == 4 + 4 + 1 + 13  # mean, variance, count; the Dense
    model.compile("adam", "mse")
    model.fit(DATA, DATA.sum(axis=(1, 2)), epochs=2, verbose=0)
    again = keras.models.load_model(model.save(str(tmp_path / "n.fdnn")))
    np.testing.assert_allclose(again.predict(DATA, verbose=0), model.predict(DATA, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        keras.layers.Normalization(mean=1.0)
