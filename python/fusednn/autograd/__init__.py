"""Reverse-mode automatic differentiation: :class:`Tensor`, :class:`Function` for new
operations, and the ``no_grad`` / ``enable_grad`` switches."""
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, tensor

__all__ = ["Tensor", "tensor", "Function", "Context", "no_grad", "enable_grad",
           "is_grad_enabled", "set_grad_enabled"]
