"""fusednn.info(), the CLI, and the run-time choice of CPU kernels."""
import json
import os
import subprocess
import sys

import pytest

import fusednn
from fusednn import _backend

from .conftest import CPU_PATHS


def run(*args, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=full_env,
                          check=True).stdout


def test_info_reports_build_cpu_cuda_and_gpu():
    data = fusednn.info()
    assert data["version"] == fusednn.__version__
    assert data["cpu"]["kernel_path"] in CPU_PATHS
    assert data["cpu"]["threads"] >= 1
    assert set(data["build"]["cpu_kernel_paths"]) == {"scalar", "avx2"}
    assert data["build"]["cuda_option"] in ("AUTO", "ON", "OFF")
    assert isinstance(data["cuda_module"]["built"], bool) and data["cuda_module"]["detail"]
    assert data["gpu"]["count"] >= 0 and data["gpu"]["detail"]


def test_python_m_fusednn_info_prints_the_kernel_path():
    out = run("-m", "fusednn", "info")
    assert "kernel_path" in out and "cuda module" in out


def test_info_json_is_machine_readable():
    data = json.loads(run("-m", "fusednn", "info", "--json"))
    assert data["cpu"]["kernel_path"] in CPU_PATHS


def test_environment_forces_the_scalar_path():
    code = "import fusednn; print(fusednn.info()['cpu']['kernel_path'])"
    assert run("-c", code, env={"FUSEDNN_CPU": "scalar"}).strip() == "scalar"


def test_a_bad_environment_value_falls_back_and_says_so():
    code = "import fusednn, json; print(json.dumps(fusednn.info()['cpu']))"
    cpu = json.loads(run("-c", code, env={"FUSEDNN_CPU": "sse9"}))
    assert cpu["kernel_path"] in CPU_PATHS
    assert "FUSEDNN_CPU='sse9'" in cpu["warning"]


def test_import_does_not_import_torch():
    code = "import sys, fusednn, fusednn.optim; print('torch' in sys.modules)"
    assert run("-c", code).strip() == "False"


def test_unknown_kernel_path_is_refused():
    with pytest.raises(ValueError, match="unknown CPU kernel path 'sse9'"):
        _backend.set_kernel_path("sse9")
    assert _backend.kernel_path() in CPU_PATHS


@pytest.mark.skipif("avx2" in CPU_PATHS, reason="this CPU has AVX2+FMA")
def test_avx2_is_refused_on_a_cpu_without_it():
    with pytest.raises(ValueError, match="lacks AVX2"):
        _backend.set_kernel_path("avx2")
