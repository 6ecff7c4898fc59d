"""Keras's GroupNormalization against torch's group_norm (values and every gradient, either
channel axis) and UnitNormalization against torch's normalize, configs, errors and a saved
model."""
import numpy as np
import pytest

import fusednn
import fusednn.keras as keras

torch = pytest.importorskip("torch")


def _grads(layer, x, r):
    xt = fusednn.Tensor(x, requires_grad=True)
    out = layer(xt, training=True)
    (out * fusednn.Tensor(r)).sum().backward()
    return out.numpy(), xt.grad.numpy(), [p.grad.numpy() for p in layer.parameters()]


@pytest.mark.parametrize("shape,axis,groups", [((2, 5, 4, 6), -1, 3), ((3, 8, 5), 1, 4),
                                               ((2, 6), -1, 2), ((2, 4, 3, 3), 1, 1)])
def test_group_normalization_matches_torch(shape, axis, groups):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    layer = keras.layers.GroupNormalization(groups=groups, axis=axis, epsilon=1e-3)
    layer(fusednn.Tensor(x))
    c = shape[axis]
    gamma, beta = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    layer.set_weights([gamma, beta])
    for p, value in zip(layer.parameters(), (gamma, beta)):  # float64 weights for the check
        p.data = value
    first = list(range(len(shape)))
    first.insert(1, first.pop(axis % len(shape)))  # torch's group_norm: channels at axis 1
    back = list(np.argsort(first))
    tx = torch.tensor(x, requires_grad=True)
    tg, tb = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    ref = torch.nn.functional.group_norm(tx.permute(*first), groups, tg, tb, 1e-3).permute(
        *back)
    r = rng.standard_normal(shape)
    out, dx, (dgamma, dbeta) = _grads(layer, x, r)
    (ref * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dgamma, tg.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dbeta, tb.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_unit_normalization_matches_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 5))
    x[0, 1] = 0.0  # a zero vector stays zero (the norm's floor, 1e-12)
    layer = keras.layers.UnitNormalization(axis=-1)
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.normalize(tx, dim=-1, eps=1e-12)
    xt = fusednn.Tensor(x, requires_grad=True)
    out = layer(xt)
    r = rng.standard_normal(x.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    both = keras.layers.UnitNormalization(axis=[1, 2])(x).numpy()
    np.testing.assert_allclose(np.sqrt((both ** 2).sum(axis=(1, 2))), 1.0, rtol=1e-6)


def test_configs_errors_and_a_saved_model(tmp_path):
    layer = keras.layers.GroupNormalization(groups=2, epsilon=1e-5, center=False)
    again = keras.layers.GroupNormalization.from_config(layer.get_config())
    assert (again.groups, again.epsilon, again.center) == (2, 1e-5, False)
    with pytest.raises(ValueError, match="cannot be more than the number of channels"):
        keras.layers.GroupNormalization(groups=8)(np.zeros((1, 3, 4), np.float32))
    with pytest.raises(ValueError, match="must be a multiple"):
        keras.layers.GroupNormalization(groups=3)(np.zeros((1, 3, 4), np.float32))
    model = keras.Sequential([keras.Input((6, 4)), keras.layers.GroupNormalization(groups=2),
                              keras.layers.UnitNormalization(), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("adam", "mse")
    x = np.random.default_rng(2).standard_normal((8, 6, 4)).astype(np.float32)
    model.fit(x, np.zeros((8, 1)), epochs=1, verbose=0)
    path = str(tmp_path / "m.fdn")
    model.save(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0),
                                  keras.models.load_model(path).predict(x, verbose=0))


def test_layer_normalization_rms_scaling_is_kerass_formula(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5))
    layer = keras.layers.LayerNormalization(axis=[1, 2], rms_scaling=True, center=True)
    layer(fusednn.Tensor(x))
    gamma = rng.uniform(0.5, 1.5, (4, 5))
    layer.set_weights([gamma])  # gamma only: no beta with rms_scaling
    xt = fusednn.Tensor(x, requires_grad=True)
    out = layer(xt)
    variance = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out.numpy(), x / np.sqrt(variance + 1e-3) * gamma, rtol=1e-6)
    tx = torch.tensor(x, requires_grad=True)
    ref = tx / torch.sqrt(tx.var(dim=(1, 2), unbiased=False, keepdim=True) + 1e-3) * \
        torch.tensor(gamma.astype(np.float32))
    r = rng.standard_normal(x.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
    again = keras.layers.LayerNormalization.from_config(layer.get_config())
    assert again.rms_scaling and len(again(x).shape) == 3
