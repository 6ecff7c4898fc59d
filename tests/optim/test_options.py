"""The options fusednn adds to torch.optim's (L1, fused global-norm clipping, non-finite
handling), the two layouts (arena and tensor list), param groups and partial gradients."""

import numpy as np
import pytest

from fusednn import optim
from fusednn.optim import functional as F

from . import reference
from .against_torch import (assert_sgd_after_a_skipped_first_step_matches_torch,
                            set_torch_grads, torch, torch_params)
from .problem import Bowl, assert_close

SMALL = [1, 7, 4097, 3000]
CLASSES = {"sgd": ("SGD", dict(lr=0.05, momentum=0.9)),
           "adagrad": ("Adagrad", dict(lr=0.05)),
           "rmsprop": ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
           "adam": ("Adam", dict(lr=0.01, amsgrad=True)),
           "adamw": ("AdamW", dict(lr=0.01, weight_decay=0.1))}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_fused_clipping_matches_clip_grad_norm_then_step(cpu_path, name):
    cls, options = CLASSES[name]
    bowl = Bowl(SMALL)
    ours_p, theirs_p = torch_params(bowl), torch_params(bowl)
    ours = getattr(optim, cls)(ours_p, max_grad_norm=1.5, **options)
    theirs = getattr(torch.optim, cls)(theirs_p, **options)
    for step in range(1, 51):
        # Large gradients early (clipped), small ones later (not clipped).
        scale = 20.0 if step < 25 else 0.01
        set_torch_grads(ours_p, bowl, step, scale)
        set_torch_grads(theirs_p, bowl, step, scale)
        before = [p.grad.clone() for p in ours_p]
        ours.step()
        norm = torch.nn.utils.clip_grad_norm_(theirs_p, 1.5)
        theirs.step()
        assert ours.last_grad_norm == pytest.approx(float(norm), rel=1e-5)
        for g0, p in zip(before, ours_p):  # the gradients themselves are not rewritten
            assert torch.equal(g0, p.grad)
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        assert_close(a.detach().numpy(), b.detach().numpy(), f"{name} param {i}")


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adam", "adamw"])
def test_l1_and_clipping_follow_float64_reference(cpu_path, name):
    cls, options = CLASSES[name]
    options = dict(options, l1=0.02)
    bowl = Bowl(SMALL, seed=3, l1_safe=True)
    params = [p.astype(np.float32) for p in bowl.start]
    ref = [p.copy() for p in bowl.start]
    ref_state = [{} for _ in ref]
    # The global norm starts near 150 (settling near 30 once converged): clipping at 50 keeps
    # the smooth part of the gradient strong enough that no parameter sits at L1's kink at 0.
    opt = getattr(optim, cls)(params, max_grad_norm=50.0, **options)
    clipped = 0
    for step in range(1, 101):
        opt.step(grads=bowl.grads(params, step))
        g64 = bowl.grads(ref, step)
        scale = reference.clip_scale(g64, 50.0)
        clipped += scale < 1.0
        ref = [reference.STEPS[name](p, g, st, step, scale, **options)
               for p, g, st in zip(ref, g64, ref_state)]
    assert clipped > 0
    for i, (a, b) in enumerate(zip(params, ref)):
        assert_close(a, b, f"{name} param {i}")


def _snapshot(opt, params):
    state = {id(p): {k: (v.copy() if hasattr(v, "copy") else v) for k, v in opt.state[p].items()}
             for p in params if p in opt.state}
    return [p.copy() for p in params], state


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_nonfinite_gradient_skip_leaves_everything_untouched(cpu_path, name, bad):
    cls, options = CLASSES[name]
    bowl = Bowl(SMALL)
    params = [p.astype(np.float32) for p in bowl.start]
    opt = getattr(optim, cls)(params, nonfinite="skip", **options)
    for step in range(1, 4):
        opt.step(grads=bowl.grads(params, step))
    before_params, before_state = _snapshot(opt, params)
    grads = bowl.grads(params, 4)
    grads[2][1234] = bad
    with pytest.warns(RuntimeWarning, match="non-finite gradient"):
        opt.step(grads=grads)
    assert opt.skipped_steps == 1
    after_params, after_state = _snapshot(opt, params)
    for a, b in zip(before_params, after_params):
        np.testing.assert_array_equal(a, b)
    for key in before_state:
        for k, v in before_state[key].items():
            np.testing.assert_array_equal(v, after_state[key][k])
    opt.step(grads=bowl.grads(params, 4))  # training goes on
    assert all(np.isfinite(p).all() for p in params)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_nonfinite_gradient_raises_by_default_and_changes_nothing(cpu_path, name):
    cls, options = CLASSES[name]
    bowl = Bowl(SMALL)
    params = [p.astype(np.float32) for p in bowl.start]
    opt = getattr(optim, cls)(params, **options)
    opt.step(grads=bowl.grads(params, 1))
    before_params, before_state = _snapshot(opt, params)
    grads = bowl.grads(params, 2)
    grads[0][0] = np.nan
    with pytest.raises(optim.NonFiniteGradError, match="not applied"):
        opt.step(grads=grads)
    after_params, after_state = _snapshot(opt, params)
    for a, b in zip(before_params, after_params):
        np.testing.assert_array_equal(a, b)
    assert before_state.keys() == after_state.keys()
    for key in before_state:
        for k, v in before_state[key].items():
            np.testing.assert_array_equal(v, after_state[key][k])


def test_sgd_step_after_a_skipped_first_step_is_the_first(cpu_path):
    assert_sgd_after_a_skipped_first_step_matches_torch("cpu")


def test_nonfinite_ignore_lets_nan_through_like_torch(cpu_path):
    p = np.ones(10, np.float32)
    g = np.ones(10, np.float32)
    g[3] = np.nan
    result = F.sgd_([p], [g], lr=0.1, nonfinite="ignore")
    assert result.applied and result.grad_norm is None
    assert np.isnan(p[3]) and np.isfinite(np.delete(p, 3)).all()


def test_functional_skip_reports_and_leaves_params(cpu_path):
    p = np.ones(100, np.float32)
    g = np.full(100, np.inf, np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    result = F.adam_(p, g, m, v, step=1, nonfinite="skip")
    assert not result.applied
    np.testing.assert_array_equal(p, 1.0)
    assert not m.any() and not v.any()


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_arena_layout_is_bitwise_the_list_layout(cpu_path, name):
    cls, options = CLASSES[name]
    bowl = Bowl(SMALL)
    listed = [p.astype(np.float32) for p in bowl.start]
    arena = optim.Arena([p.astype(np.float32) for p in bowl.start])
    opt_list = getattr(optim, cls)(listed, max_grad_norm=5.0, **options)
    opt_arena = getattr(optim, cls)(arena, max_grad_norm=5.0, **options)
    for step in range(1, 31):
        grads = bowl.grads(listed, step)
        for view, g in zip(arena.grads, grads):
            view[...] = g
        opt_list.step(grads=grads)
        opt_arena.step()
    for a, b in zip(listed, arena.params):
        np.testing.assert_array_equal(a, b)
    # State lives in the arena's flat buffers.
    state = opt_arena.state[arena.params[1]]
    for k, v in state.items():
        if hasattr(v, "base"):
            assert v.base is not None, f"{k} is not a view into a flat buffer"


def test_torch_arena_moves_parameters_in_place_and_matches_torch(cpu_path):
    bowl = Bowl(SMALL)
    ours_p, theirs_p = torch_params(bowl), torch_params(bowl)
    arena = optim.Arena(ours_p)
    assert all(p.data_ptr() == arena.param_buffer.data_ptr() + 4 * off
               for p, off in zip(ours_p, arena.offsets))
    ours = optim.Adam(arena, lr=0.01)
    theirs = torch.optim.Adam(theirs_p, lr=0.01)
    for step in range(1, 41):
        ours.zero_grad()
        arrays = [p.detach().numpy() for p in ours_p]
        for p, g in zip(ours_p, bowl.grads(arrays, step)):
            p.grad += torch.from_numpy(g)  # accumulates into the arena's gradient buffer
        set_torch_grads(theirs_p, bowl, step)
        ours.step()
        theirs.step()
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        assert_close(a.detach().numpy(), b.detach().numpy(), f"param {i}")


def test_torch_arena_survives_replaced_gradients(cpu_path):
    bowl = Bowl(SMALL)
    ours_p, theirs_p = torch_params(bowl), torch_params(bowl)
    ours = optim.SGD(optim.Arena(ours_p), lr=0.05, momentum=0.9)
    theirs = torch.optim.SGD(theirs_p, lr=0.05, momentum=0.9)
    for step in range(1, 11):
        set_torch_grads(ours_p, bowl, step)  # new tensors, outside the arena
        set_torch_grads(theirs_p, bowl, step)
        ours.step()
        theirs.step()
    for a, b in zip(ours_p, theirs_p):
        assert_close(a.detach().numpy(), b.detach().numpy(), "param")


def test_param_groups_partial_grads_and_late_parameters_match_torch(cpu_path):
    bowl = Bowl([5, 4097, 33, 1000])
    ours_p, theirs_p = torch_params(bowl), torch_params(bowl)

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.003, "betas": (0.5, 0.9)}]

    ours = optim.Adam(groups(ours_p), lr=0.01, weight_decay=0.01)
    theirs = torch.optim.Adam(groups(theirs_p), lr=0.01, weight_decay=0.01)
    for step in range(1, 31):
        set_torch_grads(ours_p, bowl, step)
        set_torch_grads(theirs_p, bowl, step)
        if step < 10:  # param 1 gets no gradient at first: its step count lags
            ours_p[1].grad = theirs_p[1].grad = None
        if step % 7 == 0:
            ours_p[3].grad = theirs_p[3].grad = None
        ours.step()
        theirs.step()
    assert ours_p[1] in ours.state and ours.state[ours_p[1]]["step"] == 21
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        assert_close(a.detach().numpy(), b.detach().numpy(), f"param {i}")


def test_zero_grad_matches_torch_semantics():
    p = torch.nn.Parameter(torch.ones(3))
    opt = optim.SGD([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and not p.grad.any()
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_evaluated_with_grad_enabled():
    w = torch.nn.Parameter(torch.tensor([2.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0
    assert w.item() == pytest.approx(1.0)


def test_parameters_without_gradients_are_left_alone(cpu_path):
    a, b = torch.nn.Parameter(torch.ones(4)), torch.nn.Parameter(torch.ones(4))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = torch.ones(4)
    opt.step()
    assert b not in opt.state and torch.equal(b.detach(), torch.ones(4))
    assert a in opt.state and not torch.equal(a.detach(), torch.ones(4))
