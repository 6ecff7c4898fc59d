"""Keras's reshaping, resampling and activation layers (Reshape, Permute, Rescaling,
RepeatVector, UpSampling2D, Cropping2D, MaxPooling1D/AveragePooling1D, ReLU, LeakyReLU,
Softmax) against numpy / torch written from Keras's definitions, gradients included, and
inside a model that is saved and loaded."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from fusednn import Tensor, keras

L = keras.layers
rng = np.random.default_rng(0)


def check(layer, x, reference):
    """The layer's output and input gradient against ``reference`` (a torch function)."""
    ours = Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, expected = layer(ours), reference(theirs)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_reshape_permute_rescaling_repeat():
    x = rand(2, 3, 4)
    check(L.Reshape((4, -1)), x, lambda t: t.reshape(2, 4, 3))
    check(L.Permute((2, 1)), x, lambda t: t.permute(0, 2, 1))
    check(L.Rescaling(1 / 255, offset=-0.5), x, lambda t: t / 255 - 0.5)
    check(L.RepeatVector(3), x[:, 0], lambda t: t[:, None, :].repeat(1, 3, 1))
    with pytest.raises(ValueError, match="at most one -1"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"\(12 values\) cannot be reshaped to \(5, -1\)"):
        L.Reshape((5, -1))(Tensor(x))
    with pytest.raises(ValueError, match="a permutation of 1..2"):
        L.Permute((0, 1))


@pytest.mark.parametrize("size", [(2, 2), (1, 3)])
def test_upsampling2d_repeats_pixels(size):
    x = rand(2, 3, 4, 5)  # channels_last
    check(L.UpSampling2D(size), x,
          lambda t: t.repeat_interleave(size[0], 1).repeat_interleave(size[1], 2))
    with pytest.raises(NotImplementedError, match="'nearest' or 'bilinear'"):
        L.UpSampling2D(interpolation="area")  # bilinear: test_upsampling_bilinear.py
    with pytest.raises(ValueError, match="size must be >= 1"):
        L.UpSampling2D((0, 2))


def test_cropping2d_cuts_the_edges():
    x = rand(2, 6, 7, 3)
    check(L.Cropping2D(((1, 2), (0, 3))), x, lambda t: t[:, 1:4, 0:4])
    check(L.Cropping2D(1), x, lambda t: t[:, 1:5, 1:6])
    with pytest.raises(ValueError, match="leaves nothing"):
        L.Cropping2D(((3, 3), (0, 0)))(Tensor(x))


@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), (3, 2, "valid"),
                                                  (2, None, "same"), (3, 2, "same")])
def test_pooling1d_over_steps(pool, strides, padding):
    x = rand(2, 7, 3)  # (N, steps, features)
    step = strides or pool
    out = -(-7 // step) if padding == "same" else (7 - pool) // step + 1
    total = max((out - 1) * step + pool - 7, 0)
    before, after = total // 2, total - total // 2

    def torch_max(t):
        t = TF.pad(t.permute(0, 2, 1), (before, after), value=float("-inf"))
        return TF.max_pool1d(t, pool, step).permute(0, 2, 1)

    def torch_avg(t):
        t = t.permute(0, 2, 1)
        sums = TF.avg_pool1d(TF.pad(t, (before, after)), pool, step) * pool
        counts = TF.avg_pool1d(TF.pad(torch.ones_like(t), (before, after)), pool, step) * pool
        return (sums / counts).permute(0, 2, 1)

    check(L.MaxPooling1D(pool, strides, padding), x, torch_max)
    check(L.AveragePooling1D(pool, strides, padding), x, torch_avg)
    with pytest.raises(ValueError, match="MaxPooling1D: padding must be 'valid' or 'same'"):
        L.MaxPooling1D(pool, strides, "full")


def test_relu_leaky_relu_softmax_as_keras():
    x = np.array([[-2.0, -0.3, 0.0, 0.3, 0.5, 0.8, 3.0]], np.float32)
    check(L.ReLU(), x, torch.relu)
    # threshold 0.4, slope 0.1, cap 1: x from 0.4 up, 0.1 (x - 0.4) below
    check(L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.4), x,
          lambda t: torch.where(t >= 0.4, t, 0.1 * (t - 0.4)).clamp(max=1.0))
    check(L.LeakyReLU(), x, lambda t: TF.leaky_relu(t, 0.3))  # Keras's default slope
    check(L.LeakyReLU(alpha=0.2), x, lambda t: TF.leaky_relu(t, 0.2))
    y = rand(3, 4, 5)
    check(L.Softmax(), y, lambda t: torch.softmax(t, -1))
    check(L.Softmax(axis=1), y, lambda t: torch.softmax(t, 1))


def test_a_model_of_them_trains_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        L.Rescaling(0.5, input_shape=(8, 8, 1)),
        L.Conv2D(4, 3, padding="same"), L.LeakyReLU(),
        L.UpSampling2D(2), L.Cropping2D(2), L.MaxPooling2D(2),
        L.Reshape((36, 4)), L.MaxPooling1D(2), L.Permute((2, 1)), L.Flatten(),
        L.Dense(6), L.ReLU(max_value=6.0), L.RepeatVector(2), L.Flatten(),
        L.Dense(2), L.Softmax()])
    assert model.output_shape == (None, 2)
    x = rand(32, 8, 8, 1)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "shapes.keras")
    loaded = keras.models.load_model(tmp_path / "shapes.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("make,sample", [(lambda: L.Dense(3, activation="tanh"), (5,)),
                                         (lambda: L.Conv2D(2, 3, padding="same"), (6, 6, 2))])
def test_time_distributed_applies_one_layer_to_every_step(make, sample, tmp_path):
    """The same weights on each step: equal to calling the layer step by step, gradients of
    the input and the weights included; saved and loaded in a model."""
    x = rand(2, 4, *sample)
    wrapped = L.TimeDistributed(make())
    ours = Tensor(x, requires_grad=True)
    y = wrapped(ours)
    layer = wrapped.layer
    steps = [Tensor(x[:, t], requires_grad=True) for t in range(4)]
    per_step = [layer(s) for s in steps]
    np.testing.assert_allclose(y.numpy(), np.stack([p.numpy() for p in per_step], 1),
                               rtol=1e-6, atol=1e-6)
    g = rand(*y.shape)
    y.backward(g)
    grads_wrapped = [p.grad.numpy().copy() for p in layer.parameters()]
    for p in layer.parameters():
        p.grad = None
    for t, p in enumerate(per_step):
        p.backward(g[:, t])
    np.testing.assert_allclose(ours.grad.numpy(), np.stack([s.grad.numpy() for s in steps], 1),
                               rtol=1e-5, atol=1e-6)
    for a, p in zip(grads_wrapped, layer.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-4, atol=1e-5)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([L.TimeDistributed(make(), input_shape=(4,) + sample),
                              L.Flatten(), L.Dense(2)])
    model.save(tmp_path / "td.keras")
    loaded = keras.models.load_model(tmp_path / "td.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    inner = model.layers[0].layer
    weights = model.layers[0].get_weights()  # the wrapped layer's, in Keras's layout
    model.layers[0].set_weights([w + 1 for w in weights])
    for p, w in zip(inner.get_weights(), weights):
        np.testing.assert_array_equal(p, w + 1)
    with pytest.raises(ValueError, match=r"expects \(N, T, ...\) inputs"):
        L.TimeDistributed(make())(Tensor(rand(2, 5)))
    with pytest.raises(TypeError, match="layer must be a layer"):
        L.TimeDistributed("dense")


def test_lambda_applies_its_function_and_refuses_to_be_saved(tmp_path):
    model = keras.Sequential([
        keras.layers.Lambda(lambda x: x / 255.0, input_shape=(4,)),
        keras.layers.Dense(2, use_bias=False),
        keras.layers.Lambda(lambda x, k: x * k, arguments={"k": 3.0})])
    model.compile("sgd", "mse")
    x = np.full((3, 4), 255.0, np.float32)
    kernel = model.get_weights()[0]
    np.testing.assert_allclose(model.predict(x), 3.0 * (x / 255.0) @ kernel, rtol=1e-6)
    model.fit(x, np.zeros((3, 2), np.float32), epochs=1, verbose=0)  # gradients flow through
    assert not np.allclose(model.get_weights()[0], kernel)
    with pytest.raises(TypeError, match="Lambda"):
        model.save(str(tmp_path / "m.fdnn"))
    with pytest.raises(TypeError, match="must return a fusednn Tensor"):
        keras.layers.Lambda(lambda x: 1.0)(keras.layers.Dense(2)(Tensor(x)))
