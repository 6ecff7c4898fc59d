"""Keyword arguments of functional calls: attention's use_causal_mask and any layer's (or a
nested model's) training=, kept in the graph, run every call, saved and loaded; others
refused by name."""
import numpy as np
import pytest

from fusednn import keras
from fusednn.keras.models import graph_model


def _causal_model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((5, 8))
    attended = keras.layers.MultiHeadAttention(2, 4)(inp, inp, use_causal_mask=True)
    model = keras.Model(inp, keras.layers.Dense(1)(attended))
    model.compile("adam", "mse")
    return model


def test_a_causal_attention_in_a_graph_sees_no_later_step(tmp_path):
    model = _causal_model()
    x = np.random.default_rng(0).standard_normal((3, 5, 8)).astype(np.float32)
    changed = x.copy()
    changed[:, 3:] = 0.0
    before, after = (model.predict(v, verbose=0) for v in (x, changed))
    np.testing.assert_array_equal(before[:, :3], after[:, :3])  # steps 0-2 see only 0-2
    assert not np.allclose(before[:, 3:], after[:, 3:])
    nodes = model.get_config()["graph"]["nodes"]
    assert {"use_causal_mask": True} in [n[3] for n in nodes if len(n) == 4]
    path = str(tmp_path / "causal.fdn")
    model.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0), before)


def test_a_frozen_base_called_with_training_false_keeps_its_statistics(tmp_path):
    keras.utils.set_random_seed(1)
    base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                             keras.layers.BatchNormalization()])
    base.trainable = False
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(1)(base(inp, training=False)))
    model.compile("adam", "mse")
    before = [w.copy() for w in base.get_weights()]
    x = np.random.default_rng(2).standard_normal((16, 4)).astype(np.float32) + 3.0
    model.fit(x, np.zeros(16), epochs=2, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)  # moving statistics included
    assert model.count_params() == 31 and len(model.trainable_weights) == 2
    path = str(tmp_path / "transfer.fdn")
    model.save(path)  # the base saved as one of the graph's layers, frozen
    loaded = keras.models.load_model(path)
    assert loaded.layers[0].trainable is False and len(loaded.trainable_weights) == 2
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for m in (model, loaded):  # the optimizer's state came along
        m.fit(x, np.zeros(16), epochs=1, batch_size=16, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_other_call_arguments_are_refused_by_name():
    inp = keras.Input((5, 8))
    with pytest.raises(NotImplementedError, match="return_attention_scores"):
        keras.layers.MultiHeadAttention(2, 4)(inp, inp, return_attention_scores=True)
    with pytest.raises(NotImplementedError, match="bool, number or string"):
        keras.layers.Dense(2)(inp, training=[1])
    model = _causal_model()
    graph = model.get_config()["graph"]
    graph["nodes"][1][3] = "causal"
    with pytest.raises(ValueError, match="call arguments"):
        graph_model(model.layers, None, graph)
