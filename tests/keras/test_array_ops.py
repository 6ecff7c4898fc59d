"""keras.ops's element-wise math, rearrangements, cumulative sums, products, tensor products
and nn functions: each against torch in float64 (values and the gradient of sum(out * r)),
the rest against numpy and Keras's formulas."""
import numpy as np
import pytest

from fusednn import Tensor
from fusednn.keras import ops

torch = pytest.importorskip("torch")
rng = np.random.default_rng(21)
X = rng.standard_normal((3, 5))
Y = rng.standard_normal((3, 5))
UNIT = rng.uniform(-0.9, 0.9, (3, 5))
POS = rng.uniform(1.2, 3.0, (3, 5))
CUBE = rng.standard_normal((2, 3, 4))
SQUARE = rng.standard_normal((4, 4))
ZEROS_IN = X.copy()
ZEROS_IN[1, 2] = ZEROS_IN[2, 0] = ZEROS_IN[2, 4] = 0.0  # a product's gradient at zeros
INDEX = np.array([[2, 0, 1], [4, 4, 0], [1, 3, 3]])
TIES = np.array([[3.0, 1.0, 3.0, 2.0, 3.0], [0.5, -1.0, 0.5, 7.0, 0.0], [1, 1, 1, 1, 1.0]])


CASES = [
    ("erf", ops.erf, torch.erf, (X,)),
    ("tan", ops.tan, torch.tan, (UNIT,)),
    ("arctan", ops.arctan, torch.arctan, (X,)),
    ("arcsin", ops.arcsin, torch.arcsin, (UNIT,)),
    ("arccos", ops.arccos, torch.arccos, (UNIT,)),
    ("sinh", ops.sinh, torch.sinh, (X,)),
    ("cosh", ops.cosh, torch.cosh, (X,)),
    ("arcsinh", ops.arcsinh, torch.arcsinh, (X,)),
    ("arccosh", ops.arccosh, torch.arccosh, (POS,)),
    ("arctanh", ops.arctanh, torch.arctanh, (UNIT,)),
    ("log2", ops.log2, torch.log2, (POS,)),
    ("log10", ops.log10, torch.log10, (POS,)),
    ("reciprocal", ops.reciprocal, torch.reciprocal, (POS,)),
    ("rsqrt", ops.rsqrt, torch.rsqrt, (POS,)),
    ("cumsum", lambda a: ops.cumsum(a, axis=1), lambda a: a.cumsum(1), (X,)),
    ("cumsum flat", ops.cumsum, lambda a: a.reshape(-1).cumsum(0), (CUBE,)),
    ("prod", lambda a: ops.prod(a, axis=1), lambda a: a.prod(1), (ZEROS_IN,)),
    ("prod all", ops.prod, torch.prod, (X,)),
    ("prod axes keepdims", lambda a: ops.prod(a, axis=(0, 2), keepdims=True),
     lambda a: a.prod(2, keepdim=True).prod(0, keepdim=True), (CUBE,)),
    ("take", lambda a: ops.take(a, np.array([4, -1, 0, 2]), axis=1),
     lambda a: a[:, [4, -1, 0, 2]], (X,)),
    ("take flat", lambda a: ops.take(a, np.array([[0, 7], [14, 7]])),
     lambda a: a.reshape(-1)[torch.tensor([[0, 7], [14, 7]])], (X,)),
    ("take_along_axis", lambda a: ops.take_along_axis(a, INDEX, axis=1),
     lambda a: torch.take_along_dim(a, torch.tensor(INDEX), 1), (X,)),
    ("tile", lambda a: ops.tile(a, (2, 1, 3)), lambda a: a.tile((2, 1, 3)), (X,)),
    ("repeat", lambda a: ops.repeat(a, 2, axis=0), lambda a: a.repeat_interleave(2, 0), (X,)),
    ("repeat counts", lambda a: ops.repeat(a, [1, 0, 3], axis=0),
     lambda a: a.repeat_interleave(torch.tensor([1, 0, 3]), 0), (X,)),
    ("repeat flat", lambda a: ops.repeat(a, 2), lambda a: a.reshape(-1).repeat_interleave(2),
     (X,)),
    ("roll", lambda a: ops.roll(a, 2, axis=1), lambda a: a.roll(2, 1), (X,)),
    ("sort", lambda a: ops.sort(a, axis=0), lambda a: a.sort(0).values, (X,)),
    ("top_k", lambda a: ops.top_k(a, 3)[0], lambda a: a.topk(3).values, (X,)),
    ("diagonal", lambda a: ops.diagonal(a, 1), lambda a: a.diagonal(1), (SQUARE,)),
    ("diag of a vector", lambda a: ops.diag(a[0], -1), lambda a: torch.diag(a[0], -1), (X,)),
    ("trace", ops.trace, torch.trace, (SQUARE,)),
    ("tril", lambda a: ops.tril(a, -1), lambda a: a.tril(-1), (CUBE,)),
    ("triu", lambda a: ops.triu(a, 1), lambda a: a.triu(1), (X,)),
    ("tensordot", lambda a, b: ops.tensordot(a, b, axes=([1, 2], [0, 1])),
     lambda a, b: torch.tensordot(a, b, dims=([1, 2], [0, 1])),
     (CUBE, rng.standard_normal((3, 4, 5)))),
    ("tensordot int", lambda a, b: ops.tensordot(a, b, axes=1),
     lambda a, b: torch.tensordot(a, b, dims=1), (X, rng.standard_normal((5, 2)))),
    ("dot matrices", ops.dot, torch.matmul, (X, rng.standard_normal((5, 2)))),
    ("dot N-D", ops.dot, lambda a, b: torch.tensordot(a, b, dims=([2], [1])),
     (CUBE, rng.standard_normal((5, 4, 2)))),
    ("dot vector", lambda a, b: ops.dot(a, b[0]), lambda a, b: a @ b[0], (X, Y)),
    ("outer", ops.outer, lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)), (X, Y)),
    ("average", lambda a, b: ops.average(a, axis=1, weights=b[0] ** 2),
     lambda a, b: (a * b[0] ** 2).sum(1) / (b[0] ** 2).sum(), (X, Y)),
    ("pad", lambda a: ops.pad(a, ((1, 0), (2, 3)), constant_values=1.5),
     lambda a: torch.nn.functional.pad(a, (2, 3, 1, 0), value=1.5), (X,)),
    ("normalize", lambda a: ops.normalize(a, axis=-1),
     lambda a: torch.nn.functional.normalize(a, dim=-1, eps=1e-7), (X,)),
    ("normalize 1", lambda a: ops.normalize(a, axis=0, order=1),
     lambda a: torch.nn.functional.normalize(a, p=1, dim=0, eps=1e-7), (X,)),
    ("moments mean", lambda a: ops.moments(a, axes=[0, 2])[0], lambda a: a.mean((0, 2)),
     (CUBE,)),
    ("moments variance", lambda a: ops.moments(a, axes=[0, 2])[1],
     lambda a: a.var((0, 2), unbiased=False), (CUBE,)),
    ("relu6", lambda a: ops.relu6(a * 5), lambda a: torch.nn.functional.relu6(a * 5), (X,)),
    # torch's hardsigmoid and hardswish backward use 1/6 as a float32 even in float64:
    # their formulas in torch's float64 arithmetic are the reference
    ("hard_sigmoid", lambda a: ops.hard_sigmoid(a * 4), lambda a: (a * 4 + 3).clamp(0, 6) / 6,
     (X,)),
    ("hard_silu", lambda a: ops.hard_silu(a * 4),
     lambda a: a * 4 * (a * 4 + 3).clamp(0, 6) / 6, (X,)),
    ("softsign", ops.softsign, torch.nn.functional.softsign, (X,)),
    ("log_sigmoid", ops.log_sigmoid, torch.nn.functional.logsigmoid, (X,)),
]


@pytest.mark.parametrize("name,ours,theirs,arrays", CASES, ids=[c[0] for c in CASES])
def test_ops_match_torch_with_gradients(name, ours, theirs, arrays):
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    out = ours(*xs)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref = theirs(*ts)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    r = rng.standard_normal(ref.shape)
    (out * Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad is not None, f"{name}: operand {i} got no gradient"
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}: gradient of operand {i}")


def test_top_k_takes_the_earlier_of_equal_values_and_gives_int32_indices():
    values, indices = ops.top_k(Tensor(TIES), 3)
    np.testing.assert_array_equal(indices.numpy(), [[0, 2, 4], [3, 0, 2], [0, 1, 2]])
    assert indices.dtype == np.int32
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(TIES, indices.numpy(), 1))
    with pytest.raises(ValueError, match="k=6"):
        ops.top_k(Tensor(TIES), 6)


def test_a_gathered_element_taken_twice_gets_both_gradients():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    ops.sum(ops.take(x, np.array([0, 0, 2, 0]))).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_triangles_and_diagonals_take_zeros_not_products():
    x = np.array([[1.0, np.inf], [np.nan, 2.0]])
    np.testing.assert_array_equal(ops.tril(Tensor(x)).numpy(), [[1.0, 0.0], [np.nan, 2.0]])
    np.testing.assert_array_equal(ops.triu(Tensor(x)).numpy(), [[1.0, np.inf], [0.0, 2.0]])
    v = np.array([np.inf, 1.0])
    np.testing.assert_array_equal(ops.diag(Tensor(v)).numpy(), np.diag(v))


def test_numpy_semantics_without_gradients():
    a, b = np.array([7.0, -7.0, 7.5, -0.5]), np.array([2.0, 2.0, -2.0, 3.0])
    np.testing.assert_array_equal(ops.floor_divide(a, b).numpy(), np.floor_divide(a, b))
    np.testing.assert_array_equal(ops.mod(a, b).numpy(), np.mod(a, b))
    np.testing.assert_allclose(ops.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    values, step = ops.linspace(2, 3, 4, endpoint=False, retstep=True)
    np.testing.assert_allclose(values.numpy(), np.linspace(2, 3, 4, endpoint=False))
    assert step == 0.25
    np.testing.assert_array_equal(ops.full_like(X, 2.5).numpy(), np.full(X.shape, 2.5))
    assert ops.ndim(CUBE) == 3 and ops.size(CUBE) == 24
    np.testing.assert_allclose(ops.average(X).numpy(), X.mean(), rtol=1e-6)


def test_keras_cross_entropy_ops_follow_kerass_formulas():
    eps = 1e-7
    p = rng.uniform(0.0, 1.0, (4, 3))
    t = (rng.uniform(size=(4, 3)) > 0.5).astype(np.float64)
    clipped = np.clip(p, eps, 1 - eps)
    want = -(t * np.log(clipped) + (1 - t) * np.log(1 - clipped))  # of each element
    np.testing.assert_allclose(ops.binary_crossentropy(t, Tensor(p)).numpy(), want,
                               rtol=1e-12)
    logits = rng.standard_normal((4, 3))
    np.testing.assert_allclose(
        ops.binary_crossentropy(t, Tensor(logits), from_logits=True).numpy(),
        torch.nn.functional.binary_cross_entropy_with_logits(
            torch.tensor(logits), torch.tensor(t), reduction="none").numpy(), rtol=1e-12)
    q = rng.dirichlet(np.ones(3), size=4)
    rows = np.clip(p / p.sum(-1, keepdims=True), eps, 1 - eps)
    np.testing.assert_allclose(ops.categorical_crossentropy(q, Tensor(p)).numpy(),
                               -(q * np.log(rows)).sum(-1), rtol=1e-12)
    labels = np.array([2, 0, 1, 1])
    np.testing.assert_allclose(
        ops.sparse_categorical_crossentropy(labels, Tensor(logits), from_logits=True).numpy(),
        torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels),
                                          reduction="none").numpy(), rtol=1e-12)


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ops.take(Tensor(X), np.array([5]), axis=1)
    with pytest.raises(TypeError, match="integers"):
        ops.take(Tensor(X), np.array([0.5]))
    with pytest.raises(ValueError, match="summed axes"):
        ops.tensordot(Tensor(X), Tensor(X), axes=1)
    with pytest.raises(ValueError, match="2 or more axes"):
        ops.tril(Tensor(X[0]))
    with pytest.raises(NotImplementedError, match="constant"):
        ops.pad(Tensor(X), 1, mode="reflect")
    with pytest.raises(ValueError, match="weights of shape"):
        ops.average(Tensor(X), axis=0, weights=np.ones(5))
