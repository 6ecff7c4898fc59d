"""A Keras loss object's reductions and sample weights, as Keras 3 reduces them
(reduce_weighted_values): the per-sample values against float64 formulas, weighted after
Keras's rank match, summed, then divided by the number of values ("sum_over_batch_size",
"mean"), by the summed weights ("mean_with_sample_weight") or not at all ("sum"); "none" and
None keep the weighted values. ignore_class masks its rows out of the sum and the count.
compile takes the mean reductions only."""
import numpy as np
import pytest

from fusednn import keras

rng = np.random.default_rng(3)


def mse_rows(t, y):
    return np.mean((t.astype(np.float64) - y) ** 2, axis=-1)


def scce_rows(t, p):
    p = p.astype(np.float64)
    return -np.log(np.take_along_axis(p, t[..., None], axis=-1)[..., 0])


def reduce(values, weights, reduction):
    weighted = values if weights is None else values * weights
    if reduction in ("none", None):
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = np.broadcast_to(weights, values.shape).sum() if weights.ndim == 0 else \
            weights.sum()
        return weighted.sum() / divisor if divisor else 0.0
    return weighted.sum() / weighted.size


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "mean_with_sample_weight",
                                       "sum", "none", None])
@pytest.mark.parametrize("weighted", [False, True])
def test_reductions_of_a_regression_loss(reduction, weighted):
    t, y = rng.random((5, 3)).astype(np.float32), rng.random((5, 3)).astype(np.float32)
    w = rng.random(5).astype(np.float32) if weighted else None
    got = keras.losses.MeanSquaredError(reduction=reduction)(t, y, sample_weight=w)
    expected = reduce(mse_rows(t, y), None if w is None else w.astype(np.float64), reduction)
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, rtol=1e-5, atol=1e-7)


def test_weights_and_values_whose_ranks_differ_by_a_trailing_axis_of_one():
    """Keras's rank match: (N,) values with (N, 1) weights gain that axis (the result is
    (N, 1), as Keras 3 gives it); (N, T, 1) weights on (N, T) values lose it."""
    t, y = rng.random((4, 2)).astype(np.float32), rng.random((4, 2)).astype(np.float32)
    w = rng.random((4, 1)).astype(np.float32)
    got = keras.losses.MeanSquaredError(reduction="none")(t, y, sample_weight=w)
    assert got.shape == (4, 1)
    np.testing.assert_allclose(got[:, 0], mse_rows(t, y) * w[:, 0], rtol=1e-5)
    values, weights = keras.losses.same_rank(np.zeros((4, 5)), np.zeros((4, 5, 1)))
    assert values.shape == weights.shape == (4, 5)
    values, weights = keras.losses.same_rank(np.zeros((4, 1)), np.zeros(4))
    assert values.shape == weights.shape == (4, 1)


def test_per_step_weights_of_a_sequence_loss():
    t = rng.integers(0, 3, (4, 5))
    p = rng.dirichlet(np.ones(3), (4, 5)).astype(np.float32)
    w = rng.random((4, 5)).astype(np.float32)
    loss = keras.losses.SparseCategoricalCrossentropy()
    np.testing.assert_allclose(loss(t, p, sample_weight=w),
                               (scce_rows(t, p) * w).sum() / w.size, rtol=1e-5)
    with pytest.raises(ValueError, match="does not broadcast"):
        loss(t, p, sample_weight=np.ones(3, np.float32))


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight", "sum"])
def test_ignore_class_leaves_its_rows_out_of_the_sum_and_the_count(reduction):
    t = rng.integers(0, 3, 8)
    t[[1, 4]] = 0
    p = rng.dirichlet(np.ones(3), 8).astype(np.float32)
    w = rng.random(8).astype(np.float32)
    got = keras.losses.SparseCategoricalCrossentropy(ignore_class=0, reduction=reduction)(
        t, p, sample_weight=w)
    kept = t != 0
    rows = scce_rows(t, p) * w * kept
    expected = {"sum_over_batch_size": rows.sum() / kept.sum(),
                "mean_with_sample_weight": rows.sum() / (w * kept).sum(),
                "sum": rows.sum()}[reduction]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_zero_weights_divide_to_zero_as_keras_divide_no_nan():
    t, y = rng.random((3, 2)).astype(np.float32), rng.random((3, 2)).astype(np.float32)
    loss = keras.losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert loss(t, y, sample_weight=np.zeros(3, np.float32)) == 0.0


def test_compile_takes_the_mean_reductions_only():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError(reduction="mean"))
    for reduction in ("sum", "none", "mean_with_sample_weight"):
        with pytest.raises(NotImplementedError, match="reduction"):
            model.compile(optimizer="sgd",
                          loss=keras.losses.MeanSquaredError(reduction=reduction))
    with pytest.raises(ValueError, match="reduction must be one of"):
        keras.losses.MeanSquaredError(reduction="average")
