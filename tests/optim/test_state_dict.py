"""state_dict round trips: fusednn <-> torch.optim for every optimizer (switching either way
loses no moment state), fusednn <-> fusednn, and loads that must be refused untouched."""
import copy

import numpy as np
import pytest

from fusednn import optim

from .against_torch import torch, torch_params
from .problem import Bowl, assert_close

CONFIGS = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
           ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.1)),
           ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
           ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
           ("AdamW", dict(lr=0.01))]
SIZES = [3, 4097, 10]


def run(opt, params, bowl, steps):
    for step in steps:
        arrays = [p.detach().numpy() for p in params]
        for p, g in zip(params, bowl.grads(arrays, step)):
            p.grad = torch.from_numpy(g)
        opt.step()


def copy_values(dst, src):
    with torch.no_grad():
        for d, s in zip(dst, src):
            d.copy_(s)


@pytest.mark.parametrize("cls,options", CONFIGS, ids=[c for c, _ in CONFIGS])
@pytest.mark.parametrize("direction", ["torch_to_fusednn", "fusednn_to_torch"])
def test_switching_between_torch_and_fusednn_keeps_the_trajectory(cls, options, direction):
    bowl = Bowl(SIZES)
    straight_p = torch_params(bowl)
    straight = getattr(torch.optim, cls)(straight_p, **options)
    run(straight, straight_p, bowl, range(1, 41))

    first_p, second_p = torch_params(bowl), torch_params(bowl)
    first_lib, second_lib = (torch.optim, optim) if direction == "torch_to_fusednn" \
        else (optim, torch.optim)
    first = getattr(first_lib, cls)(first_p, **options)
    run(first, first_p, bowl, range(1, 21))
    copy_values(second_p, first_p)
    second = getattr(second_lib, cls)(second_p, **options)
    second.load_state_dict(first.state_dict())
    run(second, second_p, bowl, range(21, 41))

    for i, (a, b) in enumerate(zip(second_p, straight_p)):
        assert_close(a.detach().numpy(), b.detach().numpy(), f"{cls} param {i}")


def test_torch_state_dict_loads_into_fused_torch_optimizer():
    bowl = Bowl(SIZES)
    ours_p = torch_params(bowl)
    ours = optim.Adam(ours_p, lr=0.01)
    run(ours, ours_p, bowl, range(1, 6))
    theirs = torch.optim.Adam(torch_params(bowl), lr=0.01, fused=True)
    theirs.load_state_dict(ours.state_dict())
    state = theirs.state_dict()["state"]
    assert float(state[1]["step"]) == 5.0
    assert torch.equal(state[1]["exp_avg"], ours.state[ours_p[1]]["exp_avg"])


def test_fusednn_round_trip_copies_and_restores_everything():
    bowl = Bowl(SIZES)
    params = [p.astype(np.float32) for p in bowl.start]
    opt = optim.RMSprop(params, lr=0.01, momentum=0.9, centered=True)
    for step in range(1, 6):
        opt.step(grads=bowl.grads(params, step))
    saved = copy.deepcopy(opt.state_dict())
    other_params = [p.copy() for p in params]
    other = optim.RMSprop(other_params, lr=0.5)
    other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == 0.01 and other.param_groups[0]["momentum"] == 0.9
    for step in range(6, 11):
        opt.step(grads=bowl.grads(params, step))
        other.step(grads=bowl.grads(other_params, step))
    for a, b in zip(params, other_params):
        np.testing.assert_array_equal(a, b)
    # Loaded values were copied: changing the dict afterwards changes nothing.
    saved["state"][0]["square_avg"][...] = 123.0
    assert not np.any(other.state[other_params[0]]["square_avg"] == 123.0)


def test_arena_optimizer_round_trip_keeps_state_in_the_arena():
    bowl = Bowl(SIZES)
    arena = optim.Arena([p.astype(np.float32) for p in bowl.start])
    opt = optim.Adam(arena, lr=0.01)
    for step in range(1, 4):
        for view, g in zip(arena.grads, bowl.grads(arena.params, step)):
            view[...] = g
        opt.step()
    sd = copy.deepcopy(opt.state_dict())
    arena2 = optim.Arena(arena.params)
    opt2 = optim.Adam(arena2, lr=0.01)
    opt2.load_state_dict(sd)
    for step in range(4, 8):
        for a in (arena, arena2):
            for view, g in zip(a.grads, bowl.grads(a.params, step)):
                view[...] = g
        opt.step()
        opt2.step()
    np.testing.assert_array_equal(arena.param_buffer, arena2.param_buffer)
    assert opt2.state[arena2.params[0]]["exp_avg"].base is not None


def test_bad_state_dicts_are_refused_and_change_nothing():
    bowl = Bowl(SIZES)
    params = [p.astype(np.float32) for p in bowl.start]
    opt = optim.Adam(params, lr=0.01)
    opt.step(grads=bowl.grads(params, 1))
    good = copy.deepcopy(opt.state_dict())
    before = copy.deepcopy(opt.state_dict())

    wrong_shape = copy.deepcopy(good)
    wrong_shape["state"][1]["exp_avg"] = np.zeros(7, np.float32)
    with pytest.raises(ValueError, match=r"exp_avg.*shape"):
        opt.load_state_dict(wrong_shape)

    two_groups = copy.deepcopy(good)
    two_groups["param_groups"].append(copy.deepcopy(two_groups["param_groups"][0]))
    with pytest.raises(ValueError, match="loaded state dict has a different number of parameter groups"):
        opt.load_state_dict(two_groups)

    bad_lr = copy.deepcopy(good)
    bad_lr["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr"):
        opt.load_state_dict(bad_lr)

    fewer = copy.deepcopy(good)
    fewer["param_groups"][0]["params"] = [0, 1]
    with pytest.raises(ValueError, match="doesn.t match the size of optimizer.s group"):
        opt.load_state_dict(fewer)

    now = opt.state_dict()
    assert now["param_groups"] == before["param_groups"]
    for k, st in before["state"].items():
        for name, v in st.items():
            np.testing.assert_array_equal(v, now["state"][k][name])
