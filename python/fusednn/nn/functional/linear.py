"""linear: ``activation(input @ weight.T + bias)`` through the fused GEMM + epilogue Function,
with torch's argument order and layout."""
from __future__ import annotations

from ...autograd import Tensor
from ...autograd.fused import LinearFunction, act_code
from ._args import check_bias
from ._args import check_tensor as _check_tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor = None, activation=None,
           negative_slope: float = 0.01, *, name: str = "linear") -> Tensor:
    """``activation(input @ weight.T + bias)``, weight in torch's layout (out, in); input
    (..., in). ``activation``: None, "relu", "leaky_relu", "sigmoid", "tanh", "gelu" or
    "gelu_tanh", fused into the GEMM's epilogue."""
    _check_tensor(input, name, "input")
    _check_tensor(weight, name, "weight")
    act_code(activation, name)
    if weight.ndim != 2:
        raise ValueError(f"{name}: weight must be 2-D (out_features, in_features), got shape "
                         f"{weight.shape}")
    if input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"{name}: input of shape {input.shape} has "
                         f"{input.shape[-1] if input.ndim else 0} features but the weight "
                         f"{weight.shape} expects {weight.shape[1]}")
    check_bias(bias, weight, name, "features")
    if input.dtype != weight.dtype:
        raise TypeError(f"{name}: input is {input.dtype} but weight is {weight.dtype}")
    return LinearFunction.apply(input, weight, bias, activation, float(negative_slope))
