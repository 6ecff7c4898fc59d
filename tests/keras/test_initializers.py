"""keras.initializers: Keras's distributions and fans (from its source), called by the layers
with Keras's weight shapes; and the layout-free names of fusednn.nn.init keeping their own
library's meaning (Keras's truncated normals, torch's untruncated ones)."""
import math

import numpy as np
import pytest

from fusednn import keras, nn

I = keras.initializers
WIDEN = 0.87962566103423978  # the spread of a unit normal cut at +-2


@pytest.mark.parametrize("cls,scale,mode,truncated", [
    (I.GlorotNormal, 1.0, "fan_avg", True), (I.HeNormal, 2.0, "fan_in", True),
    (I.LecunNormal, 1.0, "fan_in", True), (I.GlorotUniform, 1.0, "fan_avg", False),
    (I.HeUniform, 2.0, "fan_in", False), (I.LecunUniform, 1.0, "fan_in", False),
])
@pytest.mark.parametrize("shape", [(300, 200), (3, 3, 40, 64), (5, 100, 30)])
def test_variance_scaling_spreads_and_bounds(cls, scale, mode, truncated, shape):
    """Keras's fans (the last two axes times the receptive field) and spread sqrt(scale / n):
    normals cut at two widened standard deviations, uniforms at sqrt(3 scale / n)."""
    receptive = int(np.prod(shape[:-2]))
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    w = cls(seed=0)(shape).astype(np.float64)
    assert w.shape == shape
    assert w.std() == pytest.approx(math.sqrt(scale / n), rel=0.03)
    bound = 2 * math.sqrt(scale / n) / WIDEN if truncated else math.sqrt(3 * scale / n)
    assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.9 * bound


def test_variance_scaling_options_and_refusals():
    w = I.VarianceScaling(0.5, "fan_out", "untruncated_normal", seed=1)((400, 500))
    assert w.std() == pytest.approx(math.sqrt(0.5 / 500), rel=0.02)
    assert np.abs(w).max() > 2.2 * math.sqrt(0.5 / 500)  # not cut
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    with pytest.raises(ValueError, match="scale"):
        I.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution"):
        I.VarianceScaling(distribution="cauchy")


def test_an_initializer_repeats_its_values_and_seeds_follow_set_random_seed():
    """Keras 3: an initializer gives the same values at every call; an unseeded one takes
    its seed from the initializer stream when made."""
    init = I.HeUniform()
    np.testing.assert_array_equal(init((4, 5)), init((4, 5)))
    np.testing.assert_array_equal(I.GlorotNormal(seed=3)((6, 2)), I.GlorotNormal(seed=3)((6, 2)))
    keras.utils.set_random_seed(5)
    a = I.RandomNormal()((3, 3))
    keras.utils.set_random_seed(5)
    np.testing.assert_array_equal(I.RandomNormal()((3, 3)), a)
    assert not np.array_equal(I.RandomNormal()((3, 3)), a)


def test_simple_initializers_and_get():
    assert I.TruncatedNormal(mean=1.0, stddev=0.1, seed=0)((1000,)).max() <= 1.2
    u = I.RandomUniform(-2, 3, seed=0)((1000,))
    assert u.min() >= -2 and u.max() < 3 and u.min() < -1.9
    np.testing.assert_array_equal(I.Constant(0.25)((2, 3)), np.full((2, 3), 0.25))
    np.testing.assert_array_equal(I.Identity(gain=2.0)((2, 3)), 2 * np.eye(2, 3))
    q = I.Orthogonal(seed=0)((3, 3, 4, 20))  # flattened to (36, 20): orthonormal columns
    m = q.reshape(36, 20).astype(np.float64)
    np.testing.assert_allclose(m.T @ m, np.eye(20), atol=1e-5)
    assert isinstance(I.get("he_normal"), I.HeNormal) and isinstance(I.get("HeNormal"), I.HeNormal)
    assert isinstance(I.get("zeros"), I.Zeros) and isinstance(I.get("uniform"), I.RandomUniform)
    again = I.get(I.serialize(I.VarianceScaling(0.3, "fan_avg", "uniform", seed=7)))
    np.testing.assert_array_equal(again((5, 5)), I.VarianceScaling(0.3, "fan_avg", "uniform",
                                                                   seed=7)((5, 5)))
    with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
        I.get("glorot_banana")
    with pytest.raises(ValueError, match="2D"):
        I.Identity()((2, 2, 2))


def test_layers_call_initializers_with_kerass_shapes():
    """A non-symmetric initializer shows the layout: Keras's kernel is (in, out) for Dense,
    (kh, kw, in, out) for Conv2D, gates in Keras's order for GRU; get_weights gives back what
    the initializer made."""
    calls = []

    def counting(shape, dtype=None):
        calls.append((tuple(shape), dtype))
        return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)

    dense = keras.layers.Dense(3, kernel_initializer=counting, input_dim=5)
    conv = keras.layers.Conv2D(4, (2, 3), kernel_initializer=counting, input_shape=(6, 6, 2))
    keras.Sequential([dense])
    keras.Sequential([conv])
    gru = keras.layers.GRU(2, kernel_initializer=counting, recurrent_initializer=counting,
                           bias_initializer=counting, reset_after=False)
    keras.Sequential([keras.Input((3, 4)), gru])
    assert calls == [((5, 3), "float32"), ((2, 3, 2, 4), "float32"), ((4, 6), "float32"),
                     ((2, 6), "float32"), ((6,), "float32")]
    np.testing.assert_array_equal(dense.get_weights()[0], counting((5, 3)))
    np.testing.assert_array_equal(conv.get_weights()[0], counting((2, 3, 2, 4)))
    for got, shape in zip(gru.get_weights(), [(4, 6), (2, 6), (6,)]):
        np.testing.assert_array_equal(got, counting(shape))
    with pytest.raises(ValueError, match=r"gave shape \(3, 5\) for a weight of shape \(5, 3\)"):
        keras.Sequential([keras.layers.Dense(3, input_dim=5,
                                             kernel_initializer=lambda s, dtype=None: np.eye(3, 5))])


def test_a_model_with_initializer_objects_saves_and_loads(tmp_path):
    model = keras.Sequential([keras.layers.Dense(3, input_dim=4,
                                                 kernel_initializer=I.HeNormal(seed=3),
                                                 bias_initializer=I.Constant(0.1))])
    model.compile("sgd", "mse")
    again = keras.models.load_model(model.save(str(tmp_path / "m.fdnn")))
    layer = again.layers[0]
    assert isinstance(layer.kernel_initializer, I.HeNormal) and layer.kernel_initializer.seed == 3
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])


def test_normal_names_keep_their_librarys_meaning():
    """Keras's he_normal / glorot_normal / lecun_normal are cut at two (widened) standard
    deviations; torch's kaiming_normal / xavier_normal are not. All keep the spread."""
    shape = (512, 256)
    for name, var in [("he_normal", 2 / 256), ("glorot_normal", 2 / 768),
                      ("lecun_normal", 1 / 256)]:
        w = nn.init.get(name)(shape)
        assert w.std() == pytest.approx(math.sqrt(var), rel=0.02)
        assert np.abs(w).max() <= 2 * math.sqrt(var) / WIDEN * (1 + 1e-6)
    for name, var in [("kaiming_normal", 2 / 256), ("xavier_normal", 2 / 768)]:
        w = nn.init.get(name)(shape)
        assert w.std() == pytest.approx(math.sqrt(var), rel=0.02)
        assert np.abs(w).max() > 3 * math.sqrt(var)
