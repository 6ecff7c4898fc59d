"""Recurrent layers on the GPU (cuBLAS GEMMs and the fused cell kernels of rnn.cu): the CPU's
results to float32 rounding, forward and every gradient, and torch's cuDNN results."""
import numpy as np
import pytest

from fusednn import Tensor
from fusednn.nn import functional as F

cupy = pytest.importorskip("cupy")
torch = pytest.importorskip("torch")

CELLS = {"lstm": F.lstm, "gru": F.gru, "rnn_tanh": F.rnn_tanh, "rnn_relu": F.rnn_relu}
GATES = {"lstm": 4, "gru": 3, "gru_reset_before": 3, "rnn_tanh": 1, "rnn_relu": 1}


def run(cell, arrays, device, lengths, bidirectional):
    xs = [Tensor(a if device == "cpu" else cupy.asarray(a), requires_grad=True) for a in arrays]
    out = CELLS[cell](xs[0], None, xs[1:], True, 1, 0.0, True, bidirectional, True,
                      lengths=lengths)
    r = np.random.default_rng(1).standard_normal(out[0].shape).astype(np.float32)
    (out[0] * Tensor(r if device == "cpu" else cupy.asarray(r))).sum().backward()
    return [out[0].cpu().numpy()] + [x.grad.cpu().numpy() for x in xs]


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("bidirectional,lengths", [(False, None), (True, [9, 4, 1])])
def test_gpu_matches_cpu(cell, bidirectional, lengths):
    rng = np.random.default_rng(0)
    g, hidden, features = GATES[cell], 33, 7
    per_direction = [rng.standard_normal((g * hidden, features)).astype(np.float32) * 0.3,
                     rng.standard_normal((g * hidden, hidden)).astype(np.float32) * 0.3,
                     rng.standard_normal(g * hidden).astype(np.float32) * 0.1,
                     rng.standard_normal(g * hidden).astype(np.float32) * 0.1]
    params = per_direction * (2 if bidirectional else 1)
    x = rng.standard_normal((3, 9, features)).astype(np.float32)
    cpu = run(cell, [x] + params, "cpu", lengths, bidirectional)
    gpu = run(cell, [x] + params, "cuda", lengths, bidirectional)
    for k, (a, b) in enumerate(zip(gpu, cpu)):
        scale = max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * scale, err_msg=f"output {k}")


@pytest.mark.parametrize("cls,fn", [(torch.nn.LSTM, F.lstm), (torch.nn.GRU, F.gru)])
def test_gpu_matches_torch_cudnn(cls, fn):
    torch.manual_seed(0)
    module = cls(16, 32, batch_first=True).cuda()
    x = torch.randn(4, 12, 16, device="cuda")
    params = [Tensor(cupy.asarray(p.detach()), requires_grad=True) for p in module._flat_weights]
    ours = fn(Tensor(cupy.asarray(x)), None, params, batch_first=True)[0]
    ref = module(x)[0]
    np.testing.assert_allclose(ours.cpu().numpy(), ref.detach().cpu().numpy(), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("cell", ["lstm", "gru", "gru_reset_before"])
@pytest.mark.parametrize("padded", [False, True])
def test_gpu_recurrent_dropout_matches_cpu(cell, padded):
    from fusednn import _backend
    from fusednn.nn.functional.recurrent import _direction

    rng = np.random.default_rng(3)
    g, hidden = GATES[cell], 17
    arrays = [rng.standard_normal(s).astype(np.float32) * 0.5 for s in
              [(6, 4, 5), (g * hidden, 5), (g * hidden, hidden), (g * hidden,), (g * hidden,)]]
    rec_mask = ((rng.random((4, hidden)) > 0.3) / 0.7).astype(np.float32)
    step_mask = None
    if padded:
        step_mask = np.ones((6, 4), np.uint8)
        step_mask[4:, 1] = 0
        step_mask[:2, 2] = 0
    outs = []
    for device in ("cpu", "cuda"):
        xs = [Tensor(a if device == "cpu" else cupy.asarray(a), requires_grad=True)
              for a in arrays]
        mask = rec_mask if device == "cpu" else cupy.asarray(rec_mask)
        y, _, _ = _direction(getattr(_backend.RnnCell, cell), xs[0], xs[1:], None, None,
                             step_mask, True, mask)
        y.sum().backward()
        outs.append([y.cpu().numpy()] + [x.grad.cpu().numpy() for x in xs])
    for a, b in zip(outs[1], outs[0]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(b).max())))


def test_recurrent_scratch_comes_from_cupys_pool(cupy_requests):
    """The recurrent kernels' scratch (zero state, recurrent product, state gradients) is asked
    of CuPy's allocator, in the sizes rnn_workspace_bytes gives: the forward's and the
    backward's both appear among its requests."""
    from fusednn import _backend

    rng = np.random.default_rng(0)
    hidden, features, steps, batch = 40, 6, 5, 3
    params = [rng.standard_normal((4 * hidden, features)).astype(np.float32) * 0.3,
              rng.standard_normal((4 * hidden, hidden)).astype(np.float32) * 0.3,
              rng.standard_normal(4 * hidden).astype(np.float32) * 0.1,
              rng.standard_normal(4 * hidden).astype(np.float32) * 0.1]
    x = rng.standard_normal((batch, steps, features)).astype(np.float32)
    sizes_of = _backend.cuda_module().rnn_workspace_bytes
    lstm = _backend.RnnCell.lstm
    wanted = {sizes_of(lstm, steps, batch, hidden, False, False, False, False),
              sizes_of(lstm, steps, batch, hidden, True, False, False, True)}
    gpu = run("lstm", [x] + params, "cuda", None, False)
    assert wanted <= set(cupy_requests)
    cpu = run("lstm", [x] + params, "cpu", None, False)
    for k, (a, b) in enumerate(zip(gpu, cpu)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=f"output {k}")


def test_masked_tagger_trains_as_on_the_cpu():
    """A class per step under a padding mask (Embedding(mask_zero=True) -> LSTM(return_sequences)
    -> Dense softmax, per-step sample weights): the GPU's evaluate and two epochs of fit give
    the CPU's loss, accuracy and weights to float32 rounding."""
    from fusednn import keras

    rng = np.random.default_rng(2)
    x = rng.integers(1, 12, size=(40, 7))
    for i, length in enumerate(rng.integers(1, 8, size=40)):
        x[i, length:] = 0
    y = rng.integers(0, 4, size=(40, 7))
    w = (rng.random((40, 7)) + 0.5).astype(np.float32)
    results = []
    for device in ("cpu", "cuda"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.layers.Embedding(12, 6, mask_zero=True),
                                  keras.layers.LSTM(8, return_sequences=True),
                                  keras.layers.Dense(4, activation="softmax")])
        model.build((None, 7))
        model.to(device)
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        before = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0)
        history = model.fit(x, y, sample_weight=w, epochs=2, batch_size=16, shuffle=False,
                            verbose=0).history
        results.append((before, history["loss"], history["accuracy"],
                        model.layers[2].get_weights()[0]))
    (cpu_before, cpu_loss, cpu_acc, cpu_w), (gpu_before, gpu_loss, gpu_acc, gpu_w) = results
    np.testing.assert_allclose(gpu_before, cpu_before, rtol=1e-5)
    np.testing.assert_allclose(gpu_loss, cpu_loss, rtol=1e-5)
    np.testing.assert_allclose(gpu_acc, cpu_acc, atol=1e-12)
    np.testing.assert_allclose(gpu_w, cpu_w, rtol=1e-4, atol=1e-6)
