"""200-step trajectories of every optimizer and option, on both CPU kernel paths, against the
float64 reference (functional kernels on numpy arrays) and against torch.optim (the optimizer
classes on torch tensors, as a drop-in)."""
import numpy as np
import pytest

from fusednn.optim import functional as F

from . import reference
from .against_torch import assert_matches_torch
from .problem import CONFIGS, STEPS, Bowl, assert_close, config_id

STATE_ARGS = {
    "sgd": ["momentum_buffer"],
    "adagrad": ["sum"],
    "rmsprop": ["square_avg", "momentum_buffer", "grad_avg"],
    "adam": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    "adamw": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
}


def functional_step(name, options, params, grads, state, step):
    """One call of the functional kernel for all tensors; state: name -> list of arrays."""
    opts = dict(options)
    lists = [state[k] for k in STATE_ARGS[name]]
    if name == "sgd":
        return F.sgd_(params, grads, lists[0], first_step=step == 1, **opts)
    if name == "adagrad":
        opts.pop("initial_accumulator_value", None)
        return F.adagrad_(params, grads, lists[0], step=step, **opts)
    if name == "rmsprop":
        return F.rmsprop_(params, grads, *lists, **opts)
    fn = F.adam_ if name == "adam" else F.adamw_
    return fn(params, grads, *lists, step=step, **opts)


def new_state(name, options, params):
    init = options.get("initial_accumulator_value", 0.0) if name == "adagrad" else 0.0
    return {k: [np.full_like(p, init) for p in params] for k in STATE_ARGS[name]}


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_functional_follows_float64_reference(cpu_path, config):
    name, options = config
    bowl = Bowl(maximize=options.get("maximize", False))
    ours = [p.astype(np.float32) for p in bowl.start]
    ref = [p.copy() for p in bowl.start]
    state = new_state(name, options, ours)
    ref_state = [{} for _ in ref]
    for step in range(1, STEPS + 1):
        result = functional_step(name, options, ours, bowl.grads(ours, step), state, step)
        assert result.applied
        g64 = bowl.grads(ref, step)
        ref = [reference.STEPS[name](p, g, st, step, 1.0, **options)
               for p, g, st in zip(ref, g64, ref_state)]
    for i, (a, b) in enumerate(zip(ours, ref)):
        assert_close(a, b, f"{name} param {i} (size {b.size})")
    for key, arrays in state.items():
        for i, arr in enumerate(arrays):
            if key in ref_state[i]:
                assert_close(arr, ref_state[i][key], f"{name} state {key}[{i}]")


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_class_is_a_torch_optim_drop_in(cpu_path, config):
    assert_matches_torch(*config)
