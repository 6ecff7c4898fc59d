"""activity_regularizer (Dense, Conv1D, Conv2D, Conv2DTranspose) and ActivityRegularization:
Keras 3 adds regularizer(layer output) — the activated output, summed over the batch, not
divided by it — to the loss that fit trains on and evaluate reports."""
import numpy as np
import pytest

from fusednn import keras
from fusednn.keras import regularizers

torch = pytest.importorskip("torch")
rng = np.random.default_rng(8)


def data(*shape, out=3):
    return (rng.standard_normal(shape).astype(np.float32),
            rng.standard_normal((shape[0], out)).astype(np.float32))


def test_evaluate_adds_the_regularizer_of_the_activated_output():
    x, y = data(16, 5)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(4, activation="relu", activity_regularizer=regularizers.l1(0.1)),
        keras.layers.ActivityRegularization(l2=0.01), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    (k1, b1), (k2, b2) = model.layers[0].get_weights(), model.layers[2].get_weights()
    act = np.maximum(x.astype(np.float64) @ k1 + b1, 0)
    expected = (((act @ k2 + b2) - y) ** 2).mean() + 0.1 * np.abs(act).sum() + \
        0.01 * (act ** 2).sum()
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_one_fit_step_is_torchs_step_on_the_same_loss():
    x, y = data(8, 5)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(4, activation="tanh", activity_regularizer=regularizers.l1_l2(0.05,
                                                                                         0.2)),
        keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    weights = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    k1, b1, k2, b2 = weights
    act = torch.tanh(torch.tensor(x) @ k1 + b1)
    loss = ((act @ k2 + b2 - torch.tensor(y)) ** 2).mean() + 0.05 * act.abs().sum() + \
        0.2 * (act ** 2).sum()
    loss.backward()
    for ours, theirs in zip(model.get_weights(), weights):
        np.testing.assert_allclose(ours, (theirs - 0.1 * theirs.grad).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_a_final_softmax_layer_regularizes_its_probabilities():
    x = rng.standard_normal((12, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 12)
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        3, activation="softmax", activity_regularizer=regularizers.l2(0.3))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    k, b = model.layers[0].get_weights()
    z = x.astype(np.float64) @ k + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = -np.log(p[np.arange(12), labels]).mean() + 0.3 * (p ** 2).sum()
    assert model.evaluate(x, labels, verbose=0) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("pool", [False, True])
def test_channels_last_convs_regularize_their_own_output(pool):
    """Conv2D -> MaxPooling2D is otherwise one fused kernel: with an activity regularizer
    the conv's own output is made, so the regularizer sees it."""
    x, y = data(4, 6, 6, 2, out=1)
    keras.utils.set_random_seed(3)
    layers = [keras.Input((6, 6, 2)),
              keras.layers.Conv2D(3, 3, activation="relu",
                                  activity_regularizer=regularizers.l1(0.05))]
    layers += [keras.layers.MaxPooling2D(2)] if pool else []
    model = keras.Sequential(layers + [keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    conv = model.layers[0]
    out = np.maximum(torch.nn.functional.conv2d(
        torch.tensor(x).permute(0, 3, 1, 2),
        torch.tensor(conv.get_weights()[0]).permute(3, 2, 0, 1),
        torch.tensor(conv.get_weights()[1])).numpy().astype(np.float64), 0)
    model.evaluate(x, y, verbose=0)
    assert conv.losses[0].item() == pytest.approx(0.05 * np.abs(out).sum(), rel=1e-5)


def test_config_and_saving_keep_it(tmp_path):
    x, y = data(6, 5)
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(4, activity_regularizer="l2"),
                              keras.layers.ActivityRegularization(l1=0.2), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    assert model.layers[1].get_config() == {"l1": 0.2, "l2": 0.0,
                                            "name": "activity_regularization"}
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0),
                                                             rel=1e-6)
    assert "activity_regularizer" not in keras.layers.Dense(2).get_config()
