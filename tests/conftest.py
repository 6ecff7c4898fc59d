import pytest

import fusednn
from fusednn import _backend


def _available_paths():
    features = fusednn._cpu.cpu_features()
    return ["scalar"] + (["avx2"] if features["avx2"] and features["fma"] and features["f16c"] else [])


CPU_PATHS = _available_paths()


@pytest.fixture(params=CPU_PATHS)
def cpu_path(request):
    """Run the test once per CPU kernel path this machine supports."""
    with _backend.kernel_path_set_to(request.param):
        yield request.param
