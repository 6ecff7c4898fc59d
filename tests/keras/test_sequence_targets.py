"""A class per time step (sequence tagging): outputs (N, T, C) trained against targets (N, T)
(or one-hot (N, T, C)), as Keras takes them. The loss and accuracy average over the N * T
steps; under ``Embedding(mask_zero=True)`` only the real steps count (Keras 3: the batch's loss
is sum(w * loss) over real steps / their number; a metric is its mean over the epoch's real
steps); sample weights are per sample (N,) or per step (N, T). Each value is checked against
the formula evaluated in float64 from the model's own predictions."""
import numpy as np
import pytest

from fusednn import keras

V, C, T = 12, 4, 7


def padded_data(n=48, seed=0):
    """Index sequences with trailing zeros (lengths 1..T), a class per step."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, V, size=(n, T))
    for i, length in enumerate(rng.integers(1, T + 1, size=n)):
        x[i, length:] = 0
    y = rng.integers(0, C, size=(n, T))
    return x, y


def tagger(mask_zero=True, loss="sparse_categorical_crossentropy", softmax=True, metrics=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Embedding(V, 6, mask_zero=mask_zero),
        keras.layers.LSTM(8, return_sequences=True),
        keras.layers.Dense(C, activation="softmax" if softmax else None)])
    model.compile(keras.optimizers.SGD(0.05), loss, metrics=metrics or ["accuracy"])
    model.build((None, T))
    return model


def step_losses(p, y):
    """Keras's sparse categorical cross-entropy per step, float64, from probabilities."""
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return -np.log(np.take_along_axis(p, y[..., None], axis=-1)[..., 0])


def test_tagger_learns_a_class_per_step():
    rng = np.random.default_rng(1)
    x = rng.integers(1, V, size=(512, T))
    y = x % C  # each step's class is read from its own token
    model = tagger(mask_zero=False)
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=64, verbose=0).history
    assert history["accuracy"][-1] >= 0.95
    p = model.predict(x)
    assert p.shape == (512, T, C)
    loss, accuracy = model.evaluate(x, y, batch_size=512, verbose=0)
    assert loss == pytest.approx(step_losses(p, y).mean(), rel=1e-5)
    assert accuracy == pytest.approx((p.argmax(-1) == y).mean(), abs=1e-12)


def test_masked_steps_leave_loss_and_accuracy():
    x, y = padded_data()
    model = tagger()
    p, real = model.predict(x), x != 0
    hits = (p.argmax(-1) == y) & real
    loss, accuracy = model.evaluate(x, y, batch_size=len(x), verbose=0)
    assert loss == pytest.approx(step_losses(p, y)[real].mean(), rel=1e-5)
    assert accuracy == pytest.approx(hits.sum() / real.sum(), abs=1e-12)

    # in batches: the loss is each batch's masked mean weighted by its size (Keras's loss
    # tracker), the accuracy the mean over every real step of the data
    per_batch = [step_losses(p[i:i + 20], y[i:i + 20])[real[i:i + 20]].mean() * len(p[i:i + 20])
                 for i in range(0, len(x), 20)]
    loss, accuracy = model.evaluate(x, y, batch_size=20, verbose=0)
    assert loss == pytest.approx(sum(per_batch) / len(x), rel=1e-5)
    assert accuracy == pytest.approx(hits.sum() / real.sum(), abs=1e-12)

    # targets at padded steps count for nothing, in evaluate and in training
    y_other = np.where(real, y, (y + 1) % C)
    assert model.evaluate(x, y_other, batch_size=20, verbose=0) == \
        pytest.approx([loss, accuracy], rel=1e-6)
    trained = []
    for targets in (y, y_other):
        model = tagger()
        model.fit(x, targets, epochs=2, batch_size=16, shuffle=False, verbose=0)
        trained.append(model.layers[2].get_weights()[0])
    np.testing.assert_array_equal(trained[0], trained[1])


@pytest.mark.parametrize("mask_zero", [False, True])
@pytest.mark.parametrize("per_step", [False, True])
def test_sample_weights_per_sample_or_per_step(mask_zero, per_step):
    x, y = padded_data(seed=5)
    rng = np.random.default_rng(6)
    w = (rng.random((len(x), T)) if per_step else rng.random(len(x))) + 0.5
    model = tagger(mask_zero=mask_zero)
    p = model.predict(x)
    losses = step_losses(p, y)
    w_steps = w if per_step else np.repeat(w[:, None], T, axis=1)
    if mask_zero:
        real = x != 0
        expected = (w_steps * losses)[real].sum() / real.sum()
    else:
        expected = (w_steps * losses).sum() / losses.size
    loss, accuracy = model.evaluate(x, y, sample_weight=w.astype(np.float32),
                                    batch_size=len(x), verbose=0)
    assert loss == pytest.approx(expected, rel=1e-5)
    unweighted = model.evaluate(x, y, batch_size=len(x), verbose=0)[1]
    assert accuracy == unweighted  # metrics are not weighted, as Keras's compile metrics
    history = model.fit(x, y, sample_weight=w, epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(history["loss"][0])


@pytest.mark.parametrize("loss,activation,metric", [
    ("binary_crossentropy", "sigmoid", "accuracy"), ("mse", None, "mae")])
def test_one_output_per_step_takes_targets_without_the_last_axis(loss, activation, metric):
    """Dense(1) on every step: targets (N, T) stand for (N, T, 1), as Keras expands them; the
    mask leaves padded steps out of the loss and the metric."""
    x, _ = padded_data(seed=11)
    y = (np.random.default_rng(12).random(x.shape) > 0.5).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Embedding(V, 6, mask_zero=True),
                              keras.layers.GRU(8, return_sequences=True),
                              keras.layers.Dense(1, activation=activation)])
    model.compile(keras.optimizers.SGD(0.05), loss, metrics=[metric])
    model.build((None, T))
    p, real = model.predict(x)[..., 0].astype(np.float64), x != 0
    if activation:
        q = np.clip(p, 1e-7, 1 - 1e-7)
        losses = -(y * np.log(q) + (1 - y) * np.log(1 - q))
        scores = (p > 0.5) == (y > 0.5)
    else:
        losses, scores = (p - y) ** 2, np.abs(p - y)
    loss_value, metric_value = model.evaluate(x, y, batch_size=len(x), verbose=0)
    assert loss_value == pytest.approx(losses[real].mean(), rel=1e-5)
    assert metric_value == pytest.approx(scores[real].mean(), rel=1e-6)
    assert model.evaluate(x, y[..., None], batch_size=len(x), verbose=0) == \
        pytest.approx([loss_value, metric_value], rel=1e-7)


def test_one_hot_steps_equal_class_indices():
    x, y = padded_data(seed=7)
    sparse, one_hot = tagger(), tagger(loss="categorical_crossentropy")
    expected = sparse.evaluate(x, y, batch_size=16, verbose=0)
    assert one_hot.evaluate(x, np.eye(C, dtype=np.float32)[y], batch_size=16, verbose=0) == \
        pytest.approx(expected, rel=1e-6)


def test_logits_loss_with_a_class_per_step():
    """fusednn's "cross_entropy" (logits, class scores on the last axis of the model's
    output) with (N, T) targets: the mean log-softmax loss over the steps."""
    x, y = padded_data(n=32, seed=8)
    model = tagger(mask_zero=False, loss="cross_entropy", softmax=False)
    z = model.predict(x).astype(np.float64)
    log_p = z - z.max(-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_p, y[..., None], axis=-1).mean()
    loss, accuracy = model.evaluate(x, y, batch_size=len(x), verbose=0)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx((z.argmax(-1) == y).mean(), abs=1e-12)


def test_top_k_reads_every_real_step():
    x, y = padded_data(seed=9)
    model = tagger(metrics=["top_k_categorical_accuracy"])
    p, real = model.predict(x), x != 0
    top2 = np.argsort(-p, axis=-1, kind="stable")[..., :2]
    in_top = (top2 == y[..., None]).any(-1)
    model_k2 = tagger(metrics=[keras.metrics.TopKCategoricalAccuracy(k=2)])
    result = model_k2.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert result["top_k_categorical_accuracy"] == pytest.approx(in_top[real].mean(), abs=1e-12)


def test_keras_loss_functions_keep_the_step_axis():
    rng = np.random.default_rng(10)
    z = rng.standard_normal((3, 5, C)).astype(np.float32)
    y = rng.integers(0, C, size=(3, 5))
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    for from_logits, scores in ((True, z), (False, p)):
        out = keras.losses.sparse_categorical_crossentropy(y, scores, from_logits=from_logits)
        assert out.shape == (3, 5)
        np.testing.assert_allclose(out, step_losses(p, y), rtol=2e-5)
        out = keras.losses.categorical_crossentropy(np.eye(C, dtype=np.float32)[y], scores,
                                                    from_logits=from_logits)
        np.testing.assert_allclose(out, step_losses(p, y), rtol=2e-5)
    # a trailing axis of 1 on the indices is taken, as Keras
    out = keras.losses.sparse_categorical_crossentropy(y[..., None], p)
    np.testing.assert_allclose(out, step_losses(p, y), rtol=2e-5)


def test_bad_step_targets_are_named():
    x, y = padded_data(n=16)
    model = tagger()
    with pytest.raises(ValueError, match=r"class index per output row.*\(7,\).*\(16, 6\)"):
        model.fit(x, y[:, :6], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\)"):
        model.fit(x, np.where(y == 0, C, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="class_weight.*per step"):
        model.fit(x, y, class_weight={0: 2.0}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(16,\) or \(16, 7\)"):
        model.fit(x, y, sample_weight=np.ones((16, 6)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="not integers"):
        model.fit(x, y + 0.5, epochs=1, verbose=0)


def test_ignore_class_leaves_rows_out_of_the_loss_not_the_accuracy():
    """Keras's SparseCategoricalCrossentropy(ignore_class=k): rows labelled k add 0 and leave
    the mean's count (with a step mask too); the accuracy still counts them, as misses."""
    x, y = padded_data(seed=13)
    real = x != 0
    y = np.where(real & (np.random.default_rng(14).random(y.shape) > 0.15), y, -1)
    kept = y != -1
    for mask_zero in (False, True):
        model = tagger(mask_zero=mask_zero,
                       loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=-1))
        p = model.predict(x)
        counted = kept & real if mask_zero else kept
        shown = real if mask_zero else np.ones_like(real)
        loss, accuracy = model.evaluate(x, y, batch_size=len(x), verbose=0)
        assert loss == pytest.approx(step_losses(p, np.where(kept, y, 0))[counted].mean(),
                                     rel=1e-5)
        assert accuracy == pytest.approx((p.argmax(-1) == y)[shown].mean(), abs=1e-12)
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)

    # the function gives 0 at ignored rows; the object divides by the rows kept
    p = model.predict(x)
    per = keras.losses.sparse_categorical_crossentropy(y, p, ignore_class=-1)
    expected = np.where(kept, step_losses(p, np.where(kept, y, 0)), 0.0)
    np.testing.assert_allclose(per, expected, rtol=2e-5, atol=1e-7)
    value = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)(y, p)
    assert value == pytest.approx(expected.sum() / kept.sum(), rel=1e-5)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\)"):
        tagger().fit(x, y, epochs=1, verbose=0)  # -1 without ignore_class


def test_loss_options_are_saved_with_the_model(tmp_path):
    """ignore_class, label_smoothing and Huber's delta come back with load_model: the loaded
    model's loss is the saved one's, not the default. (The tagger is compiled with an optimizer
    object and saved before any training: the file names that optimizer.)"""
    x, y = padded_data(seed=15)
    y = np.where(x != 0, y, -1)
    model = tagger(loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    again = keras.models.load_model(model.save(str(tmp_path / "tagger.fdnn")))
    assert type(again.optimizer) is type(model.optimizer)
    assert again.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)

    rng = np.random.default_rng(16)
    xs, ys = rng.random((32, 5), np.float32), rng.random((32, 3)).astype(np.float32)
    for loss in (keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
                 keras.losses.Huber(delta=0.3)):
        model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_dim=5)])
        model.compile("sgd", loss)
        again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
        default = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_dim=5)])
        default.compile("sgd", loss.name)
        default.set_weights(model.get_weights())
        assert again.evaluate(xs, ys, verbose=0) == model.evaluate(xs, ys, verbose=0)
        assert default.evaluate(xs, ys, verbose=0) != model.evaluate(xs, ys, verbose=0)


def test_mask_zero_leaves_row_zero_an_ordinary_trained_row():
    """Keras's mask_zero only masks: row 0 is drawn like the others and trains where a layer
    that ignores the mask (Flatten) reads it; fusednn.nn.Embedding pads it as torch does."""
    from fusednn import nn

    keras.utils.set_random_seed(0)
    embedding = keras.layers.Embedding(5, 3, mask_zero=True)
    model = keras.Sequential([keras.Input((4,)), embedding, keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    row0 = embedding.get_weights()[0][0].copy()
    assert np.abs(row0).min() > 0
    x = np.array([[0, 0, 1, 2], [0, 3, 4, 1]], np.float32)
    model.fit(x, np.ones((2, 1), np.float32), epochs=1, verbose=0)
    assert not np.allclose(embedding.get_weights()[0][0], row0)
    np.testing.assert_array_equal(nn.Embedding(5, 3, mask_zero=True).weight.numpy()[0], 0)
