"""Optimizer edges as torch.optim has them: no state for stateless configurations, empty and
named param groups, duplicate parameters, and the step / state_dict / load_state_dict hooks
with torch's signatures, run side by side with torch's own optimizer."""
import pickle
import warnings

import numpy as np
import pytest
import torch

import fusednn
from fusednn import optim


def params(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        p = torch.nn.Parameter(torch.randn(5, generator=g))
        p.grad = torch.randn(5, generator=g)
        out.append(p)
    return out


def test_sgd_without_momentum_keeps_no_state_like_torch():
    for lib in (torch.optim, optim):
        o = lib.SGD(params(), lr=0.1)
        o.step()
        assert len(o.state) == 0
        assert o.state_dict()["state"] == {}


def test_empty_param_group_is_accepted_like_torch():
    ps, qs = params(seed=1), params(seed=1)
    t = torch.optim.Adam([{"params": []}, {"params": ps, "lr": 0.01}])
    f = optim.Adam([{"params": []}, {"params": qs, "lr": 0.01}])
    for _ in range(3):
        t.step(), f.step()
    for p, q in zip(ps, qs):
        torch.testing.assert_close(q, p, rtol=1e-6, atol=1e-7)
    f.add_param_group({"params": [], "lr": 0.5})
    assert len(f.param_groups) == 3
    f.step()
    f.load_state_dict(t.state_dict() | {"param_groups": t.state_dict()["param_groups"] +
                                        [dict(f.state_dict()["param_groups"][2])]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)


def test_duplicate_parameters_warn_and_update_once():
    p = params(1)[0]
    with pytest.warns(UserWarning, match="duplicate parameters"):
        o = optim.SGD([p, p], lr=0.5)
    assert len(o.param_groups[0]["params"]) == 1
    before = p.detach().clone()
    o.step()
    torch.testing.assert_close(p.detach(), before - 0.5 * p.grad)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_named_parameters_like_torch():
    model = torch.nn.Linear(3, 2)
    t = torch.optim.SGD(model.named_parameters(), lr=0.1, momentum=0.9)
    f = optim.SGD(model.named_parameters(), lr=0.1, momentum=0.9)
    assert f.param_groups[0]["param_names"] == t.param_groups[0]["param_names"] == ["weight", "bias"]
    assert f.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        optim.SGD([("w", model.weight), model.bias], lr=0.1)


def test_step_hooks_order_arguments_and_removal():
    calls = []
    o = optim.SGD(params(), lr=0.1)
    pre = o.register_step_pre_hook(lambda opt, args, kwargs: calls.append(("pre", opt, args, kwargs)))
    post = o.register_step_post_hook(lambda opt, args, kwargs: calls.append(("post", args)))
    g_pre = optim.register_optimizer_step_pre_hook(lambda opt, a, k: calls.append(("global-pre",)))
    g_post = optim.register_optimizer_step_post_hook(lambda opt, a, k: calls.append(("global-post",)))
    try:
        closure = lambda: 1.5  # noqa: E731
        assert o.step(closure) == 1.5
    finally:
        g_pre.remove(), g_post.remove()
    assert [c[0] for c in calls] == ["global-pre", "pre", "post", "global-post"]
    assert calls[1][1] is o and calls[1][2] == (o, closure) and calls[1][3] == {}
    pre.remove(), post.remove()
    calls.clear()
    o.step()
    assert calls == []


def test_step_pre_hook_may_replace_arguments():
    p = np.ones(3, np.float32)
    o = optim.SGD([p], lr=1.0)
    new_grads = [np.full(3, 0.25, np.float32)]
    o.register_step_pre_hook(lambda opt, args, kwargs: (args, {"grads": new_grads}))
    o.step(grads=[np.ones(3, np.float32)])
    np.testing.assert_array_equal(p, np.full(3, 0.75, np.float32))
    o.register_step_pre_hook(lambda opt, args, kwargs: 42)
    with pytest.raises(RuntimeError, match="new_args, new_kwargs"):
        o.step(grads=[np.ones(3, np.float32)])


def test_state_dict_hooks_as_torch():
    for lib in (torch.optim, optim):
        o = lib.Adam(params(), lr=0.01)
        o.step()
        seen = []
        o.register_state_dict_pre_hook(lambda opt: seen.append("pre"))
        o.register_state_dict_pre_hook(lambda opt: seen.append("first"), prepend=True)
        o.register_state_dict_post_hook(lambda opt, sd: {**sd, "extra": 7})
        sd = o.state_dict()
        assert seen == ["first", "pre"] and sd["extra"] == 7

        o.register_load_state_dict_pre_hook(
            lambda opt, sd: {k: v for k, v in sd.items() if k != "extra"})
        loaded = []
        o.register_load_state_dict_post_hook(lambda opt: loaded.append(opt))
        o.load_state_dict(sd)
        assert loaded == [o] and "extra" in sd  # the caller's dict is left as it was


def test_optimizer_with_hooks_still_pickles():
    o = optim.SGD([np.ones(3, np.float32)], lr=0.1, momentum=0.9)
    o.register_step_pre_hook(lambda *a: None)
    clone = pickle.loads(pickle.dumps(o))
    assert not clone._hooks.step_pre and clone.param_groups[0]["lr"] == 0.1


def test_handle_is_a_context_manager():
    o = optim.SGD([np.ones(3, np.float32)], lr=0.1)
    seen = []
    with o.register_step_post_hook(lambda *a: seen.append(1)):
        o.step(grads=[np.ones(3, np.float32)])
    o.step(grads=[np.ones(3, np.float32)])
    assert seen == [1]
    with pytest.raises(TypeError, match="callable"):
        o.register_step_pre_hook(3)
