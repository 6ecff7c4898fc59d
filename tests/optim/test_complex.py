"""Complex parameters, as torch.optim updates them: each complex64 element as its (re, im)
pair (torch's view_as_real), state kept complex64 (Adagrad's accumulator starting at
init + init·j), against torch's single-tensor path step by step."""
import numpy as np
import pytest

from fusednn import optim
from fusednn.optim import functional as F

torch = pytest.importorskip("torch")

CASES = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
         ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.1, weight_decay=0.01)),
         ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
         ("Adam", dict(lr=0.05, maximize=True)),
         ("AdamW", dict(lr=0.05, weight_decay=0.1)),
         ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9)),
         ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, lr_decay=0.01))]


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_complex_parameters_follow_torch(name, options):
    g = torch.Generator().manual_seed(3)
    start = [torch.randn(4, 3, dtype=torch.complex64, generator=g),
             torch.randn(7, dtype=torch.complex64, generator=g)]
    grads = [[torch.randn(x.shape, dtype=torch.complex64, generator=g) for x in start]
             for _ in range(6)]
    ours = [torch.nn.Parameter(x.clone()) for x in start]
    theirs = [torch.nn.Parameter(x.clone()) for x in start]
    a = getattr(optim, name)(ours, max_grad_norm=None, **options)
    b = getattr(torch.optim, name)(theirs, foreach=False, **options)
    for step_grads in grads:
        for p, q, grad in zip(ours, theirs, step_grads):
            p.grad, q.grad = grad.clone(), grad.clone()
        a.step()
        b.step()
        for p, q in zip(ours, theirs):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=2e-5, atol=2e-6)
    for s in a.state_dict()["state"].values():
        assert all(v.dtype == torch.complex64 for k, v in s.items() if k != "step")


def test_complex_and_real_arrays_are_not_mixed_up():
    p = torch.tensor([1 + 2j], dtype=torch.complex64)
    with pytest.raises(TypeError, match=r"grads\[0\]: is real but params\[0\] is complex64"):
        F.sgd_([p], [torch.ones(1)], lr=0.1)
    with pytest.raises(TypeError, match=r"grads\[0\]: is complex64 but params\[0\] is real"):
        F.sgd_([torch.ones(2)], [torch.ones(1, dtype=torch.complex64)], lr=0.1)
    assert p.item() == 1 + 2j
    numpy_param = np.array([1 + 2j, 3 - 1j], np.complex64)
    optim.SGD([numpy_param], lr=0.1).step(grads=[np.array([0.5 + 0.5j, -1], np.complex64)])
    np.testing.assert_allclose(numpy_param, [0.95 + 1.95j, 3.1 - 1j], rtol=1e-6)


def test_a_lazily_conjugated_view_is_refused_not_read_unconjugated():
    """torch's conj() is a view with a bit set; its memory holds the unconjugated values. Read
    as the memory holds them, the update would take the opposite imaginary part."""
    p = torch.tensor([1 + 2j], dtype=torch.complex64)
    g = torch.tensor([1 + 1j], dtype=torch.complex64).conj()
    assert g.is_conj()
    with pytest.raises(ValueError, match=r"grads\[0\]: is a lazily conjugated view"):
        F.sgd_([p], [g], lr=1.0)
    assert p.item() == 1 + 2j
    F.sgd_([p], [g.resolve_conj()], lr=1.0)
    assert p.item() == 3j
