"""Keras metric objects weigh ``update_state(..., sample_weight=w)`` as Keras 3 does (checked
against Keras 3.15 on 500 random cases when written; here against the formulas in float64):
mean metrics average each sample's values and weigh them (the count is the summed weights),
confusion counts add each element's sample weight, R2 takes weighted sums, AUC the weighted
Mann-Whitney statistic."""
import numpy as np
import pytest

from fusednn import keras

rng = np.random.default_rng(17)


def fed(metric, batches):
    for y_true, y_pred, w in batches:
        metric.update_state(y_true, y_pred, sample_weight=w)
    return metric.result()


def test_mean_metrics_weigh_samples():
    batches = [((rng.random((n, 3)) < 0.5).astype(np.float32), rng.random((n, 3)),
                rng.random(n)) for n in (4, 6)]
    hits = np.concatenate([((p > 0.5) == (t > 0.5)).mean(1) for t, p, _ in batches])
    w = np.concatenate([b[2] for b in batches])
    got = fed(keras.metrics.BinaryAccuracy(), batches)
    np.testing.assert_allclose(got, (hits * w).sum() / w.sum(), rtol=1e-12)
    squares = np.concatenate([((p - t) ** 2).mean(1) for t, p, _ in batches])
    got = fed(keras.metrics.RootMeanSquaredError(), batches)
    np.testing.assert_allclose(got, np.sqrt((squares * w).sum() / w.sum()), rtol=1e-12)


def test_per_step_weights_of_a_sequence_metric():
    t = rng.integers(0, 4, (5, 3))
    p = rng.random((5, 3, 4))
    w = rng.random((5, 3))
    got = fed(keras.metrics.SparseCategoricalAccuracy(), [(t, p, w)])
    hit = (p.argmax(-1) == t).astype(np.float64)
    np.testing.assert_allclose(got, (hit * w).sum() / w.sum(), rtol=1e-12)
    with pytest.raises(ValueError, match="does not fit"):
        keras.metrics.SparseCategoricalAccuracy().update_state(t, p, sample_weight=np.ones(4))


def test_confusion_counts_weigh_every_element_of_a_sample():
    t = (rng.random((6, 3)) < 0.5).astype(np.float32)
    p = rng.random((6, 3))
    w = rng.random(6)
    ww = np.broadcast_to(w[:, None], t.shape)
    pos, pred = t > 0.5, p > 0.5
    tp, fp, fn = ww[pos & pred].sum(), ww[~pos & pred].sum(), ww[pos & ~pred].sum()
    np.testing.assert_allclose(fed(keras.metrics.Precision(), [(t, p, w)]), tp / (tp + fp))
    np.testing.assert_allclose(fed(keras.metrics.Recall(), [(t, p, w)]), tp / (tp + fn))


@pytest.mark.parametrize("average", [None, "macro", "weighted", "micro"])
def test_f1_with_fractional_weights(average):
    """Weighted counts are fractions: no count may be rounded up to one."""
    c = 4
    t = np.eye(c)[rng.integers(0, c, 12)]
    p = rng.random((12, c))
    w = rng.random(12) * 0.2
    pred = np.eye(c)[p.argmax(1)]
    tp = (w[:, None] * pred * t).sum(0)
    fp = (w[:, None] * pred * (1 - t)).sum(0)
    fn = (w[:, None] * (1 - pred) * t).sum(0)
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(c), where=2 * tp + fp + fn > 0)
    support = (w[:, None] * t).sum(0)
    expected = {None: f1, "macro": f1.mean(), "weighted": (f1 * support).sum() / support.sum(),
                "micro": 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())}[average]
    np.testing.assert_allclose(fed(keras.metrics.F1Score(average=average), [(t, p, w)]),
                               expected, rtol=1e-12)


def test_weighted_r2_and_keras_rules():
    t, p, w = rng.random((8, 2)), rng.random((8, 2)), rng.random(8)
    ww = np.broadcast_to(w[:, None], t.shape)
    mean = (ww * t).sum(0) / ww.sum(0)
    r2 = 1 - (ww * (t - p) ** 2).sum(0) / (ww * (t - mean) ** 2).sum(0)
    got = fed(keras.metrics.R2Score(class_aggregation=None), [(t, p, w)])
    np.testing.assert_allclose(got, r2, rtol=1e-10)
    # Keras's name for the variance-weighted mean, and an infinite score counting as 0
    keras.metrics.R2Score(class_aggregation="variance_weighted_average")
    constant = np.ones((4, 1))
    assert fed(keras.metrics.R2Score(), [(constant, constant + 0.1, None)]) == 0.0


def test_weighted_auc_is_the_weighted_mann_whitney_statistic():
    t = (rng.random(40) < 0.4).astype(np.float64)
    s = np.round(rng.random(40), 1)  # ties count half
    w = rng.random(40)
    pos, neg = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    wins = sum(w[i] * w[j] * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0)
               for i in pos for j in neg)
    expected = wins / (w[pos].sum() * w[neg].sum())
    np.testing.assert_allclose(fed(keras.metrics.AUC(), [(t, s, w)]), expected, rtol=1e-12)
    np.testing.assert_allclose(fed(keras.metrics.AUC(), [(t, s, None)]),
                               fed(keras.metrics.AUC(), [(t, s, np.ones(40))]), rtol=1e-12)


def test_weighted_top_k():
    t = rng.integers(0, 5, 10)
    p = rng.random((10, 5))
    w = rng.random(10)
    hit = (np.argsort(-p, axis=1)[:, :2] == t[:, None]).any(1)
    got = fed(keras.metrics.SparseTopKCategoricalAccuracy(k=2), [(t, p, w)])
    np.testing.assert_allclose(got, (hit * w).sum() / w.sum(), rtol=1e-12)
