"""Edges of the optimizer route: torch's lerp forms at weight >= 0.5, overlap across param
groups, torch's version counter, refused steps that leave counters alone, bounded saved steps,
and many threads stepping one optimizer."""
import threading

import numpy as np
import pytest

from fusednn import optim
from fusednn.optim import functional as F

torch = pytest.importorskip("torch")


def test_adam_with_beta1_zero_keeps_the_gradient_exactly():
    # (g - m) * 1 + m is not g when m and g differ by orders of magnitude; torch's lerp takes
    # the other form for weights >= 0.5 and gives g.
    p, g = np.ones(4, np.float32), np.full(4, 1e-4, np.float32)
    m, v = np.full(4, 1e4, np.float32), np.zeros(4, np.float32)
    F.adam_(p, g, m, v, step=1, betas=(0.0, 0.999))
    np.testing.assert_array_equal(m, g)


def test_centered_rmsprop_with_alpha_zero_keeps_the_gradient_exactly():
    p, g = np.ones(4, np.float32), np.full(4, 1e-4, np.float32)
    sq, avg = np.zeros(4, np.float32), np.full(4, 1e4, np.float32)
    F.rmsprop_(p, g, sq, grad_avgs=avg, alpha=0.0, centered=True)
    np.testing.assert_array_equal(avg, g)


@pytest.mark.parametrize("name,options", [
    ("Adam", dict(lr=0.01, betas=(0.0, 0.999))),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),
    ("RMSprop", dict(lr=0.01, alpha=0.4, centered=True, momentum=0.5)),
])
def test_lerp_weights_at_or_above_one_half_follow_torch(name, options):
    gen = torch.Generator().manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(257, generator=gen) * 100)]
    theirs = [torch.nn.Parameter(ours[0].detach().clone())]
    o, t = getattr(optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)
    for step in range(30):
        g = torch.randn(257, generator=gen) * (1e-4 if step % 2 else 1e3)
        ours[0].grad, theirs[0].grad = g.clone(), g.clone()
        o.step()
        t.step()
    for key in o.state[ours[0]]:
        if key != "step":
            torch.testing.assert_close(o.state[ours[0]][key], t.state[theirs[0]][key],
                                       rtol=2e-6, atol=0, msg=key)
    torch.testing.assert_close(ours[0].detach(), theirs[0].detach(), rtol=2e-6, atol=1e-6)


def test_parameters_overlapping_across_groups_are_refused_and_nothing_moves():
    buf = np.zeros(10, np.float32)
    a, b = buf[0:6], buf[4:10]
    opt = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="share memory"):
        opt.step(grads=[np.ones(6, np.float32), np.ones(6, np.float32)])
    np.testing.assert_array_equal(buf, 0)


def test_a_step_on_torch_parameters_bumps_their_version_as_torch_optim_does():
    for make in (lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.Adam(ps, lr=0.1)):
        w = torch.nn.Parameter(torch.ones(3))
        opt = make([w])
        y = (w * w).sum()  # saves w for its backward
        w.grad = torch.ones(3)
        opt.step()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_every_route_bumps_the_version_of_what_it_wrote_and_a_skipped_step_none():
    w = torch.ones(3, requires_grad=True)
    p = w.detach()  # shares w's version counter, as torch.optim's in-place ops see it
    before = w._version
    F.sgd_([p], [torch.ones(3)], lr=0.1)
    assert w._version > before
    arena = optim.Arena([torch.nn.Parameter(torch.ones(4)) for _ in range(3)])
    opt = optim.Adam(arena, lr=0.1)
    for q in arena.params:
        q.grad = torch.ones(4)
    versions = [q._version for q in arena.params]
    opt.step()  # one flat call over the arena's buffer: its views see the bump
    assert all(q._version > v for q, v in zip(arena.params, versions))
    before = w._version
    assert not F.sgd_([p], [torch.full((3,), float("nan"))], lr=0.1, nonfinite="skip").applied
    assert w._version == before
    x = np.ones(3, np.float32)  # numpy parameters have no version to bump
    F.sgd_([x], [np.ones(3, np.float32)], lr=0.1)
    np.testing.assert_allclose(x, 0.9)


def test_a_refused_step_leaves_step_counters_and_state_untouched():
    p = np.ones(5, np.float32)
    opt = optim.Adam([p], lr=0.1)
    opt.step(grads=[np.ones(5, np.float32)])
    with pytest.raises(ValueError, match="shape"):
        opt.step(grads=[np.ones(4, np.float32)])
    assert opt.state[p]["step"] == 1
    with pytest.raises(optim.NonFiniteGradError):
        opt.step(grads=[np.full(5, np.nan, np.float32)])
    assert opt.state[p]["step"] == 1
    q = np.ones(5, np.float32)
    fresh = optim.SGD([q], lr=0.1, momentum=0.9)
    with pytest.raises(optim.NonFiniteGradError):
        fresh.step(grads=[np.full(5, np.inf, np.float32)])
    assert q not in fresh.state  # the buffer the refused first step made is gone


@pytest.mark.parametrize("step", [1e300, float("inf"), -1, 2.5, 2 ** 53])
def test_saved_step_counts_must_be_whole_and_bounded(step):
    p = np.ones(3, np.float32)
    opt = optim.Adam([p], lr=0.1)
    opt.step(grads=[np.ones(3, np.float32)])
    sd = opt.state_dict()
    sd["state"][0]["step"] = step
    with pytest.raises(ValueError, match="step"):
        opt.load_state_dict(sd)
    assert opt.state[p]["step"] == 1


def test_object_dtype_saved_state_is_refused():
    p = np.ones(3, np.float32)
    opt = optim.Adam([p], lr=0.1)
    opt.step(grads=[np.ones(3, np.float32)])
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"] = np.array([object(), object(), object()], dtype=object)
    with pytest.raises(TypeError, match="numeric"):
        opt.load_state_dict(sd)


def test_eight_threads_stepping_one_optimizer_take_turns():
    n, steps, threads = 10_000, 25, 8
    p = np.zeros(n, np.float32)
    opt = optim.SGD([p], lr=1.0, nonfinite="ignore")
    g = np.full(n, 1.0, np.float32)

    def work():
        for _ in range(steps):
            opt.step(grads=[g])

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    np.testing.assert_array_equal(p, np.full(n, -float(steps * threads), np.float32))


def test_functional_kernels_on_disjoint_arrays_run_from_many_threads():
    arrays = [(np.zeros(5000, np.float32), np.ones(5000, np.float32)) for _ in range(8)]

    def work(pg):
        for _ in range(20):
            F.sgd_(pg[0], pg[1], lr=0.5, nonfinite="ignore")

    pool = [threading.Thread(target=work, args=(pg,)) for pg in arrays]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    for p, _ in arrays:
        np.testing.assert_array_equal(p, np.full(5000, -10.0, np.float32))


def test_misaligned_arrays_are_refused():
    raw = np.zeros(4 * 9 + 1, np.uint8)
    p = np.ndarray((9,), np.float32, buffer=raw, offset=1)  # writable, 1 byte off
    assert p.flags.writeable and not p.flags.aligned
    with pytest.raises(ValueError, match=r"params\[0\]: is not aligned"):
        F.sgd_([p], [np.ones(9, np.float32)], lr=0.1)
    with pytest.raises(ValueError, match="not aligned"):
        from fusednn import ops
        ops.dropout(p, 0.5, seed=1)
    np.testing.assert_array_equal(raw, 0)
