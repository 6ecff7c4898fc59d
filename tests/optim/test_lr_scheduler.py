"""Learning-rate schedules against torch.optim.lr_scheduler itself: every scheduler's curve over
100+ steps, schedulers composed in pairs and triples (ReduceLROnPlateau among them), momentum
and beta1 cycling, state_dict round trips into schedulers built with other arguments, torch's
edge rules; plus fusednn's own WarmupCosineLR, saving arguments, and plots."""
import math
import warnings

import numpy as np
import pytest
import torch

import fusednn
from fusednn.optim import lr_scheduler as L

T = torch.optim.lr_scheduler
STEPS = 110


def make_pair(kind="sgd", lrs=(0.05, 0.2)):
    """A torch optimizer and a fusednn one with the same groups, on their own parameters."""
    def params():
        out = []
        for _ in lrs:
            p = torch.nn.Parameter(torch.ones(3))
            p.grad = torch.zeros(3)
            out.append(p)
        return out

    made = []
    for lib in (torch.optim, fusednn.optim):
        groups = [{"params": [p], "lr": lr} for p, lr in zip(params(), lrs)]
        if kind == "sgd":
            made.append(lib.SGD(groups, lr=lrs[0], momentum=0.9))
        else:
            made.append(lib.Adam(groups, lr=lrs[0]))
    return made


def moments(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def run_both(build, steps=STEPS, kind="sgd", metrics=None, check_momentum=False):
    """Build the schedulers with torch's module and with fusednn's on twin optimizers, step
    both `steps` times, and compare get_last_lr() (and the group lrs) at every step."""
    t_opt, f_opt = make_pair(kind)
    t_scheds, f_scheds = build(T, t_opt), build(L, f_opt)
    t_scheds = t_scheds if isinstance(t_scheds, list) else [t_scheds]
    f_scheds = f_scheds if isinstance(f_scheds, list) else [f_scheds]
    for step in range(steps):
        assert [g["lr"] for g in f_opt.param_groups] == pytest.approx(
            [g["lr"] for g in t_opt.param_groups], rel=1e-12, abs=1e-300), f"step {step}"
        if check_momentum:
            assert moments(f_opt) == pytest.approx(moments(t_opt), rel=1e-12), f"step {step}"
        t_opt.step()
        f_opt.step()
        for t, f in zip(t_scheds, f_scheds):
            if isinstance(t, T.ReduceLROnPlateau):
                t.step(metrics[step])
                f.step(metrics[step])
            else:
                t.step()
                f.step()
            assert f.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12, abs=1e-300)
    return t_opt, f_opt


SINGLE = {
    "StepLR": lambda M, o: M.StepLR(o, 3, 0.5),
    "MultiStepLR": lambda M, o: M.MultiStepLR(o, [2, 5, 9, 40], 0.3),
    "MultiStepLR-repeated": lambda M, o: M.MultiStepLR(o, [3, 3, 7], 0.5),
    "ConstantLR": lambda M, o: M.ConstantLR(o, 0.25, 6),
    "LinearLR-up": lambda M, o: M.LinearLR(o, 0.2, 1.0, 30),
    "LinearLR-down": lambda M, o: M.LinearLR(o, 1.0, 0.05, 17),
    "ExponentialLR": lambda M, o: M.ExponentialLR(o, 0.97),
    "PolynomialLR": lambda M, o: M.PolynomialLR(o, 60, 1.7),
    "CosineAnnealingLR": lambda M, o: M.CosineAnnealingLR(o, 7, 0.001),
    "CosineAnnealingLR-long": lambda M, o: M.CosineAnnealingLR(o, 50),
    "CosineAnnealingWarmRestarts": lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, 2, 0.001),
    "CosineAnnealingWarmRestarts-1": lambda M, o: M.CosineAnnealingWarmRestarts(o, 9),
    "LambdaLR": lambda M, o: M.LambdaLR(o, lambda e: 0.95 ** e + 0.01 * (e % 4)),
    "LambdaLR-per-group": lambda M, o: M.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.99 ** e]),
    "MultiplicativeLR": lambda M, o: M.MultiplicativeLR(o, lambda e: 0.98 if e % 2 else 1.01),
    "SequentialLR": lambda M, o: M.SequentialLR(
        o, [M.LinearLR(o, 0.1, 1.0, 5), M.CosineAnnealingLR(o, 40)], [5]),
    "SequentialLR-three": lambda M, o: M.SequentialLR(
        o, [M.ConstantLR(o, 0.1, 3), M.ExponentialLR(o, 0.9), M.StepLR(o, 4, 0.5)], [4, 30]),
    "ChainedScheduler": lambda M, o: M.ChainedScheduler(
        [M.ConstantLR(o, 0.1, 20), M.ExponentialLR(o, 0.9)]),
}


@pytest.mark.parametrize("name", SINGLE)
def test_each_scheduler_follows_torch(name):
    run_both(SINGLE[name])


CYCLIC = {
    "triangular": lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=7),
    "triangular2": lambda M, o: M.CyclicLR(o, [0.01, 0.02], 0.1, 5, 9, mode="triangular2"),
    "exp_range": lambda M, o: M.CyclicLR(o, 0.01, 0.1, 6, mode="exp_range", gamma=0.98),
    "custom": lambda M, o: M.CyclicLR(o, 0.01, 0.1, 4, scale_fn=lambda x: 1 / (1 + x),
                                      scale_mode="iterations"),
}


@pytest.mark.parametrize("name", CYCLIC)
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_cyclic_lr_cycles_lr_and_momentum_as_torch(name, kind):
    run_both(CYCLIC[name], kind=kind, check_momentum=True)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_one_cycle_complete(strategy, three_phase, kind):
    build = lambda M, o: M.OneCycleLR(o, [1.0, 0.5], total_steps=120, pct_start=0.25,  # noqa: E731
                                      anneal_strategy=strategy, three_phase=three_phase)
    run_both(build, steps=120, kind=kind, check_momentum=True)


def test_one_cycle_from_epochs_and_past_the_end():
    build = lambda M, o: M.OneCycleLR(o, 0.3, epochs=4, steps_per_epoch=25,  # noqa: E731
                                      cycle_momentum=False)
    t_opt, f_opt = run_both(build, steps=100)
    with pytest.raises(ValueError, match="total steps is 2"):
        s = L.OneCycleLR(f_opt, 0.3, total_steps=2)
        for _ in range(3):
            s.step()


COMPOSED = {
    "StepLR+MultiStepLR": lambda M, o: [M.StepLR(o, 3, 0.1), M.MultiStepLR(o, [2, 5, 9], 0.1)],
    "Cosine+StepLR": lambda M, o: [M.CosineAnnealingLR(o, 10, 0.001), M.StepLR(o, 7, 0.5)],
    "Exponential+Polynomial": lambda M, o: [M.ExponentialLR(o, 0.99), M.PolynomialLR(o, 50, 2.0)],
    "Linear+Cosine+Constant": lambda M, o: [M.LinearLR(o, 0.3, 1.0, 8),
                                            M.CosineAnnealingLR(o, 30, 0.0001),
                                            M.ConstantLR(o, 0.5, 12)],
    "Step+Exponential+MultiStep": lambda M, o: [M.StepLR(o, 5, 0.7), M.ExponentialLR(o, 0.98),
                                                M.MultiStepLR(o, [10, 20, 20], 0.5)],
    "Multiplicative+Step": lambda M, o: [M.MultiplicativeLR(o, lambda e: 0.97),
                                         M.StepLR(o, 4, 0.9)],
}


@pytest.mark.parametrize("name", COMPOSED)
def test_schedulers_compose_as_torch(name):
    run_both(COMPOSED[name])


@pytest.mark.filterwarnings("ignore:Detected call")
def test_issue_example_step_and_multistep():
    _, f_opt = make_pair(lrs=(0.05,))
    a, b = L.StepLR(f_opt, 3, 0.1), L.MultiStepLR(f_opt, [2, 5, 9], 0.1)
    for _ in range(3):
        a.step()
        b.step()
    assert f_opt.param_groups[0]["lr"] == pytest.approx(5e-4, rel=1e-12)


PLATEAU_METRICS = [1.0 / (1 + (i % 13)) if i < 30 else 0.5 for i in range(STEPS)]

WITH_PLATEAU = {
    "plateau+StepLR": lambda M, o: [M.StepLR(o, 4, 0.9),
                                    M.ReduceLROnPlateau(o, factor=0.1, patience=2)],
    "plateau+Exponential": lambda M, o: [M.ReduceLROnPlateau(o, "min", 0.5, 1, cooldown=2),
                                         M.ExponentialLR(o, 0.99)],
    "plateau+Cosine+abs": lambda M, o: [M.CosineAnnealingLR(o, 25),
                                        M.ReduceLROnPlateau(o, "max", 0.3, 3, 0.01, "abs",
                                                            min_lr=[1e-4, 1e-3])],
}


@pytest.mark.parametrize("name", WITH_PLATEAU)
def test_plateau_composes_with_others(name):
    run_both(WITH_PLATEAU[name], metrics=PLATEAU_METRICS)


@pytest.mark.filterwarnings("ignore:Detected call")
def test_plateau_alone_and_issue_example():
    run_both(lambda M, o: M.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1),
             metrics=PLATEAU_METRICS)
    # Plateau cuts survive another scheduler: 0.05 -> 0.005 -> 0.0005 (patience 0).
    _, f_opt = make_pair(lrs=(0.05,))
    step, plateau = L.StepLR(f_opt, 100), L.ReduceLROnPlateau(f_opt, patience=0)
    seen = []
    for metric in (1.0, 1.0, 1.0):
        step.step()
        plateau.step(metric)
        seen.append(f_opt.param_groups[0]["lr"])
    assert seen == pytest.approx([0.05, 0.005, 0.0005])


def _dict_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if k == "optimizer":
            continue
        va, vb = a[k], b[k]
        if isinstance(va, float) and math.isnan(va):
            assert math.isnan(vb)
        elif not callable(va):
            assert va == vb, k


STATE_CASES = {
    "StepLR": (lambda M, o: M.StepLR(o, 3, 0.1), lambda M, o: M.StepLR(o, 1, 0.005)),
    "MultiStepLR": (lambda M, o: M.MultiStepLR(o, [2, 6], 0.5),
                    lambda M, o: M.MultiStepLR(o, [1], 0.9)),
    "ConstantLR": (lambda M, o: M.ConstantLR(o, 0.2, 30), lambda M, o: M.ConstantLR(o, 0.9, 2)),
    "LinearLR": (lambda M, o: M.LinearLR(o, 0.1, 0.9, 40), lambda M, o: M.LinearLR(o, 1.0, 0.5, 5)),
    "ExponentialLR": (lambda M, o: M.ExponentialLR(o, 0.9), lambda M, o: M.ExponentialLR(o, 0.5)),
    "PolynomialLR": (lambda M, o: M.PolynomialLR(o, 50, 2.0), lambda M, o: M.PolynomialLR(o, 5)),
    "CosineAnnealingLR": (lambda M, o: M.CosineAnnealingLR(o, 15, 0.001),
                          lambda M, o: M.CosineAnnealingLR(o, 3)),
    "CosineAnnealingWarmRestarts": (lambda M, o: M.CosineAnnealingWarmRestarts(o, 4, 2, 0.01),
                                    lambda M, o: M.CosineAnnealingWarmRestarts(o, 9)),
    "CyclicLR": (lambda M, o: M.CyclicLR(o, 0.01, 0.1, 6, mode="triangular2"),
                 lambda M, o: M.CyclicLR(o, 0.02, 0.2, 3)),
    "OneCycleLR": (lambda M, o: M.OneCycleLR(o, 0.5, 100, three_phase=True),
                   lambda M, o: M.OneCycleLR(o, 0.1, 200, anneal_strategy="linear")),
    "ReduceLROnPlateau": (lambda M, o: M.ReduceLROnPlateau(o, "max", 0.5, 1, cooldown=2),
                          lambda M, o: M.ReduceLROnPlateau(o, "min", 0.1, 10)),
    "SequentialLR": (lambda M, o: M.SequentialLR(o, [M.ConstantLR(o, 0.1, 3),
                                                     M.ExponentialLR(o, 0.9)], [5]),
                     lambda M, o: M.SequentialLR(o, [M.ConstantLR(o, 0.5, 1),
                                                     M.ExponentialLR(o, 0.5)], [2])),
    "ChainedScheduler": (lambda M, o: M.ChainedScheduler([M.StepLR(o, 3, 0.5),
                                                          M.ExponentialLR(o, 0.95)]),
                         lambda M, o: M.ChainedScheduler([M.StepLR(o, 1, 0.9),
                                                          M.ExponentialLR(o, 0.5)])),
}


def _step(s, i):
    if isinstance(s, (T.ReduceLROnPlateau, L.ReduceLROnPlateau)):
        s.step(PLATEAU_METRICS[i])
    else:
        s.step()


@pytest.mark.parametrize("name", STATE_CASES)
def test_state_dict_restores_every_attribute(name):
    """torch's check: a scheduler stepped 20 times, its state loaded into one built with other
    arguments; every attribute equal, then both continue identically, as torch's do."""
    first, other = STATE_CASES[name]
    t_opt, f_opt = make_pair()
    t, f = first(T, t_opt), first(L, f_opt)
    for i in range(20):
        t_opt.step(), f_opt.step()
        _step(t, i), _step(f, i)
    t_opt2, f_opt2 = make_pair()
    t2, f2 = other(T, t_opt2), other(L, f_opt2)
    t2.load_state_dict(t.state_dict())
    f2.load_state_dict(f.state_dict())
    own = {k: v for k, v in f.__dict__.items() if k not in ("optimizer", "_schedulers")}
    loaded = {k: v for k, v in f2.__dict__.items() if k not in ("optimizer", "_schedulers")}
    _dict_equal(own, loaded)
    # a resume loads the optimizer's groups too (OneCycleLR keeps its bounds there)
    f_opt2.load_state_dict(f_opt.state_dict())
    t_opt2.load_state_dict(t_opt.state_dict())
    for i in range(20, 40):
        for s in (t, f, t2, f2):
            _step(s, i)
        assert f2.get_last_lr() == pytest.approx(f.get_last_lr(), rel=1e-12)
        assert f2.get_last_lr() == pytest.approx(t2.get_last_lr(), rel=1e-12)


def test_issue_example_state_restores_arguments():
    _, f_opt = make_pair()
    s = L.StepLR(f_opt, 1, 0.005)
    s.load_state_dict(L.StepLR(f_opt, 3, 0.1).state_dict())
    assert (s.step_size, s.gamma) == (3, 0.1)


@pytest.mark.filterwarnings("ignore:Detected call")
def test_tensor_lr_is_copied_not_aliased():
    for lib in (torch.optim, fusednn.optim):
        p = torch.nn.Parameter(torch.ones(2))
        lr = torch.tensor(0.05)
        opt = lib.SGD([p], lr=lr)
        s = L.StepLR(opt, 2, 0.5)
        lr.mul_(0.1)
        assert float(s.base_lrs[0]) == pytest.approx(0.05)
        assert float(opt.param_groups[0]["initial_lr"]) == pytest.approx(0.05)
        last = s.get_last_lr()[0]
        last.fill_(7.0)  # a copy: the optimizer's lr is not touched
        assert float(opt.param_groups[0]["lr"]) == pytest.approx(0.005)
    # and stepping fills the tensor in place, as torch does
    p = torch.nn.Parameter(torch.ones(2))
    lr = torch.tensor(0.05)
    opt = fusednn.optim.SGD([p], lr=lr)
    s = L.StepLR(opt, 1, 0.5)
    s.step()
    assert opt.param_groups[0]["lr"] is lr and float(lr) == pytest.approx(0.025)


def test_setting_T_cur_is_honoured():
    t_opt, f_opt = make_pair()
    t, f = T.CosineAnnealingWarmRestarts(t_opt, 10), L.CosineAnnealingWarmRestarts(f_opt, 10)
    t.T_cur = f.T_cur = 6
    for _ in range(3):
        t_opt.step(), f_opt.step()
        t.step(), f.step()
        assert f.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)


def test_fractional_epochs_warm_restarts():
    t_opt, f_opt = make_pair()
    t = T.CosineAnnealingWarmRestarts(t_opt, 5, 2, 0.01)
    f = L.CosineAnnealingWarmRestarts(f_opt, 5, 2, 0.01)
    for e in (0.5, 1.25, 7.0, 16.3, 40.0, 2.0):
        t.step(e), f.step(e)
        assert (f.T_cur, f.T_i, f.last_epoch) == (t.T_cur, t.T_i, t.last_epoch)
        assert f.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)


def test_deprecated_epoch_argument_uses_closed_form():
    t_opt, f_opt = make_pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for build in (lambda M, o: M.StepLR(o, 3, 0.5), lambda M, o: M.MultiStepLR(o, [3, 7]),
                      lambda M, o: M.CosineAnnealingLR(o, 10), lambda M, o: M.LinearLR(o)):
            t, f = build(T, t_opt), build(L, f_opt)
            for e in (4, 9, 2):
                t.step(e), f.step(e)
                assert f.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)


def test_resuming_needs_initial_lr():
    _, f_opt = make_pair()
    # torch's words, which torch's own tests match
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in "
                                       r"param_groups\[0\] when resuming scheduler"):
        L.StepLR(f_opt, 3, last_epoch=1)
    L.StepLR(f_opt, 3)  # sets initial_lr
    resumed = L.StepLR(f_opt, 3, 0.5, last_epoch=5)
    assert resumed.last_epoch == 6


def test_stepping_before_the_optimizer_warns_as_torch():
    _, f_opt = make_pair()
    s = L.StepLR(f_opt, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    _, f_opt = make_pair()
    s = L.StepLR(f_opt, 3)
    f_opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()
        s.get_last_lr()
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()


def test_bad_arguments():
    _, opt = make_pair()
    with pytest.raises(ValueError, match="step_size"):
        L.StepLR(opt, 0)
    with pytest.raises(TypeError, match="object is not an Optimizer"):
        L.StepLR(object(), 1)
    with pytest.raises(ValueError, match="warmup_steps < total_steps"):
        L.WarmupCosineLR(opt, 10, 10)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        L.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="min_lrs"):
        L.ReduceLROnPlateau(opt, min_lr=[0.1])
    with pytest.raises(ValueError, match="total_steps OR"):
        L.OneCycleLR(opt, 0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        L.OneCycleLR(opt, 0.1, 10, anneal_strategy="cosine")
    with pytest.raises(ValueError, match="momentum or beta1"):
        L.OneCycleLR(fusednn.optim.Adagrad([np.zeros(2, np.float32)]), 0.1, 10)
    with pytest.raises(ValueError, match="same optimizer"):
        _, other = make_pair()
        L.ChainedScheduler([L.StepLR(opt, 2), L.StepLR(other, 2)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        L.SequentialLR(opt, [L.StepLR(opt, 2), L.ReduceLROnPlateau(opt)], [3])
    with pytest.raises(ValueError, match="milestone"):
        L.SequentialLR(opt, [L.StepLR(opt, 2), L.StepLR(opt, 2)], [3, 4])


def test_warmup_cosine_shape():
    curve = L.lr_curve(lambda o: L.WarmupCosineLR(o, warmup_steps=5, total_steps=20), 21)
    assert curve[0] == 0.0 and curve[5] == pytest.approx(1.0) and curve[20] == pytest.approx(0.0)
    assert all(a <= b for a, b in zip(curve[:5], curve[1:6]))
    assert all(a >= b for a, b in zip(curve[5:20], curve[6:21]))


SAVABLE = {
    "StepLR": lambda o: L.StepLR(o, 3, 0.5),
    "MultiStepLR": lambda o: L.MultiStepLR(o, [2, 2, 5], 0.3),
    "ConstantLR": lambda o: L.ConstantLR(o, 0.5, 4),
    "LinearLR": lambda o: L.LinearLR(o, 0.2, 0.9, 7),
    "ExponentialLR": lambda o: L.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda o: L.PolynomialLR(o, 9, 2.0),
    "CosineAnnealingLR": lambda o: L.CosineAnnealingLR(o, 7, 0.01),
    "CosineAnnealingWarmRestarts": lambda o: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.001),
    "CyclicLR": lambda o: L.CyclicLR(o, 0.01, 0.1, 4, mode="exp_range", gamma=0.9),
    "OneCycleLR": lambda o: L.OneCycleLR(o, 1.0, 30, three_phase=True, anneal_strategy="linear"),
    "WarmupCosineLR": lambda o: L.WarmupCosineLR(o, 3, 30, 0.01, 0.1),
}


@pytest.mark.parametrize("name", SAVABLE)
def test_get_config_rebuilds_the_same_schedule(name):
    first = L.lr_curve(SAVABLE[name], 30, lr=0.1)
    probe = L._Probe(0.1)
    cls = L.SCHEDULERS[name]
    config = SAVABLE[name](probe).get_config()
    again = L.lr_curve(lambda o: cls(o, **config), 30, lr=0.1)
    assert again == first


def test_every_fused_optimizer_takes_a_schedule():
    for name in fusednn.optim.OPTIMIZERS:
        opt = fusednn.optim.get(name, [np.zeros(3, np.float32)], lr=0.5)
        opt.step(grads=[np.zeros(3, np.float32)])
        L.StepLR(opt, 1, 0.1).step()
        assert opt.param_groups[0]["lr"] == pytest.approx(0.05)


def test_a_scheduled_lr_reaches_the_kernel():
    """The rate a scheduler sets is the one the next step uses."""
    p = np.ones(4, np.float32)
    opt = fusednn.optim.SGD([p], lr=1.0)
    s = L.ExponentialLR(opt, 0.5)
    g = np.ones(4, np.float32)
    opt.step(grads=[g])
    s.step()
    opt.step(grads=[g])
    np.testing.assert_array_equal(p, np.full(4, 1 - 1.0 - 0.5, np.float32))


def test_plot_lr(tmp_path):
    pytest.importorskip("matplotlib")
    path = L.plot_lr(lambda o: L.OneCycleLR(o, 1.0, 100), 100, str(tmp_path / "lr.png"))
    assert open(path, "rb").read(4) == b"\x89PNG"


@pytest.mark.parametrize("name,args,kwargs", [
    ("StepLR", (3,), {}), ("CosineAnnealingLR", (10,), {}),
    ("OneCycleLR", (1.0,), dict(total_steps=20)),
    ("OneCycleLR", (1.0,), dict(total_steps=20, three_phase=True, anneal_strategy="linear")),
    ("CosineAnnealingWarmRestarts", (4,), dict(T_mult=2)),
    ("CyclicLR", (0.01, 0.1, 3), dict(mode="triangular2")),
    ("CyclicLR", (0.01, 0.1, 3), dict(mode="exp_range", gamma=0.9)),
    ("MultiStepLR", ([2, 5, 9], 0.5), {}),
])
def test_scheduler_state_dicts_load_across_torch_and_fusednn(name, args, kwargs):
    """A checkpoint written by either continues in the other on the same lr and momentum."""
    def make(lib):
        opt = lib.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1, momentum=0.9)
        return opt, getattr(lib.lr_scheduler, name)(opt, *args, **kwargs)

    libs = {"torch": torch.optim, "fusednn": fusednn.optim}
    trained = {k: make(lib) for k, lib in libs.items()}
    for _ in range(6):
        for opt, sched in trained.values():
            opt.step()
            sched.step()
    for source, target in (("torch", "fusednn"), ("fusednn", "torch")):
        opt, sched = make(libs[target])
        opt.load_state_dict(trained[source][0].state_dict())
        sched.load_state_dict(trained[source][1].state_dict())
        ref_opt, ref_sched = make(libs[source])
        ref_opt.load_state_dict(trained[source][0].state_dict())
        ref_sched.load_state_dict(trained[source][1].state_dict())
        for _ in range(8):
            for o, s in ((opt, sched), (ref_opt, ref_sched)):
                o.step()
                s.step()
            for key in ("lr", "momentum"):
                assert opt.param_groups[0][key] == pytest.approx(ref_opt.param_groups[0][key],
                                                                 rel=1e-12, abs=1e-15)


def test_a_one_cycle_state_dict_of_the_earlier_layout_still_loads():
    opt = fusednn.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1, momentum=0.9)
    sched = L.OneCycleLR(opt, 1.0, total_steps=20, anneal_strategy="linear")
    state = sched.state_dict()
    state["anneal_strategy"] = state.pop("_anneal_func_type")
    state["_schedule_phases"] = [tuple(p.values()) for p in state["_schedule_phases"]]
    again = L.OneCycleLR(opt, 1.0, total_steps=20)  # "cos" until the state says otherwise
    again.load_state_dict(state)
    assert again.anneal_strategy == "linear"
    opt.step()
    again.step()
    assert all(isinstance(p, dict) for p in again.state_dict()["_schedule_phases"])
