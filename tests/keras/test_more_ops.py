"""More of keras.ops: each differentiable one against torch in float64 (values and the
gradient of sum(out * r)), the constants and the no-gradient ones against numpy."""
import numpy as np
import pytest

from fusednn import Tensor
from fusednn.keras import ops

torch = pytest.importorskip("torch")
rng = np.random.default_rng(13)
X = (rng.standard_normal((3, 4)) * 0.8).astype(np.float32)
Y = (rng.standard_normal((3, 4)) * 0.8).astype(np.float32)
ROW = (rng.standard_normal((1, 4))).astype(np.float32)


CASES = [
    ("maximum", lambda a, b: ops.maximum(a, b), torch.maximum, (X, Y)),
    ("minimum broadcast", lambda a, b: ops.minimum(a, b), torch.minimum, (X, ROW)),
    ("where", lambda a, b: ops.where(X > 0, a, b), lambda a, b: torch.where(
        torch.tensor(X > 0), a, b), (X, ROW)),
    ("min", lambda a: ops.min(a, axis=1), lambda a: a.amin(dim=1), (X,)),
    ("var", lambda a: ops.var(a, axis=0), lambda a: a.var(dim=0, unbiased=False), (X,)),
    ("std", lambda a: ops.std(a, axis=1, keepdims=True),
     lambda a: a.std(dim=1, unbiased=False, keepdim=True), (X,)),
    ("logsumexp", lambda a: ops.logsumexp(a, axis=-1), lambda a: torch.logsumexp(a, -1), (X,)),
    ("logsumexp all", lambda a: ops.logsumexp(a), lambda a: torch.logsumexp(a.reshape(-1), 0),
     (X,)),
    ("norm", lambda a: ops.norm(a), lambda a: torch.linalg.norm(a), (X,)),
    ("norm 1", lambda a: ops.norm(a, ord=1, axis=1), lambda a: a.abs().sum(1), (X,)),
    ("log1p", lambda a: ops.log1p(a * a), lambda a: torch.log1p(a * a), (X,)),
    ("expm1", ops.expm1, torch.expm1, (X,)),
    ("sin", ops.sin, torch.sin, (X,)),
    ("cos", ops.cos, torch.cos, (X,)),
    ("stack", lambda a, b: ops.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], 1),
     (X, Y)),
    ("moveaxis", lambda a: ops.moveaxis(ops.reshape(a, (3, 2, 2)), 0, -1),
     lambda a: torch.movedim(a.reshape(3, 2, 2), 0, -1), (X,)),
    ("swapaxes", lambda a: ops.swapaxes(a, 0, 1), lambda a: a.transpose(0, 1), (X,)),
    ("broadcast_to", lambda a: ops.broadcast_to(a, (2, 3, 4)),
     lambda a: a.broadcast_to((2, 3, 4)), (X,)),
    ("flip", lambda a: ops.flip(a, axis=1), lambda a: torch.flip(a, (1,)), (X,)),
    ("split", lambda a: ops.split(a, [1, 3], axis=1)[1], lambda a: a[:, 1:3], (X,)),
    ("leaky_relu", ops.leaky_relu, lambda a: torch.nn.functional.leaky_relu(a, 0.2), (X,)),
    ("gelu tanh", ops.gelu, lambda a: torch.nn.functional.gelu(a, approximate="tanh"), (X,)),
    ("elu", ops.elu, torch.nn.functional.elu, (X,)),
    ("selu", ops.selu, torch.nn.functional.selu, (X,)),
    ("silu", ops.silu, torch.nn.functional.silu, (X,)),
    ("softplus", ops.softplus, torch.nn.functional.softplus, (X,)),
]


@pytest.mark.parametrize("name,ours,theirs,arrays", CASES, ids=[c[0] for c in CASES])
def test_differentiable_ops_match_torch(name, ours, theirs, arrays):
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    out = ours(*xs)
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    ref = theirs(*ts)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=2e-5, atol=1e-6)
    r = rng.standard_normal(ref.shape)
    (out * Tensor(r.astype(np.float32))).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_sign_has_a_zero_gradient_and_constants_have_none():
    x = Tensor(X, requires_grad=True)
    (ops.sign(x) * 3).sum().backward()
    assert (x.grad.numpy() == 0).all()
    np.testing.assert_array_equal(ops.sign(X).numpy(), np.sign(X))
    assert ops.ones_like(X).numpy().sum() == 12 and ops.zeros_like(X).numpy().sum() == 0
    np.testing.assert_array_equal(ops.full((2, 2), 7).numpy(), np.full((2, 2), 7.0))
    np.testing.assert_array_equal(ops.eye(3, k=1).numpy(), np.eye(3, k=1))
    np.testing.assert_array_equal(ops.arange(2, 8, 3).numpy(), [2, 5])
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), 3).numpy(),
                                  [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), 3, axis=0).numpy(),
                                  [[0, 1], [0, 0], [1, 0]])
    z = np.array([1.0, np.nan, np.inf], np.float32)
    np.testing.assert_array_equal(ops.isnan(z).numpy(), [False, True, False])
    np.testing.assert_array_equal(ops.isinf(z).numpy(), [False, False, True])
    assert bool(ops.any(X > 0).numpy()) and not bool(ops.all(X > 5).numpy())
    np.testing.assert_array_equal(ops.argsort(X, axis=1).numpy(), np.argsort(X, axis=1))
    with pytest.raises(ValueError, match="does not divide"):
        ops.split(X, 3, axis=1)
    with pytest.raises(NotImplementedError, match="ord=3"):
        ops.norm(X, ord=3)


EINSUMS = [("ij,jk->ik", [(3, 4), (4, 5)]), ("bqd,bkd->bqk", [(2, 3, 4), (2, 5, 4)]),
           ("i,j->ij", [(3,), (4,)]), ("ij->i", [(3, 4)]), ("ij->ji", [(3, 4)]),
           ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("ij,ij->", [(3, 4), (3, 4)]),
           ("ij,jk", [(3, 4), (4, 2)]), ("bhqk,bhkd->bhqd", [(2, 2, 3, 4), (2, 2, 4, 5)]),
           ("ijk->k", [(2, 3, 4)]), ("ij,k->ik", [(2, 3), (4,)])]


@pytest.mark.parametrize("subscripts,shapes", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum_and_its_gradients_against_torch(subscripts, shapes):
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    out = ops.einsum(subscripts, *xs)
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    ref = torch.einsum(subscripts, *ts)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=2e-5, atol=1e-5)
    r = rng.standard_normal(tuple(ref.shape))
    (out * Tensor(r.astype(np.float32))).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("subscripts,operands,error,match", [
    ("...ij,...jk->...ik", (X, Y.T), NotImplementedError, "ellipses"),
    ("ii->i", (X[:, :3],), NotImplementedError, "repeats an index"),
    ("ij,jk->iz", (X, Y.T), ValueError, "not among the operands"),
    ("i1->i", (X,), ValueError, "letters"),
    ("ij,jk->ik", (X,), ValueError, "names 2 operands, got 1"),
    ("ijk,jk->ik", (X, Y.T), ValueError, "names 3 axes")])
def test_einsum_refuses_what_it_does_not_take(subscripts, operands, error, match):
    with pytest.raises(error, match=match):
        ops.einsum(subscripts, *operands)
