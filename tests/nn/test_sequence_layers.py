"""The layers sequence models are built from — embedding, conv1d, layer_norm, global pooling —
against torch with the same weights, gradients against finite differences in float64, Keras's
layouts and defaults, and bad input named."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fusednn  # noqa: E402
from fusednn import Tensor, keras, nn  # noqa: E402
from fusednn.nn import functional as F  # noqa: E402
from tests.nn.against_torch import assert_close, compare, finite_difference_check, rand  # noqa: E402


# -- embedding -----------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_forward_and_scatter_add_gradient_match_torch(padding_idx):
    rng = np.random.default_rng(0)
    weight = rand(rng, 11, 5)
    idx = rng.integers(0, 11, (7, 6))
    idx[0, :3] = 4  # repeated rows accumulate
    if padding_idx is not None:
        idx[1, 0] = padding_idx % 11
    w = Tensor(weight, requires_grad=True)
    out = F.embedding(idx, w, padding_idx=padding_idx)
    tw = torch.tensor(weight, requires_grad=True)
    ref = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=padding_idx)
    assert_close(out.numpy(), ref.detach().numpy(), "forward")
    g = rand(rng, *out.shape)
    (out * Tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    assert_close(w.grad.numpy(), tw.grad.numpy(), "weight gradient")


def test_embedding_gradient_against_finite_differences():
    rng = np.random.default_rng(1)
    idx = np.array([[0, 3, 3], [2, 0, 1]])
    finite_difference_check(lambda w: F.embedding(idx, w), [rand(rng, 4, 3)])


def test_embedding_rejects_bad_indices_naming_them():
    w = Tensor(np.zeros((5, 2), np.float32))
    with pytest.raises(IndexError, match="index 5 is out of range for 5 embeddings"):
        F.embedding(np.array([[1, 5]]), w)
    with pytest.raises(IndexError, match="index -1 is out of range"):
        F.embedding(np.array([-1]), w)
    with pytest.raises(ValueError, match="indices must be integers"):
        F.embedding(np.array([0.5]), w)
    with pytest.raises(TypeError, match="indices must be integers"):
        F.embedding(np.array(["a"]), w)
    assert F.embedding(np.array([1.0, 4.0], np.float32), w).shape == (2, 2)  # integral floats


def test_embedding_layer_padding_and_mask():
    layer = nn.Embedding(6, 3, mask_zero=True)
    assert np.all(layer.weight.numpy()[0] == 0)  # torch zeroes the padding row
    x = np.array([[3, 1, 0, 0]])
    assert layer.compute_mask(x).tolist() == [[True, True, False, False]]
    out = layer(x)
    out.sum().backward()
    assert np.all(layer.weight.grad.numpy()[0] == 0)
    with pytest.raises(ValueError, match="input_dim must be a positive int"):
        nn.Embedding(0, 3)
    k = keras.layers.Embedding(1000, 4)
    assert np.abs(k.get_weights()[0]).max() <= 0.05  # Keras's uniform(-0.05, 0.05)


# -- conv1d -----------------------------------------------------------------------------------
@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (1, "same", 1), (2, 1, 1),
                                                     (1, 2, 2), (3, 0, 1)])
def test_conv1d_matches_torch(stride, padding, dilation):
    rng = np.random.default_rng(2)
    arrays = [rand(rng, 3, 4, 13), rand(rng, 5, 4, 3), rand(rng, 5)]
    compare(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation),
            lambda x, w, b: torch.nn.functional.conv1d(x, w, b, stride, padding, dilation),
            arrays)


def test_conv1d_layers_channels_last_and_keras_kernel_layout():
    rng = np.random.default_rng(3)
    x = rand(rng, 2, 9, 4)  # (N, steps, channels)
    layer = keras.layers.Conv1D(6, 3, padding="same", activation="relu")
    out = layer(Tensor(x))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 4, 6)  # Keras's (k, in, out)
    ref = torch.relu(torch.nn.functional.conv1d(
        torch.tensor(x).permute(0, 2, 1), torch.tensor(kernel).permute(2, 1, 0),
        torch.tensor(bias), padding="same")).permute(0, 2, 1)
    assert_close(out.numpy(), ref.numpy(), "keras Conv1D")
    layer.set_weights([kernel * 2, bias])
    assert_close(layer.get_weights()[0], kernel * 2, "set_weights")
    with pytest.raises(ValueError, match=r"expects 3-D inputs \(N, L, C\)"):
        layer(Tensor(rand(rng, 2, 9)))
    with pytest.raises(ValueError, match="input must be 3-D"):
        F.conv1d(Tensor(rand(rng, 9, 4)), Tensor(rand(rng, 6, 4, 3)))
    with pytest.raises(ValueError, match="input has 4 channels"):
        F.conv1d(Tensor(rand(rng, 2, 4, 9)), Tensor(rand(rng, 6, 3, 3)))


# -- layer_norm -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,normalized", [((6, 10), (10,)), ((3, 5, 8), (8,)),
                                              ((3, 5, 8), (5, 8))])
def test_layer_norm_matches_torch(shape, normalized):
    rng = np.random.default_rng(4)
    arrays = [rand(rng, *shape, scale=3.0) + 1.5, rand(rng, *normalized) + 1, rand(rng, *normalized)]
    compare(lambda x, w, b: F.layer_norm(x, normalized, w, b, 1e-5),
            lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b, 1e-5), arrays)
    compare(lambda x: F.layer_norm(x, normalized),
            lambda x: torch.nn.functional.layer_norm(x, normalized), arrays[:1])


def test_layer_norm_gradients_against_finite_differences():
    rng = np.random.default_rng(5)
    finite_difference_check(lambda x, w, b: F.layer_norm(x, (4,), w, b),
                            [rand(rng, 3, 4), rand(rng, 4), rand(rng, 4)])


def test_layer_normalization_layer_is_keras_and_names_bad_shapes():
    rng = np.random.default_rng(6)
    x = rand(rng, 4, 7, 5)
    layer = keras.layers.LayerNormalization()
    ref = torch.nn.LayerNorm(5, eps=1e-3)  # Keras's epsilon
    assert_close(layer(Tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), "keras LN")
    with pytest.raises(ValueError, match=r"built for trailing shape \(5,\)"):
        layer(Tensor(rand(rng, 4, 7, 6)))
    with pytest.raises(ValueError, match="normalized_shape .* must be the trailing axes"):
        F.layer_norm(Tensor(x), (7,))


# -- global pooling -----------------------------------------------------------------------------
def test_global_pooling_matches_torch_including_tied_maxima():
    rng = np.random.default_rng(7)
    x = rand(rng, 3, 6, 4)
    x[0, 1, 2] = x[0, 4, 2] = 5.0  # a tie: torch.amax and Keras share its gradient evenly
    compare(lambda t: nn.GlobalMaxPooling1D(data_format="channels_last")(t),
            lambda t: torch.amax(t, dim=1), [x])
    compare(lambda t: nn.GlobalAveragePooling1D()(t), lambda t: t.mean(dim=2), [x])
    y = rand(rng, 2, 3, 4, 5)
    compare(lambda t: nn.GlobalAveragePooling2D()(t), lambda t: t.mean(dim=(2, 3)), [y])
    compare(lambda t: keras.layers.GlobalMaxPooling2D(keepdims=True)(t),
            lambda t: torch.amax(t, dim=(1, 2), keepdim=True), [y])
    with pytest.raises(ValueError, match="expects 3-D inputs"):
        nn.GlobalAveragePooling1D()(Tensor(y))


# -- in a model -----------------------------------------------------------------------------------
def test_a_sequence_model_of_these_layers_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(8)
    x = rng.integers(1, 30, (256, 10))
    y = (np.isin(x, [7, 8, 9]).sum(1) > 0).astype(np.int64)  # does a "keyword" occur?
    fusednn.seed(0)
    model = keras.Sequential([
        keras.layers.Input((10,)), keras.layers.Embedding(30, 16),
        keras.layers.Conv1D(32, 3, padding="same", activation="relu"),
        keras.layers.LayerNormalization(), keras.layers.GlobalMaxPooling1D(),
        keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    path = model.save(str(tmp_path / "seq.fdnn"))
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_masking_zeroes_padded_steps_and_their_gradient():
    rng = np.random.default_rng(20)
    x = rand(rng, 3, 5, 4)
    x[0, 3:] = -1.0
    x[2, 1] = -1.0  # a padded step between real ones
    layer = nn.Masking(-1.0)
    t = Tensor(x, requires_grad=True)
    out = layer(t)
    keep = (x != -1.0).any(-1)
    np.testing.assert_array_equal(layer.compute_mask(t), keep)
    np.testing.assert_array_equal(out.numpy(), np.where(keep[..., None], x, 0.0))
    g = rand(rng, 3, 5, 4)
    out.backward(g)
    np.testing.assert_array_equal(t.grad.numpy(), np.where(keep[..., None], g, 0.0))
    # a step with one feature equal to mask_value is not padding
    x[1, 0, 0] = -1.0
    assert layer.compute_mask(x)[1, 0]


def test_masking_before_a_recurrent_layer_skips_the_padded_steps():
    """Masking -> LSTM: the last state equals the LSTM run on each sequence with its padded
    steps removed (trailing ones, and one inside the sequence)."""
    rng = np.random.default_rng(21)
    x = rand(rng, 3, 6, 4)
    x[0, 4:] = 0.0
    x[1, 2] = 0.0
    fusednn.seed(0)
    model = fusednn.Sequential([nn.Masking(), nn.LSTM(5)], input_shape=(6, 4))
    lstm = model.layers[1]
    out = model(Tensor(x)).numpy()
    for i, steps in enumerate(([0, 1, 2, 3], [0, 1, 3, 4, 5], list(range(6)))):
        alone = lstm(Tensor(np.ascontiguousarray(x[i:i + 1, steps]))).numpy()
        np.testing.assert_allclose(out[i:i + 1], alone, rtol=1e-5, atol=1e-6)


def test_masking_saves_loads_and_names_bad_arguments(tmp_path):
    model = keras.Sequential([keras.layers.Masking(-1.0, input_shape=(5, 3)),
                              keras.layers.GRU(4), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(22)
    x = rand(rng, 8, 5, 3)
    x[:, 3:] = -1.0
    again = keras.models.load_model(model.save(str(tmp_path / "masking.fdnn")))
    assert again.layers[0].mask_value == -1.0
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="NaN"):
        nn.Masking(float("nan"))
    with pytest.raises(TypeError, match="mask_value must be a number"):
        nn.Masking("0")
    with pytest.raises(ValueError, match=r"expects \(batch, steps, features\)"):
        nn.Masking()(Tensor(rand(rng, 4)))
