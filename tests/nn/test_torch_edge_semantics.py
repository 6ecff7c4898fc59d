"""torch's answers at the edges of the functional API: pooling's ceil_mode, return_indices,
unbatched and empty-batch inputs; softmax and means of empty tensors; BatchNorm1D over
sequences; negative pad widths; padding="same" with even kernels. Forward against
torch in float64, gradients against torch autograd."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import fusednn
from fusednn import Tensor
from fusednn.nn import functional as F
from tests.nn.against_torch import compare, rand

rng = np.random.default_rng(26)

# (input shape, kernel, stride, padding, dilation): last windows that hang over the edge,
# kernels larger than the input (allowed with ceil_mode), strides that leave a remainder.
CEIL_WINDOWS = [
    ((2, 3, 7, 8), 2, None, 0, 1),
    ((1, 2, 7, 9), 3, 2, 1, 1),
    ((2, 1, 5, 6), (2, 3), (2, 2), (1, 0), 1),
    ((1, 1, 9, 1), 2, None, 0, 1),
    ((1, 2, 2, 7), 3, None, 0, 1),
    ((2, 2, 10, 11), 3, 3, 1, 1),
    ((1, 3, 8, 7), (2, 3), 2, 0, 2),
]


@pytest.mark.parametrize("shape,k,s,p,d", CEIL_WINDOWS)
def test_max_pool2d_ceil_mode(cpu_path, shape, k, s, p, d):
    x = rand(rng, *shape)
    compare(lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=True),
            lambda t: TF.max_pool2d(t, k, s, p, d, ceil_mode=True), [x])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("shape,k,s,p,d", [c for c in CEIL_WINDOWS if c[4] == 1])
def test_avg_pool2d_ceil_mode(cpu_path, shape, k, s, p, d, count_include_pad):
    """The divisor of a window past the padded edge counts only up to that edge (torch's)."""
    x = rand(rng, *shape)
    compare(lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=True,
                                   count_include_pad=count_include_pad),
            lambda t: TF.avg_pool2d(t, k, s, p, ceil_mode=True,
                                    count_include_pad=count_include_pad), [x])


def test_ceil_mode_drops_a_window_that_would_start_in_the_right_padding():
    """torch's rule: with ceil_mode the last window must start inside the input or its left
    padding. Here rounding up alone would give 4 columns; the fourth would start past the
    input, so there are 3."""
    x = rand(rng, 1, 1, 5, 5)
    y = F.max_pool2d(Tensor(x), 2, 2, 1, ceil_mode=True)
    assert y.shape == tuple(TF.max_pool2d(torch.tensor(x), 2, 2, 1, ceil_mode=True).shape)
    assert y.shape == (1, 1, 3, 3)
    assert fusednn._backend.window_output_size(5, 2, 2, 1, 1, True) == 3
    assert fusednn._backend.window_output_size(5, 2, 2, 1, 1, False) == 3
    assert fusednn._backend.window_output_size(6, 2, 2, 0, 1, True) == 3
    assert fusednn._backend.window_output_size(7, 2, 2, 0, 1, True) == 4
    assert fusednn._backend.window_output_size(1, 2, 2, 0, 1, True) == 1
    assert fusednn._backend.window_output_size(1, 2, 2, 0, 1, False) == 0


def test_the_kernels_check_the_output_plane_against_the_rounding_asked_for():
    x = np.zeros((1, 1, 7, 7), np.float32)
    g = F.pooling._pool_geometry(x.shape, 2, None, 0, 1, "test", ceil_mode=True)
    assert (g.out_h, g.out_w, g.ceil_mode) == (4, 4, True)
    g.ceil_mode = False  # 4x4 does not follow from rounding down
    y, argmax = np.empty((1, 1, 4, 4), np.float32), np.empty((1, 1, 4, 4), np.int32)
    with pytest.raises(ValueError, match="does not follow from the window"):
        fusednn._cpu.max_pool2d_forward(x, y, argmax, g)


@pytest.mark.parametrize("shape,k,s,p,ceil", [((2, 3, 7, 8), 3, 2, 1, False),
                                              ((1, 2, 5, 5), 2, None, 0, True),
                                              ((3, 6, 6), 2, 1, 1, False)])
def test_max_pool2d_return_indices(shape, k, s, p, ceil):
    x = rand(rng, *shape)
    y, indices = F.max_pool2d(Tensor(x), k, s, p, ceil_mode=ceil, return_indices=True)
    ty, tindices = TF.max_pool2d(torch.tensor(x), k, s, p, ceil_mode=ceil,
                                 return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    assert indices.dtype == np.int64 and indices.shape == tuple(tindices.shape)
    np.testing.assert_array_equal(indices.numpy(), tindices.numpy())
    assert not indices.requires_grad


@pytest.mark.parametrize("op,top", [
    (lambda x: F.max_pool2d(x, 2), lambda t: TF.max_pool2d(t, 2)),
    (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
     lambda t: TF.max_pool2d(t, 3, 2, 1, ceil_mode=True)),
    (lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
     lambda t: TF.avg_pool2d(t, 3, 1, 1, count_include_pad=False)),
])
def test_pools_take_an_unbatched_input(op, top):
    compare(op, top, [rand(rng, 3, 7, 6)])


@pytest.mark.parametrize("op", [lambda x: F.max_pool2d(x, 2, ceil_mode=True),
                                lambda x: F.avg_pool2d(x, 3, 2, 1)])
def test_pools_of_an_empty_batch(op):
    x = Tensor(np.zeros((0, 2, 7, 7), np.float32), requires_grad=True)
    y = op(x)
    assert y.shape[:2] == (0, 2)
    y.sum().backward()
    assert x.grad.shape == x.shape


def test_pools_refuse_an_empty_channel_or_plane_as_torch_does():
    for shape in [(1, 0, 4, 4), (2, 3, 0, 4), (3, 4)]:
        with pytest.raises(ValueError, match="max_pool2d"):
            F.max_pool2d(Tensor(np.zeros(shape, np.float32)), 2)
        with pytest.raises(RuntimeError):
            TF.max_pool2d(torch.zeros(shape), 2)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((0, 3), 1), ((4, 0), 1), ((2, 0, 3), 0), ((), 0),
                                       ((), -1)])
def test_softmax_of_empty_and_0d_inputs(fn, shape, dim):
    x = rand(rng, *shape)
    compare(lambda x: getattr(F, fn)(x, dim=dim), lambda t: getattr(TF, fn)(t, dim=dim), [x])


def test_mean_of_nothing_is_nan_as_in_torch():
    x = Tensor(np.zeros((3, 0), np.float32), requires_grad=True)
    assert np.isnan(x.mean().item())
    per_row = x.mean(axis=1)
    assert per_row.shape == (3,) and np.isnan(per_row.numpy()).all()
    assert torch.zeros(3, 0).mean(dim=1).isnan().all()
    x.mean().backward()
    assert x.grad.shape == (3, 0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_of_an_empty_batch(reduction):
    empty = np.zeros((0, 4), np.float32)
    cases = [
        (lambda x: F.mse_loss(x, empty, reduction=reduction),
         lambda t: TF.mse_loss(t, torch.tensor(empty), reduction=reduction)),
        (lambda x: F.binary_cross_entropy_with_logits(x, empty, reduction=reduction),
         lambda t: TF.binary_cross_entropy_with_logits(t, torch.tensor(empty),
                                                        reduction=reduction)),
        (lambda x: F.cross_entropy(x, np.zeros(0, np.int64), reduction=reduction),
         lambda t: TF.cross_entropy(t, torch.zeros(0, dtype=torch.long), reduction=reduction)),
    ]
    for ours, theirs in cases:
        y, t = ours(Tensor(empty)), theirs(torch.tensor(empty))
        assert y.shape == tuple(t.shape)
        np.testing.assert_array_equal(y.numpy(), t.numpy())  # NaN for 'mean', as torch


def test_batch_norm_1d_layer_takes_sequences_as_torch_batchnorm1d():
    x = rand(rng, 8, 3, 5)
    ours = fusednn.nn.BatchNorm1D(3, momentum=0.1)
    theirs = torch.nn.BatchNorm1d(3, momentum=0.1)
    for _ in range(2):
        np.testing.assert_allclose(ours(Tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                                   atol=1e-5)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-5)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        ours(Tensor(rand(rng, 2, 3, 4, 4)))


def test_keras_batch_normalization_normalizes_the_last_axis_of_a_sequence():
    """(N, T, F) with axis=-1: each feature over N and T (Keras's), the moving variance
    biased, moving = momentum * moving + (1 - momentum) * batch."""
    from fusednn import keras

    x = rand(rng, 4, 6, 3) * 2 + 1
    layer = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    y = layer(Tensor(x), training=True).numpy()
    mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    moving_mean, moving_var = layer.get_weights()[2:]
    np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(moving_var, 0.9 + 0.1 * var, rtol=1e-5)


@pytest.mark.parametrize("kernel,dilation", [((2, 2), 1), ((4, 3), 1), ((2, 3), (1, 2)),
                                             ((3, 3), 1)])
def test_conv2d_same_padding_with_even_kernels(cpu_path, kernel, dilation):
    """An even kernel extent pads one more at the bottom/right, as torch."""
    x, w, b = rand(rng, 2, 3, 7, 6), rand(rng, 4, 3, *kernel, scale=0.3), rand(rng, 4)
    out = compare(lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=dilation),
                  lambda x, w, b: TF.conv2d(x, w, b, padding="same", dilation=dilation),
                  [x, w, b])
    assert out.shape[2:] == x.shape[2:]


@pytest.mark.parametrize("k", [2, 4, 5])
def test_conv1d_same_padding_with_even_kernels(k):
    x, w, b = rand(rng, 2, 3, 9), rand(rng, 5, 3, k, scale=0.3), rand(rng, 5)
    compare(lambda x, w, b: F.conv1d(x, w, b, padding="same"),
            lambda x, w, b: TF.conv1d(x, w, b, padding="same"), [x, w, b])


def test_conv2d_max_pool2d_with_an_even_same_kernel_matches_the_two_calls():
    x, w = rand(rng, 2, 3, 8, 8), rand(rng, 4, 3, 2, 2, scale=0.3)
    compare(lambda x, w: F.conv2d_max_pool2d(x, w, None, padding="same", activation="relu"),
            lambda x, w: TF.max_pool2d(torch.relu(TF.conv2d(x, w, padding="same")), 2),
            [x, w])


def test_embedding_takes_torch_and_list_indices():
    """Indices as a torch CPU tensor or a nested list read as numpy would; before, anything
    that was not a numpy array was taken for a GPU array (and needed CuPy)."""
    weight = rand(rng, 6, 3)
    indices = [[1, 5], [0, 1]]
    expected = TF.embedding(torch.tensor(indices), torch.tensor(weight)).numpy()
    for given in (torch.tensor(indices), indices, np.array(indices, np.int32)):
        w = Tensor(weight, requires_grad=True)
        y = F.embedding(given, w)
        np.testing.assert_array_equal(y.numpy(), expected)
        y.sum().backward()
        np.testing.assert_array_equal(w.grad.numpy().sum(axis=1), [3.0, 6.0, 0, 0, 0, 3.0])
