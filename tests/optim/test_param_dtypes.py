"""CPU parameters of every type torch users bring: float64 (float64 state, math in double)
against torch.optim in float64, and bfloat16/float16 (float32 state, converted in registers)
against an exact float32-state emulation and against torch's fused CPU optimizers; on both
kernel paths, on awkward sizes, for every optimizer and option."""
import numpy as np
import pytest
import torch

from fusednn import optim
from fusednn.optim import functional as F

SIZES = (1, 7, 33, 1029)  # tails of every length on both paths
STEPS = 200

CONFIGS = {
    "sgd": ("SGD", dict(lr=0.05)),
    "sgd-momentum": ("SGD", dict(lr=0.03, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd-nesterov": ("SGD", dict(lr=0.03, momentum=0.8, nesterov=True, maximize=True)),
    "adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.02,
                                initial_accumulator_value=0.1)),
    "rmsprop": ("RMSprop", dict(lr=0.01, alpha=0.9)),
    "rmsprop-centered-momentum": ("RMSprop", dict(lr=0.005, centered=True, momentum=0.7,
                                                  weight_decay=0.01)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam-amsgrad-wd": ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    "adamw": ("AdamW", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
}


def make(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(n, generator=g, dtype=torch.float64).to(dtype))
            for n in SIZES]


def grads_for(step, dtype, seed=0):
    g = torch.Generator().manual_seed(1000 * seed + step)
    return [(torch.randn(n, generator=g, dtype=torch.float64) * (1 + step % 5)).to(dtype)
            for n in SIZES]


@pytest.mark.parametrize("config", CONFIGS)
def test_float64_follows_torch_in_float64(cpu_path, config):
    cls, options = CONFIGS[config]
    ours_p, theirs_p = make(torch.float64), make(torch.float64)
    ours = getattr(optim, cls)(ours_p, **options)
    theirs = getattr(torch.optim, cls)(theirs_p, **options)
    for step in range(STEPS):
        for p, q, g in zip(ours_p, theirs_p, grads_for(step, torch.float64)):
            p.grad, q.grad = g.clone(), g.clone()
        ours.step()
        theirs.step()
    for p, q in zip(ours_p, theirs_p):
        assert p.dtype == torch.float64
        scale = float(q.detach().abs().max())
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12,
                                   atol=1e-12 * scale)
        for key, value in theirs.state[q].items():
            if key != "step" and value is not None:
                mine = ours.state[p][key]
                assert mine.dtype == torch.float64, key
                np.testing.assert_allclose(mine.numpy(), value.numpy(), rtol=1e-12,
                                           atol=1e-12 * float(value.abs().max()))


def emulate(cls, options, dtype, steps, seed=0):
    """torch's float32 optimizer on float32 copies of `dtype` parameters, rounded back to
    `dtype` after every step: the exact semantics of float32 state with `dtype` storage."""
    master = [torch.nn.Parameter(p.detach().float()) for p in make(dtype, seed)]
    opt = getattr(torch.optim, cls)(master, **options)
    for step in range(steps):
        for p, g in zip(master, grads_for(step, dtype, seed)):
            p.grad = g.float()
        opt.step()
        with torch.no_grad():
            for p in master:
                p.copy_(p.to(dtype).float())
    return [p.detach().to(dtype) for p in master], opt


def ulps_apart(a, b, dtype):
    """How many representable `dtype` values lie between a and b, elementwise."""
    bits = {torch.bfloat16: torch.int16, torch.float16: torch.int16}[dtype]

    def ordered(x):
        i = x.contiguous().view(bits).to(torch.int32)
        return torch.where(i < 0, -(i & 0x7FFF), i)

    return (ordered(a) - ordered(b)).abs()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("config", CONFIGS)
def test_half_types_follow_float32_state_semantics(cpu_path, config, dtype):
    cls, options = CONFIGS[config]
    steps = 60
    ours_p = make(dtype)
    ours = getattr(optim, cls)(ours_p, **options)
    for step in range(steps):
        for p, g in zip(ours_p, grads_for(step, dtype)):
            p.grad = g
        ours.step()
    expected, reference = emulate(cls, options, dtype, steps)
    total = exact = 0
    for p, q, m in zip(ours_p, expected, reference.param_groups[0]["params"]):
        assert p.dtype == dtype
        apart = ulps_apart(p.detach(), q, dtype)
        # The scalar path rounds each float32 operation as torch does, so only the order of
        # operations inside a formula can flip a final rounding (one ulp). The AVX2 path fuses
        # multiply-adds, and a flipped last bit feeds back through weight decay and momentum
        # into later steps: two ulps.
        bound = 1 if cpu_path == "scalar" else 2
        assert int(apart.max()) <= bound, f"{int(apart.max())} ulps apart"
        total += apart.numel()
        exact += int((apart == 0).sum())
        for key, value in reference.state[m].items():
            if key != "step" and value is not None:
                assert ours.state[p][key].dtype == torch.float32
                np.testing.assert_allclose(ours.state[p][key].numpy(), value.numpy(),
                                           rtol=2e-2, atol=1e-3 * float(value.abs().max()))
    assert exact >= 0.97 * total, f"only {exact}/{total} elements agree exactly"


FUSED = {
    "sgd-momentum": ("SGD", dict(lr=0.03, momentum=0.9)),
    "adagrad": ("Adagrad", dict(lr=0.1)),
    "adam": ("Adam", dict(lr=0.01)),
    "adamw-amsgrad": ("AdamW", dict(lr=0.01, amsgrad=True)),
}


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("config", FUSED)
def test_half_types_against_torch_fused(config, dtype):
    """torch's fused CPU optimizers keep their state in the parameters' own type; fusednn keeps
    float32 state. Both track the float64 trajectory; fusednn's never further than torch's
    fused one (plus one ulp), and the two stay within a few ulps of each other."""
    cls, options = FUSED[config]
    steps = 100
    ours_p, fused_p = make(dtype), make(dtype)
    exact_p = make(torch.float64)
    ours = getattr(optim, cls)(ours_p, **options)
    fused = getattr(torch.optim, cls)(fused_p, fused=True, **options)
    exact = getattr(torch.optim, cls)(exact_p, **options)
    for step in range(steps):
        gs = grads_for(step, dtype)
        for p, q, r, g in zip(ours_p, fused_p, exact_p, gs):
            p.grad, q.grad, r.grad = g.clone(), g.clone(), g.double()
        ours.step(), fused.step(), exact.step()
    for p, q, r in zip(ours_p, fused_p, exact_p):
        ours_err = float((p.detach().double() - r.detach()).abs().mean())
        fused_err = float((q.detach().double() - r.detach()).abs().mean())
        ulp = float(r.detach().abs().mean()) * (2 ** -8 if dtype == torch.bfloat16 else 2 ** -11)
        assert ours_err <= fused_err + ulp, (ours_err, fused_err)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_conversions_round_to_nearest_even_everywhere(cpu_path, dtype):
    """p - g on every 16-bit pattern class (normals, subnormals, zeros, infinities, NaN), with
    lr = 1 so the one float32 subtraction is the only rounding before the store: the result
    must be torch's own float32 -> dtype conversion, bit for bit."""
    bits = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16)
    p = bits.view(dtype).clone()
    g = torch.randn(p.numel(), generator=torch.Generator().manual_seed(3)).to(dtype)
    g[::7] = p[::7] * -0.5  # sums that land between representable values
    g[::11] = 0
    expected = (p.float() - g.float()).to(dtype)
    F.sgd_(p, g, lr=1.0, nonfinite="ignore")
    same = (p.view(torch.int16) == expected.view(torch.int16)) | (p.isnan() & expected.isnan())
    assert bool(same.all()), f"{int((~same).sum())} of {p.numel()} differ"


def test_numpy_float16_and_float64_functional():
    rng = np.random.default_rng(0)
    for dtype, state in ((np.float16, np.float32), (np.float64, np.float64)):
        p = rng.standard_normal(77).astype(dtype)
        g = rng.standard_normal(77).astype(dtype)
        m, v = np.zeros(77, state), np.zeros(77, state)
        before = p.astype(np.float64)
        F.adam_(p, g, m, v, step=1, lr=0.01)
        step = 0.01 * g.astype(np.float64) / (np.abs(g.astype(np.float64)) + 1e-8)
        tol = 1e-3 if dtype == np.float16 else 1e-12
        np.testing.assert_allclose(p.astype(np.float64), before - step, atol=tol * 4)


def test_bad_type_combinations_are_refused_clearly():
    p64, g64 = np.zeros(4), np.ones(4)
    with pytest.raises(TypeError, match=r"exp_avgs\[0\].*float64"):
        F.adam_([p64], [g64], [np.zeros(4, np.float32)], [np.zeros(4)], step=1)
    with pytest.raises(TypeError, match=r"params\[1\]: is float32 but params\[0\] is float64"):
        F.sgd_([p64, np.zeros(4, np.float32)], [g64, np.ones(4, np.float32)], lr=0.1)
    with pytest.raises(TypeError, match=r"grads\[0\]: is float32 but params\[0\] is float64"):
        F.sgd_([p64], [np.ones(4, np.float32)], lr=0.1)
    with pytest.raises(TypeError, match="int64"):
        optim.SGD([np.zeros(4, np.int64)], lr=0.1)
    with pytest.raises(TypeError, match="int32"):
        F.sgd_(torch.zeros(4, dtype=torch.int32), torch.zeros(4, dtype=torch.int32), lr=0.1)


def test_one_optimizer_mixes_types_like_torch(cpu_path):
    types = (torch.float64, torch.float32, torch.bfloat16, torch.float16)
    ours_p = [torch.nn.Parameter(torch.randn(9, dtype=torch.float64).to(t)) for t in types]
    theirs_p = [torch.nn.Parameter(p.detach().clone()) for p in ours_p]
    ours, theirs = optim.Adam(ours_p, lr=0.01), torch.optim.Adam(theirs_p, lr=0.01)
    for step in range(5):
        for p, q in zip(ours_p, theirs_p):
            g = torch.randn(9, generator=torch.Generator().manual_seed(step)).to(p.dtype)
            p.grad, q.grad = g, g.clone()
        ours.step(), theirs.step()
    for p, q in zip(ours_p, theirs_p):
        assert p.dtype == q.dtype
        tol = {torch.float64: 1e-12, torch.float32: 1e-6}.get(p.dtype, 1e-2)
        np.testing.assert_allclose(p.detach().double().numpy(), q.detach().double().numpy(),
                                   rtol=tol, atol=tol)
    state = ours.state_dict()["state"]
    assert [state[i]["exp_avg"].dtype for i in range(4)] == [
        torch.float64, torch.float32, torch.float32, torch.float32]


def test_grad_sum_squares_over_mixed_types():
    from fusednn import _cpu

    g = [np.full(3, 2, np.float32), np.full(2, 0.5), torch.full((4,), 1.5, dtype=torch.bfloat16),
         np.full(5, -1, np.float16)]
    assert _cpu.grad_sum_squares(g) == 3 * 4 + 2 * 0.25 + 4 * 2.25 + 5
