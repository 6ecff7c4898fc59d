"""Learning-rate schedules against torch.optim.lr_scheduler, state round trips, and plots."""
import numpy as np
import pytest
import torch

from fusednn.optim import lr_scheduler as L

CASES = [
    ("StepLR", lambda o: L.StepLR(o, 3, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    ("MultiStepLR", lambda o: L.MultiStepLR(o, [2, 5, 9], 0.3),
     lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 5, 9], 0.3)),
    ("ExponentialLR", lambda o: L.ExponentialLR(o, 0.9),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
    ("CosineAnnealingLR", lambda o: L.CosineAnnealingLR(o, 7, 0.01),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 7, 0.01)),
    ("CosineAnnealingWarmRestarts", lambda o: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.001),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 3, 2, 0.001)),
    ("OneCycleLR", lambda o: L.OneCycleLR(o, 1.0, 25),
     lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 1.0, 25, cycle_momentum=False)),
]


def torch_curve(make, steps, lr=0.1):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched, out = make(opt), []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("name,ours,theirs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, ours, theirs):
    np.testing.assert_allclose(L.lr_curve(ours, 25, lr=0.1), torch_curve(theirs, 25), rtol=1e-9,
                               atol=1e-15)


def test_reduce_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.85, 0.86, 0.87, 0.88, 0.89]
    p = torch.nn.Parameter(torch.zeros(1))
    t_opt = torch.optim.SGD([p], lr=1.0)
    t = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, factor=0.5, patience=2, cooldown=1)
    probe = L._Probe(1.0)
    ours = L.ReduceLROnPlateau(probe, factor=0.5, patience=2, cooldown=1)
    for m in metrics:
        t.step(m)
        ours.step(m)
        assert probe.param_groups[0]["lr"] == t_opt.param_groups[0]["lr"]


def test_warmup_cosine_shape():
    curve = L.lr_curve(lambda o: L.WarmupCosineLR(o, warmup_steps=5, total_steps=20), 21)
    assert curve[0] == 0.0 and curve[5] == pytest.approx(1.0) and curve[20] == pytest.approx(0.0)
    assert all(a <= b for a, b in zip(curve[:5], curve[1:6]))
    assert all(a >= b for a, b in zip(curve[5:20], curve[6:21]))


def test_state_dict_round_trip():
    a, b = L._Probe(0.1), L._Probe(0.1)
    s = L.CosineAnnealingLR(a, 10)
    for _ in range(4):
        s.step()
    t = L.CosineAnnealingLR(b, 10)
    t.load_state_dict(s.state_dict())
    assert b.param_groups[0]["lr"] == a.param_groups[0]["lr"]
    s.step()
    t.step()
    assert b.param_groups[0]["lr"] == a.param_groups[0]["lr"]


def test_every_fused_optimizer_takes_a_schedule():
    import fusednn

    for name in fusednn.optim.OPTIMIZERS:
        opt = fusednn.optim.get(name, [np.zeros(3, np.float32)], lr=0.5)
        L.StepLR(opt, 1, 0.1).step()
        assert opt.param_groups[0]["lr"] == pytest.approx(0.05)


def test_plot_lr(tmp_path):
    pytest.importorskip("matplotlib")
    path = L.plot_lr(lambda o: L.OneCycleLR(o, 1.0, 100), 100, str(tmp_path / "lr.png"))
    assert open(path, "rb").read(4) == b"\x89PNG"


def test_bad_arguments():
    with pytest.raises(ValueError, match="step_size"):
        L.StepLR(L._Probe(0.1), 0)
    with pytest.raises(TypeError, match="needs an optimizer"):
        L.StepLR(object(), 1)
    with pytest.raises(ValueError, match="warmup_steps < total_steps"):
        L.WarmupCosineLR(L._Probe(0.1), 10, 10)
