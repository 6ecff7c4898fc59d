"""torch's normalize, cosine_similarity, one_hot, group_norm and
scaled_dot_product_attention against torch in float64: values and every gradient, with
torch's floors (a zero vector), masks (boolean, additive, causal) and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import fusednn
import fusednn.nn.functional as F


def _check(ours, theirs, arrays, seed=0):
    rng = np.random.default_rng(seed)
    xs = [fusednn.Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    r = rng.standard_normal(ref.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("p,dim", [(2, 1), (1, -1), (3, 0)])
def test_normalize(p, dim):
    x = np.random.default_rng(1).standard_normal((3, 4, 2))
    x[1, :, 0] = 0.0  # a zero vector along dim 1: the floor
    _check(lambda a: F.normalize(a, p, dim), lambda a: TF.normalize(a, p, dim), [x])


def test_cosine_similarity():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    a[1], b[2] = 0.0, 1e-9  # a zero vector, and one shorter than eps
    _check(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y),
           [a, b])
    _check(lambda x, y: F.cosine_similarity(x, y, dim=0),
           lambda x, y: TF.cosine_similarity(x, y, dim=0), [a, b])


@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((2, 4, 3, 3), 2), ((3, 4), 4)])
def test_group_norm(shape, groups):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal(shape), rng.standard_normal(shape[1]), rng.standard_normal(
        shape[1])
    _check(lambda x, w, b: F.group_norm(x, groups, w, b),
           lambda x, w, b: TF.group_norm(x, groups, w, b), [x, w, b])


@pytest.mark.parametrize("mask", [None, "bool", "float", "causal"])
def test_scaled_dot_product_attention(mask):
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)))
    kwargs = {}
    if mask == "bool":
        m = rng.random((4, 6)) > 0.3
        m[:, 0] = True
        kwargs["attn_mask"] = m
    elif mask == "float":
        kwargs["attn_mask"] = rng.standard_normal((4, 6))
    elif mask == "causal":
        kwargs["is_causal"] = True
    theirs = dict(kwargs)
    if "attn_mask" in theirs:
        theirs["attn_mask"] = torch.tensor(theirs["attn_mask"])
    _check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, **kwargs),
           lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, **theirs), [q, k, v])
    _check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, scale=0.3, **kwargs),
           lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, scale=0.3, **theirs),
           [q, k, v])


def test_one_hot_and_errors():
    idx = np.array([[0, 2], [1, 3]])
    np.testing.assert_array_equal(F.one_hot(fusednn.Tensor(idx)).numpy(),
                                  TF.one_hot(torch.tensor(idx)).numpy())
    np.testing.assert_array_equal(F.one_hot(idx, 6).numpy(),
                                  TF.one_hot(torch.tensor(idx), 6).numpy())
    with pytest.raises(ValueError, match="out of range"):
        F.one_hot(idx, 3)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(np.array([-1]))
    with pytest.raises(ValueError, match="num_groups=4"):
        F.group_norm(fusednn.Tensor(np.ones((2, 6))), 4)
    with pytest.raises(ValueError, match="not both"):
        q = fusednn.Tensor(np.ones((1, 2, 3)))
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((2, 2), bool), is_causal=True)
