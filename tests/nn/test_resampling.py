"""torch's interpolate (nearest, linear, bilinear with and without align_corners; by size or
scale factor) and adaptive average pooling, against torch in float64 with gradients."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import fusednn
import fusednn.nn.functional as F


def _check(ours, theirs, x):
    rng = np.random.default_rng(0)
    xt, tt = fusednn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xt), theirs(tt)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    r = rng.standard_normal(ref.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-12)


X4 = np.random.default_rng(1).standard_normal((2, 3, 5, 7))
X3 = np.random.default_rng(2).standard_normal((2, 3, 6))


@pytest.mark.parametrize("kwargs", [
    dict(scale_factor=2), dict(scale_factor=(1.5, 0.5)), dict(size=(8, 3)), dict(size=4),
])
def test_nearest(kwargs):
    _check(lambda x: F.interpolate(x, mode="nearest", **kwargs),
           lambda x: TF.interpolate(x, mode="nearest", **kwargs), X4)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(scale_factor=(1.7, 0.6)),
                                    dict(size=(9, 4)), dict(size=(1, 7))])
def test_bilinear(kwargs, align_corners):
    _check(lambda x: F.interpolate(x, mode="bilinear", align_corners=align_corners, **kwargs),
           lambda x: TF.interpolate(x, mode="bilinear", align_corners=align_corners, **kwargs),
           X4)


def test_linear_and_one_dimensional_nearest():
    _check(lambda x: F.interpolate(x, scale_factor=2.5, mode="linear"),
           lambda x: TF.interpolate(x, scale_factor=2.5, mode="linear"), X3)
    _check(lambda x: F.interpolate(x, size=10), lambda x: TF.interpolate(x, size=10), X3)


@pytest.mark.parametrize("size", [1, 3, (2, 7), (4, None), (6, 9)])
def test_adaptive_avg_pool2d(size):
    _check(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size),
           X4)


def test_adaptive_avg_pool1d_and_errors():
    _check(lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: TF.adaptive_avg_pool1d(x, 4), X3)
    x = fusednn.Tensor(X4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="takes inputs of"):
        F.interpolate(fusednn.Tensor(X3), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
