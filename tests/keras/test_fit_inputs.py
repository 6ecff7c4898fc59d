"""What fit takes besides arrays, as Keras does: generators with steps_per_epoch, iterables and
DataLoaders of (x, y) or (x, y, sample_weight), validation in either form and every n-th
epoch, and labels as float indices, (N, 1) columns or a 1-D target for a Dense(1) output."""
import numpy as np
import pytest
import torch

from fusednn import keras


def data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def classifier():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_dim=8),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_endless_generator_with_steps_per_epoch():
    x, y = data()

    def batches():
        while True:
            for i in range(0, len(x), 32):
                yield x[i:i + 32], y[i:i + 32]

    history = classifier().fit(batches(), steps_per_epoch=8, epochs=5, verbose=0)
    assert len(history.history["loss"]) == 5 and history.history["accuracy"][-1] > 0.85


def test_dataloader_and_validation_stream():
    x, y = data()
    vx, vy = data(64, seed=1)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=32,
        shuffle=True)
    val = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(vx), torch.from_numpy(vy)), batch_size=16)
    model = classifier()
    history = model.fit(loader, epochs=4, validation_data=val, verbose=0)
    assert len(history.history["val_loss"]) == 4
    arrays = model.evaluate(vx, vy, verbose=0, return_dict=True)
    streamed = model.evaluate(val, verbose=0, return_dict=True)
    assert streamed["loss"] == pytest.approx(arrays["loss"], rel=1e-5)
    assert streamed["accuracy"] == arrays["accuracy"]


def test_batches_with_sample_weights_and_validation_freq():
    x, y = data()
    w = np.where(y == 1, 2.0, 1.0).astype(np.float32)
    batches = [(x[i:i + 64], y[i:i + 64], w[i:i + 64]) for i in range(0, len(x), 64)]
    history = classifier().fit(batches, epochs=4, validation_data=data(64, 2),
                               validation_freq=2, verbose=0)
    assert history.history["val_loss"] and len(history.history["val_loss"]) == 2


def test_a_one_pass_generator_is_a_clear_error():
    x, y = data()
    once = ((x[i:i + 32], y[i:i + 32]) for i in range(0, len(x), 32))
    with pytest.raises(ValueError, match="steps_per_epoch"):
        classifier().fit(once, epochs=2, verbose=0)
    with pytest.raises(ValueError, match=r"\(x, y\) or \(x, y, sample_weight\)"):
        classifier().fit([(x[:4],)], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="y is required"):
        classifier().fit(x, epochs=1, verbose=0)


def test_label_shapes_keras_accepts():
    x, y = data()
    for labels in (y.astype(np.float32), y.reshape(-1, 1), y.astype(np.float64).reshape(-1, 1)):
        history = classifier().fit(x, labels, epochs=2, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
    with pytest.raises(ValueError, match="not integers"):
        classifier().fit(x, y + 0.5, epochs=1, verbose=0)
    binary = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_dim=8)])
    binary.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = binary.fit(x, y, epochs=2, verbose=0)  # 1-D target, (N, 1) output
    assert 0.0 <= history.history["accuracy"][-1] <= 1.0


def test_class_weight_on_a_stream_whose_batches_lack_classes():
    x, y = data()
    order = np.argsort(y, kind="stable")  # each batch of one class only, mostly
    batches = [(x[order][i:i + 32], y[order][i:i + 32]) for i in range(0, len(x), 32)]
    history = classifier().fit(batches, epochs=2, class_weight={0: 1.0, 1: 2.0}, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    with pytest.raises(ValueError, match="balanced"):
        classifier().fit(batches, epochs=1, class_weight="balanced", verbose=0)


def test_evaluate_and_validation_weigh_the_loss_as_keras():
    """evaluate(sample_weight=w), validation_data=(x, y, w) and a stream of (x, y, w) all
    report sum(w * loss) / samples (Keras's "sum_over_batch_size" over the whole set), and
    leave the metrics unweighted."""
    x, y = data()
    w = np.where(y == 1, 3.0, 0.5).astype(np.float32)
    model = classifier()
    model.fit(x, y, epochs=2, verbose=0)
    p = np.clip(model.predict(x, verbose=0).astype(np.float64), 1e-7, 1 - 1e-7)
    per = -np.log(p[np.arange(len(y)), y])
    loss, acc = model.evaluate(x, y, sample_weight=w, verbose=0)
    assert loss == pytest.approx(float((w * per).sum() / len(y)), rel=1e-5)
    assert acc == pytest.approx(float((p.argmax(1) == y).mean()), abs=1e-9)
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(float(per.mean()), rel=1e-5)
    streamed = [(x[i:i + 50], y[i:i + 50], w[i:i + 50]) for i in range(0, len(x), 50)]
    assert model.evaluate(streamed, verbose=0)[0] == pytest.approx(loss, rel=1e-5)
    history = model.fit(x[:8], y[:8], epochs=1, verbose=0, validation_data=(x, y, w))
    # validation runs after the epoch's update: compare with evaluate after it
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x, y, sample_weight=w, verbose=0)[0], rel=1e-5)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(256,\)"):
        model.evaluate(x, y, sample_weight=w[:10])
    with pytest.raises(ValueError, match="a batch stream carries its own weights"):
        model.evaluate(streamed, sample_weight=w)
