"""Functional models with several outputs, as Keras 3 trains them: one training step against
the same network written in torch, the loss and logs by Keras's rules (weights, per-output
losses unweighted, metric names), predict's list or dict, save / load, and the errors."""
import numpy as np
import pytest

import fusednn.keras as keras
from fusednn.keras import layers

torch = pytest.importorskip("torch")
EPS = 1e-7  # Keras's epsilon: probabilities are clipped to [EPS, 1 - EPS]


def two_heads(named=False, seed=0):
    """A shared trunk, a 3-class softmax head "cls" and a regression head "reg"."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((5,))
    h = layers.Dense(7, activation="tanh", name="trunk")(inp)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(2, name="reg")(h)
    return keras.Model(inp, {"c": cls, "r": reg} if named else [cls, reg])


def data(n=24, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 3, n),
            rng.standard_normal((n, 2)).astype(np.float32))


def torch_heads(model):
    """The model's weights as float64 torch leaves, in layer order (kernel (in, out), bias)."""
    return [torch.tensor(np.asarray(w, np.float64), requires_grad=True)
            for w in model.get_weights()]


def torch_forward(ws, x):
    h = torch.tanh(torch.tensor(x, dtype=torch.float64) @ ws[0] + ws[1])
    return torch.softmax(h @ ws[2] + ws[3], dim=1), h @ ws[4] + ws[5]


def torch_losses(ws, x, y_cls, y_reg, sample_weight=None):
    """Keras's per-output losses: the mean over the batch of (weighted) per-sample values."""
    p, r = torch_forward(ws, x)
    ce = -torch.log(p.clamp(EPS, 1 - EPS)[torch.arange(len(x)), torch.tensor(y_cls)])
    mse = ((r - torch.tensor(y_reg, dtype=torch.float64)) ** 2).mean(dim=1)
    if sample_weight is not None:
        w = torch.tensor(sample_weight, dtype=torch.float64)
        ce, mse = ce * w, mse * w
    return ce.mean(), mse.mean()


def test_one_training_step_matches_torch():
    model = two_heads()
    x, y_cls, y_reg = data()
    ws = torch_heads(model)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], ["mae"]])
    logs = model.train_on_batch(x, [y_cls, y_reg], return_dict=True)
    ce, mse = torch_losses(ws, x, y_cls, y_reg)
    total = ce + 0.5 * mse
    total.backward()
    np.testing.assert_allclose(logs["loss"], total.item(), rtol=1e-5)
    np.testing.assert_allclose(logs["cls_loss"], ce.item(), rtol=1e-5)  # unweighted
    np.testing.assert_allclose(logs["reg_loss"], mse.item(), rtol=1e-5)
    p, r = torch_forward(ws, x)
    np.testing.assert_allclose(logs["cls_accuracy"],
                               (p.argmax(1).numpy() == y_cls).mean(), rtol=1e-6)
    np.testing.assert_allclose(logs["reg_mae"], (r.detach().numpy() - y_reg).__abs__().mean(),
                               rtol=1e-5)
    for ours, w in zip(model.get_weights(), ws):
        np.testing.assert_allclose(ours, (w - 0.1 * w.grad).detach().numpy(), rtol=1e-4,
                                   atol=1e-6)


def test_predict_call_and_evaluate_follow_kerass_forms():
    model = two_heads()
    x, y_cls, y_reg = data()
    ws = torch_heads(model)
    p, r = (t.detach().numpy() for t in torch_forward(ws, x))
    out = model.predict(x, verbose=0)
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_allclose(out[0], p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1], r, rtol=1e-5, atol=1e-6)
    called = model(x[:4])
    assert [tuple(t.shape) for t in called] == [(4, 3), (4, 2)]
    assert model.output_shape == [(None, 3), (None, 2)]
    assert len(model.outputs) == 2 and isinstance(model.output, list)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])  # one loss for both
    values = model.evaluate(x, [np.eye(3)[y_cls], y_reg], verbose=0)
    logs = model.evaluate(x, [np.eye(3)[y_cls], y_reg], verbose=0, return_dict=True)
    assert list(logs) == ["loss", "cls_mae", "reg_mse", "cls_loss", "reg_loss"]
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_mae", "reg_mse"]
    assert values == [logs[k] for k in model.metrics_names]
    np.testing.assert_allclose(logs["loss"], logs["cls_loss"] + logs["reg_loss"], rtol=1e-6)
    np.testing.assert_allclose(logs["cls_loss"], ((p - np.eye(3)[y_cls]) ** 2).mean(),
                               rtol=1e-5)


def test_named_outputs_take_dicts_and_give_a_dict():
    model = two_heads(named=True)
    x, y_cls, y_reg = data()
    model.compile(optimizer="adam", loss={"c": "sparse_categorical_crossentropy", "r": "mae"},
                  loss_weights={"c": 2.0, "r": 1.0}, metrics={"c": "accuracy"})
    history = model.fit(x, {"r": y_reg, "c": y_cls}, epochs=2, batch_size=8, verbose=0,
                        validation_data=(x, {"c": y_cls, "r": y_reg}))
    assert set(history.history) == {"loss", "c_accuracy", "c_loss", "r_loss", "val_loss",
                                    "val_c_accuracy", "val_c_loss", "val_r_loss"}
    logs = model.evaluate(x, {"c": y_cls, "r": y_reg}, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], 2 * logs["c_loss"] + logs["r_loss"], rtol=1e-6)
    out = model.predict(x, verbose=0)
    assert isinstance(out, dict) and set(out) == {"c", "r"}
    assert out["c"].shape == (len(x), 3) and out["r"].shape == (len(x), 2)


def test_lists_for_named_outputs_follow_kerass_order_by_name():
    keras.utils.set_random_seed(2)
    inp = keras.Input((4,))
    model = keras.Model(inp, {"z": layers.Dense(1)(inp), "a": layers.Dense(3)(inp)})
    assert model.output_shape == [(None, 3), (None, 1)]  # "a" first, as Keras flattens
    model.compile(optimizer="sgd", loss=["mse", "mae"])
    x = np.ones((6, 4), np.float32)
    ya, yz = np.zeros((6, 3)), np.ones((6, 1))
    by_list = model.evaluate(x, [ya, yz], verbose=0, return_dict=True)
    by_name = model.evaluate(x, {"z": yz, "a": ya}, verbose=0, return_dict=True)
    assert by_list == by_name
    pa, pz = (model.predict(x, verbose=0)[k] for k in ("a", "z"))
    np.testing.assert_allclose(by_name["a_loss"], (pa ** 2).mean(), rtol=1e-6)
    np.testing.assert_allclose(by_name["z_loss"], np.abs(pz - 1).mean(), rtol=1e-6)


def test_sample_weights_weigh_every_outputs_loss():
    model = two_heads()
    x, y_cls, y_reg = data()
    w = np.random.default_rng(3).uniform(0.2, 2.0, len(x))
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
    logs = model.evaluate(x, [y_cls, y_reg], sample_weight=w, verbose=0, return_dict=True)
    ce, mse = torch_losses(torch_heads(model), x, y_cls, y_reg, w)
    np.testing.assert_allclose(logs["cls_loss"], ce.item(), rtol=1e-5)
    np.testing.assert_allclose(logs["reg_loss"], mse.item(), rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], ce.item() + mse.item(), rtol=1e-5)


def test_an_output_without_a_loss_trains_nothing_through_it():
    model = two_heads()
    x, y_cls, y_reg = data()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss=[None, "mse"], metrics=[["accuracy"], None])
    before = model.get_layer("cls").get_weights()
    logs = model.train_on_batch(x, [y_cls, y_reg], return_dict=True)
    assert set(logs) == {"loss", "cls_accuracy"}  # one loss: no per-output loss logs
    for a, b in zip(before, model.get_layer("cls").get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no target for output 'cls', which has a metric"):
        model.train_on_batch(x, [None, y_reg])
    model.compile(optimizer="sgd", loss=[None, "mse"])
    model.train_on_batch(x, [None, y_reg])  # read by nothing: its target may be left out
    model.train_on_batch(x, [y_cls, y_reg])


def test_metric_names_repeat_with_a_count():
    model = two_heads()
    model.compile(optimizer="sgd", loss="mse",
                  metrics=[["mae", "mae"], [keras.metrics.MeanAbsoluteError()]])
    x, y_cls, y_reg = data()
    logs = model.evaluate(x, [np.eye(3)[y_cls], y_reg], verbose=0, return_dict=True)
    assert {"cls_mae", "cls_mae_1", "reg_mean_absolute_error"} <= set(logs)
    assert logs["cls_mae"] == logs["cls_mae_1"]


def test_save_load_and_clone_keep_the_outputs_and_the_training(tmp_path):
    model = two_heads(named=True)
    x, y_cls, y_reg = data()
    model.compile(optimizer="adam", loss={"c": keras.losses.SparseCategoricalCrossentropy(),
                                          "r": keras.losses.Huber(delta=0.5)},
                  loss_weights={"c": 1.0, "r": 0.25},
                  metrics={"c": ["accuracy"], "r": [keras.metrics.RootMeanSquaredError()]})
    y = {"c": y_cls, "r": y_reg}
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / "two.fdn")
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(model.predict(x, verbose=0).values(), loaded.predict(x, verbose=0).values()):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == \
        model.evaluate(x, y, verbose=0, return_dict=True)
    # the optimizer's state came along: one more epoch gives the same weights
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    clone = keras.models.clone_model(model)
    assert isinstance(clone(x[:2]), dict) and clone.output_shape == [(None, 3), (None, 2)]
    rebuilt = keras.models.model_from_json(model.to_json())
    assert set(rebuilt.predict(x[:2], verbose=0)) == {"c", "r"}


def test_several_inputs_and_outputs_together():
    keras.utils.set_random_seed(4)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    joined = layers.Concatenate()([layers.Dense(4)(a), layers.Dense(4)(b)])
    out1, out2 = layers.Dense(1, name="o1")(joined), layers.Dense(2, name="o2")(joined)
    model = keras.Model([a, b], [out1, out2])
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(5)
    xa, xb = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
    y1, y2 = rng.standard_normal(10), rng.standard_normal((10, 2))  # y1 gains its axis of 1
    history = model.fit({"a": xa, "b": xb}, [y1, y2], epochs=2, batch_size=4, verbose=0)
    assert set(history.history) == {"loss", "o1_loss", "o2_loss"}
    p1, p2 = model.predict([xa, xb], verbose=0)
    assert p1.shape == (10, 1) and p2.shape == (10, 2)


def test_bad_arguments_are_refused_by_name():
    model = two_heads()
    x, y_cls, y_reg = data()
    with pytest.raises(ValueError, match="2 outputs"):
        model.compile(optimizer="sgd", loss=["mse"])
    with pytest.raises(ValueError, match="no output named 'nope'"):
        model.compile(optimizer="sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="no output has a loss"):
        model.compile(optimizer="sgd", loss=[None, None])
    with pytest.raises(ValueError, match="no weight for output 'reg'"):
        model.compile(optimizer="sgd", loss="mse", loss_weights={"cls": 1.0})
    with pytest.raises(ValueError, match="2 outputs"):
        model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse", "mae"])
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
    with pytest.raises(ValueError, match="list of arrays"):
        model.fit(x, y_reg, verbose=0)
    with pytest.raises(ValueError, match="no target for output 'cls'"):
        model.fit(x, [None, y_reg], verbose=0)
    with pytest.raises(ValueError, match="class 3 of output 'cls' is out of range"):
        model.fit(x, [np.full(len(x), 3), y_reg], verbose=0)
    with pytest.raises(ValueError, match="samples of shape"):
        model.fit(x, [y_cls, y_reg[:, :1]], verbose=0)
    with pytest.raises(ValueError, match="different numbers of samples"):
        model.fit(x, [y_cls, y_reg[:5]], verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(x, [y_cls, y_reg], class_weight={0: 1.0}, verbose=0)
    with pytest.raises(NotImplementedError, match="per output"):
        model.fit(x, [y_cls, y_reg], sample_weight=[np.ones(len(x))] * 2, verbose=0)
    with pytest.raises(ValueError, match="y is required"):
        model.evaluate(x, verbose=0)
    with pytest.raises(ValueError, match="same tensor"):
        inp = keras.Input((2,))
        out = layers.Dense(1)(inp)
        keras.Model(inp, [out, out])


def test_a_subclassed_model_with_several_outputs_is_called_but_not_fit():
    class TwoHeads(keras.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(2), layers.Dense(1)

        def call(self, x):
            return [self.a(x), self.b(x)]

    model = TwoHeads()
    x = np.ones((3, 4), np.float32)
    assert [tuple(t.shape) for t in model(x)] == [(3, 2), (3, 1)]
    model.compile(optimizer="sgd", loss="mse")
    for run in (lambda: model.fit(x, np.ones((3, 1)), verbose=0),
                lambda: model.predict(x, verbose=0)):
        with pytest.raises(NotImplementedError, match="several outputs"):
            run()
