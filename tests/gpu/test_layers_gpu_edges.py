"""The GPU layers at their edges: arrays cuBLASLt sees misaligned, NaN through the fused
bias + ReLU, empty shapes, and two host threads each driving its own stream. Each against the
CPU kernels (or a float64 reference)."""
import threading

import numpy as np
import pytest

from fusednn import Tensor
from fusednn.nn import functional as F
from tests.gpu.test_nn_gpu import rand, run, same_on_both

cupy = pytest.importorskip("cupy")


def _offset_views(*arrays):
    """Each array as a view one float into a larger buffer: 4-byte aligned, not 16 or 256."""
    views = []
    for a in arrays:
        buf = cupy.empty(a.size + 1, np.float32)
        view = buf[1:].reshape(a.shape)
        view[...] = cupy.asarray(a)
        views.append(view)
    return views


@pytest.mark.parametrize("act", [None, "relu", "gelu"])
@pytest.mark.parametrize("batch,n_in,n_out", [(5, 13, 7), (64, 129, 33)])
def test_linear_on_misaligned_arrays_matches_the_cpu(act, batch, n_in, n_out):
    """x, w and the bias 4 bytes past an alignment boundary (as x[1:] of an odd-width batch
    is): cuBLASLt is told, or the plain GEMM takes over; the numbers are the CPU's."""
    x, w, b = rand(batch, n_in), rand(n_out, n_in, scale=0.1), rand(n_out)
    expected = F.linear(Tensor(x), Tensor(w), Tensor(b), activation=act).numpy()
    gx, gw, gb = _offset_views(x, w, b)
    assert gb.data.ptr % 16 != 0
    got = F.linear(Tensor(gx), Tensor(gw), Tensor(gb), activation=act).cpu().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_nan_through_bias_and_relu_stays_nan_as_on_the_cpu():
    x, w, b = rand(6, 8), rand(4, 8), rand(4)
    x[2, 3] = np.nan
    w_eye = np.eye(8, dtype=np.float32)[:4]  # output j reads input j only
    for weights in (w, w_eye):
        cpu = F.linear(Tensor(x), Tensor(weights), Tensor(b), activation="relu").numpy()
        gpu = F.linear(*(Tensor(cupy.asarray(a)) for a in (x, weights, b)),
                       activation="relu").cpu().numpy()
        assert np.isnan(cpu).any()
        np.testing.assert_array_equal(np.isnan(gpu), np.isnan(cpu))
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4)  # NaN == NaN here


def test_empty_linear_shapes_match_the_cpu():
    same_on_both(lambda x, w, b: F.linear(x, w, b, activation="relu"),
                 [rand(0, 5), rand(3, 5), rand(3)])
    same_on_both(lambda x, w, b: F.linear(x, w, b, activation="relu"),
                 [rand(4, 0), rand(3, 0), rand(3)])


@pytest.mark.parametrize("xs,ws,stride,padding", [
    ((2, 3, 7, 6), (4, 1, 1), 2, 1),   # 1x1 with stride and padding: im2col after all
    ((0, 3, 5, 5), (2, 3, 3), 1, 0),   # no samples
    ((2, 3, 5, 5), (0, 3, 3), 1, 1),   # no filters
])
def test_conv_edge_shapes_match_the_cpu(xs, ws, stride, padding):
    same_on_both(lambda x, w, b: F.conv2d(x, w, b, stride, padding, activation="relu"),
                 [rand(*xs), rand(ws[0], xs[1], ws[1], ws[2], scale=0.3), rand(ws[0])])


@pytest.mark.parametrize("act", [None, "relu", "gelu"])
def test_plain_gemm_fallback_matches_the_cublaslt_epilogues(monkeypatch, act):
    """FUSEDNN_CUBLASLT=off forces the plain cuBLAS GEMM with the epilogue pass after it:
    forward and gradients are those of the cuBLASLt bias/BGRADB epilogues, to rounding."""
    arrays = [rand(64, 129), rand(33, 129, scale=0.1), rand(33)]
    fn = lambda x, w, b: F.linear(x, w, b, activation=act)
    fused_out, fused_grads = run(fn, arrays, "cuda")
    monkeypatch.setenv("FUSEDNN_CUBLASLT", "off")
    plain_out, plain_grads = run(fn, arrays, "cuda")
    np.testing.assert_allclose(plain_out, fused_out, rtol=1e-5, atol=1e-5)
    for k, (a, b) in enumerate(zip(plain_grads, fused_grads)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"gradient {k}")


def test_cublaslt_setting_is_checked(monkeypatch):
    monkeypatch.setenv("FUSEDNN_CUBLASLT", "maybe")
    x, w, b = (Tensor(cupy.asarray(a)) for a in (rand(4, 8), rand(3, 8), rand(3)))
    with pytest.raises(ValueError, match="FUSEDNN_CUBLASLT must be auto or off"):
        F.linear(x, w, b)


@pytest.mark.slow
def test_conv_over_several_scratch_chunks_matches_the_cpu():
    """col for 16 samples of 64x128x128 under a 3x3 kernel is 600 MB: the GPU conv lowers it
    in chunks of a few samples (im2col, GEMMs, col2im and the dW partials per chunk)."""
    same_on_both(lambda x, w, b: F.conv2d(x, w, b, 1, 1, activation="relu"),
                 [rand(16, 64, 128, 128), rand(4, 64, 3, 3, scale=0.05), rand(4)])


def test_conv_scratch_comes_from_cupys_pool(cupy_requests):
    """The conv's im2col chunk and dW partials are asked of CuPy's allocator (its pool serves
    them and frees them in stream order), in the sizes conv2d_workspace_bytes gives."""
    from fusednn import _backend
    from fusednn.nn.functional.conv import conv_geometry

    x, w, b = rand(64, 32, 28, 28), rand(64, 32, 3, 3, scale=0.05), rand(64)
    geometry = conv_geometry(x.shape, (3, 3), 1, 1, 1, "test")[0]
    sizes_of = _backend.cuda_module().conv2d_workspace_bytes
    wanted = {sizes_of(geometry, 64, 64, False, False), sizes_of(geometry, 64, 64, True, True)}
    assert min(wanted) > 0
    same_on_both(lambda x, w, b: F.conv2d(x, w, b, 1, 1, activation="relu"), [x, w, b])
    assert wanted <= set(cupy_requests)


def test_conv_workspace_is_checked_before_anything_launches():
    from fusednn import _backend
    from fusednn.nn.functional.conv import conv_geometry

    cuda = _backend.cuda_module()
    x = cupy.asarray(rand(4, 3, 16, 16))
    w = cupy.asarray(rand(8, 3, 3, 3))
    y = cupy.zeros((4, 8, 16, 16), cupy.float32)
    geometry = conv_geometry(x.shape, (3, 3), 1, 1, 1, "test")[0]
    needed = cuda.conv2d_workspace_bytes(geometry, 4, 8, False, False)
    act = cuda.Act.identity
    with pytest.raises(TypeError, match=f"needs {needed} bytes of device scratch"):
        cuda.conv2d_forward(x, w, None, y, None, geometry, act)
    with pytest.raises(ValueError, match=f"{needed - 4} bytes given, this call needs {needed}"):
        cuda.conv2d_forward(x, w, None, y, None, geometry, act,
                            workspace=cupy.empty(needed - 4, cupy.uint8))
    with pytest.raises(ValueError, match="256-byte aligned"):
        cuda.conv2d_forward(x, w, None, y, None, geometry, act,
                            workspace=cupy.empty(needed + 8, cupy.uint8)[4:])
    with pytest.raises(TypeError, match="workspace"):
        cuda.conv2d_forward(x, w, None, y, None, geometry, act,
                            workspace=cupy.empty(needed // 4, cupy.float32))
    assert not y.any()  # refused: nothing ran
    cuda.conv2d_forward(x, w, None, y, None, geometry, act,
                        workspace=cupy.empty(needed, cupy.uint8))
    cupy.cuda.Device().synchronize()
    assert y.any()


def test_two_threads_on_their_own_streams_get_their_own_results():
    """Each thread runs linear and conv 100 times on its own CuPy stream: a shared cuBLAS
    handle or workspace would put one thread's GEMM on the other's stream."""
    shapes = [((32, 48), (40, 48)), ((24, 96), (16, 96))]
    inputs = []
    for (xs, ws), seed in zip(shapes, (1, 2)):
        r = np.random.default_rng(seed)
        x, w = r.standard_normal(xs).astype(np.float32), r.standard_normal(ws).astype(np.float32)
        img = r.standard_normal((4, 3, 10, 10)).astype(np.float32)
        k = r.standard_normal((5, 3, 3, 3)).astype(np.float32)
        expected = (np.maximum(x.astype(np.float64) @ w.T.astype(np.float64), 0),
                    F.conv2d(Tensor(img), Tensor(k), padding=1).numpy())
        inputs.append((x, w, img, k, expected))
    errors = []

    def worker(x, w, img, k, expected):
        try:
            with cupy.cuda.Stream(non_blocking=True):
                gx, gw, gimg, gk = (Tensor(cupy.asarray(a)) for a in (x, w, img, k))
                for _ in range(100):
                    y = F.linear(gx, gw, activation="relu")
                    z = F.conv2d(gimg, gk, padding=1)
                np.testing.assert_allclose(y.cpu().numpy(), expected[0], rtol=1e-4, atol=1e-3)
                np.testing.assert_allclose(z.cpu().numpy(), expected[1], rtol=1e-4, atol=1e-4)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=args) for args in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
