import pytest

from fusednn import _backend

GPU_REASON = "needs a CUDA GPU and fusednn._cuda (build with FUSEDNN_CUDA=ON)"


@pytest.fixture
def cupy_requests():
    """The byte counts CuPy's allocations ask for while the test runs (a recording pool in
    place of the default one)."""
    cupy = pytest.importorskip("cupy")
    pool, asked = cupy.cuda.MemoryPool(), []

    def malloc(size):
        asked.append(size)
        return pool.malloc(size)

    cupy.cuda.set_allocator(malloc)
    try:
        yield asked
    finally:
        cupy.cuda.set_allocator(cupy.get_default_memory_pool().malloc)


def pytest_collection_modifyitems(items):
    have_gpu = _backend.gpu_available()
    for item in items:
        if "tests/gpu/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.gpu)
            if not have_gpu:
                item.add_marker(pytest.mark.skip(reason=GPU_REASON))
