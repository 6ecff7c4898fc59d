"""Conv2D -> MaxPool2D(2) fused (conv2d_max_pool2d, and a Sequential's automatic use of it)
against the two layers' own kernels, on both CPU paths: the output, the argmax-routed input
and weight gradients bit-identical; the bias gradient within float32 rounding (the fused pass
sums it in another order). Also against torch, and the fallbacks (float64, tiny outputs)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fusednn  # noqa: E402
from fusednn import Tensor, _backend, keras, nn  # noqa: E402
from fusednn.autograd.fused import Conv2dMaxPoolFunction  # noqa: E402
from fusednn.nn import functional as F  # noqa: E402
from tests.nn.against_torch import assert_close, rand  # noqa: E402

PATHS = ["scalar"] + (["avx2"] if _backend.cpu_module().cpu_features()["avx2"] else [])
CASES = [  # x shape, (out_c, k), stride, padding
    ((3, 2, 13, 13), (5, 3), 1, 0),    # 11x11 conv output: an odd row and column in no window
    ((2, 1, 28, 28), (4, 3), 1, 0),    # the tutorial's first conv
    ((2, 3, 12, 9), (2, 3), 1, 1),     # padded
    ((5, 4, 9, 11), (3, 2), 1, 0),     # even kernel: 8x10
    ((2, 2, 17, 40), (3, 3), (1, 2), 0),
]


def run(fn, arrays, grad_seed):
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    g = np.random.default_rng(grad_seed).standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    return [out.numpy()] + [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("act", [None, "relu", "leaky_relu", "sigmoid", "tanh", "gelu"])
@pytest.mark.parametrize("xs,ws,stride,padding", CASES)
def test_fused_equals_the_two_layers(path, act, xs, ws, stride, padding):
    rng = np.random.default_rng(sum(xs))
    x = rand(rng, *xs)
    w = rand(rng, ws[0], xs[1], ws[1], ws[1], scale=0.4)
    b = rand(rng, ws[0])
    with _backend.kernel_path_set_to(path):
        fused = run(lambda x, w, b: F.conv2d_max_pool2d(x, w, b, stride, padding,
                                                        activation=act), [x, w, b], 1)
        plain = run(lambda x, w, b: F.max_pool2d(F.conv2d(x, w, b, stride, padding,
                                                          activation=act), 2), [x, w, b], 1)
    for name, ours, ref in zip(["y", "dx", "dw"], fused, plain):
        np.testing.assert_array_equal(ours, ref, err_msg=name)
    np.testing.assert_allclose(fused[3], plain[3], rtol=2e-6, atol=2e-6, err_msg="dbias")


def test_fused_against_torch():
    rng = np.random.default_rng(2)
    x, w, b = rand(rng, 4, 3, 13, 13), rand(rng, 6, 3, 3, 3, scale=0.4), rand(rng, 6)
    ours = run(lambda x, w, b: F.conv2d_max_pool2d(x, w, b, activation="relu"), [x, w, b], 3)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(*ts)), 2)
    out.backward(torch.tensor(np.random.default_rng(3).standard_normal(out.shape)
                              .astype(np.float32)))
    theirs = [out.detach().numpy()] + [t.grad.numpy() for t in ts]
    for o, t in zip(ours, theirs):
        assert_close(o, t, "conv + relu + max-pool against torch")


def test_what_the_fused_path_does_not_take_fails_as_the_two_layers_do():
    """float64 and a conv output too narrow to pool go to the two layers, and their errors."""
    rng = np.random.default_rng(4)
    x, w = rand(rng, 2, 2, 5, 5).astype(np.float64), rand(rng, 3, 2, 3, 3).astype(np.float64)
    with pytest.raises(TypeError, match="conv2d: input must be float32, got float64"):
        F.conv2d_max_pool2d(Tensor(x), Tensor(w), activation="tanh")
    with pytest.raises(ValueError, match="larger than the input"):
        F.conv2d_max_pool2d(Tensor(rand(rng, 1, 1, 3, 4)), Tensor(rand(rng, 1, 1, 3, 3)))


def count_fused(monkeypatch):
    calls = []
    original = Conv2dMaxPoolFunction.apply

    def counting(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(Conv2dMaxPoolFunction, "apply", counting)
    return calls


def test_sequential_fuses_conv_then_pool_and_trains_the_same(monkeypatch):
    """The tutorial CNN: both Conv2D -> MaxPool2D pairs fused; outputs and one training step
    identical to running the layers one by one."""
    def model():
        fusednn.seed(0)
        return fusednn.Sequential([
            nn.Conv2D(4, 3, activation="relu"), nn.MaxPool2D(2),
            nn.Conv2D(6, 3, activation="relu"), nn.MaxPool2D(2),
            nn.Flatten(), nn.Dense(3)], input_shape=(1, 14, 14))

    rng = np.random.default_rng(5)
    x, y = rand(rng, 8, 1, 14, 14), rng.integers(0, 3, 8)
    fused, plain = model(), model()
    calls = count_fused(monkeypatch)
    fused.compile("sgd", "cross_entropy", lr=0.1)
    fused.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert len(calls) == 2 * 2 * 2  # two pairs, two batches, two epochs
    plain.compile("sgd", "cross_entropy", lr=0.1)
    calls.clear()
    monkeypatch.setattr(fusednn.Sequential, "_run", staticmethod(_one_by_one))  # no fusion
    plain.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert not calls
    for p, q in zip(fused.parameters(), plain.parameters()):
        assert_close(p.numpy(), q.numpy(), "weights after training, fused vs one by one")


def _one_by_one(x, layers):
    """Sequential._run without the fusion: (output, step mask)."""
    for layer in layers:
        x = layer(x)
    return x, None


def test_keras_channels_last_model_fuses_too(monkeypatch):
    calls = count_fused(monkeypatch)
    model = keras.Sequential([keras.layers.Conv2D(3, 3, activation="relu",
                                                  input_shape=(10, 10, 2)),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    x = rand(np.random.default_rng(6), 2, 10, 10, 2)
    out = model.predict(x, verbose=0)
    assert calls
    conv = model.layers[0]
    ref = F.max_pool2d(conv(Tensor(x)).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
    ref = model.layers[3](model.layers[2](ref))
    np.testing.assert_array_equal(out, ref.numpy())


def test_a_subclass_with_its_own_forward_is_not_fused(monkeypatch):
    class Scaled(nn.Conv2D):
        def forward(self, x):
            return super().forward(x) * 2.0

    calls = count_fused(monkeypatch)
    fusednn.seed(0)
    model = fusednn.Sequential([Scaled(2, 3, activation="relu"), nn.MaxPool2D(2)],
                               input_shape=(1, 8, 8))
    x = rand(np.random.default_rng(7), 2, 1, 8, 8)
    out = model.predict(x)
    assert not calls
    ref = F.max_pool2d(model.layers[0](Tensor(x)), 2).numpy()
    np.testing.assert_array_equal(out, ref)
