"""Two of Keras's fit rules, checked with a rate of 0 (the model stays as built, so every
logged value has a closed form): "accuracy" after BinaryCrossentropy(from_logits=True)
thresholds the raw outputs at 0.5 (fusednn's own models threshold logits at 0), and
validation_split holds out the sample weights with the samples (class weights stay with
training). Both were checked against Keras 3.15 on 60 random fits when written."""
import numpy as np
import pytest

import fusednn
from fusednn import keras

rng = np.random.default_rng(8)


def frozen_model(d, out, activation):
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(out, activation=activation)])
    return model


def test_accuracy_after_a_logits_loss_thresholds_the_outputs_at_half():
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = (rng.random((40, 1)) < 0.5).astype(np.float32)
    model = frozen_model(3, 1, "linear")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    out = model.predict(x, verbose=0)
    history = model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["accuracy"][0], ((out > 0.5) == y).mean(),
                               rtol=1e-6)
    # fusednn's own Sequential reads the same outputs as logits: threshold 0
    native = fusednn.models.Sequential([fusednn.nn.Dense(1)], input_shape=(3,))
    native.compile("sgd", "binary_cross_entropy_with_logits", metrics=["accuracy"], lr=0.0)
    kernel, bias = model.get_weights()  # Keras's (in, out) kernel; fusednn's is (out, in)
    native.layers[0].weight.data[...] = kernel.T
    native.layers[0].bias.data[...] = bias
    logs = native.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
    np.testing.assert_allclose(logs["accuracy"][0], ((out > 0.0) == y).mean(), rtol=1e-6)


def test_validation_split_holds_out_the_sample_weights_too():
    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    w = rng.random(20).astype(np.float32)
    model = frozen_model(4, 3, "softmax")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                  loss="sparse_categorical_crossentropy")
    p = model.predict(x, verbose=0).astype(np.float64)
    losses = -np.log(p[np.arange(20), y])
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, validation_split=0.25,
                        sample_weight=w, verbose=0).history
    held = slice(15, 20)  # Keras holds out the last fraction
    np.testing.assert_allclose(history["val_loss"][0], (w[held] * losses[held]).sum() / 5,
                               rtol=1e-5)
    # class weights weigh training only
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, validation_split=0.25,
                        class_weight={0: 3.0, 1: 0.5, 2: 1.0}, verbose=0).history
    np.testing.assert_allclose(history["val_loss"][0], losses[held].mean(), rtol=1e-5)


def test_reduce_lr_on_plateau_logs_the_rate_the_epoch_trained_with():
    """Keras writes logs["learning_rate"] before it reduces the rate."""
    x, y = rng.standard_normal((16, 2)).astype(np.float32), rng.standard_normal((16, 1))
    model = frozen_model(2, 1, "linear")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    never_better = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                                     min_delta=1e9)
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[never_better])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1, 0.05, 0.025])
    assert model.optimizer.learning_rate == 0.0125


def test_keras_evaluation_adds_the_weight_penalties():
    x, y = rng.standard_normal((12, 3)).astype(np.float32), rng.standard_normal((12, 1))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        1, kernel_regularizer=keras.regularizers.l2(0.5))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    kernel, _ = model.get_weights()
    mse = float(((model.predict(x, verbose=0) - y) ** 2).mean())
    penalty = 0.5 * float((kernel.astype(np.float64) ** 2).sum())
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), mse + penalty, rtol=1e-5)
    history = model.fit(x, y, epochs=1, batch_size=4, validation_data=(x, y), verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], mse + penalty, rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"][0], mse + penalty, rtol=1e-5)


def test_calling_a_keras_model_infers_unless_told_to_train():
    """Keras's default: model(x) and layer(x) run in inference (Dropout off, BatchNormalization
    on its moving statistics, which stay put); training=True trains that call; fit trains and
    leaves the model inferring again. fusednn's own modules keep torch's train/eval mode."""
    x = rng.standard_normal((8, 4)).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dropout(0.5),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    first = model(x).numpy()
    np.testing.assert_array_equal(model(x).numpy(), first)
    np.testing.assert_allclose(model.predict(x, verbose=0), first, rtol=1e-6)
    moving_mean = model.layers[2].get_weights()[2]
    np.testing.assert_array_equal(moving_mean, 0.0)
    trained = model(x, training=True).numpy()
    assert not np.allclose(trained, first)
    assert np.abs(model.layers[2].get_weights()[2]).max() > 0  # one training call moved it
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((8, 2), np.float32), epochs=1, verbose=0)
    assert not model.training
    np.testing.assert_allclose(model(x).numpy(), model.predict(x, verbose=0), rtol=1e-6)
    drop = keras.layers.Dropout(0.5)
    ones = fusednn.Tensor(np.ones((2, 50), np.float32))
    np.testing.assert_array_equal(drop(ones).numpy(), 1.0)
    assert (drop(ones, training=True).numpy() == 0).any()
    assert fusednn.nn.Dropout(0.5).training  # torch's modules start training


def test_accuracy_is_read_from_the_shapes_as_keras_3_reads_it():
    """Keras 3 picks "accuracy" from the shapes alone: a multi-label sigmoid model trained
    with binary_crossentropy gets categorical accuracy (argmax against argmax), one output
    column binary accuracy (also under a regression loss), class indices sparse accuracy.
    fusednn's own models keep Keras 2's rule (binary accuracy after a binary loss)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 3)).astype(np.float32)
    y = (rng.random((12, 4)) < 0.5).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    probs = model.predict(x, verbose=0)
    _, acc = model.evaluate(x, y, verbose=0)
    assert acc == pytest.approx(np.mean(probs.argmax(1) == y.argmax(1)))
    one = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    one.compile("sgd", "mse", metrics=["accuracy"])
    t = (rng.random((12, 1)) < 0.5).astype(np.float32)
    _, acc = one.evaluate(x, t, verbose=0)
    assert acc == pytest.approx(np.mean((one.predict(x, verbose=0) > 0.5) == t))
    ours = fusednn.Sequential([fusednn.nn.Dense(4, input_dim=3)])
    ours.compile("sgd", "bce", metrics=["accuracy"])
    scores = ours.predict(x)
    assert ours.evaluate(x, y)["accuracy"] == pytest.approx(np.mean((scores > 0) == y))
    with pytest.raises(ValueError, match="metric 'mse' compares targets of shape"):
        sparse = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
        sparse.compile("sgd", "sparse_categorical_crossentropy", metrics=["mse"])
        sparse.evaluate(x, rng.integers(0, 4, 12), verbose=0)
