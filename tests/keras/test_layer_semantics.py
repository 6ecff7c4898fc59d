"""Where a Keras layer's numbers differ from the torch-named layer's, the Keras namespace gives
Keras's: activation="leaky_relu" has slope 0.2, BatchNormalization's moving variance takes the
biased batch variance; keras.activations work as layer activations (fused and saved by name);
get_weights / set_weights round-trip every layer, and a wrong array changes nothing."""
import numpy as np
import pytest

from fusednn import Tensor, keras, nn


def test_leaky_relu_has_kerass_slope_in_keras_layers_and_torchs_in_nn():
    x = Tensor(np.array([[-1.0, 2.0]], np.float32))
    for module, slope in ((keras.layers, 0.2), (nn, 0.01)):
        dense = module.Dense(2, activation="leaky_relu", use_bias=False)
        dense(x)
        dense.weight.data[...] = np.eye(2, dtype=np.float32)
        np.testing.assert_allclose(dense(x).numpy(), [[-slope, 2.0]], rtol=1e-6)
        np.testing.assert_allclose(module.Activation("leaky_relu")(x).numpy(), [[-slope, 2.0]],
                                   rtol=1e-6)
    images = Tensor(-np.ones((1, 4, 4, 1), np.float32))
    conv = keras.layers.Conv2D(1, 1, activation="leaky_relu", use_bias=False)
    conv(images)
    conv.weight.data[...] = 1.0
    np.testing.assert_allclose(conv(images).numpy(), -0.2, rtol=1e-6)
    fused = keras.Sequential([keras.layers.Conv2D(1, 1, activation="leaky_relu",
                                                  use_bias=False, input_shape=(4, 4, 1)),
                              keras.layers.MaxPooling2D(2)])  # the fused conv + pool path
    fused.layers[0].weight.data[...] = 1.0
    np.testing.assert_allclose(fused.predict(-np.ones((1, 4, 4, 1), np.float32)), -0.2,
                               rtol=1e-6)


def test_keras_activation_functions_are_layer_activations_by_name(tmp_path):
    L, A = keras.layers, keras.activations
    model = keras.Sequential([L.Dense(5, activation=A.relu, input_dim=3),
                              L.Dense(4, activation=A.elu), L.Activation(A.hard_silu),
                              L.Dense(2, activation=A.softmax)])
    assert [getattr(layer, "activation", None) for layer in model.layers] == \
        ["relu", "elu", "hard_silu", "softmax"]
    assert model.final_activation() == "softmax"
    model.compile("adam", "categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert A.get("swish") is A.silu and A.serialize(A.mish) == "mish"
    with pytest.raises(ValueError, match="unknown activation"):
        A.get("no_such_activation")
    z = np.array([[-2.0, 0.5, 7.0]], np.float32)
    np.testing.assert_allclose(A.relu(z, max_value=6.0).numpy(), [[0.0, 0.5, 6.0]])
    np.testing.assert_allclose(A.relu(z, negative_slope=0.1).numpy(), [[-0.2, 0.5, 7.0]],
                               rtol=1e-6)
    np.testing.assert_allclose(A.leaky_relu(z).numpy(), [[-0.4, 0.5, 7.0]], rtol=1e-6)


@pytest.mark.parametrize("momentum", [0.99, 0.5])
def test_batch_norm_moving_variance_is_kerass_or_torchs(momentum):
    """One training batch: Keras's moving variance moves toward the batch's biased variance,
    torch's (nn.BatchNorm1D) toward the unbiased one; both moving means alike."""
    x = np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32) * 2 + 1
    keras_bn = keras.layers.BatchNormalization(momentum=momentum)
    keras_bn.build((None, 3))
    torch_bn = nn.BatchNorm1D(3, momentum=1 - momentum)
    for bn in (keras_bn, torch_bn):
        bn.train()
        bn(Tensor(x))
    mean, var = x.astype(np.float64).mean(0), x.astype(np.float64).var(0)
    np.testing.assert_allclose(keras_bn.running_mean, momentum * 0 + (1 - momentum) * mean,
                               rtol=1e-5)
    np.testing.assert_allclose(keras_bn.running_var, momentum * 1 + (1 - momentum) * var,
                               rtol=1e-5)
    np.testing.assert_allclose(torch_bn.running_var,
                               momentum * 1 + (1 - momentum) * var * 8 / 7, rtol=1e-5)


def test_every_layer_round_trips_its_weights_and_bad_arrays_change_nothing():
    L = keras.layers
    model = keras.Sequential([L.Conv2D(3, 3, input_shape=(6, 6, 2)), L.BatchNormalization(),
                              L.Flatten(), L.Dense(4), L.BatchNormalization(center=False,
                                                                           scale=False),
                              L.Dense(2)])
    model.build((None, 6, 6, 2))
    rng = np.random.default_rng(2)
    new = [rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    before = model.get_weights()
    wrong = list(new)
    wrong[-1] = np.zeros(3, np.float32)  # the last Dense's bias has 2 entries
    with pytest.raises(ValueError, match=r"array 11 has shape \(3,\).*\(2,\)"):
        model.set_weights([w * 2 for w in wrong[:-1]] + [wrong[-1]])
    with pytest.raises(ValueError, match="the model has 12 weight arrays, got 11"):
        model.set_weights(new[:-1])
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("center,scale", [(True, False), (False, True), (False, False)])
def test_batch_normalization_centers_and_scales_one_at_a_time(center, scale):
    """Keras's center/scale: the weight left out is not there at all (no gamma: 1, no beta:
    0); get_weights lists what there is, gamma before beta, then the moving statistics."""
    rng = np.random.default_rng(0)
    layer = keras.layers.BatchNormalization(center=center, scale=scale, epsilon=1e-3)
    model = keras.Sequential([keras.Input((5,)), layer])
    trained = [rng.standard_normal(5).astype(np.float32) for _ in range(center + scale)]
    moving = [rng.standard_normal(5).astype(np.float32), rng.random(5).astype(np.float32) + .5]
    model.set_weights(trained + moving)
    assert len(layer.get_weights()) == len(trained) + 2 and model.count_params() == 5 * (
        len(trained) + 2)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    gamma = trained[0] if scale else 1.0
    beta = trained[-1] if center else 0.0
    expected = (x - moving[0]) / np.sqrt(moving[1] + 1e-3) * gamma + beta
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert len(layer.trainable_weights) == len(trained)
    if trained:
        model.compile(keras.optimizers.SGD(0.1), "mse")
        model.train_on_batch(x, np.zeros((4, 5), np.float32))
        assert not np.allclose(layer.get_weights()[0], trained[0])
    restored = keras.Sequential.from_config(model.get_config())
    assert len(restored.layers[0].get_weights()) == len(trained) + 2


def test_layers_take_arrays_as_kerass_do():
    """layer(x) with a numpy array, a nested list or integers, as Keras's layers take them
    (an Embedding gets its indices as they are); anything else names the layer."""
    x = np.arange(8, dtype=np.float64).reshape(2, 4) / 8
    dense = keras.layers.Dense(3)
    np.testing.assert_allclose(dense(x).numpy(), x @ dense.get_weights()[0], rtol=1e-6)
    assert dense(x.tolist()).shape == (2, 3) and dense(np.ones((2, 4), np.int64)).shape == (2, 3)
    assert keras.layers.Conv2D(2, 3)(np.ones((1, 5, 5, 3), np.float32)).shape == (1, 3, 3, 2)
    assert keras.layers.Embedding(5, 2)(np.array([[1, 4]])).shape == (1, 2, 2)
    assert keras.layers.Dropout(0.5)(np.ones((4, 4)), training=True).shape == (4, 4)
    with pytest.raises(TypeError, match="dense.*: expected a tensor or an array of numbers"):
        keras.layers.Dense(3)("abc")


def test_kerass_weight_attributes():
    """kernel (a view in Keras's layout), bias, embeddings, and BatchNormalization's gamma,
    beta, moving_mean and moving_variance."""
    dense = keras.layers.Dense(3)
    dense(np.ones((2, 4)))
    assert dense.kernel.shape == (4, 3) and dense.bias.shape == (3,)
    np.testing.assert_array_equal(dense.kernel.numpy(), dense.get_weights()[0])
    dense.kernel.numpy()[0, 0] = 5.0  # a view: the weight itself
    assert dense.get_weights()[0][0, 0] == 5.0
    conv = keras.layers.Conv2D(2, 3)
    conv(np.ones((1, 5, 5, 4)))
    np.testing.assert_array_equal(conv.kernel.numpy(), conv.get_weights()[0])
    norm = keras.layers.BatchNormalization()
    norm(np.ones((2, 3)))
    assert [w.shape for w in (norm.gamma, norm.beta, norm.moving_mean, norm.moving_variance)] \
        == [(3,)] * 4
    assert keras.layers.Embedding(5, 2).embeddings.shape == (5, 2)
