"""torch's element-wise losses and nll_loss against torch itself: values under every
reduction, gradients of the input and of the target (at the kinks too), and the errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import fusednn
import fusednn.nn as nn
import fusednn.nn.functional as F

from .against_torch import finite_difference_check

REDUCTIONS = ("mean", "sum", "none")
SHAPES = [(7,), (3, 5), (2, 3, 4), (0, 3)]


def _run(ours_fn, torch_fn, arrays, grad_of=(0, 1), seed=0):
    """Both losses on float64 copies of ``arrays``; values and the gradients of sum(loss * r)
    for the inputs in ``grad_of``."""
    rng = np.random.default_rng(seed)
    xs = [fusednn.Tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div's 'mean' warns in both
        out, ref = ours_fn(*xs), torch_fn(*ts)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    if not grad_of:
        return
    r = rng.standard_normal(ref.shape)
    (out * fusednn.Tensor(r)).sum().backward()
    (ref * torch.tensor(r)).sum().backward()
    for i in grad_of:
        assert xs[i].grad is not None, f"operand {i} got no gradient"
        np.testing.assert_allclose(xs[i].grad.numpy(), ts[i].grad.numpy(), rtol=1e-12,
                                   atol=1e-12, err_msg=f"gradient of operand {i}")


def _pair(rng, shape):
    return rng.standard_normal(shape) * 2, rng.standard_normal(shape) * 2


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_l1_huber_smooth_l1_match_torch(reduction, shape):
    rng = np.random.default_rng(len(shape))
    x, t = _pair(rng, shape)
    if reduction == "mean" and not x.size:
        return  # the mean of nothing: NaN in both, checked below
    _run(lambda a, b: F.l1_loss(a, b, reduction), lambda a, b: TF.l1_loss(a, b, None, None,
                                                                          reduction), [x, t])
    for delta in (1.0, 0.3, 2.5):
        _run(lambda a, b: F.huber_loss(a, b, reduction, delta),
             lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta), [x, t])
    for beta in (1.0, 0.3, 0.0):
        _run(lambda a, b: F.smooth_l1_loss(a, b, reduction, beta),
             lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, t])


def test_kinks_take_torchs_slopes():
    # differences of exactly 0, +-delta and +-beta, and infinite ones
    t = np.zeros(7)
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, np.inf, -np.inf])
    _run(lambda a, b: F.l1_loss(a, b, "none"), lambda a, b: TF.l1_loss(a, b, reduction="none"),
         [x, t])
    _run(lambda a, b: F.huber_loss(a, b, "none", 0.5),
         lambda a, b: TF.huber_loss(a, b, reduction="none", delta=0.5), [x, t])
    _run(lambda a, b: F.smooth_l1_loss(a, b, "none", 0.5),
         lambda a, b: TF.smooth_l1_loss(a, b, reduction="none", beta=0.5), [x, t])


def test_mean_of_nothing_is_nan_as_torchs():
    empty = fusednn.Tensor(np.zeros((0, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for fn in (F.l1_loss, F.huber_loss, F.smooth_l1_loss):
            assert np.isnan(fn(empty, np.zeros((0, 3))).item())


def test_pointwise_losses_float32_follow_float64():
    rng = np.random.default_rng(3)
    x, t = (a.astype(np.float32) for a in _pair(rng, (16, 9)))
    for fn, tfn in ((F.l1_loss, TF.l1_loss), (F.huber_loss, TF.huber_loss),
                    (F.smooth_l1_loss, TF.smooth_l1_loss)):
        out = fn(fusednn.Tensor(x), t)
        assert out.dtype == np.float32
        ref = tfn(torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64))
        np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6,), (4, 3), (2, 3, 5)])
def test_binary_cross_entropy_matches_torch(reduction, shape):
    rng = np.random.default_rng(sum(shape))
    p = rng.uniform(0.02, 0.98, shape)
    t = rng.uniform(0, 1, shape)
    _run(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
         lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), [p, t])
    w = rng.uniform(0.5, 2, shape[-1:])  # broadcast over the leading axes
    _run(lambda a, b: F.binary_cross_entropy(a, b, w, reduction),
         lambda a, b: TF.binary_cross_entropy(a, b, torch.tensor(w), reduction=reduction),
         [p, t])
    _run(lambda a, b: nn.BCELoss(weight=w, reduction=reduction)(a, b),
         lambda a, b: torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction)(a, b),
         [p, t])


def test_binary_cross_entropy_at_certain_probabilities():
    # log 0 is clamped at -100 in the value, and the gradient's denominator at 1e-12
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    _run(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
         lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), [p, t], grad_of=(0,))


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_kl_div_matches_torch(reduction, log_target):
    rng = np.random.default_rng(5)
    logp = np.log(rng.dirichlet(np.ones(6), size=4))
    q = rng.dirichlet(np.ones(6), size=4)
    q[0, 2] = 0.0  # a zero probability: 0 log 0 = 0
    target = np.log(q + 1e-3) if log_target else q
    _run(lambda a, b: F.kl_div(a, b, reduction, log_target),
         lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
         [logp, target], grad_of=(0, 1) if log_target else (0,))
    _run(lambda a, b: nn.KLDivLoss(reduction, log_target)(a, b),
         lambda a, b: torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, b),
         [logp, target], grad_of=(0,))


def test_kl_div_target_gradient_where_the_target_is_positive():
    rng = np.random.default_rng(6)
    logp, q = np.log(rng.dirichlet(np.ones(5), size=3)), rng.dirichlet(np.ones(5), size=3)
    _run(lambda a, b: F.kl_div(a, b, "sum"), lambda a, b: TF.kl_div(a, b, reduction="sum"),
         [logp, q])


def test_kl_div_mean_warns_as_torchs():
    x = fusednn.Tensor(np.log(np.full((2, 2), 0.5)))
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, np.full((2, 2), 0.5))


@pytest.mark.parametrize("fn", [F.l1_loss, F.huber_loss, F.smooth_l1_loss,
                                F.binary_cross_entropy])
def test_pointwise_losses_finite_differences(fn):
    rng = np.random.default_rng(7)
    x = rng.uniform(0.1, 0.9, (3, 4))
    t = rng.uniform(0.1, 0.9, (3, 4))
    t[np.abs(x - t) < 0.05] += 0.1  # no difference near a kink, where the slope jumps
    finite_difference_check(lambda a, b: fn(a, b, reduction="none"), [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction):
    rng = np.random.default_rng(8)
    logp = np.log(rng.dirichlet(np.ones(5), size=9))
    y = rng.integers(0, 5, 9)
    y[[2, 6]] = -100
    w = rng.uniform(0.5, 2, 5)
    _run(lambda a: F.nll_loss(a, y, reduction=reduction),
         lambda a: TF.nll_loss(a, torch.tensor(y), reduction=reduction), [logp], grad_of=(0,))
    _run(lambda a: nn.NLLLoss(weight=w, reduction=reduction)(a, y),
         lambda a: torch.nn.NLLLoss(weight=torch.tensor(w), reduction=reduction)(
             a, torch.tensor(y)), [logp], grad_of=(0,))
    y[(y == 3) | (y == -100)] = 7  # another ignored class
    _run(lambda a: F.nll_loss(a, y, w, ignore_index=7, reduction=reduction),
         lambda a: TF.nll_loss(a, torch.tensor(y), torch.tensor(w), ignore_index=7,
                               reduction=reduction), [logp], grad_of=(0,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_positions_and_one_row(reduction):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4, 3, 5))
    y = rng.integers(0, 4, (2, 3, 5))
    _run(lambda a: F.nll_loss(a, y, reduction=reduction),
         lambda a: TF.nll_loss(a, torch.tensor(y), reduction=reduction), [x], grad_of=(0,))
    row = rng.standard_normal(4)
    _run(lambda a: F.nll_loss(a, np.array(2), reduction=reduction),
         lambda a: TF.nll_loss(a, torch.tensor(2), reduction=reduction), [row], grad_of=(0,))


def test_nll_loss_with_nothing_counted_is_nan_as_torchs():
    x = fusednn.Tensor(np.zeros((3, 4)), requires_grad=True)
    assert np.isnan(F.nll_loss(x, np.full(3, -100)).item())
    assert np.isnan(F.nll_loss(fusednn.Tensor(np.zeros((0, 4))),
                               np.zeros(0, np.int64)).item())
    assert F.nll_loss(x, np.full(3, -100), reduction="sum").item() == 0.0


def test_nll_loss_after_log_softmax_is_cross_entropy():
    rng = np.random.default_rng(10)
    z = rng.standard_normal((6, 4)).astype(np.float32)
    y = rng.integers(0, 4, 6)
    ours = F.nll_loss(F.log_softmax(fusednn.Tensor(z), dim=1), y).item()
    np.testing.assert_allclose(ours, F.cross_entropy(fusednn.Tensor(z), y).item(), rtol=1e-6)


def test_bad_arguments_are_refused_by_name():
    x = fusednn.Tensor(np.full((2, 3), 0.5))
    t = np.full((2, 3), 0.5)
    with pytest.raises(ValueError, match="input must be in"):
        F.binary_cross_entropy(fusednn.Tensor(np.array([0.5, 1.5])), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="input must be in"):
        F.binary_cross_entropy(fusednn.Tensor(np.array([0.5, np.nan])), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="target must be in"):
        F.binary_cross_entropy(x, np.full((2, 3), 2.0))
    with pytest.raises(ValueError, match="weight of shape"):
        F.binary_cross_entropy(x, t, weight=np.ones(4))
    with pytest.raises(ValueError, match="target shape"):
        F.l1_loss(x, np.zeros(3))
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(x, t, delta=0.0)
    with pytest.raises(ValueError, match="beta must not be negative"):
        F.smooth_l1_loss(x, t, beta=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        F.l1_loss(x, t, reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(TypeError, match="target type"):
        F.l1_loss(x, fusednn.Tensor(t.astype(np.float32)))
    with pytest.raises(TypeError, match="input must be a fusednn.Tensor"):
        F.l1_loss(t, t)
    with pytest.raises(ValueError, match="out of range"):
        F.nll_loss(x, np.array([0, 3]))
    with pytest.raises(TypeError, match="class indices"):
        F.nll_loss(x, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="must be of shape"):
        F.nll_loss(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="weight must be"):
        F.nll_loss(x, np.array([0, 1]), weight=np.ones(2))
