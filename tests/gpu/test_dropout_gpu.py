"""CUDA dropout and Philox: the same bits as the CPU kernels, for every size and alignment."""
import numpy as np
import pytest

from fusednn import ops

torch = pytest.importorskip("torch")

SIZES = [1, 7, 63, 64, 65, 4097, 1_000_003]


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("n", SIZES)
def test_gpu_masks_equal_cpu_masks_bit_for_bit(n, p):
    x = torch.randn(n + 1)
    xg = x.cuda()
    # Slices of one device buffer: the first is 32-byte aligned, the second is not, so both
    # the vector and the element-wise kernel are compared with the CPU.
    for cpu_view, gpu_view in ((x[:n], xg[:n]), (x[1:], xg[1:])):
        cpu = ops.dropout(cpu_view, p, seed=123, offset=4)
        gpu = ops.dropout(gpu_view, p, seed=123, offset=4)
        assert torch.equal(gpu.cpu().view(torch.int32), cpu.view(torch.int32))


def test_gpu_backward_regenerates_the_cpu_mask():
    dy = torch.randn(100_001)
    cpu = ops.dropout_backward(dy, 0.3, seed=9, offset=1)
    gpu = ops.dropout_backward(dy.cuda(), 0.3, seed=9, offset=1)
    assert torch.equal(gpu.cpu(), cpu)


@pytest.mark.parametrize("n", [1, 3, 4, 5, 1001, 1 << 20])
def test_gpu_philox_stream_equals_the_cpu_stream(n):
    out = torch.empty(n, dtype=torch.int32, device="cuda")
    ops.philox(2**63 + 11, 77, n, out=out)
    np.testing.assert_array_equal(out.cpu().numpy().view(np.uint32), ops.philox(2**63 + 11, 77, n))


def test_cupy_dropout_in_place():
    cupy = pytest.importorskip("cupy")
    x = np.random.default_rng(0).standard_normal(12_345).astype(np.float32)
    expected = ops.dropout(x, 0.25, seed=5, offset=6)
    y = cupy.asarray(x)
    assert ops.dropout(y, 0.25, seed=5, offset=6, out=y) is y
    np.testing.assert_array_equal(y.get(), expected)
