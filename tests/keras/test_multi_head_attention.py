"""Keras's MultiHeadAttention against the same computation in torch (float64) on the layer's
own weights: outputs, attention scores, every weight's gradient, masks (given, causal, a row
masked whole), dropout, the functional API, config, saving and Keras's kernel fans."""
import numpy as np
import pytest

import fusednn
import fusednn.keras as keras

torch = pytest.importorskip("torch")


def reference(weights, q, v, k=None, key_dim=3, mask=None):
    """Keras's multi-head attention in torch: projections, scaled scores, masked softmax
    (-1e9 where masked, then 0), the weighted values, the output projection."""
    w = weights
    k = v if k is None else k
    proj = lambda x, kernel, bias: torch.einsum("btd,dnh->btnh", x, kernel) + bias  # noqa: E731
    query = proj(q, w[0], w[1]) / np.sqrt(key_dim)
    key, value = proj(k, w[2], w[3]), proj(v, w[4], w[5])
    scores = torch.einsum("bsnh,btnh->bnts", key, query)
    if mask is not None:
        m = torch.tensor(mask)[:, None]
        scores = torch.where(m, scores, torch.tensor(-1e9, dtype=scores.dtype))
    p = torch.softmax(scores, -1)
    if mask is not None:
        p = torch.where(m, p, torch.tensor(0.0, dtype=p.dtype))
    out = torch.einsum("bnts,bsnh->btnh", p, value)
    return torch.einsum("btnh,nhd->btd", out, w[6]) + w[7], p


def data(seed=1, t=4, s=6):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((2, t, 5)).astype(np.float32),
            rng.standard_normal((2, s, 7)).astype(np.float32))


@pytest.mark.parametrize("with_key", [False, True])
def test_outputs_scores_and_gradients_match_torch(with_key):
    keras.utils.set_random_seed(0)
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    q, v = data()
    k = np.random.default_rng(2).standard_normal((2, 6, 3)).astype(np.float32) \
        if with_key else None
    layer(q, v, k)
    weights = [torch.tensor(w.astype(np.float64), requires_grad=True)
               for w in layer.get_weights()]
    assert [tuple(w.shape) for w in weights] == [
        (5, 2, 3), (2, 3), (3 if with_key else 7, 2, 3), (2, 3), (7, 2, 4), (2, 4), (2, 4, 5),
        (5,)]
    tensor = lambda a: None if a is None else torch.tensor(a, dtype=torch.float64)  # noqa: E731
    ref, ref_scores = reference(weights, tensor(q), tensor(v), tensor(k))
    out, scores = layer(fusednn.Tensor(q), fusednn.Tensor(v),
                        None if k is None else fusednn.Tensor(k), return_attention_scores=True)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.numpy(), ref_scores.detach().numpy(), rtol=1e-5,
                               atol=1e-7)
    r = np.random.default_rng(3).standard_normal(out.shape).astype(np.float32)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r, dtype=torch.float64)).sum().backward()
    params = [p for m in layer._projections() for p in (m.weight, m.bias)]
    for ours, theirs in zip(params, weights):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4,
                                   atol=1e-5)


def test_masks_given_causal_and_a_row_masked_whole():
    keras.utils.set_random_seed(1)
    layer = keras.layers.MultiHeadAttention(num_heads=3, key_dim=2)
    q, v = data(t=5, s=5)
    mask = np.random.default_rng(4).random((2, 5, 5)) > 0.3
    mask[1, 2, :] = False  # nothing to attend to: zero weights, as Keras's masked softmax
    layer(q, v)
    weights = [torch.tensor(w.astype(np.float64)) for w in layer.get_weights()]
    causal = np.tril(np.ones((5, 5), bool))[None] & mask
    out, scores = layer(q, v, attention_mask=mask, use_causal_mask=True,
                        return_attention_scores=True)
    ref, ref_scores = reference(weights, torch.tensor(q, dtype=torch.float64),
                                torch.tensor(v, dtype=torch.float64), key_dim=2, mask=causal)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.numpy(), ref_scores.numpy(), rtol=1e-5, atol=1e-7)
    assert np.all(scores.numpy()[1, :, 2] == 0)
    assert np.all(scores.numpy()[:, :, 0, 1:] == 0)  # the first step sees itself only
    with pytest.raises(ValueError, match="attention_mask must be"):
        layer(q, v, attention_mask=np.ones((2, 4, 5), bool))


def test_dropout_on_the_probabilities_in_training_only():
    keras.utils.set_random_seed(2)
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5)
    q, v = data()
    inferred = layer(q, v).numpy()
    np.testing.assert_array_equal(inferred, layer(q, v).numpy())  # inference: no dropout
    fusednn.seed(0)
    trained = layer(q, v, training=True).numpy()
    assert not np.allclose(trained, inferred)
    fusednn.seed(0)
    np.testing.assert_array_equal(trained, layer(q, v, training=True).numpy())


def test_self_attention_in_a_functional_model_trains_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(3)
    inp = keras.Input((6, 8))
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)(inp, inp)
    x = keras.layers.Add()([inp, attended])
    x = keras.layers.LayerNormalization()(x)
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inp, out)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(5)
    x_data = rng.standard_normal((32, 6, 8)).astype(np.float32)
    y_data = rng.integers(0, 3, 32)
    history = model.fit(x_data, y_data, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = str(tmp_path / "attention.fdn")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(x_data, verbose=0),
                                  loaded.predict(x_data, verbose=0))
    # 4 projections of 8 features: (8*2*4 + 2*4) * 3 + 2*4*8 + 8
    assert model.layers[0].count_params() == 3 * 72 + 72


def test_config_and_kerass_kernel_fans():
    keras.utils.set_random_seed(4)
    layer = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8, value_dim=6,
                                            output_shape=10, use_bias=False)
    q, v = data()
    assert layer(q, v).shape == (2, 4, 10)
    assert layer.compute_output_shape((None, 4, 5), (None, 6, 7)) == (None, 4, 10)
    config = layer.get_config()
    again = keras.layers.MultiHeadAttention.from_config(config)
    assert (again.num_heads, again.key_dim, again.value_dim, again.output_size) == (4, 8, 6, 10)
    kernel = layer.get_weights()[0]  # (5, 4, 8): Keras's fans 4 * 5 in, 8 * 5 out
    limit = np.sqrt(6.0 / (4 * 5 + 8 * 5))
    assert limit * 0.9 < np.abs(kernel).max() <= limit
    assert len(layer.get_weights()) == 4  # no biases


def test_bad_arguments_are_refused_by_name():
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    q, v = data()
    with pytest.raises(ValueError, match="a value is required"):
        layer(q)
    with pytest.raises(ValueError, match="share the batch"):
        layer(q, v, v[:, :3])
    with pytest.raises(ValueError, match="must be \\(batch, steps, features\\)"):
        layer(q[0], v[0])
    with pytest.raises(NotImplementedError, match="attention_axes"):
        keras.layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    with pytest.raises(ValueError, match="dropout"):
        keras.layers.MultiHeadAttention(2, 3, dropout=1.0)
