"""keras.layers.Layer subclasses, as Keras's guide writes them: weights from add_weight in
build, call on Tensors, ``training`` passed to call; trained in a Sequential. The numbers
below are Keras 3.15's for the same weights and data."""
import numpy as np
import pytest

from fusednn import keras


class Linear(keras.layers.Layer):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True, name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)
        self.total = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, inputs, training=None):
        y = inputs @ self.w + self.b
        return y * 0.5 if training else y


def test_a_subclassed_layer_trains_as_kerass():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = rng.standard_normal((16, 4)).astype(np.float32)
    layer = Linear(4)
    model = keras.Sequential([keras.Input((3,)), layer, keras.layers.Dense(4)])
    assert [np.shape(w) for w in model.get_weights()] == [(3, 4), (4,), (), (4, 4), (4,)]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 1
    assert model.count_params() == 37
    weights = [rng.standard_normal(np.shape(w)).astype(np.float32) if np.ndim(w) else
               np.float32(0) for w in model.get_weights()]
    model.set_weights(weights)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    first, second = model.train_on_batch(x, y), model.train_on_batch(x, y)
    assert (first, second) == pytest.approx((3.40296, 2.65022), abs=2e-5)
    np.testing.assert_allclose(model.predict(x[:2], verbose=0),
                               [[-1.6257, -2.0255, 0.7207, -1.7608],
                                [-1.7263, -2.1843, 2.102, -2.7245]], atol=2e-4)
    assert layer.get_weights()[2] == 0.0  # the non-trainable weight was not stepped
    layer.trainable = False
    assert len(layer.trainable_weights) == 0 and not layer.w.requires_grad
    layer.trainable = True  # the non-trainable weight stays frozen
    assert layer.w.requires_grad and not layer.total.requires_grad
    assert len(model.optimizer.param_groups[0]["params"]) == 5  # each weight once


def test_layer_errors_and_regularizers():
    class Penalized(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones",
                                     regularizer=keras.regularizers.l2(0.5))

        def call(self, inputs):
            return inputs @ self.w

    layer = Penalized()
    layer(np.ones((1, 3), np.float32))
    assert float(layer.regularization_loss().item()) == pytest.approx(0.5 * 6)
    with pytest.raises(NotImplementedError, match="must define call"):
        keras.layers.Layer()(np.ones((1, 2)))


class Classifier(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(5, activation="relu")
        self.drop = keras.layers.Dropout(0.0)
        self.out = keras.layers.Dense(3, activation="softmax")

    def call(self, x, training=None):
        return self.out(self.drop(self.hidden(x), training=training))


def test_a_subclassed_model_trains_as_kerass(tmp_path):
    """Keras 3.15 gives these histories, predictions and evaluation for the same weights."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    model = Classifier()
    model(x[:1])
    assert [np.shape(w) for w in model.get_weights()] == [(4, 5), (5,), (5, 3), (3,)]
    model.set_weights([rng.standard_normal(np.shape(w)).astype(np.float32) * 0.5
                       for w in model.get_weights()])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], [1.425, 1.0769, 0.9593], atol=2e-4)
    np.testing.assert_allclose(history["accuracy"], [0.15, 0.5, 0.6])
    np.testing.assert_allclose(model.predict(x[:2], verbose=0),
                               [[0.2207, 0.2613, 0.518], [0.2064, 0.2745, 0.5191]], atol=2e-4)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), [0.933, 0.55], atol=2e-4)
    model.save_weights(str(tmp_path / "w.npz"))
    again = Classifier()
    again(x[:1])
    again.load_weights(str(tmp_path / "w.npz"))
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(NotImplementedError, match="cannot be saved; use save_weights"):
        model.save(str(tmp_path / "m.fdnn"))


def test_keras_ops_in_a_custom_layer():
    """Keras's guide writes call with keras.ops; the values are numpy's, and gradients flow."""
    ops = keras.ops
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.random((2, 3)).astype(np.float32) + 0.1
    for got, want in [(ops.matmul(a, b.T), a @ b.T), (ops.sum(a, axis=1), a.sum(1)),
                      (ops.max(a, axis=0, keepdims=True), a.max(0, keepdims=True)),
                      (ops.concatenate([a, b], axis=-1), np.concatenate([a, b], -1)),
                      (ops.transpose(a), a.T), (ops.expand_dims(a, 1), a[:, None]),
                      (ops.softmax(a), np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
                      (ops.log(b), np.log(b)), (ops.power(b, 2.5), b ** 2.5)]:
        np.testing.assert_allclose(ops.convert_to_numpy(got), want, rtol=1e-5, atol=1e-6)

    class OpsLinear(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones")

        def call(self, inputs):
            return ops.relu(ops.matmul(inputs, self.w))

    layer = OpsLinear()
    model = keras.Sequential([keras.Input((3,)), layer])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.train_on_batch(a, np.zeros((2, 2), np.float32))
    assert not np.allclose(layer.get_weights()[0], 1.0)  # the gradient reached the weight


def train_alike(model, reference, x, y, optimizer, loss, epochs, batch_size, rng, scale=1.0):
    """Both models from the same random weights, compiled and fit alike: (start, model's
    losses, reference's losses)."""
    start = [rng.standard_normal(np.shape(w)).astype(np.float32) * scale
             for w in reference.get_weights()]
    model.set_weights(start)
    reference.set_weights(start)
    histories = []
    for m in (model, reference):
        m.compile(optimizer(), loss)
        histories.append(m.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False,
                               verbose=0).history["loss"])
    return start, histories[0], histories[1]


class Tower(keras.Model):
    """Layers kept in a list filled after the assignment and in a dict, as Keras code does;
    the head is also listed a second time."""

    def __init__(self):
        super().__init__()
        self.hidden = []
        for units in (6, 5):
            self.hidden.append(keras.layers.Dense(units, activation="relu"))
        self.parts = {"head": keras.layers.Dense(3, activation="softmax")}
        self.again = [self.parts["head"]]
        self.sizes = [6, 5]  # not layers: not tracked

    def call(self, inputs):
        x = inputs
        for layer in self.hidden:
            x = layer(x)
        return self.parts["head"](x)


def test_layers_kept_in_lists_and_dicts_train_as_the_same_layers_in_a_sequential():
    """Keras tracks layers held in list and dict attributes; so does fusednn: each trains,
    once, and the model gives what a Sequential of the same layers and weights gives."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((24, 4)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    tower = Tower()
    tower(x[:1])
    chain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    assert [type(layer).__name__ for layer in tower.layers] == ["Dense"] * 3
    assert [np.shape(w) for w in tower.get_weights()] == [np.shape(w) for w in chain.get_weights()]
    assert tower.count_params() == chain.count_params() == 4 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3
    start, ours, theirs = train_alike(tower, chain, x, y, lambda: keras.optimizers.Adam(0.05),
                                      "sparse_categorical_crossentropy", 3, 8, rng, 0.5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    for a, b, s in zip(tower.get_weights(), chain.get_weights(), start):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert not np.allclose(a, s)  # every layer trained
    assert len(tower.trainable_weights) == 6
    with pytest.raises(TypeError, match="add\\(\\) is for Sequential models"):
        tower.add(keras.layers.Dense(2))


def test_a_custom_layer_trains_the_layers_it_keeps_in_a_list():
    class Stack(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = [keras.layers.Dense(4, activation="tanh") for _ in range(2)]

        def call(self, inputs):
            for block in self.blocks:
                inputs = block(inputs)
            return inputs

    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    stack = Stack()
    model = keras.Sequential([keras.Input((3,)), stack, keras.layers.Dense(1)])
    before = [block.get_weights()[0].copy() for block in stack.blocks]
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, x[:, :1], epochs=2, batch_size=4, verbose=0)
    assert all(not np.allclose(b, block.get_weights()[0])
               for b, block in zip(before, stack.blocks))


class Scaled(keras.layers.Layer):
    """A layer holding a Dense: Keras lists its own weights, then the Dense's."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(4, activation="relu")

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(4,), initializer="ones")
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        return self.inner(inputs) * self.scale


def test_a_custom_layers_weights_include_the_layers_it_holds_in_kerass_order():
    """Keras's Layer.weights: its own trainable, then its own non-trainable, then each held
    layer's; get_weights / set_weights / count_params follow, and freezing the layer freezes
    what it holds."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((10, 3)).astype(np.float32)

    def make():
        return keras.Sequential([keras.Input((3,)), Scaled(), keras.layers.Dense(1)])

    model = make()
    assert [np.shape(w) for w in model.get_weights()] == [(4,), (), (3, 4), (4,), (4, 1), (1,)]
    assert model.count_params() == 4 + 1 + 12 + 4 + 4 + 1
    model.set_weights([rng.standard_normal(np.shape(w)).astype(np.float32)
                       for w in model.get_weights()])
    copy = make()
    copy.set_weights(model.get_weights())
    np.testing.assert_array_equal(copy.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="expected 4 weight arrays, got 3"):
        copy.layers[0].set_weights(model.layers[0].get_weights()[:3])
    scaled = model.layers[0]
    assert [np.shape(w) for w in scaled.trainable_weights] == [(4,), (3, 4), (4,)]
    assert [np.shape(w) for w in scaled.non_trainable_weights] == [()]
    scaled.trainable = False
    assert not scaled.inner.trainable and scaled.trainable_weights == []
    before = [w.copy() for w in model.get_weights()]
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, x[:, :1], epochs=1, batch_size=5, verbose=0)
    after = model.get_weights()
    for k in range(4):  # the frozen layer's own and its Dense's weights stay put
        np.testing.assert_array_equal(after[k], before[k])
    assert not np.allclose(after[4], before[4])  # the last Dense trains


class Penalized(keras.layers.Layer):
    """Keras's guide's add_loss layer: a penalty on the activations it passes on."""

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * keras.ops.mean(keras.ops.square(inputs)))
        return inputs


def test_add_loss_is_trained_on_and_reported_as_kerass_compute_loss_does():
    """fit minimizes compiled loss + the added losses of the batch's forward, and evaluate
    reports their sum; one SGD step against the gradient worked out by hand in float64."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    y = rng.standard_normal((6, 2)).astype(np.float32)
    rate, lr = 0.7, 0.1
    dense, penalized = keras.layers.Dense(2), Penalized(rate)
    model = keras.Sequential([keras.Input((3,)), dense, penalized])
    w = rng.standard_normal((3, 2)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    model.set_weights([w, b])
    out = x.astype(np.float64) @ w + b
    expected_loss = np.mean((out - y) ** 2) + rate * np.mean(out ** 2)
    model.compile(keras.optimizers.SGD(lr), "mse")
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected_loss, rtol=1e-5)
    assert len(penalized.losses) == 1  # the last call's, not one per call so far
    history = model.fit(x, y, epochs=1, batch_size=6, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], [expected_loss], rtol=1e-5)
    d_out = (2 * (out - y) + 2 * rate * out) / out.size
    np.testing.assert_allclose(model.get_weights()[0], w - lr * x.T.astype(np.float64) @ d_out,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b - lr * d_out.sum(0), rtol=1e-5,
                               atol=1e-6)


def test_a_layer_the_forward_skips_adds_no_stale_loss():
    """Keras clears every layer's losses when the model is called: a layer call() skips in
    this batch contributes nothing, not what it added last time."""
    class Sometimes(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.penalty = Penalized(100.0)
            self.use_penalty = True

        def call(self, inputs):
            x = self.dense(inputs)
            return self.penalty(x) if self.use_penalty else x

    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 2)).astype(np.float32)
    y = rng.standard_normal((4, 1)).astype(np.float32)
    model = Sometimes()
    model.compile(keras.optimizers.SGD(0.0), "mse")
    with_penalty = model.evaluate(x, y, verbose=0)
    model.use_penalty = False
    plain = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(plain, np.mean((model.predict(x, verbose=0) - y) ** 2),
                               rtol=1e-5)
    assert with_penalty > plain
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0).history
    np.testing.assert_allclose(history["loss"], [plain], rtol=1e-5)


class BuiltLate(keras.Model):
    """Keras's pattern: the layers are made in build(input_shape)."""

    def build(self, input_shape):
        self.hidden = keras.layers.Dense(5, activation="relu")
        self.head = keras.layers.Dense(2)

    def call(self, inputs):
        return self.head(self.hidden(inputs))


def test_a_subclassed_model_that_makes_its_layers_in_build_fits_as_a_sequential():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((12, 3)).astype(np.float32)
    y = rng.standard_normal((12, 2)).astype(np.float32)
    late = BuiltLate()
    late.build((None, 3))
    assert late.input_shape == (None, 3) and late.output_shape == (None, 2)
    chain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(2)])
    _, ours, theirs = train_alike(late, chain, x, y, lambda: keras.optimizers.SGD(0.05), "mse",
                                  2, 4, rng)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    fresh = BuiltLate()  # built by fit's first data instead
    fresh.compile(keras.optimizers.SGD(0.05), "mse")
    fresh.fit(x, y, epochs=1, verbose=0)
    assert [np.shape(w) for w in fresh.get_weights()] == [(3, 5), (5,), (5, 2), (2,)]


class OneDense(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, inputs):
        return self.dense(inputs)


def test_a_custom_train_step_is_refused_not_silently_ignored():
    class Custom(OneDense):
        def train_step(self, data):
            raise AssertionError("fusednn does not call it")

        def predict_step(self, data):
            raise AssertionError("fusednn does not call it")

    class OwnLoss(OneDense):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, **kwargs):
            raise AssertionError("fusednn does not call it")

    model = Custom()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.train_on_batch(x, y),
                 lambda: model.predict(x, verbose=0), lambda: model.predict_on_batch(x)):
        with pytest.raises(NotImplementedError, match=r"defines (train|predict)_step\(\)"):
            call()
    model.evaluate(x, y, verbose=0)  # no test_step of its own: evaluate runs
    own_loss = OwnLoss()
    own_loss.compile(keras.optimizers.SGD(0.1), "mse")
    for call in (lambda: own_loss.fit(x, y, verbose=0), lambda: own_loss.evaluate(x, y)):
        with pytest.raises(NotImplementedError, match=r"defines compute_loss\(\)"):
            call()
    own_loss.predict(x, verbose=0)


def test_model_losses_list_the_added_losses_and_the_weight_penalties():
    rng = np.random.default_rng(18)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    dense = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.1))
    model = keras.Sequential([keras.Input((3,)), dense, Penalized(0.5)])
    out = model(x)
    values = [float(t.item()) for t in model.losses]
    kernel = dense.get_weights()[0].astype(np.float64)
    np.testing.assert_allclose(sorted(values), sorted(
        [0.1 * np.sum(kernel ** 2), 0.5 * np.mean(np.asarray(out.numpy(), np.float64) ** 2)]),
        rtol=1e-5)
    assert len(dense.losses) == 1
    np.testing.assert_allclose(float(dense.losses[0].item()), 0.1 * np.sum(kernel ** 2),
                               rtol=1e-5)
