"""Every functional op, on both CPU kernel paths: forward against torch in float64, gradients
against torch autograd (float32), on random data and awkward shapes; finite differences where
a float64 path exists."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import fusednn
from fusednn import Tensor
from fusednn.nn import functional as F
from tests.conftest import CPU_PATHS
from tests.nn.against_torch import compare, finite_difference_check, rand

rng = np.random.default_rng(11)

ACTS = [
    ("relu", F.relu, torch.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda t: TF.leaky_relu(t, 0.2)),
    ("leaky_relu_negative", lambda x: F.leaky_relu(x, -0.3), lambda t: TF.leaky_relu(t, -0.3)),
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda t: TF.gelu(t, approximate="tanh")),
]


@pytest.mark.parametrize("name,ours,theirs", ACTS, ids=[a[0] for a in ACTS])
@pytest.mark.parametrize("n", [1, 7, 4097])
def test_activations(cpu_path, name, ours, theirs, n):
    x = rand(rng, n, scale=3.0)
    x[: min(n, 3)] = [0.3, -1e-4, 12.0][: min(n, 3)]  # tiny and saturating values too
    compare(ours, theirs, [x])


@pytest.mark.parametrize("name,ours,theirs", ACTS, ids=[a[0] for a in ACTS])
def test_activations_float64_finite_differences(name, ours, theirs):
    finite_difference_check(ours, [rand(rng, 9) + 0.05])


FORMULA_ACTS = [
    ("elu", F.elu, TF.elu),
    ("elu_alpha", lambda x: F.elu(x, 0.3), lambda t: TF.elu(t, 0.3)),
    ("selu", F.selu, TF.selu),
    ("softplus", F.softplus, TF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 5.0), lambda t: TF.softplus(t, 2.0, 5.0)),
    ("softsign", F.softsign, TF.softsign),
    ("silu", F.silu, TF.silu),
    ("mish", F.mish, TF.mish),
    ("relu6", F.relu6, TF.relu6),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid),
    ("hardswish", F.hardswish, TF.hardswish),
    ("exponential", F.exponential, torch.exp),
    ("celu", F.celu, TF.celu),
    ("celu_alpha", lambda x: F.celu(x, 0.4), lambda t: TF.celu(t, 0.4)),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink),
    ("hardtanh", F.hardtanh, TF.hardtanh),
    ("hardtanh_range", lambda x: F.hardtanh(x, -2.0, 0.5), lambda t: TF.hardtanh(t, -2.0, 0.5)),
    ("softshrink", F.softshrink, TF.softshrink),
    ("hardshrink", lambda x: F.hardshrink(x, 1.5), lambda t: TF.hardshrink(t, 1.5)),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid),
    ("threshold", lambda x: F.threshold(x, 0.7, -2.0), lambda t: TF.threshold(t, 0.7, -2.0)),
]


@pytest.mark.parametrize("name,ours,theirs", FORMULA_ACTS, ids=[a[0] for a in FORMULA_ACTS])
def test_formula_activations_match_torch(name, ours, theirs):
    """The activations the kernels do not have: forward and gradient against torch in both
    precisions, at their kinks (0, +-3, 6), far out (+-25: no overflow, no cancellation) and
    on random data."""
    x = rand(rng, 500, scale=4.0)
    x[:9] = [0.0, -3.0, 3.0, 6.0, 25.0, -25.0, 21.0, 1e-6, -1e-6]
    compare(ours, theirs, [x])


@pytest.mark.parametrize("name,ours,theirs", FORMULA_ACTS, ids=[a[0] for a in FORMULA_ACTS])
def test_formula_activations_float64_finite_differences(name, ours, theirs):
    x = rand(rng, 9) + 0.05
    x[np.abs(np.abs(x) - 3) < 0.05] += 0.2  # away from the kinks
    finite_difference_check(ours, [x])


def keras_relu_reference(x, slope, top, t):
    """Keras 3's ReLU.static_call, in numpy."""
    neg = np.maximum(-x + t, 0) if t else np.maximum(-x, 0)
    y = x * (x > t) if t else np.maximum(x, 0)
    if top is not None:
        y = np.clip(y, 0, top)
    return y - slope * neg if slope else y


KERAS_ONLY = [
    ("squareplus", lambda x: F.squareplus(x, 3.0), lambda x: (x + np.sqrt(x * x + 3.0)) / 2),
    ("sparse_plus", F.sparse_plus,
     lambda x: np.where(x <= -1, 0, np.where(x < 1, (x + 1) ** 2 / 4, x))),
    ("sparse_sigmoid", F.sparse_sigmoid, lambda x: np.clip((x + 1) / 2, 0, 1)),
    ("keras_relu", lambda x: F.keras_relu(x, 0.2, 2.0, 0.5),
     lambda x: keras_relu_reference(x, 0.2, 2.0, 0.5)),
    ("keras_relu_threshold", lambda x: F.keras_relu(x, 0.0, None, -0.3),
     lambda x: keras_relu_reference(x, 0.0, None, -0.3)),
    ("keras_relu_clip", lambda x: F.keras_relu(x, 0.1, 1.0, 0.0),
     lambda x: keras_relu_reference(x, 0.1, 1.0, 0.0)),
]


@pytest.mark.parametrize("name,ours,formula", KERAS_ONLY, ids=[a[0] for a in KERAS_ONLY])
def test_keras_only_activations_follow_kerass_formulas(name, ours, formula):
    """Keras's activations torch lacks: the forward against Keras's formula (float64), the
    gradient against finite differences away from the kinks."""
    x = rand(rng, 400, scale=3.0)
    got = ours(Tensor(x.astype(np.float64))).numpy()
    np.testing.assert_allclose(got, formula(x.astype(np.float64)), rtol=1e-12, atol=1e-12)
    # away from the kinks and the threshold's jump (at least 0.02 from each)
    x = np.array([-2.1, -1.3, -0.62, -0.15, 0.12, 0.43, 0.77, 1.31, 1.72, 2.6], np.float32)
    finite_difference_check(ours, [x])


def test_glu_and_sparsemax():
    x = rand(rng, 5, 6)
    compare(F.glu, TF.glu, [x])
    compare(lambda t: F.glu(t, 0), lambda t: TF.glu(t, 0), [rand(rng, 4, 3)])
    with pytest.raises(ValueError, match="must be even"):
        F.glu(Tensor(rand(rng, 3, 5)))
    z = rand(rng, 7, 5, scale=2.0)
    y = F.sparsemax(Tensor(z)).numpy()
    np.testing.assert_allclose(y.sum(1), 1.0, rtol=1e-6)
    assert (y >= 0).all() and (y == 0).any()
    # the projection onto the simplex: tau found by bisection on sum(max(z - tau, 0)) = 1
    z = rng.standard_normal((50, 7)) * rng.choice([0.1, 1.0, 5.0], (50, 1))
    lo, hi = z.min(1) - 1, z.max(1)
    for _ in range(200):
        mid = (lo + hi) / 2
        over = np.maximum(z - mid[:, None], 0).sum(1) > 1
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    np.testing.assert_allclose(F.sparsemax(Tensor(z)).numpy(),
                               np.maximum(z - lo[:, None], 0), atol=1e-9)
    row = np.array([0.5, 0.4, 0.1, -1.0], np.float32)
    np.testing.assert_allclose(F.sparsemax(Tensor(row[None])).numpy()[0], [0.5, 0.4, 0.1, 0.0],
                               atol=1e-7)
    # away from the kinks (each value at least 0.01 from entering or leaving the support)
    z = np.array([[1.0, 0.2], [0.8, -0.5], [0.1, 0.6], [-1.0, 0.55], [0.3, -2.0], [-0.4, 0.1]],
                 np.float32)
    finite_difference_check(lambda t: F.sparsemax(t, 0), [z])


LINEAR_ACTS = [None, "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]
TORCH_ACT = {None: lambda t: t, "relu": torch.relu, "leaky_relu": lambda t: TF.leaky_relu(t, 0.01),
             "sigmoid": torch.sigmoid, "tanh": torch.tanh, "gelu": TF.gelu,
             "gelu_tanh": lambda t: TF.gelu(t, approximate="tanh")}


@pytest.mark.parametrize("act", LINEAR_ACTS)
@pytest.mark.parametrize("batch,n_in,n_out", [(1, 1, 1), (5, 13, 7), (33, 65, 17)])
def test_linear(cpu_path, act, batch, n_in, n_out):
    x, w, b = rand(rng, batch, n_in), rand(rng, n_out, n_in, scale=0.3), rand(rng, n_out)
    compare(lambda x, w, b: F.linear(x, w, b, activation=act),
            lambda x, w, b: TORCH_ACT[act](TF.linear(x, w, b)), [x, w, b])


@pytest.mark.parametrize("xs,ws", [((4, 0), (3, 0)), ((4, 5), (0, 5)), ((2, 0, 5), (3, 5)),
                                   ((4, 0), (0, 0))])
def test_linear_with_an_empty_dimension(cpu_path, xs, ws):
    """No input features gives the bias (torch's answer); no rows or no outputs, empty
    results and zero gradients."""
    x, w, b = rand(rng, *xs), rand(rng, *ws), rand(rng, ws[0])
    compare(lambda x, w, b: F.linear(x, w, b, activation="relu"),
            lambda x, w, b: torch.relu(TF.linear(x, w, b)), [x, w, b])


def test_linear_no_bias_and_leading_axes(cpu_path):
    x, w = rand(rng, 2, 3, 9), rand(rng, 4, 9)
    compare(lambda x, w: F.linear(x, w), lambda x, w: TF.linear(x, w), [x, w])


@pytest.mark.parametrize("act", [None, "relu", "tanh", "gelu"])
def test_linear_float64_finite_differences(act):
    finite_difference_check(lambda x, w, b: F.linear(x, w, b, activation=act),
                            [rand(rng, 3, 4), rand(rng, 2, 4), rand(rng, 2)])


CONV_CASES = [
    # (N, C, H, W), (O, kh, kw), stride, padding, dilation
    ((1, 1, 5, 5), (1, 3, 3), 1, 0, 1),
    ((2, 3, 9, 7), (4, 3, 3), 1, 1, 1),
    ((2, 3, 9, 8), (5, 3, 3), 2, 1, 1),
    ((3, 4, 6, 6), (2, 1, 1), 1, 0, 1),      # pointwise: no im2col
    ((2, 2, 7, 9), (3, 1, 1), 2, 0, 1),      # 1x1 with stride
    ((2, 3, 10, 11), (4, 3, 2), (2, 1), (1, 0), 1),
    ((1, 2, 11, 11), (3, 3, 3), 1, 2, 2),    # dilated
    ((2, 3, 4, 4), (2, 4, 4), 1, 0, 1),      # kernel as large as the input
    # output rows 16 wide or more: lowered row by row (narrower ones through index tables)
    ((2, 3, 5, 37), (4, 3, 3), 1, 1, 1),
    ((1, 2, 6, 40), (3, 3, 2), (2, 2), (1, 0), (1, 2)),
    ((2, 2, 4, 18), (3, 3, 3), 1, 0, 1),     # exactly 16 wide
]


@pytest.mark.parametrize("act", [None, "relu", "gelu"])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation", CONV_CASES)
def test_conv2d(cpu_path, act, xs, ws, stride, padding, dilation):
    x = rand(rng, *xs)
    w = rand(rng, ws[0], xs[1], ws[1], ws[2], scale=0.3)
    b = rand(rng, ws[0])
    compare(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, activation=act),
            lambda x, w, b: TORCH_ACT[act](TF.conv2d(x, w, b, stride, padding, dilation)),
            [x, w, b])


BATCHED_CONV_CASES = [
    # small output planes, where a thread's GEMM takes several samples' cols side by side
    ((11, 3, 5, 5), (4, 3, 3), 1, 0, 1),     # 3x3 outputs, as the tutorial CNN's last conv
    ((11, 2, 13, 13), (3, 3, 3), 1, 0, 1),   # 11x11
    ((11, 3, 4, 4), (2, 1, 1), 1, 0, 1),     # pointwise on small planes: im2col after all
    ((11, 2, 9, 8), (3, 3, 2), (2, 1), (1, 0), (1, 2)),
]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation", BATCHED_CONV_CASES)
def test_conv2d_samples_batched_per_gemm(cpu_path, threads, xs, ws, stride, padding, dilation):
    """Chunks of samples per GEMM (and a last, shorter chunk) on 1-3 threads: forward and every
    gradient against torch."""
    cpu = fusednn._backend.cpu_module()
    before = cpu.num_threads()
    cpu.set_num_threads(threads)
    try:
        x = rand(rng, *xs)
        w = rand(rng, ws[0], xs[1], ws[1], ws[2], scale=0.3)
        b = rand(rng, ws[0])
        compare(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, activation="relu"),
                lambda x, w, b: torch.relu(TF.conv2d(x, w, b, stride, padding, dilation)),
                [x, w, b])
    finally:
        cpu.set_num_threads(before)


LOWERING_CASES = [
    # (N, C, H, W), (O, kh, kw), stride, padding, dilation: out_w around the width (16) where
    # the lowering switches from index tables to row copies
    ((3, 5, 13, 13), (4, 3, 3), 1, 0, 1),
    ((2, 3, 9, 17), (4, 3, 3), 1, 0, 1),     # 15 wide: tables
    ((2, 3, 9, 18), (4, 3, 3), 1, 0, 1),     # 16 wide: rows
    ((2, 3, 11, 10), (2, 3, 3), (2, 1), 2, (1, 2)),
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation", LOWERING_CASES)
def test_conv2d_kernel_paths_agree_bit_for_bit(xs, ws, stride, padding, dilation):
    """im2col and col2im only move and sum values (col2im in one order on every path), and
    ReLU is exact: the scalar and AVX2 paths give identical outputs and input and weight
    gradients. The bias gradient is a reduction summed in vector lanes, so it agrees to fp32
    rounding only."""
    if len(CPU_PATHS) < 2:
        pytest.skip("this CPU has the scalar path only")
    x = rand(rng, *xs)
    w = rand(rng, ws[0], xs[1], ws[1], ws[2], scale=0.3)
    b = rand(rng, ws[0])
    g = rand(rng, *F.conv2d(Tensor(x), Tensor(w), None, stride, padding, dilation).shape)
    results = []
    for path in CPU_PATHS:
        with fusednn._backend.kernel_path_set_to(path):
            args = [Tensor(a, requires_grad=True) for a in (x, w, b)]
            y = F.conv2d(*args, stride=stride, padding=padding, dilation=dilation,
                         activation="relu")
            y.backward(g)
            results.append([y.numpy()] + [a.grad.numpy() for a in args])
    for ours, reference in zip(results[1][:3], results[0][:3]):
        np.testing.assert_array_equal(ours, reference)
    np.testing.assert_allclose(results[1][3], results[0][3], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("xs,ws,stride,padding,dilation", LOWERING_CASES + [
    ((2, 3, 6, 30), (4, 3, 3), 1, 1, 1),     # wide rows, normally copied row by row
    ((1, 2, 9, 21), (3, 2, 3), (1, 2), (2, 1), (2, 1)),
])
def test_conv2d_row_and_table_lowerings_agree_bit_for_bit(cpu_path, monkeypatch, xs, ws, stride,
                                                          padding, dilation):
    """The same conv lowered row by row and through index tables (FUSEDNN_CONV_LOWERING
    forces each): the same col and image, so identical outputs and gradients."""
    x = rand(rng, *xs)
    w = rand(rng, ws[0], xs[1], ws[1], ws[2], scale=0.3)
    b = rand(rng, ws[0])
    g = rand(rng, *F.conv2d(Tensor(x), Tensor(w), None, stride, padding, dilation).shape)
    results = []
    for way in ("rows", "tables"):
        monkeypatch.setenv("FUSEDNN_CONV_LOWERING", way)
        args = [Tensor(a, requires_grad=True) for a in (x, w, b)]
        y = F.conv2d(*args, stride=stride, padding=padding, dilation=dilation, activation="relu")
        y.backward(g)
        results.append([y.numpy()] + [a.grad.numpy() for a in args])
    for ours, reference in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, reference)


def test_conv2d_lowering_setting_is_checked(monkeypatch):
    monkeypatch.setenv("FUSEDNN_CONV_LOWERING", "columns")
    with pytest.raises(ValueError, match="FUSEDNN_CONV_LOWERING"):
        F.conv2d(Tensor(rand(rng, 1, 1, 5, 5)), Tensor(rand(rng, 1, 1, 3, 3)))


def test_conv2d_same_padding_and_no_bias(cpu_path):
    x, w = rand(rng, 2, 3, 8, 7), rand(rng, 4, 3, 5, 3)
    compare(lambda x, w: F.conv2d(x, w, padding="same"),
            lambda x, w: TF.conv2d(x, w, padding="same"), [x, w])


POOLS = [((2, 3, 8, 8), 2, None, 0), ((1, 2, 7, 9), 3, 2, 1), ((2, 1, 5, 6), (2, 3), (1, 2), 0),
         ((1, 1, 1, 1), 1, None, 0)]


@pytest.mark.parametrize("shape,k,s,p", POOLS)
def test_max_pool2d(shape, k, s, p):
    x = rand(rng, *shape)
    compare(lambda x: F.max_pool2d(x, k, s, p), lambda t: TF.max_pool2d(t, k, s, p), [x])


def test_max_pool2d_dilation():
    x = rand(rng, 2, 2, 9, 9)
    compare(lambda x: F.max_pool2d(x, 3, 1, 1, dilation=2),
            lambda t: TF.max_pool2d(t, 3, 1, 1, dilation=2), [x])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("shape,k,s,p", POOLS)
def test_avg_pool2d(shape, k, s, p, count_include_pad):
    x = rand(rng, *shape)
    compare(lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=count_include_pad),
            lambda t: TF.avg_pool2d(t, k, s, p, count_include_pad=count_include_pad), [x])


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 5, 7), (6, 3, 5), (4, 2, 3, 2, 2), (5, 4, 1)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(shape, training):
    """Any (N, C, ...) rank: BatchNorm1d's (N, C, L), 2d's, 3d's."""
    c = shape[1]
    x, w, b = rand(rng, *shape), rand(rng, c), rand(rng, c)
    rm, rv = rand(rng, c), np.abs(rand(rng, c)) + 0.5
    ours_rm, ours_rv = rm.copy(), rv.copy()
    torch_rm, torch_rv = torch.tensor(rm), torch.tensor(rv)
    def theirs(x, w, b):
        if x.dtype == torch.float64:  # the reference call must not touch the float32 stats
            return TF.batch_norm(x, torch_rm.double(), torch_rv.double(), w, b, training, 0.2,
                                 1e-5)
        return TF.batch_norm(x, torch_rm, torch_rv, w, b, training, 0.2, 1e-5)

    compare(lambda x, w, b: F.batch_norm(x, ours_rm, ours_rv, w, b, training, 0.2, 1e-5),
            theirs, [x, w, b])
    # the float32 call of each side updated its running statistics once
    np.testing.assert_allclose(ours_rm, torch_rm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours_rv, torch_rv.numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_finite_differences():
    finite_difference_check(lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
                            [rand(rng, 5, 3), rand(rng, 3), rand(rng, 3)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n,c", [(1, 1), (7, 10), (33, 1000)])
def test_cross_entropy_indices(cpu_path, reduction, n, c):
    x = rand(rng, n, c, scale=3.0)
    y = rng.integers(0, c, n)
    compare(lambda x: F.cross_entropy(x, y, reduction=reduction),
            lambda t: TF.cross_entropy(t, torch.tensor(y), reduction=reduction), [x])


def test_cross_entropy_weights_ignore_index_and_smoothing(cpu_path):
    n, c = 12, 5
    x, w = rand(rng, n, c), np.abs(rand(rng, c)) + 0.1
    y = rng.integers(0, c, n)
    y[[2, 7]] = -100
    for smoothing in (0.0, 0.1):
        compare(lambda x: F.cross_entropy(x, y, weight=w, label_smoothing=smoothing),
                lambda t: TF.cross_entropy(t, torch.tensor(y), weight=torch.tensor(
                    w, dtype=t.dtype), label_smoothing=smoothing), [x])


def test_cross_entropy_probability_targets(cpu_path):
    n, c = 9, 6
    x = rand(rng, n, c)
    q = rng.random((n, c)).astype(np.float32)
    q /= q.sum(axis=1, keepdims=True)
    w = np.abs(rand(rng, c)) + 0.1
    compare(lambda x: F.cross_entropy(x, q, weight=w),
            lambda t: TF.cross_entropy(t, torch.tensor(q, dtype=t.dtype),
                                       weight=torch.tensor(w, dtype=t.dtype)), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_keeps_the_logits_type(dtype):
    """The loss and the gradient are in the logits' type for every target kind and
    reduction, as torch's (a class count in int64 must not promote the mean to float64)."""
    x = fusednn.Tensor(rand(rng, 5, 4).astype(dtype), requires_grad=True)
    y = np.array([0, 3, -100, 1, 2])
    for kwargs in ({}, {"weight": np.ones(4, dtype)}, {"reduction": "sum"},
                   {"label_smoothing": 0.1}):
        loss = F.cross_entropy(x, y, **kwargs)
        assert loss.dtype == dtype, kwargs
        x.grad = None
        loss.backward()
        assert x.grad.dtype == dtype, kwargs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_with_every_row_ignored_is_nan_without_a_warning(dtype):
    """torch's mean over no counted rows: NaN, a zero gradient, and no warning."""
    x = rand(rng, 3, 4).astype(dtype)
    y = np.array([-100, -100, -100])
    ours = fusednn.Tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(ours, y)
        loss.backward()
    theirs = torch.tensor(x, requires_grad=True)
    expected = TF.cross_entropy(theirs, torch.tensor(y))
    expected.backward()
    assert np.isnan(loss.item()) and bool(torch.isnan(expected)) and loss.dtype == dtype
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(3, 5, 4), (2, 4, 3, 5), (4, 1, 6), (5,)],
                         ids=["N,C,d", "N,C,d1,d2", "one class", "unbatched"])
def test_cross_entropy_over_positions_and_unbatched(cpu_path, reduction, shape):
    """torch's other shapes: logits (N, C, d1, ...) with indices (N, d1, ...) or probabilities
    shaped like the logits, and one (C,) row with a 0-d index; class weights, ignore_index and
    label smoothing count per position as per row."""
    c = shape[0] if len(shape) == 1 else shape[1]
    x, w = rand(rng, *shape, scale=2.0), np.abs(rand(rng, c)) + 0.1
    positions = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = rng.integers(0, c, positions)
    if y.ndim:
        y.reshape(-1)[::4] = -100
    q = rng.random(shape).astype(np.float32)
    q /= q.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
    for target, as_torch in ((y, lambda t: torch.tensor(y)),
                             (q, lambda t: torch.tensor(q, dtype=t.dtype))):
        for kwargs in ({}, {"weight": w}, {"label_smoothing": 0.2}):
            their_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                            for k, v in kwargs.items()}
            compare(lambda x: F.cross_entropy(x, target, reduction=reduction, **kwargs),
                    lambda t: TF.cross_entropy(t, as_torch(t), reduction=reduction, **{
                        k: v.to(t.dtype) if isinstance(v, torch.Tensor) else v
                        for k, v in their_kwargs.items()}), [x])


def test_cross_entropy_names_a_target_that_fits_no_shape():
    x = Tensor(rand(rng, 2, 3, 4))
    with pytest.raises(ValueError, match=r"class indices of shape \(2, 4\).*got \(2, 3\)"):
        F.cross_entropy(x, np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match=r"0-d class index.*got shape \(2,\)"):
        F.cross_entropy(Tensor(rand(rng, 3)), np.array([0, 1]))


def test_cross_entropy_float64_finite_differences():
    y = np.array([0, 2, 1])
    finite_difference_check(lambda x: F.cross_entropy(x, y), [rand(rng, 3, 4)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_bce_with_logits(reduction):
    x, t = rand(rng, 6, 3, scale=4.0), rng.random((6, 3)).astype(np.float32)
    compare(lambda x: F.mse_loss(x, t, reduction),
            lambda a: TF.mse_loss(a, torch.tensor(t, dtype=a.dtype), reduction=reduction), [x])
    pw, w = np.abs(rand(rng, 3)) + 0.5, np.abs(rand(rng, 6, 3))
    compare(lambda x: F.binary_cross_entropy_with_logits(x, t, w, reduction, pos_weight=pw),
            lambda a: TF.binary_cross_entropy_with_logits(
                a, torch.tensor(t, dtype=a.dtype), torch.tensor(w, dtype=a.dtype), reduction=reduction,
                pos_weight=torch.tensor(pw, dtype=a.dtype)), [x])
    finite_difference_check(lambda x: F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
                            [x])


def test_dropout_matches_ops_kernel_and_regenerates_mask():
    x = Tensor(rand(rng, 1000), requires_grad=True)
    gen = fusednn.ops.PhiloxGenerator(seed=5)
    y = F.dropout(x, 0.3, generator=gen)
    expected = fusednn.ops.dropout(x.numpy(), 0.3, seed=5, offset=0)
    np.testing.assert_array_equal(y.numpy(), expected)
    y.sum().backward()
    kept = expected != 0
    np.testing.assert_allclose(x.grad.numpy()[kept], 1 / (1 - 0.3), rtol=1e-4)
    assert np.all(x.grad.numpy()[~kept] == 0)
    assert F.dropout(x, 0.3, training=False) is x


BAD = [
    (lambda: F.linear(Tensor(rand(rng, 2, 3)), Tensor(rand(rng, 4, 5))), ValueError,
     r"3 features but the weight \(4, 5\) expects 5"),
    (lambda: F.linear(Tensor(rand(rng, 2, 3)), Tensor(rand(rng, 4, 3)), Tensor(rand(rng, 5))),
     ValueError, "bias of shape"),
    (lambda: F.linear(Tensor(rand(rng, 2, 3)), Tensor(rand(rng, 4, 3)), activation="swish"),
     ValueError, "unknown activation"),
    (lambda: F.conv2d(Tensor(rand(rng, 1, 2, 5, 5)), Tensor(rand(rng, 3, 4, 3, 3))), ValueError,
     "input has 2 channels"),
    (lambda: F.conv2d(Tensor(rand(rng, 1, 2, 3, 3)), Tensor(rand(rng, 3, 2, 5, 5))), ValueError,
     "larger than the input"),
    (lambda: F.conv2d(Tensor(rand(rng, 2, 5, 5)), Tensor(rand(rng, 3, 2, 3, 3))), ValueError,
     "must be 4-D"),
    (lambda: F.conv2d(Tensor(rand(rng, 1, 2, 5, 5).astype(np.float16)),
                      Tensor(rand(rng, 3, 2, 3, 3).astype(np.float16))), TypeError,
     "must be float32"),
    (lambda: F.max_pool2d(Tensor(rand(rng, 1, 1, 2, 2)), 3), ValueError, "larger than the input"),
    (lambda: F.cross_entropy(Tensor(rand(rng, 3, 4)), np.array([0, 4, 1])), ValueError,
     "class 4 is out of range"),
    (lambda: F.cross_entropy(Tensor(rand(rng, 3, 4)), np.array([0, 1])), ValueError,
     r"must be \(3,\)"),
    (lambda: F.mse_loss(Tensor(rand(rng, 3)), np.zeros(4, np.float32)), ValueError,
     "does not match"),
    (lambda: F.batch_norm(Tensor(rand(rng, 1, 3)), training=True), ValueError,
     "more than one value"),
]


@pytest.mark.parametrize("call,error,match", BAD)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_max_pool2d_lets_nan_win_as_torch():
    x = rand(rng, 1, 2, 6, 6)
    x[0, 0, 1, 2] = x[0, 1, 5, 0] = np.nan
    ours = F.max_pool2d(Tensor(x), 3, 2, 1).numpy()
    theirs = TF.max_pool2d(torch.tensor(x), 3, 2, 1).numpy()
    np.testing.assert_array_equal(ours, theirs)  # NaN positions included


def test_max_pool_window_of_padding_only_gives_minus_inf_and_no_gradient():
    """kernel 2, padding 1, dilation 3 on a 2x2 plane: the one window's taps (-1 and 2) both
    fall outside the image. torch gives -inf (its backward then writes out of bounds); here
    the forward matches and the backward sends nothing anywhere."""
    x = fusednn.Tensor(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2), requires_grad=True)
    y = F.max_pool2d(x, kernel_size=2, padding=1, dilation=3)
    assert y.shape == (1, 1, 1, 1) and y.numpy()[0, 0, 0, 0] == -np.inf
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((1, 1, 2, 2), np.float32))


def test_pool_sizes_that_would_overflow_are_refused():
    x = fusednn.Tensor(np.ones((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError):
        F.avg_pool2d(x, kernel_size=2 ** 32, padding=2 ** 31)


@pytest.mark.parametrize("fn", [F.relu, F.sigmoid, F.tanh, lambda t: F.dropout(t, 0.5)])
def test_zero_dimensional_tensors_keep_their_shape_and_gradient(fn):
    x = fusednn.Tensor(np.array(0.75, np.float32), requires_grad=True)
    y = fn(x)
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == ()
