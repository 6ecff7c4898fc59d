"""Keras's Attention (dot and concat scores) and AdditiveAttention against the same formulas
in torch (float64): outputs, weights, the gradients of the inputs and of the learned scales,
the value and query masks, the causal mask, configs and a functional model."""
import numpy as np
import pytest

import fusednn
import fusednn.keras as keras

torch = pytest.importorskip("torch")


def reference(q, v, k, mode, scale, concat_weight, value_mask=None, query_mask=None,
              causal=False):
    if mode == "dot":
        scores = q @ k.transpose(1, 2)
        if scale is not None:
            scores = scores * scale
    else:
        pairs = q[:, :, None, :] + k[:, None, :, :]
        if mode == "concat":
            pairs = pairs if scale is None else pairs * scale
            scores = torch.tanh(pairs).sum(-1) * concat_weight
        else:  # additive
            scores = (torch.tanh(pairs) * (1.0 if scale is None else scale)).sum(-1)
    hidden = torch.zeros(scores.shape, dtype=torch.bool)
    if value_mask is not None:
        hidden = hidden | ~torch.tensor(value_mask)[:, None, :]
    if causal:
        hidden = hidden | ~torch.tril(torch.ones(scores.shape[-2:], dtype=torch.bool))
    scores = scores - 1e9 * hidden.double()
    weights = torch.softmax(scores, -1)
    out = weights @ v
    if query_mask is not None:
        out = out * torch.tensor(query_mask)[..., None].double()
    return out, weights


@pytest.mark.parametrize("layer,mode", [
    (lambda: keras.layers.Attention(), "dot"),
    (lambda: keras.layers.Attention(use_scale=True), "dot"),
    (lambda: keras.layers.Attention(use_scale=True, score_mode="concat"), "concat"),
    (lambda: keras.layers.AdditiveAttention(), "additive"),
    (lambda: keras.layers.AdditiveAttention(use_scale=False), "additive"),
])
@pytest.mark.parametrize("masked", [False, True])
def test_attention_layers_match_torch(layer, mode, masked):
    rng = np.random.default_rng(0)
    q, v, k = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 4)))
    value_mask = query_mask = None
    if masked:
        value_mask = rng.random((2, 5)) > 0.3
        value_mask[:, 0] = True
        query_mask = np.array([[True, False, True], [True, True, False]])
    attention = layer()
    attention([q.astype(np.float32), v.astype(np.float32)])
    learned = [torch.tensor(w.astype(np.float64) * 0.7, requires_grad=True)
               for w in attention.get_weights()]  # moved off their initial values
    attention.set_weights([w.detach().numpy() for w in learned])
    for p, w in zip(attention.parameters(), learned):
        p.data = w.detach().numpy().copy()  # the float64 values, for the float64 check
    scale = learned[0] if attention.use_scale else None
    concat = learned[-1] if mode == "concat" else None
    ts = [torch.tensor(a, requires_grad=True) for a in (q, v, k)]
    ref, ref_weights = reference(*ts, mode, scale, concat, value_mask, query_mask,
                                 causal=masked)
    xs = [fusednn.Tensor(a, requires_grad=True) for a in (q, v, k)]
    mask = None if not masked else [query_mask, value_mask]
    out, weights = attention(xs, mask=mask, return_attention_scores=True,
                             use_causal_mask=masked)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), ref_weights.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    r = rng.standard_normal(out.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)
    for p, w in zip(attention.parameters(), learned):
        np.testing.assert_allclose(p.grad.numpy(), w.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_weights_configs_and_a_functional_model(tmp_path):
    keras.utils.set_random_seed(0)
    additive = keras.layers.AdditiveAttention()
    additive([np.zeros((1, 2, 6), np.float32)] * 2)
    scale = additive.get_weights()[0]
    assert scale.shape == (6,) and np.abs(scale).max() <= np.sqrt(6.0 / 12)  # Glorot, (6,)
    config = keras.layers.Attention(use_scale=True, score_mode="concat",
                                    dropout=0.2).get_config()
    assert keras.layers.Attention().compute_output_shape([(None, 3, 4), (None, 5, 6)]) == \
        (None, 3, 6)
    again = keras.layers.Attention.from_config(config)
    assert (again.use_scale, again.score_mode, again.dropout) == (True, "concat", 0.2)
    q_in, v_in = keras.Input((3, 4)), keras.Input((5, 4))
    attended = keras.layers.Attention(use_scale=True)([q_in, v_in])
    model = keras.Model([q_in, v_in], keras.layers.Dense(1)(
        keras.layers.GlobalAveragePooling1D()(attended)))
    model.compile("adam", "mse")
    rng = np.random.default_rng(1)
    xq, xv = rng.standard_normal((8, 3, 4)), rng.standard_normal((8, 5, 4))
    model.fit([xq, xv], np.zeros(8), epochs=2, verbose=0)
    model.save(str(tmp_path / "m.fdn"))
    loaded = keras.models.load_model(str(tmp_path / "m.fdn"))
    np.testing.assert_array_equal(model.predict([xq, xv], verbose=0),
                                  loaded.predict([xq, xv], verbose=0))
    with pytest.raises(ValueError, match="list of inputs"):
        keras.layers.Attention()(xq)
    with pytest.raises(ValueError, match="score_mode"):
        keras.layers.Attention(score_mode="additive")
