"""The package's layers import only downward (compiled kernels <- kernel front <- autograd <- nn,
optim, data <- models <- tune, bench, CLI) and no two sibling modules import each other in a
cycle: the import-linter contracts in pyproject.toml, checked against the installed package."""
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_imports_follow_the_layers_and_have_no_cycles():
    pytest.importorskip("importlinter")
    exe = shutil.which("lint-imports") or str(pathlib.Path(sys.executable).parent / "lint-imports")
    done = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in done.stdout
