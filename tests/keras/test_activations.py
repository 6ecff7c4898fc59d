"""keras.activations beyond the fused ones, by Keras's names and arguments (values checked
against Keras 3.15 on the same inputs when written), and the metric functions' Keras 3
shapes."""
import numpy as np
import pytest

from fusednn import keras

A = keras.activations
X = np.array([[-2.5, -0.7, -0.2, 0.0, 0.3, 0.9, 1.4, 4.0]], np.float32)


@pytest.mark.parametrize("name,kwargs,formula", [
    ("celu", {"alpha": 0.5}, lambda x: np.maximum(x, 0) + 0.5 * np.expm1(np.minimum(x, 0) / 0.5)),
    ("tanh_shrink", {}, lambda x: x - np.tanh(x)),
    ("hard_tanh", {}, lambda x: np.clip(x, -1, 1)),
    ("soft_shrink", {"threshold": 0.5},
     lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0))),
    ("hard_shrink", {"threshold": 0.25}, lambda x: np.where(np.abs(x) > 0.25, x, 0)),
    ("squareplus", {"b": 4}, lambda x: (x + np.sqrt(x * x + 4)) / 2),
    ("sparse_plus", {}, lambda x: np.where(x <= -1, 0, np.where(x < 1, (x + 1) ** 2 / 4, x))),
    ("sparse_sigmoid", {}, lambda x: np.clip((x + 1) / 2, 0, 1)),
    ("log_sigmoid", {}, lambda x: -np.log1p(np.exp(-x))),
    ("threshold", {"threshold": 0.5, "default_value": -1.0}, lambda x: np.where(x > 0.5, x, -1.0)),
    ("relu", {"threshold": 0.35}, lambda x: np.where(x > 0.35, x, 0)),
    ("relu", {"negative_slope": 0.2, "max_value": 2.0, "threshold": 0.5},
     lambda x: np.clip(np.where(x > 0.5, x, 0), 0, 2) - 0.2 * np.maximum(0.5 - x, 0)),
])
def test_activations_give_kerass_values(name, kwargs, formula):
    got = A.get(name)(X, **kwargs).numpy() if kwargs else A.get(name)(X).numpy()
    np.testing.assert_allclose(got, formula(X.astype(np.float64)), rtol=1e-6, atol=1e-7)


def test_glu_sparsemax_and_a_layer_taking_them_by_name():
    x = np.array([[1.0, -2.0, 0.5, 3.0]], np.float32)
    np.testing.assert_allclose(A.glu(x).numpy(), [[1.0 / (1 + np.exp(-0.5)),
                                                   -2.0 / (1 + np.exp(-3.0))]], rtol=1e-6)
    np.testing.assert_allclose(A.sparsemax(np.array([[0.5, 0.4, 0.1, -1.0]])).numpy(),
                               [[0.5, 0.4, 0.1, 0.0]], atol=1e-7)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="celu"),
                              keras.layers.Dense(2, activation="squareplus")])
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3), np.float32), np.ones((8, 2), np.float32), epochs=1, verbose=0)
    assert model.predict(np.ones((1, 3), np.float32), verbose=0).shape == (1, 2)


def test_metric_functions_have_keras_3s_shapes():
    y = np.array([[1, 0, 1], [0, 0, 1]], np.float32)
    p = np.array([[0.7, 0.6, 0.2], [0.1, 0.4, 0.9]], np.float32)
    np.testing.assert_array_equal(keras.metrics.binary_accuracy(y, p),
                                  [[1, 0, 0], [1, 1, 1]])  # elementwise, as Keras 3
    scores = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4]], np.float32)
    np.testing.assert_array_equal(
        keras.metrics.sparse_top_k_categorical_accuracy([2, 0], scores, k=2), [1, 1])  # a tie
    np.testing.assert_array_equal(
        keras.metrics.top_k_categorical_accuracy(np.eye(3)[[0, 1]], scores, k=1), [0, 0])
    np.testing.assert_allclose(keras.metrics.mean_squared_error(y, p),
                               ((y - p) ** 2).mean(-1), rtol=1e-6)


def test_top_k_metric_objects_count_ties_in_as_kerass():
    """A score tied with the k-th highest is in the top k (Keras's in_top_k; Keras 3.15 gives
    1.0 here, and 0.0 for the k=1 case whose true score is below the best)."""
    top2 = keras.metrics.TopKCategoricalAccuracy(k=2)
    top2.update_state(np.eye(3)[[2]], np.array([[0.5, 0.25, 0.25]]))
    assert top2.result() == 1.0
    top1 = keras.metrics.SparseTopKCategoricalAccuracy(k=1)
    top1.update_state(np.array([1, 2]), np.array([[0.3, 0.3, 0.4], [0.5, 0.25, 0.25]]))
    assert top1.result() == 0.0
