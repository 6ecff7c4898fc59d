"""Functional models whose layers branch and merge (Add, Concatenate...) or share weights:
forward, training and evaluation against the same network written in torch."""
import numpy as np
import pytest

from fusednn import keras
from fusednn.keras import layers

torch = pytest.importorskip("torch")
rng = np.random.default_rng(21)


def residual_model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,))
    h = layers.Dense(8, activation="relu")(inp)
    r = layers.Dense(8, activation="tanh")(h)
    s = layers.Add()([h, r])
    c = layers.Concatenate()([s, inp])
    out = layers.Dense(3, activation="softmax")(c)
    return keras.Model(inp, out)


def torch_residual(weights, x):
    k1, b1, k2, b2, k3, b3 = weights
    h = torch.relu(x @ k1 + b1)
    s = h + torch.tanh(h @ k2 + b2)
    return torch.softmax(torch.cat([s, x], dim=1) @ k3 + b3, dim=1)


def test_a_residual_model_predicts_and_trains_as_torch():
    model = residual_model()
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "add", "concatenate",
                                                      "dense_2"]
    assert model.output_shape == (None, 3)
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True)
               for w in model.get_weights()]
    probs = torch_residual(weights, torch.tensor(x, dtype=torch.float64))
    np.testing.assert_allclose(model.predict(x, verbose=0), probs.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    loss = -torch.log(probs[torch.arange(16), torch.tensor(y)]).mean()
    assert model.evaluate(x, y, verbose=0) == pytest.approx(loss.item(), rel=1e-5)
    loss.backward()
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), weights):
        np.testing.assert_allclose(ours, (theirs - 0.5 * theirs.grad).detach().numpy(),
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("merge,op", [
    (layers.Subtract, lambda a, b: a - b), (layers.Multiply, lambda a, b: a * b),
    (layers.Average, lambda a, b: (a + b) / 2), (layers.Maximum, torch.maximum),
    (layers.Minimum, torch.minimum)])
def test_each_merge_layer_and_its_gradient(merge, op):
    keras.utils.set_random_seed(1)
    inp = keras.Input((5,))
    a = layers.Dense(4)(inp)
    b = layers.Dense(4)(inp)
    model = keras.Model(inp, layers.Dense(1)(merge()([a, b])))
    x = rng.standard_normal((10, 5)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True)
               for w in model.get_weights()]
    k1, b1, k2, b2, k3, b3 = weights
    tx = torch.tensor(x, dtype=torch.float64)
    pred = op(tx @ k1 + b1, tx @ k2 + b2) @ k3 + b3
    np.testing.assert_allclose(model.predict(x, verbose=0), pred.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    ((pred - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    for ours, theirs in zip(model.get_weights(), weights):
        np.testing.assert_allclose(ours, (theirs - 0.1 * theirs.grad).detach().numpy(),
                                   rtol=1e-4, atol=1e-6)


def test_a_shared_layer_sums_the_gradients_of_its_calls():
    keras.utils.set_random_seed(2)
    inp = keras.Input((4,))
    shared = layers.Dense(4, activation="tanh")
    twice = shared(shared(inp))
    model = keras.Model(inp, layers.Dense(1)(layers.Add()([twice, inp])))
    assert len(model.layers) == 3 and model.count_params() == 20 + 5
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    k, b, k2, b2 = (torch.tensor(w, dtype=torch.float64, requires_grad=True)
                    for w in model.get_weights())
    tx = torch.tensor(x, dtype=torch.float64)
    pred = (torch.tanh(torch.tanh(tx @ k + b) @ k + b) + tx) @ k2 + b2
    ((pred - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for ours, theirs in zip(model.get_weights(), (k, b, k2, b2)):
        np.testing.assert_allclose(ours, (theirs - 0.1 * theirs.grad).detach().numpy(),
                                   rtol=1e-4, atol=1e-6)


def test_merges_refuse_what_keras_refuses():
    inp = keras.Input((4,))
    a, b = layers.Dense(3)(inp), layers.Dense(5)(inp)
    with pytest.raises(ValueError, match="cannot be merged"):
        layers.Add()([a, b])
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([a, a, a])
    with pytest.raises(ValueError, match="differ outside the concatenation axis"):
        layers.Concatenate(axis=0)([a, b])
    assert layers.Concatenate()([a, b]).shape == (None, 8)
    model = keras.Model(inp, layers.Add()([a, layers.Dense(3)(inp)]))
    with pytest.raises(TypeError, match="fixed by its call or graph"):
        model.add(layers.Dense(1))


def test_merge_layers_on_arrays_and_their_functional_forms():
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((3, 1)).astype(np.float32)  # broadcast along the last axis
    np.testing.assert_allclose(layers.add([a, b]).numpy(), a + b, rtol=1e-6)
    np.testing.assert_allclose(layers.maximum([a, b]).numpy(), np.maximum(a, b))
    np.testing.assert_allclose(layers.concatenate([a, b]).numpy(),
                               np.concatenate([a, b], axis=-1))
    assert layers.Concatenate(axis=0).get_config() == {"axis": 0, "name": "concatenate"}


def test_save_weights_round_trip_of_a_graph_model(tmp_path):
    model = residual_model()
    x = rng.standard_normal((4, 6)).astype(np.float32)
    path = str(tmp_path / "g.weights.h5")
    model.save_weights(path)
    other = residual_model()
    other.set_weights([w * 0 for w in other.get_weights()])
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_save_load_clone_and_json_keep_the_graph(tmp_path):
    model = residual_model()
    x = rng.standard_normal((12, 6)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    path = model.save(str(tmp_path / "g.keras"))
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras.Model) and loaded.graph_config() == model.graph_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for m in (model, loaded):  # the optimizer state came back too: the same next step
        m.fit(x, y, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    clone = keras.models.clone_model(model)
    again = keras.models.model_from_json(model.to_json())
    for other in (clone, again):
        assert other.graph_config() == model.graph_config()
        other.set_weights(model.get_weights())
        np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    from fusednn.models.loading import ModelFileError, load_model

    with pytest.raises(ModelFileError, match="fusednn.keras.models.load_model"):
        load_model(path)


def test_a_corrupt_graph_is_named_before_any_layer_runs():
    from fusednn.keras.models import graph_model

    dense = [layers.Dense(2), layers.Dense(2)]
    one = [[[4], None]]
    for graph, match in [
        ({"inputs": one, "nodes": [[-1, [], False], [0, [0], False], [1, [3], False]]},
         "not \\[layer"),
        ({"inputs": one, "nodes": [[-1, [], False], [0, [0, 0], False], [1, [1], False]]},
         "takes 2 nodes"),
        ({"inputs": one, "nodes": [[-1, [], False], [0, [0], False]]}, "every saved layer"),
        ({"inputs": one, "nodes": [[-2, [], False], [0, [0], False], [1, [1], False]]},
         "input 1 \\(the graph has 1"),
        ({"inputs": [[[4, 0], None]], "nodes": []}, "not \\[shape, name\\]"),
        ({"nodes": []}, "its inputs and nodes"), ("nodes", "its inputs and nodes")]:
        with pytest.raises(ValueError, match=match):
            graph_model(dense, (4,), graph)


def two_input_model():
    keras.utils.set_random_seed(3)
    a, b = keras.Input((4,), name="a"), keras.Input((2, 3), name="b")
    merged = layers.Concatenate()([layers.Dense(5, activation="relu")(a),
                                   layers.Dense(5)(layers.Flatten()(b))])
    return keras.Model([a, b], layers.Dense(1)(merged))


def test_a_model_with_two_inputs_trains_as_torch():
    model = two_input_model()
    assert model.input_shape == [(None, 4), (None, 2, 3)]
    xa = rng.standard_normal((10, 4)).astype(np.float32)
    xb = rng.standard_normal((10, 2, 3)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True)
               for w in model.get_weights()]
    k1, b1, k2, b2, k3, b3 = weights
    ta, tb = (torch.tensor(v, dtype=torch.float64) for v in (xa, xb))
    pred = torch.cat([torch.relu(ta @ k1 + b1), tb.reshape(10, 6) @ k2 + b2], 1) @ k3 + b3
    for given in ([xa, xb], (xa, xb), {"b": xb, "a": xa}):
        np.testing.assert_allclose(model.predict(given, verbose=0), pred.detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model([xa, xb]).numpy(), pred.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    ((pred - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit([xa, xb], y, batch_size=10, epochs=1, verbose=0,
                        validation_data=([xa, xb], y))
    for ours, theirs in zip(model.get_weights(), weights):
        np.testing.assert_allclose(ours, (theirs - 0.1 * theirs.grad).detach().numpy(),
                                   rtol=1e-4, atol=1e-6)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate({"a": xa, "b": xb}, y, verbose=0), rel=1e-6)
    assert model.test_on_batch([xa, xb], y) == pytest.approx(history.history["val_loss"][0],
                                                             rel=1e-6)


def test_two_inputs_given_wrong_are_named():
    model = two_input_model()
    model.compile(optimizer="sgd", loss="mse")
    xa, xb = np.zeros((6, 4), np.float32), np.zeros((6, 2, 3), np.float32)
    y = np.zeros((6, 1), np.float32)
    with pytest.raises(ValueError, match="takes 2 inputs: pass a list"):
        model.fit(xa, y, verbose=0)
    with pytest.raises(ValueError, match="\\[6, 5\\] samples"):
        model.fit([xa, xb[:5]], y, verbose=0)
    with pytest.raises(ValueError, match="no value for the Input named 'b'"):
        model.predict({"a": xa}, verbose=0)
    with pytest.raises(ValueError, match="input 1 \\(b\\) has samples of shape \\(3, 2\\)"):
        model.evaluate([xa, np.zeros((6, 3, 2), np.float32)], y, verbose=0)
    with pytest.raises(ValueError, match="2\\^24"):
        model.predict([xa.astype(np.int64) + (1 << 25), xb], verbose=0)
    a = keras.Input((4,))
    with pytest.raises(ValueError, match="do not depend on input"):
        keras.Model([a, keras.Input((2,))], layers.Dense(1)(a))


def test_a_two_input_model_saves_loads_and_clones(tmp_path):
    model = two_input_model()
    xa = rng.standard_normal((6, 4)).astype(np.float32)
    xb = rng.standard_normal((6, 2, 3)).astype(np.float32)
    y = rng.standard_normal((6, 1)).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.fit([xa, xb], y, epochs=2, verbose=0)
    loaded = keras.models.load_model(model.save(str(tmp_path / "two.keras")))
    assert loaded.input_shape == [(None, 4), (None, 2, 3)]
    np.testing.assert_array_equal(loaded.predict({"a": xa, "b": xb}, verbose=0),
                                  model.predict([xa, xb], verbose=0))
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict([xa, xb], verbose=0),
                                  model.predict([xa, xb], verbose=0))


def test_model_and_layer_inputs_and_outputs_make_feature_extractors():
    """Keras's idiom: keras.Model(model.inputs, model.get_layer(name).output)."""
    model = residual_model()
    assert model.input is model.inputs[0] and model.outputs == [model.output]
    hidden = model.layers[0]
    features = keras.Model(model.inputs, hidden.output)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    k, b = hidden.get_weights()
    np.testing.assert_allclose(features.predict(x, verbose=0), np.maximum(x @ k + b, 0),
                               rtol=1e-5, atol=1e-6)
    assert hidden.input is model.input
    keras.utils.set_random_seed(4)
    seq = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="tanh"),
                            layers.Dense(2)])
    assert seq.input.shape == (None, 6) and seq.output.shape == (None, 2)
    encoder = keras.Model(seq.input, seq.layers[0].output)
    k, b = seq.layers[0].get_weights()
    np.testing.assert_allclose(encoder.predict(x, verbose=0), np.tanh(x @ k + b), rtol=1e-5,
                               atol=1e-6)
    seq.add(layers.Dense(3))  # built again: the chain is made again, the layers' calls once
    assert seq.output.shape == (None, 3) and seq.layers[0].output.shape == (None, 4)
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(2).output
    with pytest.raises(AttributeError, match="not built yet"):
        keras.Sequential([layers.Dense(2)]).input


def test_a_conv_residual_block_and_a_lambda_on_a_list():
    """Channels-last convs, batch normalization and a Lambda taking a list of tensors (its
    build gets their shapes, as Keras's) inside one graph; it trains and infers."""
    keras.utils.set_random_seed(6)
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    y = layers.BatchNormalization()(layers.Conv2D(4, 3, padding="same")(x))
    z = layers.MaxPooling2D()(layers.Activation("relu")(layers.Add()([x, y])))
    squared = layers.Lambda(lambda t: t[0] * t[1])([z, z])
    model = keras.Model(inp, layers.Dense(2, activation="softmax")(
        layers.GlobalAveragePooling2D()(squared)))
    assert squared.shape == (None, 4, 4, 4)
    x_data = rng.random((16, 8, 8, 3)).astype(np.float32)
    y_data = rng.integers(0, 2, 16)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_data, y_data, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    probs = model.predict(x_data, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model(x_data).numpy(), probs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("xs,ys,axes,normalize", [
    ((3, 5), (3, 5), 1, False), ((3, 5), (3, 5), -1, True), ((2, 4, 5), (2, 6, 5), 2, False),
    ((2, 4, 5), (2, 4, 6), (1, 1), True), ((2, 3, 4, 5), (2, 5), (3, 1), False)])
def test_dot_and_its_gradients_against_torch(xs, ys, axes, normalize):
    from fusednn import Tensor

    x = rng.standard_normal(xs).astype(np.float32)
    y = rng.standard_normal(ys).astype(np.float32)
    ox, oy = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
    out = layers.Dot(axes, normalize=normalize)([ox, oy])
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y))
    a0, a1 = (axes if isinstance(axes, tuple) else (axes, axes))
    a0, a1 = a0 % len(xs), a1 % len(ys)
    nx = torch.nn.functional.normalize(tx, dim=a0, eps=1e-7) if normalize else tx
    ny = torch.nn.functional.normalize(ty, dim=a1, eps=1e-7) if normalize else ty
    ref = torch.stack([torch.tensordot(nx[i], ny[i], dims=([a0 - 1], [a1 - 1]))
                       for i in range(xs[0])])
    ref = ref[:, None] if ref.ndim == 1 else ref
    ref.backward(torch.tensor(g, dtype=torch.float64))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(oy.grad.numpy(), ty.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_a_matrix_factorization_model_with_dot_trains_and_saves(tmp_path):
    keras.utils.set_random_seed(7)
    users, items = keras.Input((1,), name="user"), keras.Input((1,), name="item")
    u = layers.Flatten()(layers.Embedding(10, 4)(users))
    v = layers.Flatten()(layers.Embedding(12, 4)(items))
    model = keras.Model([users, items], layers.dot([u, v], axes=1))
    assert model.output_shape == (None, 1)
    uid, iid = rng.integers(0, 10, (64, 1)), rng.integers(0, 12, (64, 1))
    rating = ((uid % 3) + (iid % 2)).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit([uid, iid], rating, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    loaded = keras.models.load_model(model.save(str(tmp_path / "mf.keras")))
    np.testing.assert_array_equal(loaded.predict([uid, iid], verbose=0),
                                  model.predict([uid, iid], verbose=0))
    assert layers.Dot((1, 2), normalize=True).get_config() == {
        "axes": [1, 2], "normalize": True, "name": "dot"}
    with pytest.raises(ValueError, match="over the batch axis"):
        layers.Dot(0)([u, v])
    with pytest.raises(ValueError, match="differ in size"):
        layers.Dot(1)([u, layers.Dense(3)(u)])
