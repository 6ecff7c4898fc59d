"""Nothing is remembered about an array between steps: a parameter re-pointed, a gradient
replaced, a buffer resized or moved is read as it is at the next step, which then gives
torch.optim's answer or a clear error — never an update through a stale address."""
import numpy as np
import pytest

from fusednn import optim

torch = pytest.importorskip("torch")


def _pair(shapes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ours = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    return ours, theirs


def _set_grads(params, seed):
    gen = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)


def test_a_transposed_parameter_is_refused_not_updated_in_the_old_layout():
    ours, _ = _pair([(4, 4)])
    opt = optim.Adam(ours, lr=0.1)
    _set_grads(ours, 1)
    opt.step()
    ours[0].data = ours[0].data.t()  # same storage, same size, now a strided view
    _set_grads(ours, 2)
    before = ours[0].detach().clone()
    with pytest.raises(ValueError, match=r"params\[0\]: must be contiguous"):
        opt.step()
    assert torch.equal(ours[0].detach(), before)


def test_a_parameter_re_pointed_to_new_storage_of_the_same_size_follows_torch():
    ours, theirs = _pair([(4, 4)])
    o, t = optim.Adam(ours, lr=0.1), torch.optim.Adam(theirs, lr=0.1)
    for step in range(1, 5):
        if step == 3:
            for p in (ours[0], theirs[0]):
                p.data = p.data.t().contiguous()
        _set_grads(ours, step)
        _set_grads(theirs, step)
        o.step()
        t.step()
    torch.testing.assert_close(ours[0].detach(), theirs[0].detach(), rtol=1e-6, atol=1e-7)


def test_a_gradient_replaced_inside_an_arena_is_the_one_used():
    ours, theirs = _pair([(5,), (3, 2)])
    arena = optim.Arena(ours)
    o, t = optim.Adam(arena, lr=0.05), torch.optim.Adam(theirs, lr=0.05)
    for step in range(1, 5):
        _set_grads(theirs, step)
        for p, q in zip(ours, theirs):
            if step >= 3:
                p.grad.data = q.grad.clone()  # the arena's view is replaced by a new tensor
            else:
                p.grad.copy_(q.grad)
        o.step()
        t.step()
        for p, q in zip(ours, theirs):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-6, atol=1e-7)


def test_a_resized_arena_gradient_buffer_is_read_where_it_now_lives():
    ours, theirs = _pair([(5,), (3, 2)])
    arena = optim.Arena(ours)
    o, t = optim.SGD(arena, lr=0.1, momentum=0.9), torch.optim.SGD(theirs, lr=0.1, momentum=0.9)
    for step in range(1, 4):
        if step == 2:
            arena.grad_buffer.resize_(1 << 20)  # reallocates the storage the views share
        _set_grads(theirs, step)
        for p, q in zip(ours, theirs):
            p.grad.copy_(q.grad)
        o.step()
        t.step()
        for p, q in zip(ours, theirs):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-6, atol=1e-7)


def test_a_resized_numpy_arena_buffer_is_refused_not_read_after_free():
    arena = optim.Arena([np.ones(6, np.float32), np.ones(4, np.float32)])
    opt = optim.Adam(arena, lr=0.1)
    for g in arena.grads:
        g[...] = 0.5
    opt.step()
    arena.param_buffer.resize(4096, refcheck=False)  # the views now point at freed memory
    with pytest.raises(ValueError, match=r"params\[0\]: is a view outside its base array"):
        opt.step()


def test_a_resized_numpy_parameter_is_refused():
    p = np.ones(8, np.float32)
    opt = optim.Adam([p], lr=0.1)
    opt.step(grads=[np.full(8, 0.5, np.float32)])
    p.resize(4096, refcheck=False)
    with pytest.raises(ValueError, match=r"exp_avgs\[0\]: shape \(8,\) does not match"):
        opt.step(grads=[np.full(4096, 0.5, np.float32)])


def test_state_replaced_by_hand_is_read_as_it_is():
    p = np.ones(6, np.float32)
    opt = optim.Adam([p], lr=0.1)
    opt.step(grads=[np.full(6, 0.5, np.float32)])
    state = opt.state[p]
    state["exp_avg"] = np.zeros(6, np.float32)
    state["exp_avg_sq"] = np.zeros(6, np.float32)
    q = np.ones(6, np.float32)
    ref = optim.Adam([q], lr=0.1)
    ref.step(grads=[np.full(6, 0.5, np.float32)])
    ref.state[q]["exp_avg"][...] = 0
    ref.state[q]["exp_avg_sq"][...] = 0
    opt.step(grads=[np.full(6, 0.25, np.float32)])
    ref.step(grads=[np.full(6, 0.25, np.float32)])
    np.testing.assert_array_equal(p, q)


def test_a_hyperparameter_assigned_between_steps_is_validated_at_the_next_step():
    p = np.ones(3, np.float32)
    opt = optim.SGD([p], lr=0.1)
    opt.param_groups[0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.step(grads=[np.ones(3, np.float32)])
    np.testing.assert_array_equal(p, np.ones(3, np.float32))
    opt.param_groups[0].update(lr=0.5)
    opt.step(grads=[np.ones(3, np.float32)])
    np.testing.assert_allclose(p, 0.5)


def test_a_tensor_lr_changed_in_place_is_read_at_each_step():
    p = torch.nn.Parameter(torch.ones(3))
    lr = torch.tensor(0.1)
    opt = optim.SGD([p], lr=lr)
    p.grad = torch.ones(3)
    opt.step()
    lr.mul_(10)  # torch reads the tensor's value at every step
    opt.step()
    torch.testing.assert_close(p.detach(), torch.full((3,), 1 - 0.1 - 1.0))
