"""Running fusednn's optimizer classes side by side with torch.optim on the same problem, on
the CPU or the GPU: shared by the trajectory, option, state_dict and GPU tests."""
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
    for step in range(1, steps + 1):
        set_torch_grads(ours_p, bowl, step)
        set_torch_grads(theirs_p, bowl, step)
        ours.step()
        theirs.step()
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        assert_close(a.detach().cpu().numpy(), b.detach().cpu().numpy(), f"{name} param {i}")
    for i, (a, b) in enumerate(zip(ours_p, theirs_p)):
        for key, value in theirs.state[b].items():
            if key == "step":
                assert float(ours.state[a]["step"]) == float(value)
            elif value is not None:
                assert_close(ours.state[a][key].cpu().numpy(), value.cpu().numpy(),
                             f"{name} {key}[{i}]")
