"""The one-pass 2x2 stride-2 pooling kernels (pool_kernels.h) on both CPU paths: bit-identical
to a numpy reference built from the definition (taps in order, torch's rule that a larger
value or the first NaN takes a window), and equal to torch, forward and backward, on widths
that exercise full vectors and every masked tail, odd heights and widths, ties and NaNs; every
element of the input gradient written."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fusednn import Tensor, _backend  # noqa: E402
from fusednn.nn import functional as F  # noqa: E402
from fusednn.nn.functional.pooling import _pool_geometry  # noqa: E402

PATHS = ["scalar"] + (["avx2"] if _backend.cpu_module().cpu_features()["avx2"] else [])
CPU = _backend.cpu_module()
SHAPES = [(2, 3, 2, 2), (1, 2, 5, 7), (3, 1, 26, 26), (2, 2, 11, 33), (1, 1, 4, 48),
          (1, 3, 9, 17)]


def general(x, kind, grad):
    """(y, dx, argmax) of 2x2 stride-2 pooling from the definition: max with torch's tie and
    NaN rules (the first of equal maxima, the first NaN), or the mean of the taps summed in
    row order; the gradient to the chosen tap or a quarter to each."""
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    taps = np.stack([x[:, :, 0:2 * oh:2, 0:2 * ow:2], x[:, :, 0:2 * oh:2, 1:2 * ow:2],
                     x[:, :, 1:2 * oh:2, 0:2 * ow:2], x[:, :, 1:2 * oh:2, 1:2 * ow:2]])
    offsets = [0, 1, w, w + 1]
    base = (2 * np.arange(oh)[:, None] * w + 2 * np.arange(ow)[None, :])
    dx = np.zeros_like(x)
    if kind == "avg":
        y = (((taps[0] + taps[1]) + taps[2]) + taps[3]) * np.float32(0.25)
        share = grad * np.float32(0.25)
        for k, (dh, dw) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            dx[:, :, dh:2 * oh:2, dw:2 * ow:2] = share
        return y, dx, None
    best, at = taps[0].copy(), np.zeros(taps[0].shape, np.int64)
    for k in range(1, 4):
        take = (taps[k] > best) | (np.isnan(taps[k]) & ~np.isnan(best))
        best = np.where(take, taps[k], best)
        at = np.where(take, k, at)
    flat = base[None, None] + np.asarray(offsets)[at]
    for k, (dh, dw) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        dx[:, :, dh:2 * oh:2, dw:2 * ow:2] = np.where(at == k, grad, 0.0)
    return best, dx, flat.astype(np.int32)


def data(rng, shape, special):
    x = rng.standard_normal(shape).astype(np.float32)
    if special:  # ties (a window of equal values), NaNs, infinities
        x[..., ::3, ::2] = np.round(x[..., ::3, ::2])
        x.reshape(-1)[::7] = 1.0
        x.reshape(-1)[5::11] = np.nan
        x.reshape(-1)[3::13] = -np.inf
    return x


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("special", [False, True])
def test_max_pool_2x2_matches_the_reference_and_torch(path, shape, special):
    rng = np.random.default_rng(sum(shape))
    x = data(rng, shape, special)
    n, c, h, w = shape
    grad = rng.standard_normal((n, c, h // 2, w // 2)).astype(np.float32)
    ref_y, ref_dx, ref_at = general(x, "max", grad)
    g = _pool_geometry(shape, 2, None, 0, 1, "t")
    y = np.empty(grad.shape, np.float32)
    at = np.empty(grad.shape, np.int32)
    dx = np.full(shape, 7.0, np.float32)  # every element must be written
    with _backend.kernel_path_set_to(path):
        CPU.max_pool2d_forward(x, y, at, g)
        CPU.max_pool2d_backward(grad, at, dx, g)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(at, ref_at)
    np.testing.assert_array_equal(dx, ref_dx)
    if not special:  # torch picks among tied maxima by its own order
        t = torch.tensor(x, requires_grad=True)
        out = torch.nn.functional.max_pool2d(t, 2)
        out.backward(torch.tensor(grad))
        np.testing.assert_array_equal(y, out.detach().numpy())
        np.testing.assert_array_equal(dx, t.grad.numpy())


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shape", SHAPES)
def test_avg_pool_2x2_matches_the_reference_and_torch(path, shape):
    rng = np.random.default_rng(sum(shape) + 1)
    x = data(rng, shape, False)
    n, c, h, w = shape
    grad = rng.standard_normal((n, c, h // 2, w // 2)).astype(np.float32)
    ref_y, ref_dx, _ = general(x, "avg", grad)
    g = _pool_geometry(shape, 2, None, 0, 1, "t")
    for count_include_pad in (True, False):
        y = np.empty(grad.shape, np.float32)
        dx = np.full(shape, 7.0, np.float32)
        with _backend.kernel_path_set_to(path):
            CPU.avg_pool2d_forward(x, y, g, count_include_pad)
            CPU.avg_pool2d_backward(grad, dx, g, count_include_pad)
        np.testing.assert_array_equal(y, ref_y)
        np.testing.assert_array_equal(dx, ref_dx)
    t = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.avg_pool2d(t, 2)
    out.backward(torch.tensor(grad))
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, t.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_the_layer_takes_the_one_pass_kernels_and_gradients_flow():
    """Through autograd: MaxPool2d's output and input gradient equal the reference's."""
    rng = np.random.default_rng(3)
    x = data(rng, (2, 3, 13, 15), True)
    grad = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
    ref_y, ref_dx, _ = general(x, "max", grad)
    t = Tensor(x, requires_grad=True)
    out = F.max_pool2d(t, 2)
    out.backward(grad)
    np.testing.assert_array_equal(out.numpy(), ref_y)
    np.testing.assert_array_equal(t.grad.numpy(), ref_dx)


@pytest.mark.parametrize("k,stride", [(2, 2), (3, 1)])
def test_an_argmax_outside_the_plane_sends_nothing(k, stride):
    """The raw backward handed indices from elsewhere (out of the plane, or not in the window)
    writes only inside dx: the one-pass and the general kernels alike."""
    x_shape = (1, 2, 6, 6)
    g = _pool_geometry(x_shape, k, stride, 0, 1, "t")
    out = (1, 2, g.out_h, g.out_w)
    dy = np.ones(out, np.float32)
    argmax = np.full(out, 2 ** 30, np.int32)
    argmax[0, 0, 0, 0] = 0  # one valid index: the top-left of its window
    dx = np.full(x_shape, 7.0, np.float32)
    CPU.max_pool2d_backward(dy, argmax, dx, g)
    assert dx[0, 0, 0, 0] == 1.0
    assert dx.sum() == 1.0
