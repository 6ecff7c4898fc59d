"""The GPU conv's and recurrent layers' scratch is the caller's: ``conv2d_workspace_bytes`` /
``rnn_workspace_bytes`` say how much, the layers take it from the array library's pool. These
checks need only the compiled modules (the sizes are host arithmetic); the GPU runs are in
tests/gpu."""
import numpy as np
import pytest

from fusednn import _backend
from fusednn.nn.functional.conv import conv_geometry


def _geometry(x_shape, kernel, stride=1, padding=0):
    return conv_geometry(x_shape, kernel, stride, padding, 1, "test")[0]


def _cuda():
    try:
        return _backend.cuda_module()
    except RuntimeError:
        pytest.skip("fusednn._cuda is not built")


def _pieces(*nbytes):
    """A workspace of these pieces: each starts 256-byte aligned, the total rounded up too."""
    return sum(-(-b // 256) * 256 for b in nbytes)


def _expected(n, c, h, w, k, o, stride, padding, backward, weight_grad):
    """The layout conv2d_workspace_bytes promises, from the conv's own arithmetic: one im2col
    chunk of whole samples (at most 64 Mi floats, at least one sample; none for a 1x1 conv
    with stride 1 and no padding), then the per-sample dW partials of a backward that makes
    dW (at most 64 Mi floats, at least one sample, at most a chunk)."""
    out_h = (h + 2 * padding - k) // stride + 1
    out_w = (w + 2 * padding - k) // stride + 1
    rows, cols = c * k * k, out_h * out_w
    if min(n, rows, cols, o) == 0:
        return 0
    pointwise = k == 1 and stride == 1 and padding == 0
    chunk = n if pointwise else max(1, min(n, (64 << 20) // (rows * cols)))
    col = 0 if pointwise else 4 * chunk * rows * cols
    partial = 4 * max(1, min(chunk, (64 << 20) // (rows * o))) * rows * o
    return _pieces(col, partial if backward and weight_grad else 0)


CASES = [  # (n, c, h, w, k, o, stride, padding)
    (64, 32, 28, 28, 3, 64, 1, 1),  # the MNIST conv: one chunk
    (16, 64, 128, 128, 3, 4, 1, 1),  # several chunks of a few samples
    (1, 3, 1000, 1000, 5, 8, 1, 2),  # one sample above the chunk size
    (8, 16, 9, 9, 1, 32, 1, 0),  # pointwise: no col
    (8, 16, 9, 9, 1, 32, 2, 1),  # 1x1 with stride and padding: a col
    (0, 16, 9, 9, 3, 32, 1, 0),  # no samples
    (5, 7, 13, 11, 3, 3, 2, 0),  # odd sizes: the col not a multiple of 256 bytes
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backward,weight_grad", [(False, False), (True, False), (True, True)])
def test_the_gpu_conv_scratch_is_sized_by_one_rule(case, backward, weight_grad):
    n, c, h, w, k, o, stride, padding = case
    geometry = _geometry((n, c, h, w), (k, k), stride, padding)
    got = _cuda().conv2d_workspace_bytes(geometry, n, o, backward, weight_grad)
    assert got == _expected(n, c, h, w, k, o, stride, padding, backward, weight_grad)


def test_the_cpu_conv_takes_no_workspace():
    geometry = _geometry((64, 32, 28, 28), (3, 3), 1, 1)
    assert _backend.cpu_module().conv2d_workspace_bytes(geometry, 64, 64, True, True) == 0


def test_workspace_sizes_refuse_negative_counts():
    geometry = _geometry((4, 3, 8, 8), (3, 3))
    with pytest.raises(ValueError, match="batch and out_channels must be >= 0"):
        _backend.cpu_module().conv2d_workspace_bytes(geometry, -1, 4, False, False)


def test_the_cpu_conv_runs_without_a_workspace():
    """The CPU kernels keep their own scratch: workspace stays None and the numbers are those
    of a call that never heard of it."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    geometry = _geometry(x.shape, (3, 3), 1, 1)
    cpu = _backend.cpu_module()
    y1, y2 = (np.empty((2, 4, 8, 8), np.float32) for _ in range(2))
    cpu.conv2d_forward(x, w, None, y1, None, geometry, cpu.Act.identity)
    cpu.conv2d_forward(x, w, None, y2, None, geometry, cpu.Act.identity, 0.0, workspace=None)
    np.testing.assert_array_equal(y1, y2)


def _rnn_expected(cell, t, b, h, backward, rec_dropout, h0, weight_grad_hh):
    """Forward: a zero state, the step's recurrent product (gates x hidden per row), and the
    masked state under recurrent dropout. Backward: a zero state, two state gradients and
    the cell-state gradient, then under recurrent dropout the masked gradient, the reset-before
    GRU's u gradient (and its masked state), and for dW_hh the masked outputs and h0."""
    if min(t, b, h) == 0:
        return 0
    gates = {"lstm": 4, "gru": 3, "gru_reset_before": 3, "rnn_tanh": 1}[cell]
    bh, f = b * h, 4
    before = cell == "gru_reset_before"
    if not backward:
        return _pieces(f * bh, f * b * gates * h, f * bh if rec_dropout else 0)
    return _pieces(f * bh, f * bh, f * bh, f * bh, f * bh if rec_dropout else 0,
                   f * bh if before else 0, f * bh if before and rec_dropout else 0,
                   f * t * bh if rec_dropout and weight_grad_hh else 0,
                   f * bh if rec_dropout and h0 and weight_grad_hh else 0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "gru_reset_before", "rnn_tanh"])
@pytest.mark.parametrize("sizes", [(50, 64, 128), (7, 3, 5), (0, 4, 8), (3, 0, 8)])
@pytest.mark.parametrize("flags", [(False, False, False, False), (False, True, True, False),
                                   (True, False, False, True), (True, True, False, True),
                                   (True, True, True, True), (True, True, True, False)])
def test_the_gpu_recurrent_scratch_is_sized_by_one_rule(cell, sizes, flags):
    code = getattr(_backend.RnnCell, cell)
    got = _cuda().rnn_workspace_bytes(code, *sizes, *flags)
    assert got == _rnn_expected(cell, *sizes, *flags)
    assert _backend.cpu_module().rnn_workspace_bytes(code, *sizes, *flags) == 0


def test_recurrent_workspace_sizes_refuse_bad_arguments():
    with pytest.raises(ValueError, match="must be >= 0"):
        _backend.cpu_module().rnn_workspace_bytes(_backend.RnnCell.lstm, 4, -1, 8, False, False,
                                                  False, False)
