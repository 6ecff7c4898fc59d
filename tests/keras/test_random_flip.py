"""Keras's RandomFlip: whole images flipped in training only (one draw per image, both axes
together for "horizontal_and_vertical" as Keras 3), the seeded stream, gradients through the
flip, channels-first images, one unbatched image, a model that trains with it."""
import numpy as np
import pytest

import fusednn
import fusednn.keras as keras

IMAGES = np.arange(64 * 3 * 4 * 2, dtype=np.float32).reshape(64, 3, 4, 2)


@pytest.mark.parametrize("mode,axes", [("horizontal", (2,)), ("vertical", (1,)),
                                       ("horizontal_and_vertical", (1, 2))])
def test_each_image_is_flipped_whole_or_kept(mode, axes):
    layer = keras.layers.RandomFlip(mode)
    np.testing.assert_array_equal(layer(IMAGES).numpy(), IMAGES)  # inference: the identity
    fusednn.seed(0)
    x = fusednn.Tensor(IMAGES, requires_grad=True)
    out = layer(x, training=True)
    flipped = np.flip(IMAGES, axis=axes)
    result = out.numpy()
    chosen = [np.array_equal(r, f) for r, f in zip(result, flipped)]
    assert all(c or np.array_equal(r, i) for c, r, i in zip(chosen, result, IMAGES))
    assert 16 < sum(chosen) < 48  # about half
    weights = np.random.default_rng(0).standard_normal(IMAGES.shape).astype(np.float32)
    (out * fusednn.Tensor(weights)).sum().backward()
    expected = np.where(np.array(chosen)[:, None, None, None], np.flip(weights, axis=axes),
                        weights)
    np.testing.assert_array_equal(x.grad.numpy(), expected)  # the gradient flips back
    fusednn.seed(0)
    np.testing.assert_array_equal(layer(IMAGES, training=True).numpy(), result)


def test_channels_first_and_one_image():
    layer = keras.layers.RandomFlip("horizontal", data_format="channels_first")
    fusednn.seed(1)
    out = layer(IMAGES, training=True).numpy()  # (N, C, H, W): W is the last axis
    assert all(np.array_equal(o, i) or np.array_equal(o, i[:, :, ::-1])
               for o, i in zip(out, IMAGES))
    single = keras.layers.RandomFlip("vertical")(IMAGES[0], training=True).numpy()
    assert np.array_equal(single, IMAGES[0]) or np.array_equal(single, IMAGES[0][::-1])
    with pytest.raises(ValueError, match="unknown mode"):
        keras.layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="expects images"):
        keras.layers.RandomFlip()(np.zeros((2, 3), np.float32))


def test_a_model_trains_with_it_and_predicts_without(tmp_path):
    model = keras.Sequential([keras.Input((3, 4, 2)), keras.layers.RandomFlip("horizontal"),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(IMAGES, np.zeros(64), epochs=1, batch_size=16, verbose=0)
    first = model.predict(IMAGES, verbose=0)
    np.testing.assert_array_equal(first, model.predict(IMAGES, verbose=0))
    model.save(str(tmp_path / "m.fdn"))
    np.testing.assert_array_equal(first, keras.models.load_model(
        str(tmp_path / "m.fdn")).predict(IMAGES, verbose=0))
    assert keras.layers.RandomFlip.from_config(model.layers[0].get_config()).mode == "horizontal"
