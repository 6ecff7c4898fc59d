"""Keras's padding="same" (TensorFlow's rule: the output is ceil(size / stride) long, the
padding split with the odd element after) for convolutions with strides or even kernels and
for pooling, against torch running the same windows on an explicitly padded input: outputs
and every gradient."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from fusednn import Tensor, keras
from fusednn.nn import functional as F

rng = np.random.default_rng(0)


def tf_pads(size, k, s, d=1):
    """TensorFlow's "same" padding of one axis, written out: (before, after)."""
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def channels_last_input(*shape):
    x = rng.standard_normal(shape).astype(np.float32)
    return x, Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def upstream(shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("hw,kernel,strides,dilation", [
    ((8, 8), (3, 3), (2, 2), (1, 1)),  # the downsampling conv of many Keras models
    ((7, 9), (3, 3), (2, 2), (1, 1)),
    ((8, 7), (2, 2), (1, 1), (1, 1)),  # an even kernel
    ((9, 10), (4, 3), (3, 2), (1, 1)),
    ((11, 6), (3, 2), (1, 1), (2, 1)),  # an even dilated extent
    ((6, 6), (5, 5), (1, 1), (1, 1)),  # symmetric: the kernel pads it alone
])
def test_conv2d_same_matches_torch_on_the_padded_input(hw, kernel, strides, dilation):
    x, ours_x, theirs_x = channels_last_input(2, *hw, 3)
    layer = keras.layers.Conv2D(4, kernel, strides=strides, padding="same",
                                dilation_rate=dilation, activation="relu")
    y = layer(ours_x)
    w = torch.tensor(layer.weight.numpy(), requires_grad=True)
    b = torch.tensor(layer.bias.numpy(), requires_grad=True)
    (top, bottom), (left, right) = (tf_pads(n, k, s, d) for n, k, s, d in
                                    zip(hw, kernel, strides, dilation))
    padded = TF.pad(theirs_x.permute(0, 3, 1, 2), (left, right, top, bottom))
    expected = torch.relu(TF.conv2d(padded, w, b, strides, 0, dilation)).permute(0, 2, 3, 1)
    assert y.shape == tuple(expected.shape) == (2, -(-hw[0] // strides[0]),
                                                 -(-hw[1] // strides[1]), 4)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = upstream(y.shape)
    y.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.numpy(), w.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.bias.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("length,kernel,strides", [(10, 3, 2), (9, 2, 1), (7, 4, 3)])
def test_conv1d_same_matches_torch_on_the_padded_input(length, kernel, strides):
    x, ours_x, theirs_x = channels_last_input(2, length, 3)
    layer = keras.layers.Conv1D(5, kernel, strides=strides, padding="same")
    y = layer(ours_x)
    w, b = torch.tensor(layer.weight.numpy()), torch.tensor(layer.bias.numpy())
    before, after = tf_pads(length, kernel, strides)
    padded = TF.pad(theirs_x.permute(0, 2, 1), (before, after))
    expected = TF.conv1d(padded, w, b, strides).permute(0, 2, 1)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = upstream(y.shape)
    y.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("hw,pool,strides", [
    ((7, 7), (2, 2), None),  # odd input: one more output than "valid"
    ((8, 9), (3, 3), (2, 2)),
    ((6, 10), (2, 3), (1, 1)),
    ((8, 8), (2, 2), None),  # even input: no padding at all
])
def test_pooling_same_matches_torch_on_the_padded_input(hw, pool, strides):
    """Max pooling pads with -inf; average pooling averages over the input elements each
    window covers (Keras does not count the padding)."""
    step = strides or pool
    (top, bottom), (left, right) = (tf_pads(n, k, s) for n, k, s in zip(hw, pool, step))
    for layer_cls in (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D):
        x, ours_x, theirs_x = channels_last_input(2, *hw, 3)
        y = layer_cls(pool, strides=strides, padding="same")(ours_x)
        nchw = theirs_x.permute(0, 3, 1, 2)
        if layer_cls is keras.layers.MaxPooling2D:
            padded = TF.pad(nchw, (left, right, top, bottom), value=float("-inf"))
            expected = TF.max_pool2d(padded, pool, step)
        else:
            sums = TF.avg_pool2d(TF.pad(nchw, (left, right, top, bottom)), pool, step,
                                 divisor_override=1)
            counts = TF.avg_pool2d(TF.pad(torch.ones_like(nchw), (left, right, top, bottom)),
                                   pool, step, divisor_override=1)
            expected = sums / counts
        expected = expected.permute(0, 2, 3, 1)
        assert y.shape == tuple(expected.shape)
        assert y.shape[1:3] == tuple(-(-n // s) for n, s in zip(hw, step))
        np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-6)
        g = upstream(y.shape)
        y.backward(g)
        expected.backward(torch.tensor(g))
        np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_a_same_padded_model_trains_saves_and_loads(tmp_path):
    """A strided "same" conv and a "same" pool inside a Sequential (the channels-last chain),
    trained, saved and loaded: the loaded model predicts the same."""
    x = rng.standard_normal((64, 9, 9, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu",
                            input_shape=(9, 9, 1)),
        keras.layers.MaxPooling2D(2, padding="same"),
        keras.layers.Conv2D(4, 2, padding="same", activation="relu"),
        keras.layers.AveragePooling2D(2, padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activation="softmax")])
    assert model.output_shape == (None, 2)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    path = tmp_path / "same.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)


def test_pad_follows_torch():
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cases = [((1, 2), 0.0), ((0, 1, 2, 0), -1.5), ((1, 1, 1, 1, 1, 1), None),
             ((-1, 2), 0.5), ((-2, -3), None), ((1, -1, -4, 0), 2.0), ((-5, 1), 0.0)]
    for widths, value in cases:  # negative widths crop, as torch's do
        ours.grad = theirs.grad = None
        y = F.pad(ours, widths, value=value)
        expected = TF.pad(theirs, widths, value=0.0 if value is None else value)
        np.testing.assert_array_equal(y.numpy(), expected.detach().numpy())
        g = upstream(y.shape)
        y.backward(g)
        expected.backward(torch.tensor(g))
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    for crop in [(-6, 0), (-3, -3), (2, -8)]:  # a crop past the axis, as torch refuses
        with pytest.raises(ValueError, match="negative size"):
            F.pad(ours, crop)
        with pytest.raises(RuntimeError):
            TF.pad(theirs, crop)
    with pytest.raises(ValueError, match="widths must be integers"):
        F.pad(ours, (1, 0.5))
    with pytest.raises(ValueError, match="even number of widths"):
        F.pad(ours, (1, 2, 3))
    with pytest.raises(NotImplementedError, match="only 'constant'"):
        F.pad(ours, (1, 1), mode="reflect")


def test_a_same_strided_conv_before_a_2x2_pool_fuses_with_the_same_numbers():
    """Inside a Sequential a Conv2D -> MaxPooling2D(2) runs as one fused conv + pool; with a
    strided "same" conv it pads as the conv alone does."""
    from fusednn.models.sequential import _fuses_with_pool

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Conv2D(4, 3, strides=2, padding="same",
                                                  activation="relu", input_shape=(13, 13, 2)),
                              keras.layers.MaxPooling2D(2)])
    conv, pool = model.layers
    x = rng.standard_normal((3, 13, 13, 2)).astype(np.float32)
    assert _fuses_with_pool(conv, pool, Tensor(x).permute(0, 3, 1, 2))
    np.testing.assert_array_equal(model.predict(x, verbose=0), pool(conv(Tensor(x))).numpy())
    assert not keras.layers.MaxPooling2D(2, padding="same").is_2x2()


@pytest.mark.parametrize("padding,pads", [(1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))),
                                          (((0, 1), (2, 3)), ((0, 1), (2, 3)))])
def test_zero_padding2d_as_keras(padding, pads, tmp_path):
    x, ours_x, _ = channels_last_input(2, 5, 4, 3)
    layer = keras.layers.ZeroPadding2D(padding)
    y = layer(ours_x)
    np.testing.assert_array_equal(y.numpy(), np.pad(x, ((0, 0),) + pads + ((0, 0),)))
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(ours_x.grad.numpy(), np.ones_like(x))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.ZeroPadding2D(padding, input_shape=(5, 4, 3)),
                              keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.save(tmp_path / "padded.keras")
    loaded = keras.models.load_model(tmp_path / "padded.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for bad in (-1, (1, 2, 3), ((1, 2), 3), True):
        with pytest.raises(ValueError, match="ZeroPadding2D: padding"):
            keras.layers.ZeroPadding2D(bad)


@pytest.mark.parametrize("kernel,dilation,strides", [(3, 1, 1), (2, 3, 1), (4, 2, 2)])
def test_conv1d_causal_pads_before_the_sequence_only(kernel, dilation, strides):
    """Keras's padding="causal": dilation * (kernel_size - 1) zero steps before the sequence,
    none after, so output step t reads inputs up to t only."""
    x, ours_x, theirs_x = channels_last_input(2, 11, 3)
    layer = keras.layers.Conv1D(4, kernel, strides=strides, padding="causal",
                                dilation_rate=dilation)
    y = layer(ours_x)
    w, b = torch.tensor(layer.weight.numpy()), torch.tensor(layer.bias.numpy())
    padded = TF.pad(theirs_x.permute(0, 2, 1), (dilation * (kernel - 1), 0))
    expected = TF.conv1d(padded, w, b, strides, 0, dilation).permute(0, 2, 1)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = upstream(y.shape)
    y.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-4, atol=1e-5)
    if strides == 1:  # a later input never reaches an earlier output
        changed = x.copy()
        changed[:, 7:] += 1.0
        later = layer(Tensor(changed)).numpy()
        np.testing.assert_array_equal(later[:, :7], y.numpy()[:, :7])
