"""The GRU with the reset gate before the recurrent product (Keras's ``reset_after=False``),
and Keras's single bias in ``fusednn.keras``'s recurrent layers: Keras's equations by hand in
float64, the fused float32 kernels (both CPU paths; padding, reverse, initial state,
recurrent dropout) against the composed float64 reference, that reference against finite
differences, and Keras's weight shapes and parameter counts."""
import numpy as np
import pytest

import fusednn
from fusednn import Tensor, _backend, keras, nn
from fusednn.nn.functional.recurrent import _direction
from tests.nn.against_torch import assert_close, finite_difference_check, rand

PATHS = ["scalar"] + (["avx2"] if _backend.cpu_module().cpu_features()["avx2"] else [])
CELL = _backend.RnnCell.gru_reset_before


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def keras_gru_reset_before(x, kernel, recurrent, bias, h0=None):
    """Keras's GRUCell with reset_after=False by hand: gates z, r, h in its kernel, one bias,
    hh = tanh(x_h + (r * h) U_h), h = z * h + (1 - z) * hh. Returns every step's state."""
    batch, steps, _ = x.shape
    units = recurrent.shape[0]
    h = np.zeros((batch, units)) if h0 is None else h0
    out = []
    for t in range(steps):
        xz, xr, xh = np.split(x[:, t] @ kernel + bias, 3, axis=1)
        uz, ur, uh = np.split(recurrent, 3, axis=1)
        z, r = sigmoid(xz + h @ uz), sigmoid(xr + h @ ur)
        h = z * h + (1 - z) * np.tanh(xh + (r * h) @ uh)
        out.append(h)
    return np.stack(out, 1)


def test_keras_gru_reset_after_false_is_keras_by_hand():
    rng = np.random.default_rng(0)
    layer = keras.layers.GRU(5, reset_after=False, return_sequences=True)
    layer.build((3, 6, 4))
    kernel, recurrent, bias = rand(rng, 4, 15), rand(rng, 5, 15), rand(rng, 15)
    layer.set_weights([kernel, recurrent, bias])
    assert layer.bias_hh_l0 is None
    for got, want in zip(layer.get_weights(), [kernel, recurrent, bias]):
        assert_close(got, want, "weights round trip")
    x = rand(rng, 3, 6, 4)
    ref = keras_gru_reset_before(x.astype(np.float64), kernel, recurrent, bias)
    assert_close(layer(Tensor(x)).numpy(), ref, "Keras GRU(reset_after=False) by hand")
    with pytest.raises(ValueError, match=r"bias must be \(15,\)"):
        layer.set_weights([kernel, recurrent, np.zeros((2, 15), np.float32)])


def test_reset_after_changes_the_numbers():
    """The two GRU forms differ whenever r < 1 and the recurrent bias is not zero."""
    rng = np.random.default_rng(1)
    kernel, recurrent, bias = rand(rng, 4, 9), rand(rng, 3, 9), rand(rng, 9)
    x = Tensor(rand(rng, 2, 5, 4))
    outs = []
    for reset_after in (True, False):
        layer = keras.layers.GRU(3, reset_after=reset_after)
        layer.build(x.shape)
        layer.set_weights([kernel, recurrent, np.stack([bias, bias]) if reset_after else bias])
        outs.append(layer(x).numpy())
    assert np.abs(outs[0] - outs[1]).max() > 1e-3


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dropout", [False, True])
def test_fused_kernels_agree_with_the_float64_reference(path, reverse, dropout):
    """Forward and every gradient, with padded rows, an initial state, two biases (b_hh on
    the n rows after the product) and, optionally, a recurrent-dropout mask."""
    rng = np.random.default_rng(2)
    steps, batch, features, hidden = 7, 5, 6, 11  # awkward sizes: vector tails
    arrays = [rand(rng, steps, batch, features), rand(rng, 3 * hidden, features),
              rand(rng, 3 * hidden, hidden), rand(rng, 3 * hidden), rand(rng, 3 * hidden),
              rand(rng, batch, hidden)]
    rec_mask = (rng.random((batch, hidden)) > 0.3) / 0.7 if dropout else None
    step_mask = np.ones((steps, batch), np.uint8)
    step_mask[4:, 1] = 0  # post-padding
    step_mask[:2, 3] = 0  # pre-padding
    results = []
    with _backend.kernel_path_set_to(path):
        for dtype in (np.float32, np.float64):
            ts = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
            y, h_n, _ = _direction(CELL, ts[0], ts[1:5], ts[5], None, step_mask, reverse,
                                   rec_mask)
            r = np.linspace(-1, 1, y.numpy().size).reshape(y.shape).astype(dtype)
            ((y * Tensor(r)).sum() + (h_n * h_n).sum()).backward()
            results.append([y.numpy(), h_n.numpy()] + [t.grad.numpy() for t in ts])
    names = ["y", "h_n", "dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"]
    for name, ours, ref in zip(names, *results):
        assert_close(ours, ref, f"{name}: float32 kernels vs float64 reference")


def test_float64_reference_against_finite_differences():
    rng = np.random.default_rng(3)
    step_mask = np.array([[1, 1], [1, 0], [1, 1]], np.uint8)
    rec_mask = np.array([[2.0, 0.0, 2.0], [2.0, 2.0, 0.0]])

    def f(x, w_ih, w_hh, b_ih, b_hh, h0):
        y, h_n, _ = _direction(CELL, x, [w_ih, w_hh, b_ih, b_hh], h0, None, step_mask, False,
                               rec_mask)
        return y

    finite_difference_check(f, [rand(rng, 3, 2, 2), rand(rng, 9, 2), rand(rng, 9, 3),
                                rand(rng, 9), rand(rng, 9), rand(rng, 2, 3)])


def test_padded_steps_carry_the_state():
    """A row padded after step 2 ends with its step-2 state; its padded outputs repeat it."""
    rng = np.random.default_rng(4)
    x = rand(rng, 2, 5, 3)
    mask = np.ones((2, 5), bool)
    mask[1, 2:] = False
    layer = nn.GRU(4, reset_after=False, return_sequences=True)
    layer.build(x.shape)
    full = layer(Tensor(x), mask=mask).numpy()
    short = layer(Tensor(x[1:, :2])).numpy()
    assert_close(full[1, :2], short[0], "the steps taken")
    assert_close(full[1, 2:], np.repeat(short[:, 1:], 3, axis=1)[0], "padded steps repeat")


@pytest.mark.parametrize("layer_cls,gates,bias_shape", [
    (keras.layers.SimpleRNN, 1, (7,)), (keras.layers.LSTM, 4, (28,)),
    (lambda u: keras.layers.GRU(u, reset_after=False), 3, (21,)),
    (keras.layers.GRU, 3, (2, 21))])
def test_keras_layers_hold_keras_biases(layer_cls, gates, bias_shape):
    """Keras's weights and parameter count: one bias vector (two for the reset-after GRU), so
    the bias trains at Keras's rate, not twice it."""
    layer = layer_cls(7)
    layer.build((2, 3, 5))
    shapes = [w.shape for w in layer.get_weights()]
    assert shapes == [(5, gates * 7), (7, gates * 7), bias_shape]
    trainable = sum(p.data.size for p in layer.parameters())
    assert trainable == sum(int(np.prod(s)) for s in shapes)


def test_keras_lstm_bias_step_is_keras_sgd_step():
    """One SGD step on a Keras LSTM moves its single bias by lr * grad, Keras's update."""
    rng = np.random.default_rng(5)
    x, target = rand(rng, 4, 3, 2), rand(rng, 4, 3)
    fusednn.seed(0)
    model = keras.Sequential([keras.layers.LSTM(3, input_shape=(3, 2))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    before = model.layers[0].get_weights()[2]
    layer = model.layers[0]
    out = layer(Tensor(x))
    ((out - Tensor(target)) ** 2).mean().backward()
    grad = layer.bias_ih_l0.grad.numpy().copy()
    for p in layer.parameters():
        p.grad = None
    model.fit(x, target, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert_close(model.layers[0].get_weights()[2], before - 0.1 * grad, "bias after one step")
