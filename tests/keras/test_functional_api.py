"""Keras's functional API for a chain: Input, layers called one after another, then
Model(inputs, outputs), which is that chain's Sequential model (same numbers, saved and
loaded); what is not a chain says so."""
import numpy as np
import pytest

from fusednn import keras

L = keras.layers


def test_a_functional_chain_is_its_sequential_model(tmp_path):
    inputs = keras.Input((8, 8, 1))
    x = L.Conv2D(4, 3, activation="relu")(inputs)
    x = L.MaxPooling2D(2)(x)
    assert x.shape == (None, 3, 3, 4)
    outputs = L.Dense(3, activation="softmax")(L.Flatten()(x))
    model = keras.Model(inputs=inputs, outputs=outputs, name="tagged")
    assert model.name == "tagged" and model.input_shape == (None, 8, 8, 1)
    assert [type(layer).__name__ for layer in model.layers] == \
        ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    same = keras.Sequential([L.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"),
                             L.MaxPooling2D(2), L.Flatten(), L.Dense(3, activation="softmax")])
    same.set_weights(model.get_weights())
    rng = np.random.default_rng(0)
    x_data, y_data = rng.random((16, 8, 8, 1), np.float32), rng.integers(0, 3, 16)
    for m in (model, same):
        m.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        m.fit(x_data, y_data, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_array_equal(model.predict(x_data), same.predict(x_data))
    again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
    np.testing.assert_array_equal(again.predict(x_data), model.predict(x_data))


def test_what_is_not_a_chain_is_named():
    a, b = keras.Input((4,)), keras.Input((4,))
    dense = L.Dense(2)
    with pytest.raises(ValueError, match="do not depend on input"):
        keras.Model([a, b], dense(a))  # several inputs: test_functional_graph.py
    two = keras.Model(a, [dense(a), dense(a)])  # several outputs: test_several_outputs.py
    assert two.output_shape == [(None, 2), (None, 2)]
    with pytest.raises(ValueError, match="do not come from these inputs"):
        keras.Model(b, dense(a))
    # a layer used twice (shared weights) and merged branches: test_functional_graph.py
    with pytest.raises(TypeError, match="must be keras.Input objects"):
        keras.Model(np.zeros(3), dense(a))
    empty = keras.Model()  # layers added afterwards, as a Sequential
    empty.add(L.Dense(2, input_dim=3))
    assert empty.output_shape == (None, 2)
