"""Keras's other losses (MAPE, MSLE, cosine similarity, log-cosh, Poisson, the hinges): per
sample against Keras's formulas written out in float64 numpy, gradients against finite
differences, by name and as objects in compile; a loss object's own name is only a name."""
import numpy as np
import pytest

from fusednn import Tensor, keras
from fusednn.nn import losses
from tests.nn.against_torch import finite_difference_check

EPS = 1e-7
rng = np.random.default_rng(0)


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def hinge_labels(t):
    return 2 * t - 1 if np.isin(t, (0, 1)).all() else t


FORMULAS = {
    "mean_absolute_percentage_error":
        lambda t, y: 100 * np.mean(np.abs((t - y) / np.maximum(np.abs(t), EPS)), -1),
    "mean_squared_logarithmic_error":
        lambda t, y: np.mean((np.log(np.maximum(y, EPS) + 1) - np.log(np.maximum(t, EPS) + 1))
                             ** 2, -1),
    "cosine_similarity":
        lambda t, y: -np.sum(t / np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), EPS)
                             * y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), EPS),
                             -1),
    "log_cosh": lambda t, y: np.mean(np.log(np.cosh(y - t)), -1),
    "poisson": lambda t, y: np.mean(y - t * np.log(y + EPS), -1),
    "hinge": lambda t, y: np.mean(np.maximum(1 - hinge_labels(t) * y, 0), -1),
    "squared_hinge": lambda t, y: np.mean(np.maximum(1 - hinge_labels(t) * y, 0) ** 2, -1),
    "categorical_hinge":
        lambda t, y: np.maximum(np.max((1 - t) * y, -1) - np.sum(t * y, -1) + 1, 0),
}


def data(name, shape=(6, 4)):
    y = rng.standard_normal(shape)
    if name in ("mean_squared_logarithmic_error", "poisson"):
        y = np.abs(y) + 0.1
    if "hinge" in name:
        t = (rng.random(shape) > 0.5).astype(np.float64)
        if name == "categorical_hinge":
            t = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    else:
        t = np.abs(rng.standard_normal(shape)) + 0.1
    return t, y


@pytest.mark.parametrize("name", list(FORMULAS))
def test_losses_per_sample_match_kerass_formulas(name):
    t, y = data(name)
    got = getattr(keras.losses, name)(t.astype(np.float32), y.astype(np.float32))
    np.testing.assert_allclose(got, FORMULAS[name](t, y), rtol=2e-5, atol=1e-6)
    # sequences: the last axis reduced, the others kept
    t3, y3 = data(name, (3, 5, 4))
    got = getattr(keras.losses, name)(t3.astype(np.float32), y3.astype(np.float32))
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, FORMULAS[name](t3, y3), rtol=2e-5, atol=1e-6)


def test_hinge_takes_signed_labels_as_they_are():
    t = np.array([[-1.0, 1.0, 1.0]])
    y = np.array([[0.3, -0.2, 2.0]])
    np.testing.assert_allclose(keras.losses.hinge(t, y), FORMULAS["hinge"](t, y), rtol=1e-6)


@pytest.mark.parametrize("name", list(FORMULAS))
def test_loss_gradients_against_finite_differences(name):
    t, y = data(name, (3, 4))
    y = y + 0.05  # off the kinks of the hinges
    fn = getattr(losses, name)
    finite_difference_check(lambda out: fn(out, t), [y])


@pytest.mark.parametrize("name,short", [("mean_absolute_percentage_error", "mape"),
                                        ("mean_squared_logarithmic_error", "msle"),
                                        ("log_cosh", "logcosh"), ("poisson", None),
                                        ("squared_hinge", None)])
def test_losses_by_name_and_object_train_to_the_same_numbers(name, short):
    x = rng.standard_normal((32, 5)).astype(np.float32)
    t, _ = data(name, (32, 3))
    classes = {"mean_absolute_percentage_error": "MeanAbsolutePercentageError",
               "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
               "log_cosh": "LogCosh", "poisson": "Poisson", "squared_hinge": "SquaredHinge"}
    runs = []
    for loss in [name, short, getattr(keras.losses, classes[name])(name="mine")]:
        if loss is None:
            continue
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.layers.Dense(3, activation="softplus", input_dim=5)])
        model.compile(keras.optimizers.SGD(0.01), loss)
        before = model.evaluate(x, t.astype(np.float32), verbose=0)
        p = model.predict(x).astype(np.float64)
        assert before == pytest.approx(FORMULAS[name](t, p).mean(), rel=1e-5)
        runs.append(model.fit(x, t, epochs=2, batch_size=8, shuffle=False,
                              verbose=0).history["loss"])
    assert all(r == runs[0] for r in runs)


def test_loss_object_reductions():
    t, y = data("poisson")
    per = FORMULAS["poisson"](t, y)
    w = rng.random(len(t))
    assert keras.losses.Poisson()(t, y) == pytest.approx(per.mean(), rel=1e-5)
    assert keras.losses.Poisson(reduction="sum")(t, y) == pytest.approx(per.sum(), rel=1e-5)
    np.testing.assert_allclose(keras.losses.Poisson(reduction=None)(t, y), per, rtol=1e-5)
    assert keras.losses.Poisson()(t, y, sample_weight=w) == pytest.approx(
        (per * w).mean(), rel=1e-5)
    with pytest.raises(ValueError, match="only the last axis"):
        keras.losses.CosineSimilarity(axis=0)
    with pytest.raises(ValueError, match="does not match output shape"):
        losses.hinge(Tensor(np.ones((2, 3))), np.ones((2, 2)))


def focal_reference(binary, y_true, y_pred, alpha, gamma, balancing=False):
    """Keras 3's focal cross-entropies, from its source, in float64 numpy (probabilities)."""
    eps = 1e-7
    t, p = y_true.astype(np.float64), y_pred.astype(np.float64)
    if binary:
        c = np.clip(p, eps, 1 - eps)
        bce = -(t * np.log(c) + (1 - t) * np.log(1 - c))
        p_t = t * p + (1 - t) * (1 - p)
        per = (1 - p_t) ** gamma * bce
        if balancing:
            per = per * (t * alpha + (1 - t) * (1 - alpha))
        return per.mean(-1)
    o = np.clip(p / p.sum(-1, keepdims=True), eps, 1 - eps)
    return (alpha * (1 - o) ** gamma * -t * np.log(o)).sum(-1)


@pytest.mark.parametrize("binary", [True, False])
def test_focal_crossentropies_follow_kerass_formulas_and_train(binary):
    rng = np.random.default_rng(3)
    n, c = 6, 4
    if binary:
        y = (rng.random((n, c)) < 0.5).astype(np.float32)
        p = rng.uniform(0.02, 0.98, (n, c)).astype(np.float32)
        loss = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3,
                                                    gamma=1.5)
        per = keras.losses.binary_focal_crossentropy(y, p, True, 0.3, 1.5)
    else:
        y = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]
        p = rng.dirichlet(np.ones(c), n).astype(np.float32)
        loss = keras.losses.CategoricalFocalCrossentropy(alpha=0.3, gamma=1.5)
        per = keras.losses.categorical_focal_crossentropy(y, p, 0.3, 1.5)
    expected = focal_reference(binary, y, p, 0.3, 1.5, balancing=True)
    np.testing.assert_allclose(per, expected, rtol=1e-5)
    assert loss(y, p) == pytest.approx(expected.mean(), rel=1e-5)
    # from_logits: the activation, then the same formula; and through compile and fit
    z = rng.standard_normal((n, c)).astype(np.float32)
    probs = 1 / (1 + np.exp(-z)) if binary else np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    logits_loss = type(loss)(from_logits=True, alpha=0.3, gamma=1.5)
    assert logits_loss(y, z) == pytest.approx(
        focal_reference(binary, y, probs, 0.3, 1.5, balancing=False).mean(), rel=1e-5)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        c, activation="sigmoid" if binary else "softmax")])
    model.compile(keras.optimizers.SGD(0.5), loss)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    before = model.predict(x, verbose=0)
    first = model.train_on_batch(x, y)  # the loss of the step's forward pass, before it
    assert first == pytest.approx(
        focal_reference(binary, y, before, 0.3, 1.5, balancing=True).mean(), rel=1e-4)
    for _ in range(20):
        last = model.train_on_batch(x, y)
    assert last < first
