"""fusednn.keras against Keras's documented numbers: the loss values of Keras's docstring
examples, metrics against scikit-learn, Keras's optimizer update rules written out in numpy
from Keras's formulas, and the binary-classifier case where a double sigmoid once hid."""
import numpy as np
import pytest

import fusednn
from fusednn import keras
from fusednn.data import load_digits


@pytest.mark.parametrize("loss,y_true,y_pred,expected", [
    (keras.losses.BinaryCrossentropy(), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.815),
    (keras.losses.BinaryCrossentropy(from_logits=True), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8],
     0.865),
    (keras.losses.CategoricalCrossentropy(), [[0, 1, 0], [0, 0, 1]],
     [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], 1.177),
    (keras.losses.SparseCategoricalCrossentropy(), [1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]],
     1.177),
    (keras.losses.MeanSquaredError(), [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]], 0.5),
    (keras.losses.MeanAbsoluteError(), [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]], 0.5),
    (keras.losses.Huber(), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.155),
    (keras.losses.KLDivergence(), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.458),
])
def test_losses_give_kerass_documented_values(loss, y_true, y_pred, expected):
    assert loss(np.array(y_true, np.float32), np.array(y_pred, np.float32)) == pytest.approx(
        expected, abs=1e-3)


def test_probability_losses_on_exact_probabilities_are_zero():
    eye = np.eye(3, dtype=np.float32)
    assert keras.losses.categorical_crossentropy(eye, eye) == pytest.approx(0, abs=1e-6)
    assert keras.losses.binary_crossentropy(eye, eye) == pytest.approx(0, abs=1e-6)


def test_logits_path_equals_the_probability_formula():
    """A final softmax/sigmoid's logits through the fused kernel give Keras's clipped-
    probability value wherever clipping does not bite."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((32, 5)).astype(np.float32)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    t = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 32)]
    np.testing.assert_allclose(keras.losses.categorical_crossentropy(t, z, from_logits=True),
                               keras.losses.categorical_crossentropy(t, p), rtol=1e-5)
    s = 1 / (1 + np.exp(-z))
    b = (rng.random((32, 5)) > 0.5).astype(np.float32)
    np.testing.assert_allclose(keras.losses.binary_crossentropy(b, z, from_logits=True),
                               keras.losses.binary_crossentropy(b, s), rtol=1e-5)


@pytest.mark.parametrize("from_logits", [False, True])
def test_label_smoothing_follows_kerass_formula(from_logits):
    """Keras moves binary targets toward 0.5 (t (1 - s) + s / 2) and categorical ones toward
    uniform (t (1 - s) + s / classes) before the cross-entropy, on probabilities or logits."""
    rng = np.random.default_rng(3)
    s, eps = 0.2, 1e-7
    z = rng.standard_normal((6, 4)).astype(np.float32) * 2
    t = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]
    soft = t * (1 - s) + s / 4
    if from_logits:
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    else:
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        logp = np.log(np.clip(p / p.sum(1, keepdims=True), eps, 1 - eps))
    y_pred = z if from_logits else np.exp(logp)
    np.testing.assert_allclose(
        keras.losses.categorical_crossentropy(t, y_pred, from_logits, label_smoothing=s),
        -(soft * logp).sum(1), rtol=1e-5)
    b = (rng.random((6, 4)) > 0.5).astype(np.float32)
    soft = b * (1 - s) + s / 2
    q = np.clip(1 / (1 + np.exp(-z)), eps, 1 - eps)
    expected = -(soft * np.log(q) + (1 - soft) * np.log(1 - q)).mean(1)
    got = keras.losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=s,
                                          reduction="none")(b, z if from_logits else q)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_label_smoothing_reaches_training_and_bad_values_are_refused():
    """A compiled smoothed loss trains on the smoothed targets: evaluate() reports Keras's
    smoothed value of the model's own predictions."""
    x, y = binary_digits()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(64,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    loss = keras.losses.BinaryCrossentropy(label_smoothing=0.3)
    model.compile(keras.optimizers.Adam(0.01), loss)
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    q = np.clip(model.predict(x, verbose=0)[:, 0].astype(np.float64), 1e-7, 1 - 1e-7)
    soft = y * 0.7 + 0.15
    expected = -(soft * np.log(q) + (1 - soft) * np.log(1 - q)).mean()
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        keras.losses.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="only the last axis"):
        keras.losses.binary_crossentropy(y[:, None], y[:, None], axis=0)


def binary_digits():
    x, y = load_digits()
    return x.reshape(len(x), -1).astype(np.float32) / 16.0, (y >= 5).astype(np.float32)


def test_sigmoid_binary_classifier_reports_what_predict_gives():
    from sklearn.metrics import accuracy_score

    x, y = binary_digits()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(32, activation="relu", input_shape=(64,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] >= 0.95
    loss, acc = model.evaluate(x, y, verbose=0)
    predicted = (model.predict(x)[:, 0] > 0.5).astype(np.float32)
    assert acc == pytest.approx(accuracy_score(y, predicted), abs=1e-9)
    assert acc >= 0.95


def test_softmax_classifier_metrics_against_sklearn():
    from sklearn.metrics import accuracy_score, log_loss

    x, y = load_digits()
    x = x.reshape(len(x), -1).astype(np.float32) / 16.0
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.layers.Dense(32, activation="relu", input_dim=64),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["acc"])
    history = model.fit(x, y, epochs=5, batch_size=64, verbose=0)
    assert "acc" in history.history and "accuracy" not in history.history
    loss, acc = model.evaluate(x, y, verbose=0)
    probs = model.predict(x)
    assert acc == pytest.approx(accuracy_score(y, probs.argmax(1)), abs=1e-9)
    assert loss == pytest.approx(log_loss(y, probs, labels=range(10)), rel=1e-4)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": loss, "acc": acc}


def keras_reference(name, config, grads, p0):
    """Keras's update rules, from its optimizers' source, in float32 numpy."""
    f = np.float32
    p = p0.astype(f).copy()
    lr = f(config["learning_rate"])
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    if name == "adagrad":
        v += f(0.1)
    for t, g in enumerate(grads, start=1):
        g = g.astype(f)
        if "clipnorm" in config:  # Keras's _clip_gradients, then _apply_weight_decay
            c = f(config["clipnorm"])
            g = g * c / np.maximum(np.sqrt(np.sum(np.square(g))), c)
        if "clipvalue" in config:
            g = np.clip(g, -f(config["clipvalue"]), f(config["clipvalue"]))
        if config.get("weight_decay"):
            p = p - p * f(config["weight_decay"]) * lr
        if name == "sgd":
            mom = f(config["momentum"])
            m = mom * m - lr * g
            p = p + (mom * m - lr * g if config.get("nesterov") else m)
        elif name == "rmsprop":
            rho, eps = f(0.9), f(1e-7)
            v = rho * v + (1 - rho) * g * g
            p = p - lr * g / np.sqrt(v + eps)
        elif name == "adagrad":
            v = v + g * g
            p = p - lr * g / np.sqrt(v + f(1e-7))
        elif name == "adam":
            b1, b2, eps = 0.9, 0.999, f(1e-7)
            alpha = f(lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t))
            m = m + (g - m) * f(1 - b1)
            v = v + (g * g - v) * f(1 - b2)
            p = p - alpha * m / (np.sqrt(v) + eps)
    return p


@pytest.mark.parametrize("name,config", [
    ("sgd", dict(learning_rate=0.05, momentum=0.0)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("rmsprop", dict(learning_rate=0.01)),
    ("adagrad", dict(learning_rate=0.1)),
    ("adam", dict(learning_rate=0.01)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9, weight_decay=0.1)),
    ("rmsprop", dict(learning_rate=0.01, weight_decay=0.3, clipnorm=0.5)),
    ("adagrad", dict(learning_rate=0.1, weight_decay=0.2, clipvalue=0.05)),
    ("adam", dict(learning_rate=0.01, weight_decay=0.1, clipnorm=2.0)),
    ("sgd", dict(learning_rate=0.05, momentum=0.0, clipvalue=0.3)),
])
def test_optimizers_follow_kerass_update_rules(name, config):
    """Keras's rules, weight decay (decoupled, before the update) and per-variable clipping
    included; the gradients given to the step are left as they were."""
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(1000).astype(np.float32)
    # small gradients now and then, where eps placement shows
    grads = [rng.standard_normal(1000).astype(np.float32) * (1e-3 if i % 3 else 1.0)
             for i in range(50)]
    cls = {"sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop,
           "adagrad": keras.optimizers.Adagrad, "adam": keras.optimizers.Adam}[name]
    p = p0.copy()
    opt = cls(**config).build_optimizer([p])
    given = [g.copy() for g in grads]
    for g in grads:
        opt.step(grads=[g])
    np.testing.assert_allclose(p, keras_reference(name, config, grads, p0), rtol=2e-5,
                               atol=2e-6)
    for g, before in zip(grads, given):
        np.testing.assert_array_equal(g, before)


def test_clipping_arguments_are_checked_as_kerass():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        keras.optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="clipvalue must be a positive number"):
        keras.optimizers.SGD(clipvalue=-1.0)
    with pytest.raises(ValueError, match="weight_decay must be a number >= 0"):
        keras.optimizers.RMSprop(weight_decay=-0.1)


def test_clipnorm_and_weight_decay_reach_fit_and_survive_save(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((64, 4)).astype(np.float32), rng.standard_normal((64, 1))
    model = keras.Sequential([keras.layers.Dense(1, input_dim=4)])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.5, weight_decay=0.05, clipnorm=0.1),
                  "mse")
    again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
    for m in (model, again):
        keras.utils.set_random_seed(0)
        m.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])
    plain = keras.Sequential([keras.layers.Dense(1, input_dim=4)])
    plain.set_weights(keras.models.load_model(str(tmp_path / "m.fdnn")).get_weights())
    plain.compile(keras.optimizers.SGD(0.1, momentum=0.5), "mse")
    plain.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    assert not np.allclose(plain.get_weights()[0], model.get_weights()[0])


def test_keras_defaults_and_live_learning_rate():
    model = keras.Sequential([keras.layers.Dense(2, input_dim=3)])
    model.compile("sgd", "mse")
    model._make_optimizer()
    assert model.optimizer.learning_rate == pytest.approx(0.01)  # Keras's SGD default
    model.optimizer.learning_rate = 0.5
    assert all(g["lr"] == 0.5 for g in model.optimizer.param_groups)
    model.optimizer.lr = 0.25
    assert model.optimizer.learning_rate == 0.25


def test_weights_in_kerass_layouts():
    model = keras.Sequential([keras.layers.Conv2D(4, (3, 3), input_shape=(8, 8, 2)),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 3, 2, 4), (4,), (6 * 6 * 4, 3), (3,)]
    rng = np.random.default_rng(0)
    new = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    # the same numbers as a direct channels-last convolution and (H, W, C) flatten
    x = rng.standard_normal((2, 8, 8, 2)).astype(np.float32)
    k, bk, w, bw = new
    conv = np.zeros((2, 6, 6, 4), np.float32)
    for i in range(6):
        for j in range(6):
            conv[:, i, j, :] = np.einsum("nhwc,hwco->no", x[:, i:i + 3, j:j + 3, :], k) + bk
    expected = conv.reshape(2, -1) @ w + bw
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-4, atol=1e-4)


def test_channels_last_cnn_has_kerass_parameter_count_and_one_layout_change():
    L = keras.layers
    model = keras.Sequential([L.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                              L.MaxPooling2D((2, 2)), L.Conv2D(64, (3, 3), activation="relu"),
                              L.MaxPooling2D((2, 2)), L.Conv2D(64, (3, 3), activation="relu"),
                              L.Flatten(), L.Dense(64, activation="relu"),
                              L.Dense(10, activation="softmax")])
    assert model.count_params() == 93322
    assert model.output_shape == (None, 10)  # Keras keeps the batch axis, as None


def test_channels_last_image_into_a_channels_first_layer_is_named():
    from fusednn import nn

    conv = nn.Conv2D(8, 3)  # fusednn's own default: channels_first
    with pytest.raises(ValueError, match="data_format"):
        conv(np.zeros((2, 28, 28, 1), np.float32))


def test_class_weight_balanced_and_unknown_class():
    x, y = binary_digits()
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_dim=64)])
    model.compile("adam", "binary_crossentropy")
    model.fit(x, y, epochs=1, verbose=0, class_weight="balanced")
    with pytest.raises(ValueError, match=r"class\(es\) \[7\]"):
        model.fit(x, y, epochs=1, verbose=0, class_weight={0: 1.0, 7: 2.0})


def test_validation_split_holds_out_kerass_rows():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    model = keras.Sequential([keras.layers.Dense(1, input_dim=1)])
    model.compile("sgd", "mse")
    seen = {}

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.update(logs)

    model.fit(x, x, epochs=1, validation_split=0.25, verbose=0, callbacks=[Spy()])
    # Keras: split_at = floor(10 * 0.75) = 7, so the last 3 rows are held out
    from fusednn.data.preprocessing import split_indices

    keep, held = split_indices(10, 0.25, None, shuffle=False)
    assert held.tolist() == [7, 8, 9] and keep.tolist() == list(range(7))
    assert "val_loss" in seen


def test_epoch_metrics_against_sklearn():
    from sklearn import metrics as sk

    x, y = binary_digits()
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_dim=64),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy",
                  metrics=[keras.metrics.Precision(), keras.metrics.Recall(),
                           keras.metrics.AUC(), "accuracy"])
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    scores = model.predict(x)[:, 0]
    got = model.evaluate(x, y, verbose=0, return_dict=True)
    predicted = (scores > 0.5).astype(np.float32)
    assert got["precision"] == pytest.approx(sk.precision_score(y, predicted), abs=1e-12)
    assert got["recall"] == pytest.approx(sk.recall_score(y, predicted), abs=1e-12)
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y, scores), abs=1e-9)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted), abs=1e-12)


def test_f1_and_top_k_against_sklearn():
    from sklearn import metrics as sk

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    scores = rng.random((200, 4)).astype(np.float32)
    onehot = keras.utils.to_categorical(y, 4)
    for average in ("micro", "macro", "weighted"):
        f1 = keras.metrics.F1Score(average=average)
        f1.update_state(onehot[:120], scores[:120])
        f1.update_state(onehot[120:], scores[120:])
        assert f1.result() == pytest.approx(sk.f1_score(y, scores.argmax(1), average=average))
    top = keras.metrics.TopKCategoricalAccuracy(k=2)
    top.update_state(onehot, scores)
    assert top.result() == pytest.approx(sk.top_k_accuracy_score(y, scores, k=2))
    cm = keras.metrics.confusion_matrix(y, scores)
    np.testing.assert_array_equal(cm, sk.confusion_matrix(y, scores.argmax(1)))


def test_keras_model_saves_and_loads_as_keras(tmp_path):
    L = keras.layers
    model = keras.Sequential([L.Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)),
                              L.MaxPooling2D((2, 2)), L.Flatten(), L.Dropout(0.1),
                              L.BatchNormalization(), L.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.RMSprop(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC()])
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 8, 8, 1), np.float32), np.arange(32) % 3
    model.fit(x, y, epochs=2, verbose=0)
    again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
    assert isinstance(again, keras.Sequential)
    assert [type(l).__name__ for l in again.layers] == [type(l).__name__ for l in model.layers]
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    assert again.optimizer.state_dict()["param_groups"][0]["alpha"] == 0.9  # Keras's rho
    keras.utils.set_random_seed(3)  # the same dropout masks for both
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    keras.utils.set_random_seed(3)
    again.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_metric_objects_come_back_with_their_arguments(tmp_path):
    """A saved model's metric objects are rebuilt as given (threshold, k, average, name), not
    as the defaults of their class."""
    model = keras.Sequential([keras.layers.Dense(4, activation="softmax", input_dim=6)])
    metrics = ["accuracy", keras.metrics.Precision(thresholds=0.3, name="p30"),
               keras.metrics.TopKCategoricalAccuracy(k=2), keras.metrics.F1Score(average="macro")]
    model.compile("adam", "categorical_crossentropy", metrics=metrics)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 64)]
    again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    assert again.evaluate(x, y, verbose=0, return_dict=True) == expected
    assert list(expected) == ["loss", "accuracy", "p30", "top_k_categorical_accuracy",
                              "f1_score"]
    assert [m.get_config() for m in again.metrics[1:]] == [m.get_config() for m in metrics[1:]]


@pytest.mark.parametrize("loss", ["huber", "kl_divergence", keras.losses.Huber(delta=0.5)])
def test_huber_and_kld_train_through_compile(loss):
    rng = np.random.default_rng(0)
    x = rng.random((64, 4), np.float32)
    t = np.abs(x) / np.abs(x).sum(1, keepdims=True)
    model = keras.Sequential([keras.layers.Dense(4, activation="softmax", input_dim=4)])
    model.compile(keras.optimizers.Adam(0.05), loss)
    history = model.fit(x, t, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    expected = keras.losses.Huber(delta=0.5) if not isinstance(loss, str) else \
        {"huber": keras.losses.Huber(), "kl_divergence": keras.losses.KLDivergence()}[loss]
    assert model.evaluate(x, t, verbose=0) == pytest.approx(expected(t, model.predict(x)),
                                                            rel=1e-5)


def test_batch_norm_channels_last_normalizes_channels():
    from fusednn import nn
    from fusednn.autograd import Tensor

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((6, 5, 5, 3)) * [1, 4, 9] + [0, 2, -3]).astype(np.float32)
    for layer, training in ((nn.BatchNorm2D(data_format="channels_last"), None),
                            (keras.layers.BatchNormalization(), True)):  # Keras's infers
        y = layer(Tensor(x), training=training).numpy()
        np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-5)
        np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1, rtol=1e-2)


def test_keras_sgd_nesterov_without_momentum_is_the_plain_step():
    """Keras accepts nesterov=True with momentum 0 (torch refuses it): p -= lr * g."""
    p0 = np.random.default_rng(4).standard_normal(5).astype(np.float32)
    p = fusednn.Tensor(p0.copy(), requires_grad=True)
    opt = keras.optimizers.SGD(learning_rate=0.1, nesterov=True).build_optimizer([p])
    expected = p0.astype(np.float64)
    for k in range(3):
        g = np.full(5, k + 1.0, np.float32)
        p.grad = fusednn.Tensor(g)
        opt.step()
        expected = expected - 0.1 * g
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name,expected", [
    ("Adam", [0.5, 1.5, 2.5, 3.5]), ("SGD", [0.5, -1.0, -0.5, 3.0]),
    ("RMSprop", [-0.5811, 0.4189, 1.4189, 2.4189]), ("Adagrad", [0.5233, 1.5007, 2.5005, 3.5061]),
])
def test_apply_gradients_single_step_as_kerass_tests(name, expected):
    """Keras's optimizer tests' single step (learning rate 0.5, gradients [1, 6, 7, 2] on
    variables [1, 2, 3, 4]); the variables are updated in place, the state kept for the next
    call on the same variables."""
    opt = getattr(keras.optimizers, name)(learning_rate=0.5)
    v = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    assert opt.apply_gradients(zip([np.array([1.0, 6.0, 7.0, 2.0], np.float32)], [v])) == 1
    np.testing.assert_allclose(v, expected, rtol=1e-4, atol=1e-4)
    fused = opt._fused
    opt.apply([np.ones(4, np.float32)], [v])
    assert opt._fused is fused and opt.iterations == 2
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        opt.apply([np.ones(4, np.float32)] * 2)
