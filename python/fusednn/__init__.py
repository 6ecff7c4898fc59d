"""fusednn: deep-learning training and tuning whose hot paths are fused C++/CUDA kernels.

``fusednn.Tensor`` carries autograd; ``fusednn.nn`` holds the layers and losses (GEMM-backed,
with fused epilogues); ``fusednn.optim`` the fused optimizers (for fusednn Tensors, a drop-in for
``torch.optim`` on CPU tensors, and functional kernels on numpy arrays) and their LR schedules;
``fusednn.Sequential`` trains like Keras (``fusednn.callbacks``, ``fusednn.data``,
``fusednn.seed``, ``fusednn.load``); ``fusednn.tune`` searches hyperparameters;
``fusednn.info()`` says what was built and what was found.
"""
from . import _cpu

__version__ = _cpu.build_info()["version"]

from . import autograd, ops, optim  # noqa: E402
from ._info import info  # noqa: E402
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, tensor  # noqa: E402
from . import nn  # noqa: E402
from . import data, models, tune  # noqa: E402
from ._seeding import seed  # noqa: E402
from .models import Sequential  # noqa: E402
from . import callbacks, keras  # noqa: E402
from .models.loading import ModelFileError, load_model as load  # noqa: E402

manual_seed = seed


__all__ = ["__version__", "ModelFileError", "info", "ops", "optim", "autograd", "nn", "data", "models", "tune",
           "callbacks", "keras", "Sequential", "load", "seed", "manual_seed", "Tensor", "tensor",
           "Function", "no_grad", "enable_grad", "is_grad_enabled"]
