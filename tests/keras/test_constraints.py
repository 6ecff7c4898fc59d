"""keras.constraints: Keras's formulas (max_norm, min_max_norm, non_neg, unit_norm, with
epsilon 1e-7 under the norms), applied in Keras's kernel layout after every update of fit."""
import numpy as np
import pytest

from fusednn import keras
from fusednn.keras import constraints

rng = np.random.default_rng(3)
EPS = 1e-7


def norms(w, axis):
    return np.sqrt(np.sum(np.square(w.astype(np.float64)), axis=axis, keepdims=True))


def test_the_formulas_on_hand_made_weights():
    w = np.array([[3.0, 0.3], [4.0, 0.4]], np.float32)  # column norms 5 and 0.5
    out = constraints.MaxNorm(2.0)(w)
    np.testing.assert_allclose(norms(out, 0).ravel(),
                               [2.0 * 5 / (5 + EPS), 0.5 * 0.5 / (0.5 + EPS)], rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], w[:, 1] * (0.5 / (EPS + 0.5)), rtol=1e-7)
    np.testing.assert_allclose(norms(constraints.UnitNorm(axis=0)(w), 0).ravel(), [1, 1],
                               rtol=1e-6)
    np.testing.assert_array_equal(constraints.NonNeg()(np.array([-1.0, 0.0, 2.0], np.float32)),
                                  [0.0, 0.0, 2.0])
    mm = constraints.MinMaxNorm(min_value=1.0, max_value=2.0, rate=0.5)(w)
    # norm 5 -> 0.5 * 2 + 0.5 * 5 = 3.5; norm 0.5 -> 0.5 * 1 + 0.5 * 0.5 = 0.75
    np.testing.assert_allclose(norms(mm, 0).ravel(), [3.5, 0.75], rtol=1e-6)


@pytest.mark.parametrize("constraint,axis", [
    (constraints.MaxNorm(0.7, axis=[0, 1, 2]), (0, 1, 2)),
    (constraints.MinMaxNorm(0.2, 0.9, rate=0.7, axis=0), 0),
    (constraints.UnitNorm(axis=(0, 1, 2)), (0, 1, 2)),
])
def test_random_kernels_against_the_formulas_in_float64(constraint, axis):
    w = rng.standard_normal((3, 3, 4, 5)).astype(np.float32)
    n = norms(w, axis)
    if isinstance(constraint, constraints.MaxNorm):
        ref = w * (np.clip(n, 0, 0.7) / (EPS + n))
    elif isinstance(constraint, constraints.MinMaxNorm):
        ref = w * ((0.7 * np.clip(n, 0.2, 0.9) + 0.3 * n) / (EPS + n))
    else:
        ref = w / (EPS + n)
    np.testing.assert_allclose(constraint(w), ref, rtol=2e-6, atol=1e-7)


def _data():
    x = rng.standard_normal((48, 6)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    return x, y


def _model(**dense):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu",
                                                                      **dense),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    return model


def test_fit_constrains_after_every_update_as_a_manual_loop_does():
    """fit with the constraint == one train_on_batch at a time with the constraint applied
    to the weights by hand after each: the same numbers."""
    x, y = _data()
    constrained = _model(kernel_constraint=constraints.MaxNorm(0.6),
                         bias_constraint="non_neg")
    constrained.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    manual = _model()
    for start in range(0, 48, 16):
        manual.train_on_batch(x[start:start + 16], y[start:start + 16])
        kernel, bias = manual.layers[0].get_weights()
        manual.layers[0].set_weights([constraints.MaxNorm(0.6)(kernel),
                                      constraints.NonNeg()(bias)])
    for a, b in zip(constrained.get_weights(), manual.get_weights()):
        np.testing.assert_array_equal(a, b)
    kernel, bias = constrained.layers[0].get_weights()
    assert norms(kernel, 0).max() <= 0.6 * (1 + 1e-6) and (bias >= 0).all()
    free = _model()
    free.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert norms(free.layers[0].get_weights()[0], 0).max() > 0.6  # the constraint mattered


def test_conv_kernels_are_constrained_per_filter_in_keras_layout():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.Conv2D(4, 3, kernel_constraint=constraints.UnitNorm(axis=[0, 1, 2])),
        keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(rng.standard_normal((8, 6, 6, 2)).astype(np.float32),
              rng.standard_normal((8, 1)).astype(np.float32), epochs=2, verbose=0)
    kernel = model.layers[0].get_weights()[0]  # (kh, kw, in, out)
    np.testing.assert_allclose(norms(kernel, (0, 1, 2)).ravel(), np.ones(4), rtol=1e-5)


def test_a_frozen_layer_is_not_constrained():
    x, y = _data()
    model = _model(kernel_constraint=constraints.MaxNorm(0.01))
    model.layers[0].trainable = False
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    before = model.layers[0].get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_config_save_and_load_keep_the_constraints(tmp_path):
    x, y = _data()
    model = _model(kernel_constraint=constraints.MinMaxNorm(0.1, 0.4, rate=0.5),
                   bias_constraint=constraints.non_neg())
    config = model.layers[0].get_config()
    assert config["kernel_constraint"] == {
        "class_name": "MinMaxNorm",
        "config": {"min_value": 0.1, "max_value": 0.4, "rate": 0.5, "axis": 0}}
    assert config["bias_constraint"] == {"class_name": "NonNeg", "config": {}}
    again = keras.layers.Dense.from_config(config)
    assert isinstance(again.kernel_constraint, constraints.MinMaxNorm)
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[0].kernel_constraint.get_config() == {
        "min_value": 0.1, "max_value": 0.4, "rate": 0.5, "axis": 0}
    assert "kernel_constraint" not in keras.layers.Dense(2).get_config()


def test_unknown_and_unsaveable_constraints_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown constraint 'max_nrom'"):
        keras.layers.Dense(2, kernel_constraint="max_nrom")
    model = _model(kernel_constraint=lambda w: w * 0.5)
    with pytest.raises(TypeError, match="only the built-in ones"):
        model.save(str(tmp_path / "m.keras"))
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    assert isinstance(constraints.get({"class_name": "UnitNorm", "config": {"axis": 1}}),
                      constraints.UnitNorm)


def test_a_custom_layers_add_weight_constraint_applies_after_every_update():
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                     constraint=constraints.NonNeg())

        def call(self, inputs):
            return inputs * self.w

    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4,)), Scale(), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    x = rng.standard_normal((32, 4)).astype(np.float32)
    model.fit(x, -50 * x.sum(axis=1, keepdims=True), epochs=3, verbose=0)
    w = model.layers[0].w.numpy()
    assert (w >= 0).all() and (w == 0).any()  # pushed below zero, held at it


def test_a_constraint_takes_a_tensor_and_gives_one():
    w = keras.ops.convert_to_tensor(np.array([[3.0], [4.0]], np.float32))
    out = constraints.MaxNorm(1.0)(w)
    assert isinstance(out, type(w)) and not out.requires_grad
    np.testing.assert_allclose(out.numpy().ravel(), [0.6, 0.8], rtol=1e-6)


def test_a_failing_constraint_writes_no_weight():
    """All constraints are computed before any is written: one that raises (here on the
    second layer) leaves the first layer's weights as the update left them."""
    x, y = _data()
    keras.utils.set_random_seed(5)
    model = keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(8, kernel_constraint=constraints.MaxNorm(1e-3)),
        keras.layers.Dense(3, kernel_constraint=lambda w: w[:1])])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="returned shape"):
        model.fit(x, y, batch_size=48, epochs=1, verbose=0)
    assert norms(model.layers[0].get_weights()[0], 0).max() > 1e-3 * 2  # not constrained
