"""torch's max_pool1d and avg_pool1d (kernel, stride, padding, dilation, ceil_mode, indices,
count_include_pad; batched or one sequence) against torch, values and gradients."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import fusednn
import fusednn.nn.functional as F

X = np.random.default_rng(0).standard_normal((2, 3, 11)).astype(np.float32)


def _check(ours, theirs, x=X):
    xt, tt = fusednn.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xt), theirs(tt)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-6)
    r = np.random.default_rng(1).standard_normal(ref.shape).astype(np.float32)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), tt.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("args", [(3,), (3, 2), (3, 2, 1), (2, 2, 0, 1, True), (3, 1, 1, 2)])
def test_max_pool1d(args):
    _check(lambda x: F.max_pool1d(x, *args), lambda x: TF.max_pool1d(x, *args))


@pytest.mark.parametrize("args", [(3,), (3, 2, 1), (3, 2, 1, True, False), (4, 3, 2)])
def test_avg_pool1d(args):
    _check(lambda x: F.avg_pool1d(x, *args), lambda x: TF.avg_pool1d(x, *args))


def test_indices_one_sequence_and_errors():
    _, ours = F.max_pool1d(fusednn.Tensor(X), 3, 2, 1, return_indices=True)
    _, theirs = TF.max_pool1d(torch.tensor(X), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    _check(lambda x: F.max_pool1d(x, 2), lambda x: TF.max_pool1d(x, 2), X[0])
    with pytest.raises(ValueError, match=r"\(N, C, L\) or \(C, L\)"):
        F.max_pool1d(fusednn.Tensor(np.zeros((1, 2, 3, 4), np.float32)), 2)
    with pytest.raises(ValueError, match="1-tuple"):
        F.avg_pool1d(fusednn.Tensor(X), (2, 2))
