"""Running fusednn's optimizer classes side by side with torch.optim on the same problem, on
the CPU or the GPU: shared by the trajectory, option, state_dict and GPU tests."""
import warnings

import numpy as np
import pytest

from fusednn import optim

from .problem import STEPS, Bowl, assert_close

torch = pytest.importorskip("torch")

TORCH_CLASSES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam",
                 "adamw": "AdamW"}


def torch_params(bowl, device="cpu", dtype=None):
    """The bowl's starting point as torch parameters on `device` (float32 unless `dtype`)."""
    return [torch.nn.Parameter(torch.from_numpy(p.astype(np.float32)).to(device, dtype))
            for p in bowl.start]


def set_torch_grads(params, bowl, step, scale=1.0):
    """Each parameter's .grad at its own current value, optionally scaled."""
    arrays = [p.detach().float().cpu().numpy() for p in params]
    for p, g in zip(params, bowl.grads(arrays, step)):
        p.grad = torch.from_numpy(g * np.float32(scale)).to(p.device, p.dtype)


def assert_matches_torch(name, options, device="cpu", steps=STEPS):
    """`steps` steps of fusednn's and torch's optimizer `name` on the bowl; parameters and
    every state tensor must agree to 1e-5 relative, step counts exactly."""
    bowl = Bowl(maximize=options.get("maximize", False))
    ours_p, theirs_p = torch_params(bowl, device), torch_params(bowl, device)
    cls = TORCH_CLASSES[name]
    ours = getattr(optim, cls)(ours_p, **options)
    theirs = getattr(torch.optim, cls)(theirs_p, **options)
    _step_together(bowl, (ours, ours_p), (theirs, theirs_p), steps=range(1, steps + 1))
    _assert_agree(name, (ours, ours_p), (theirs, theirs_p))


def assert_sgd_after_a_skipped_first_step_matches_torch(device="cpu", steps=5):
    """SGD with momentum and dampening whose first step sees a NaN under nonfinite="skip": the
    next applied step is the first (the buffer starts from the gradient, not from
    (1 - dampening) * gradient), as in torch, where the skipped step never ran."""
    bowl = Bowl()
    ours_p, theirs_p = torch_params(bowl, device), torch_params(bowl, device)
    options = dict(lr=0.05, momentum=0.9, dampening=0.5)
    ours = optim.SGD(ours_p, nonfinite="skip", **options)
    theirs = torch.optim.SGD(theirs_p, **options)
    set_torch_grads(ours_p, bowl, 1)
    next(p for p in ours_p if p.numel()).grad.view(-1)[0] = float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the CPU warns of the skip
        ours.step()
    assert ours.skipped_steps == 1
    _step_together(bowl, (ours, ours_p), (theirs, theirs_p), steps=range(2, steps + 1))
    _assert_agree("sgd", (ours, ours_p), (theirs, theirs_p))


def _step_together(bowl, *optimizers, steps):
    """Each (optimizer, params) steps on the bowl's gradients at its own parameters."""
    for step in steps:
        for opt, params in optimizers:
            set_torch_grads(params, bowl, step)
            opt.step()


def _assert_agree(name, ours, theirs):
    """Parameters and every state tensor torch keeps agree to 1e-5 relative, step counts
    exactly."""
    (ours, ours_p), (theirs, theirs_p) = ours, theirs
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        assert_close(a.detach().cpu().numpy(), b.detach().cpu().numpy(), f"{name} param {i}")
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        for key, value in theirs.state[b].items():
            if key == "step":
                assert float(ours.state[a]["step"]) == float(value)
            elif value is not None:
                assert_close(ours.state[a][key].cpu().numpy(), value.cpu().numpy(),
                             f"{name} {key}[{i}]")
