"""Recurrent layers against torch.nn.LSTM / GRU / RNN with the same weights (forward and every
gradient, multi-layer, bidirectional, initial states, padded batches against
pack_padded_sequence), on both CPU kernel paths; the float64 composed reference against
finite differences and against the fused float32 kernels; Keras's return_sequences /
return_state / go_backwards / masking semantics against hand-computed loops; bad input named."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import fusednn  # noqa: E402
from fusednn import Tensor, _backend, keras, nn  # noqa: E402
from fusednn.nn import functional as F  # noqa: E402
from tests.nn.against_torch import assert_close, finite_difference_check, rand  # noqa: E402

CELLS = {"lstm": (torch.nn.LSTM, F.lstm), "gru": (torch.nn.GRU, F.gru),
         "rnn_tanh": (torch.nn.RNN, F.rnn_tanh), "rnn_relu": (torch.nn.RNN, F.rnn_relu)}
PATHS = ["scalar"] + (["avx2"] if _backend.cpu_module().cpu_features()["avx2"] else [])


def torch_module(cell, inputs, hidden, layers, bidirectional, batch_first):
    cls = CELLS[cell][0]
    kw = {"nonlinearity": "relu"} if cell == "rnn_relu" else {}
    torch.manual_seed(0)
    return cls(inputs, hidden, num_layers=layers, bidirectional=bidirectional,
               batch_first=batch_first, **kw)


def run_both(cell, x, module, lengths=None, hx=None, batch_first=False):
    """Our functional form and torch's module on the same weights and input; gradients of a
    random projection of the output and the final states."""
    rng = np.random.default_rng(1)
    params = [Tensor(p.detach().numpy().copy(), requires_grad=True) for p in module._flat_weights]
    tx = Tensor(x, requires_grad=True)
    th = None if hx is None else [Tensor(h, requires_grad=True) for h in hx]
    ours_hx = None if th is None else (tuple(th) if cell == "lstm" else th[0])
    res = CELLS[cell][1](tx, ours_hx, params, True, module.num_layers, 0.0, True,
                         module.bidirectional, batch_first,
                         lengths=None if lengths is None else np.array(lengths))
    X = torch.tensor(x, requires_grad=True)
    TH = None if hx is None else [torch.tensor(h, requires_grad=True) for h in hx]
    t_hx = None if TH is None else (tuple(TH) if cell == "lstm" else TH[0])
    if lengths is None:
        Y, hs = module(X, t_hx)
    else:
        packed = pack_padded_sequence(X, torch.tensor(lengths), batch_first=batch_first,
                                      enforce_sorted=False)
        Yp, hs = module(packed, t_hx)
        Y, _ = pad_packed_sequence(Yp, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0])
    ours = [res[0], res[1]] + ([res[2]] if cell == "lstm" else [])
    theirs = [Y] + (list(hs) if cell == "lstm" else [hs])
    loss_ours, loss_theirs = 0, 0
    for o, t in zip(ours, theirs):
        assert_close(o.numpy(), t.detach().numpy(), "forward")
        r = rand(rng, *t.shape)
        loss_ours = (o * Tensor(r)).sum() + loss_ours
        loss_theirs = (t * torch.tensor(r)).sum() + loss_theirs
    loss_ours.backward()
    loss_theirs.backward()
    assert_close(tx.grad.numpy(), X.grad.numpy(), "input gradient")
    for p, q in zip(params, module._flat_weights):
        assert_close(p.grad.numpy(), q.grad.numpy(), "weight gradient")
    for h, H in zip(th or [], TH or []):
        assert_close(h.grad.numpy(), H.grad.numpy(), "initial state gradient")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("layers,bidirectional,batch_first,lengths", [
    (1, False, False, None), (2, True, True, None), (2, True, False, [7, 3, 5, 1, 7]),
    (1, False, True, [2, 7, 4, 4, 6])])
def test_matches_torch(path, cell, layers, bidirectional, batch_first, lengths):
    rng = np.random.default_rng(0)
    batch, steps, features, hidden = 5, 7, 6, 9  # awkward sizes: tails of every vector width
    module = torch_module(cell, features, hidden, layers, bidirectional, batch_first)
    shape = (batch, steps, features) if batch_first else (steps, batch, features)
    with _backend.kernel_path_set_to(path):
        run_both(cell, rand(rng, *shape), module, lengths, batch_first=batch_first)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_initial_states_and_their_gradients_match_torch(cell):
    rng = np.random.default_rng(2)
    module = torch_module(cell, 4, 8, 2, True, False)
    states = 2 if cell == "lstm" else 1
    hx = [rand(rng, 4, 3, 8) for _ in range(states)]
    run_both(cell, rand(rng, 6, 3, 4), module, hx=hx)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_composed_float64_reference_against_finite_differences(cell):
    rng = np.random.default_rng(3)
    g = {"lstm": 4, "gru": 3, "rnn_tanh": 1}[cell]
    fn = CELLS[cell][1]
    mask_lengths = np.array([3, 2])

    def f(x, w_ih, w_hh, b_ih, b_hh):
        return fn(x, None, [w_ih, w_hh, b_ih, b_hh], lengths=mask_lengths)[0]

    finite_difference_check(f, [rand(rng, 3, 2, 2), rand(rng, g * 3, 2), rand(rng, g * 3, 3),
                                rand(rng, g * 3), rand(rng, g * 3)])


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_relu"])
def test_fused_float32_kernels_agree_with_the_float64_reference(cell):
    rng = np.random.default_rng(4)
    g = {"lstm": 4, "gru": 3, "rnn_relu": 1}[cell]
    arrays = [rand(rng, 5, 3, 4), rand(rng, g * 6, 4), rand(rng, g * 6, 6), rand(rng, g * 6),
              rand(rng, g * 6)]
    grads = {}
    for dtype in (np.float32, np.float64):
        ts = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = CELLS[cell][1](ts[0], None, ts[1:], bidirectional=False, lengths=[5, 2, 4])[0]
        (out * Tensor(np.linspace(-1, 1, out.numpy().size).reshape(out.shape).astype(dtype))
         ).sum().backward()
        grads[dtype] = [out.numpy()] + [t.grad.numpy() for t in ts]
    for ours, ref in zip(grads[np.float32], grads[np.float64]):
        assert_close(ours, ref, "float32 kernels vs float64 reference")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("reverse", [False, True])
def test_recurrent_dropout_kernels_agree_with_the_float64_reference(cell, reverse):
    """A recurrent-dropout mask on the state: the fused float32 kernels (forward, every
    gradient, with padding) against the composed float64 equations with the same mask."""
    from fusednn.nn.functional.recurrent import _direction

    rng = np.random.default_rng(11)
    g = {"lstm": 4, "gru": 3, "rnn_tanh": 1}[cell]
    steps, batch, features, hidden = 5, 3, 4, 6
    arrays = [rand(rng, steps, batch, features), rand(rng, g * hidden, features),
              rand(rng, g * hidden, hidden), rand(rng, g * hidden), rand(rng, g * hidden),
              rand(rng, batch, hidden)]
    rec_mask = (rng.random((batch, hidden)) > 0.4) / 0.6
    step_mask = np.ones((steps, batch), np.uint8)
    step_mask[3:, 1] = 0
    cell_code = getattr(_backend.RnnCell, cell)
    results = []
    for dtype in (np.float32, np.float64):
        ts = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        y, h_n, _ = _direction(cell_code, ts[0], ts[1:5], ts[5], None, step_mask, reverse,
                               rec_mask)
        r = np.linspace(-1, 1, y.numpy().size).reshape(y.shape).astype(dtype)
        ((y * Tensor(r)).sum() + h_n.sum()).backward()
        results.append([y.numpy()] + [t.grad.numpy() for t in ts])
    for ours, ref in zip(*results):
        assert_close(ours, ref, "recurrent dropout: float32 kernels vs float64 reference")


@pytest.mark.parametrize("cell", ["lstm", "gru", "gru_reset_before", "rnn_relu"])
@pytest.mark.parametrize("reverse", [False, True])
def test_rows_split_across_threads_agree_with_the_float64_reference(cell, reverse):
    """Enough rows that each of 3 threads runs the whole recurrence over its own block (an
    uneven split), with padding, initial states and recurrent dropout: forward and every
    gradient against the composed float64 equations."""
    from fusednn.nn.functional.recurrent import _direction

    rng = np.random.default_rng(13)
    cpu = _backend.cpu_module()
    g = {"lstm": 4, "gru": 3, "gru_reset_before": 3, "rnn_relu": 1}[cell]
    steps, batch, features, hidden = 5, 29, 3, 6
    lstm = cell == "lstm"
    arrays = [rand(rng, steps, batch, features), rand(rng, g * hidden, features),
              rand(rng, g * hidden, hidden), rand(rng, g * hidden), rand(rng, g * hidden),
              rand(rng, batch, hidden)] + ([rand(rng, batch, hidden)] if lstm else [])
    rec_mask = (rng.random((batch, hidden)) > 0.3) / 0.7
    step_mask = (rng.random((steps, batch)) > 0.25).astype(np.uint8)
    threads = cpu.num_threads()
    cpu.set_num_threads(3)
    try:
        results = []
        for dtype in (np.float32, np.float64):
            ts = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
            y, h_n, c_n = _direction(getattr(_backend.RnnCell, cell), ts[0], ts[1:5], ts[5],
                                     ts[6] if lstm else None, step_mask, reverse, rec_mask)
            r = np.linspace(-1, 1, y.numpy().size).reshape(y.shape).astype(dtype)
            loss = (y * Tensor(r)).sum() + (h_n * h_n).sum()
            if lstm:
                loss = loss + c_n.sum()
            loss.backward()
            results.append([y.numpy()] + [t.grad.numpy() for t in ts])
    finally:
        cpu.set_num_threads(threads)
    for ours, ref in zip(*results):
        assert_close(ours, ref, "rows split across threads: float32 kernels vs float64")


def test_recurrent_dropout_in_a_layer_trains_and_is_off_in_evaluation():
    rng = np.random.default_rng(12)
    x = Tensor(rand(rng, 4, 6, 3))
    layer = nn.GRU(5, recurrent_dropout=0.5)
    layer.build(x.shape)
    fusednn.seed(1)
    a = layer(x).numpy()
    fusednn.seed(1)
    assert np.array_equal(layer(x).numpy(), a)  # the mask comes from the seeded stream
    layer.eval()
    clean = layer(x).numpy()
    assert not np.allclose(clean, a)


# -- Keras semantics ------------------------------------------------------------------------------
def simple_rnn_loop(x, w_ih, w_hh, b, mask=None, backwards=False):
    """Keras's SimpleRNN by hand: states per step in processing order; a masked step repeats
    the previous state."""
    batch, steps, _ = x.shape
    h = np.zeros((batch, w_hh.shape[0]))
    outs = []
    order = range(steps - 1, -1, -1) if backwards else range(steps)
    for t in order:
        new = np.tanh(x[:, t] @ w_ih.T + h @ w_hh.T + b)
        if mask is not None:
            new = np.where(mask[:, t:t + 1], new, h)
        h = new
        outs.append(h)
    return np.stack(outs, 1), h


@pytest.mark.parametrize("go_backwards", [False, True])
def test_keras_sequences_states_backwards_and_masks_by_hand(go_backwards):
    rng = np.random.default_rng(5)
    x = rand(rng, 3, 6, 4)
    mask = np.ones((3, 6), bool)
    mask[0, :2] = False  # pre-padding
    mask[1, 4:] = False  # post-padding
    layer = keras.layers.SimpleRNN(5, return_sequences=True, return_state=True,
                                   go_backwards=go_backwards)
    out, state = layer(Tensor(x), mask=mask)
    w_ih, w_hh = layer.weight_ih_l0.numpy(), layer.weight_hh_l0.numpy()
    b = layer.bias_ih_l0.numpy()  # Keras: one bias
    ref_seq, ref_h = simple_rnn_loop(x.astype(np.float64), w_ih, w_hh, b, mask, go_backwards)
    assert_close(out.numpy(), ref_seq, "return_sequences (processing order, as Keras)")
    assert_close(state.numpy(), ref_h, "return_state")
    last = keras.layers.SimpleRNN(5, go_backwards=go_backwards)
    last.build(x.shape)
    last.set_weights(layer.get_weights())
    assert_close(last(Tensor(x), mask=mask).numpy(), ref_h, "last output")


def test_keras_gru_weight_layout_is_keras_gate_order():
    rng = np.random.default_rng(6)
    layer = keras.layers.GRU(3)
    layer.build((2, 4, 5))
    kernel, recurrent, bias = rand(rng, 5, 9), rand(rng, 3, 9), rand(rng, 2, 9)
    layer.set_weights([kernel, recurrent, bias])
    for got, want in zip(layer.get_weights(), [kernel, recurrent, bias]):
        assert_close(got, want, "GRU weights round trip")
    x = rand(rng, 2, 4, 5)
    h = np.zeros((2, 3))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(4):  # Keras's GRU, reset_after=True, gates z, r, h in its kernel
        xz, xr, xh = np.split(x[:, t] @ kernel + bias[0], 3, axis=1)
        hz, hr, hh = np.split(h @ recurrent + bias[1], 3, axis=1)
        z, r = sig(xz + hz), sig(xr + hr)
        h = z * h + (1 - z) * np.tanh(xh + r * hh)
    assert_close(layer(Tensor(x)).numpy(), h, "Keras GRU by hand")


def test_torch_state_dict_loads_directly():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(4, 6, batch_first=True)
    layer = nn.LSTM(6, return_sequences=True)
    layer.build((2, 3, 4))
    layer.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = rand(np.random.default_rng(7), 2, 3, 4)
    assert_close(layer(Tensor(x)).numpy(), ref(torch.tensor(x))[0].detach().numpy(), "LSTM")


def test_embedding_mask_reaches_the_recurrent_layers_in_a_sequential():
    rng = np.random.default_rng(8)
    ids = rng.integers(1, 20, (4, 7))
    ids[:, 5:] = 0
    fusednn.seed(0)
    model = fusednn.Sequential([nn.Embedding(20, 3, mask_zero=True), nn.LSTM(5)],
                               input_shape=(7,))
    short = fusednn.Sequential([model.layers[0], model.layers[1]], input_shape=(5,))
    # The masked tail changes nothing: the same as the sequences cut before it.
    assert_close(model.predict(ids.astype(np.float32)),
                 short.predict(ids[:, :5].astype(np.float32)), "masked steps skipped")


# -- bad input ----------------------------------------------------------------------------------
def test_bad_input_is_named():
    rng = np.random.default_rng(9)
    w = [Tensor(rand(rng, 8, 3)), Tensor(rand(rng, 8, 2))]
    x = Tensor(rand(rng, 4, 2, 3))
    with pytest.raises(ValueError, match="input must be 3-D"):
        F.lstm(Tensor(rand(rng, 4, 3)), None, w, has_biases=False)
    with pytest.raises(ValueError, match=r"w_ih \(8, 3\) and w_hh \(8, 2\) must be \(8, 5\)"):
        F.lstm(Tensor(rand(rng, 4, 2, 5)), None, w, has_biases=False)
    with pytest.raises(ValueError, match="expected 4 parameter tensors"):
        F.lstm(x, None, w)
    with pytest.raises(ValueError, match=r"lengths: 5 is outside \[1, 4\]"):
        F.lstm(x, None, w, has_biases=False, lengths=[5, 1])
    with pytest.raises(ValueError, match=r"lengths: -1 is outside"):
        F.lstm(x, None, w, has_biases=False, lengths=[-1, 1])
    with pytest.raises(ValueError, match=r"h0 must be \(1, 2, 2\)"):
        F.lstm(x, (Tensor(rand(rng, 1, 3, 2)), Tensor(rand(rng, 1, 3, 2))), w, has_biases=False)
    layer = nn.GRU(4)
    layer.build((2, 5, 3))
    with pytest.raises(ValueError, match=r"gru: expects 3-D inputs \(batch, steps, features\)"):
        layer(Tensor(rand(rng, 2, 3)))
    with pytest.raises(ValueError, match="built for 3 features per step"):
        layer(Tensor(rand(rng, 2, 5, 4)))
    with pytest.raises(ValueError, match=r"mask must be \(batch, steps\) = \(2, 5\)"):
        layer(Tensor(rand(rng, 2, 5, 3)), mask=np.ones((5, 2), bool))
    with pytest.raises(ValueError, match=r"recurrent_dropout must be in \[0, 1\)"):
        nn.LSTM(4, recurrent_dropout=1.0)
    with pytest.raises(TypeError, match="input must be float32 or float64, got float16"):
        F.gru(Tensor(rand(rng, 4, 2, 3).astype(np.float16)), None,
              [Tensor(rand(rng, 6, 3)), Tensor(rand(rng, 6, 2))], has_biases=False)
