"""fusednn: deep-learning training and tuning whose hot paths are fused C++/CUDA kernels.

``fusednn.optim`` holds the fused optimizers (a drop-in for ``torch.optim`` on CPU tensors, and
functional kernels on numpy arrays); ``fusednn.info()`` says what was built and what was found.
"""
from . import _cpu

__version__ = _cpu.build_info()["version"]

from . import ops, optim  # noqa: E402
from ._info import info  # noqa: E402

__all__ = ["__version__", "info", "ops", "optim"]
