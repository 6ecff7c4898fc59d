"""Layers on the GPU (CuPy arrays through cuBLASLt / cuBLAS and the CUDA kernels): every op
gives the CPU's results to float32 rounding, forward and gradients, and torch's on the GPU."""
import numpy as np
import pytest

import fusednn
from fusednn import Tensor
from fusednn.nn import functional as F

cupy = pytest.importorskip("cupy")
torch = pytest.importorskip("torch")

rng = np.random.default_rng(5)


def rand(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def run(fn, arrays, device):
    """fn on Tensors of `arrays` on `device`; (output, gradients of sum(out * r))."""
    xs = [Tensor(a if device == "cpu" else cupy.asarray(a), requires_grad=a.dtype.kind == "f")
          for a in arrays]
    out = fn(*xs)
    r = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    (out * Tensor(r if device == "cpu" else cupy.asarray(r))).sum().backward()
    host = lambda t: t.cpu().numpy() if t is not None else None
    return host(out), [host(x.grad) for x in xs if x.requires_grad]


def same_on_both(fn, arrays, rtol=1e-4):
    cpu_out, cpu_grads = run(fn, arrays, "cpu")
    gpu_out, gpu_grads = run(fn, arrays, "cuda")
    scale = max(1.0, float(np.abs(cpu_out).max(initial=0.0)))
    np.testing.assert_allclose(gpu_out, cpu_out, rtol=rtol, atol=rtol * scale)
    for k, (a, b) in enumerate(zip(gpu_grads, cpu_grads)):
        s = max(1.0, float(np.abs(b).max(initial=0.0)))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * s, err_msg=f"gradient {k}")


@pytest.mark.parametrize("act", [None, "relu", "leaky_relu", "sigmoid", "tanh", "gelu",
                                 "gelu_tanh"])
@pytest.mark.parametrize("batch,n_in,n_out", [(1, 1, 1), (7, 13, 5), (256, 784, 1024)])
def test_linear(act, batch, n_in, n_out):
    same_on_both(lambda x, w, b: F.linear(x, w, b, activation=act),
                 [rand(batch, n_in), rand(n_out, n_in, scale=0.1), rand(n_out)])


def test_linear_without_bias():
    same_on_both(lambda x, w: F.linear(x, w, activation="relu"), [rand(9, 33), rand(17, 33)])


@pytest.mark.parametrize("act", [None, "relu", "gelu"])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation", [
    ((2, 3, 9, 7), (4, 3, 3), 1, 1, 1),
    ((2, 3, 9, 8), (5, 3, 3), 2, 1, 1),
    ((3, 4, 6, 6), (2, 1, 1), 1, 0, 1),
    ((1, 2, 11, 11), (3, 3, 3), 1, 2, 2),
    ((16, 32, 28, 28), (64, 3, 3), 1, 1, 1),
])
def test_conv2d(act, xs, ws, stride, padding, dilation):
    same_on_both(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, activation=act),
                 [rand(*xs), rand(ws[0], xs[1], ws[1], ws[2], scale=0.2), rand(ws[0])])


@pytest.mark.parametrize("xs,ws,stride,padding,output_padding,dilation", [
    ((2, 3, 5, 4), (3, 4, 3, 3), 1, 0, 0, 1),
    ((3, 5, 7, 6), (5, 2, 3, 2), 2, 1, 1, 1),
    ((1, 4, 4, 5), (4, 3, 2, 3), (2, 3), (0, 1), (1, 2), (1, 2)),
    ((16, 32, 7, 7), (32, 16, 4, 4), 2, 1, 0, 1),
])
def test_conv_transpose2d(xs, ws, stride, padding, output_padding, dilation):
    """The transposed conv runs conv2d's backward (x None) and forward kernels on the GPU."""
    same_on_both(lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding,
                                                    1, dilation),
                 [rand(*xs), rand(*ws, scale=0.2), rand(ws[1])])

@pytest.mark.parametrize("op", [
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.max_pool2d(x, 3, 2, 1),
    lambda x: F.avg_pool2d(x, 3, 2, 1),
    lambda x: F.avg_pool2d(x, 2, count_include_pad=False),
    lambda x: F.max_pool2d(x, 2, ceil_mode=True),
    lambda x: F.max_pool2d(x, (2, 3), 2, 1, dilation=2, ceil_mode=True),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.max_pool2d(x[0], 3, 2, 1),  # unbatched (C, H, W)
])
def test_pooling(op):
    same_on_both(op, [rand(2, 3, 9, 10)])


@pytest.mark.parametrize("n,c", [(1, 1), (33, 10), (1024, 1000)])
def test_cross_entropy(n, c):
    y = rng.integers(0, c, n)
    same_on_both(lambda x: F.cross_entropy(x, Tensor(cupy.asarray(y)) if x.device == "cuda"
                                           else y), [rand(n, c, scale=3.0)])


_SPIN = r"""
extern "C" __global__ void spin(long long cycles) {
  const long long start = clock64();
  while (clock64() - start < cycles) {}
}
"""


def test_cross_entropy_of_host_targets_does_not_wait_for_the_gpu():
    """Host class indices are checked on the host before their copy: with the stream busy for
    a long while, the loss (and a refused target) come back while it is still busy."""
    c = 10
    y = rng.integers(0, c, 64)
    x = rand(64, c, scale=3.0)
    logits = Tensor(cupy.asarray(x), requires_grad=True)
    stream = cupy.cuda.get_current_stream()
    cupy.RawKernel(_SPIN, "spin")((1,), (1,), (np.int64(2_000_000_000),))  # about a second
    loss = F.cross_entropy(logits, y)
    with pytest.raises(ValueError, match="target class 10 is out of range for 10 classes"):
        F.cross_entropy(logits, np.where(np.arange(64) == 5, c, y))
    assert not stream.done, "cross_entropy waited for the GPU"
    loss.backward()
    expected = Tensor(x, requires_grad=True)
    F.cross_entropy(expected, y).backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-5)
    np.testing.assert_allclose(logits.grad.cpu().numpy(), expected.grad.numpy(), rtol=1e-4,
                               atol=1e-6)


def test_activations_batch_norm_dropout_and_bce():
    x = rand(6, 4, 5, 5)
    same_on_both(lambda x: F.gelu(x) + F.sigmoid(x) * F.tanh(x), [x])
    same_on_both(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                 [x, rand(4), rand(4)])
    t = rng.random((6, 4)).astype(np.float32)
    same_on_both(lambda x: F.binary_cross_entropy_with_logits(
        x, Tensor(cupy.asarray(t)) if x.device == "cuda" else t), [rand(6, 4)])
    gen_cpu, gen_gpu = fusednn.ops.PhiloxGenerator(3), fusednn.ops.PhiloxGenerator(3)
    a = rand(1000)
    cpu = F.dropout(Tensor(a), 0.4, generator=gen_cpu).numpy()
    gpu = F.dropout(Tensor(cupy.asarray(a)), 0.4, generator=gen_gpu).cpu().numpy()
    np.testing.assert_array_equal(gpu, cpu)


def test_matches_torch_on_the_gpu():
    x, w, b = rand(64, 128), rand(32, 128, scale=0.1), rand(32)
    ours = F.linear(Tensor(cupy.asarray(x)), Tensor(cupy.asarray(w)), Tensor(cupy.asarray(b)),
                    activation="relu").cpu().numpy()
    theirs = torch.relu(torch.nn.functional.linear(*(torch.tensor(a).cuda() for a in (x, w, b))))
    np.testing.assert_allclose(ours, theirs.cpu().numpy(), rtol=1e-4, atol=1e-4)


def test_mixing_devices_names_both():
    with pytest.raises(ValueError, match="on cpu but argument 1 is on cuda"):
        Tensor(rand(3)) + Tensor(cupy.asarray(rand(3)))


def test_to_moves_between_devices_and_back_propagates():
    host = rand(3, 4)
    a = Tensor(host, requires_grad=True)
    on_gpu = a.to("cuda")
    assert on_gpu.device == "cuda" and isinstance(on_gpu.data, cupy.ndarray)
    np.testing.assert_array_equal(on_gpu.data.get(), host)
    back = (on_gpu * 2.0).to("cpu")
    assert back.device == "cpu" and isinstance(back.data, np.ndarray)
    back.backward(np.ones_like(host))
    assert isinstance(a.grad.data, np.ndarray)
    np.testing.assert_array_equal(a.grad.data, np.full_like(host, 2.0))


def test_model_trains_on_the_gpu_with_fused_adam():
    fusednn.manual_seed(0)
    model_in = rand(64, 20)
    labels = (model_in[:, 0] > 0).astype(np.int64)
    layer1, layer2 = fusednn.nn.Dense(32, activation="relu"), fusednn.nn.Dense(2)
    x = Tensor(cupy.asarray(model_in))
    layer2(layer1(Tensor(model_in[:2])))  # build on the CPU, then move
    for layer in (layer1, layer2):
        layer.to("cuda")
    params = layer1.parameters() + layer2.parameters()
    opt = fusednn.optim.Adam(params, lr=0.05)
    first = None
    for _ in range(40):
        opt.zero_grad()
        loss = F.cross_entropy(layer2(layer1(x)), Tensor(cupy.asarray(labels)))
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.3 * first


def test_sequential_fit_on_the_gpu_matches_the_accuracy_target():
    pytest.importorskip("sklearn")
    from fusednn.data import load_digits, train_test_split
    from fusednn.models import zoo

    x, y = load_digits(as_images=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, 0.2, seed=0)
    histories = []
    for _ in range(2):
        fusednn.seed(0)
        model = zoo.cnn((1, 8, 8), 10).to("cuda")
        model.compile("adam", "cross_entropy", ["accuracy"], lr=1e-3)
        histories.append(model.fit(x_tr, y_tr, epochs=15, batch_size=64, verbose=0).history)
    assert model.evaluate(x_te, y_te)["accuracy"] >= 0.98
    assert histories[0]["loss"][0] == pytest.approx(histories[1]["loss"][0], rel=1e-5)


@pytest.mark.skipif(not cupy.is_available() or cupy.cuda.runtime.getDeviceCount() < 2,
                    reason="needs two GPUs")
def test_layers_run_on_the_device_of_their_arrays_not_the_current_one():
    """CuPy arrays on GPU 1 while GPU 0 is current: the kernels run on GPU 1 (the kernel front
    reads each array's device) and give the CPU's numbers."""
    x, w, b = rand(8, 12), rand(5, 12), rand(5)
    expected = np.maximum(x @ w.T + b, 0)
    with cupy.cuda.Device(1):
        xs = [Tensor(cupy.asarray(a)) for a in (x, w, b)]
    with cupy.cuda.Device(0):
        y = F.linear(*xs, activation="relu")
        got = y.cpu().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert y.data.device.id == 1


@pytest.mark.skipif(not cupy.is_available() or cupy.cuda.runtime.getDeviceCount() < 2,
                    reason="needs two GPUs")
def test_arrays_on_two_devices_in_one_layer_call_are_refused():
    x = Tensor(cupy.asarray(rand(8, 12)))
    with cupy.cuda.Device(1):
        w = Tensor(cupy.asarray(rand(5, 12)))
    with pytest.raises(ValueError, match="cuda:"):
        F.linear(x, w)


@pytest.mark.parametrize("op", [lambda x: F.max_pool2d(x, 2, ceil_mode=True),
                                lambda x: F.avg_pool2d(x, 3, 2, 1)])
def test_pooling_an_empty_batch(op):
    x = Tensor(cupy.zeros((0, 2, 7, 7), cupy.float32), requires_grad=True)
    y = op(x)
    assert y.shape[:2] == (0, 2) and y.device == "cuda"
    y.sum().backward()
    assert x.grad.shape == x.shape
    cupy.cuda.Device().synchronize()  # the kernels skip an empty grid: no error left behind
