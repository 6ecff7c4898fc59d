import pytest

from fusednn import _backend

GPU_REASON = "needs a CUDA GPU and fusednn._cuda (build with FUSEDNN_CUDA=ON)"


def pytest_collection_modifyitems(items):
    have_gpu = _backend.gpu_available()
    for item in items:
        if "tests/gpu/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.gpu)
            if not have_gpu:
                item.add_marker(pytest.mark.skip(reason=GPU_REASON))
