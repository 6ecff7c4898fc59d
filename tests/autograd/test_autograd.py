"""Tensor autograd: every array op against torch and against finite differences (float64)."""
import numpy as np
import pytest
import torch

import fusednn
from fusednn import Tensor
from tests.nn.against_torch import compare, finite_difference_check, rand

rng = np.random.default_rng(7)

BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / (b * b + 1.0)),
]


@pytest.mark.parametrize("name,op", BINARY)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((5, 1), (1, 6)),
                                    ((1,), (7, 3))])
def test_broadcasting_binary(name, op, shapes):
    a, b = rand(rng, *shapes[0]), rand(rng, *shapes[1])
    compare(op, op, [a, b])
    finite_difference_check(op, [a, b])


UNARY = [
    ("exp", lambda x: x.exp(), lambda t: t.exp()),
    ("log", lambda x: (x * x + 0.5).log(), lambda t: (t * t + 0.5).log()),
    ("sqrt", lambda x: (x * x + 0.5).sqrt(), lambda t: (t * t + 0.5).sqrt()),
    ("pow", lambda x: x ** 3, lambda t: t ** 3),
    ("neg", lambda x: -x, lambda t: -t),
    ("abs", lambda x: x.abs(), lambda t: t.abs()),
    ("sum", lambda x: x.sum(axis=1), lambda t: t.sum(dim=1)),
    ("sum_keep", lambda x: x.sum(axis=0, keepdims=True), lambda t: t.sum(dim=0, keepdim=True)),
    ("mean", lambda x: x.mean(), lambda t: t.mean()),
    ("mean_axis", lambda x: x.mean(axis=-1), lambda t: t.mean(dim=-1)),
    ("reshape", lambda x: x.reshape(4, -1), lambda t: t.reshape(4, -1)),
    ("transpose", lambda x: x.transpose(0, 1), lambda t: t.transpose(0, 1)),
    ("T", lambda x: x.T, lambda t: t.T),
    ("flatten", lambda x: x.flatten(), lambda t: t.flatten()),
    ("getitem", lambda x: x[1:3, ::2], lambda t: t[1:3, ::2]),
    ("softmax", lambda x: x.softmax(dim=1), lambda t: t.softmax(dim=1)),
    ("softmax0", lambda x: x.softmax(dim=0), lambda t: t.softmax(dim=0)),
    ("log_softmax", lambda x: x.log_softmax(dim=-1), lambda t: t.log_softmax(dim=-1)),
]


@pytest.mark.parametrize("name,ours,theirs", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, ours, theirs):
    a = rand(rng, 4, 6)
    compare(ours, theirs, [a])
    finite_difference_check(ours, [a])


@pytest.mark.parametrize("shapes", [((3, 5), (5, 2)), ((5,), (5, 3)), ((3, 5), (5,)),
                                    ((2, 3, 5), (5, 4)), ((2, 3, 5), (2, 5, 4))])
def test_matmul(shapes):
    a, b = rand(rng, *shapes[0]), rand(rng, *shapes[1])
    compare(lambda x, y: x @ y, lambda x, y: x @ y, [a, b])
    finite_difference_check(lambda x, y: x @ y, [a, b])


def test_gradients_accumulate_and_graph_is_freed():
    x = Tensor(rand(rng, 3), requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 5.0))
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()  # retained once: a second pass is allowed


def test_shared_subexpression_gets_both_paths():
    a = rand(rng, 4)
    x = Tensor(a, requires_grad=True)
    h = x * x
    (h + h * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * a, rtol=1e-6)


def test_no_grad_and_detach():
    x = Tensor(rand(rng, 3), requires_grad=True)
    with fusednn.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert not x.detach().requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_custom_function():
    class Cube(fusednn.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    a = rand(rng, 5)
    finite_difference_check(lambda x: Cube.apply(x), [a])


def test_custom_function_wrong_gradient_count():
    class Bad(fusednn.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    x = Tensor(rand(rng, 2), requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 1 gradient"):
        Bad.apply(x, x).sum().backward()


def test_backward_needs_gradient_for_non_scalar():
    x = Tensor(rand(rng, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 2).backward()
    (x * 2).backward(np.ones(3, np.float32))
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


def test_bad_input():
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(ValueError, match="unknown device"):
        Tensor([1.0], device="tpu")
    with pytest.raises(ValueError, match="do not line up"):
        Tensor(rand(rng, 2, 3)) @ Tensor(rand(rng, 4, 2))
    t = Tensor(rand(rng, 2, 3), requires_grad=True)
    with pytest.raises(ValueError, match="grad of shape"):
        t.grad = np.zeros((3, 2), np.float32)


def test_python_numbers_default_to_float32():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(np.zeros(2)).dtype == np.float64  # arrays keep theirs
    assert Tensor(torch.ones(2)).dtype == np.float32


def test_leaf_gradients_never_share_memory():
    a, b = Tensor(rand(rng, 3), requires_grad=True), Tensor(rand(rng, 3), requires_grad=True)
    (a + b).sum().backward()
    a.grad.data[...] = 7.0
    np.testing.assert_array_equal(b.grad.numpy(), 1.0)
    x = Tensor(rand(rng, 3), requires_grad=True)
    (x + x).sum().backward()  # the same gradient array reaches one leaf twice
    np.testing.assert_array_equal(x.grad.numpy(), 2.0)


def test_retained_graph_accumulates_without_corrupting_saved_state():
    from fusednn.nn import functional as F

    logits = Tensor(rand(rng, 4, 5), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 1, 2, 3]))
    loss.backward(retain_graph=True)
    once = logits.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(), 2 * once, rtol=1e-6)


def test_dot_product_of_two_vectors_backpropagates_as_torch():
    """1-D @ 1-D is a 0-d dot product; its backward promotes the gradient to (1, 1)."""
    a, b = np.random.default_rng(3).standard_normal((2, 5)).astype(np.float32)
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = x @ y
    assert out.shape == ()
    out.backward()
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (tx @ ty).backward()
    np.testing.assert_allclose(out.item(), float(a @ b), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-6)


def test_zero_dim_results_and_gradients_stay_host_arrays():
    """numpy answers ops on 0-d arrays with scalars; a Tensor must still hold an array (its
    device is read off the array's type), and a 0-d parameter's gradient with it."""
    p = Tensor(np.array(1.5, np.float32), requires_grad=True)
    x = Tensor(np.arange(3, dtype=np.float32))
    ((x * p) ** 2).sum().backward()
    (p * p).backward()  # a second, 0-d-only graph accumulates into the same gradient
    assert p.grad.device == "cpu" and isinstance(p.grad.numpy(), np.ndarray)
    assert p.grad.item() == pytest.approx(2 * 1.5 * 5 + 2 * 1.5)
    for t in (p.argmax(), p > 1.0, x.argmax(), Tensor(np.float32(2.0)) <= 2.0):
        assert t.device == "cpu" and isinstance(t.numpy(), np.ndarray)
    opt = fusednn.optim.Adam([p], lr=0.1)
    opt.step()  # a 0-d parameter and its gradient through the optimizer's kernel
    assert p.item() == pytest.approx(1.4, rel=1e-6)
