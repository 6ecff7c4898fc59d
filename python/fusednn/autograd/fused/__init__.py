"""The differentiable primitives that run fused kernels: bias + activation, the GEMM layers
(linear, conv2d), pooling, softmax cross-entropy, dropout and the recurrent layers. Each is a :class:`Function`
whose forward and backward call one kernel of ``fusednn._cpu`` / ``fusednn._cuda`` for float32
arrays (and array formulas for float64, the path gradient checks use). The layers and the
functional forms of :mod:`fusednn.nn` check their arguments and compose these."""
from .activation import ActivationFunction, act_code, act_is_identity
from .dropout import DropoutFunction
from .gemm import Conv2dFunction, Conv2dMaxPoolFunction, ConvTranspose2dFunction, LinearFunction
from .loss import BceWithLogitsFunction, SoftmaxCrossEntropyFunction
from .pooling import AvgPool2dFunction, MaxPool2dFunction
from .rnn import RnnFunction

__all__ = ["ActivationFunction", "act_code", "act_is_identity", "DropoutFunction",
           "Conv2dFunction", "Conv2dMaxPoolFunction", "ConvTranspose2dFunction",
           "LinearFunction", "BceWithLogitsFunction",
           "SoftmaxCrossEntropyFunction", "AvgPool2dFunction", "MaxPool2dFunction", "RnnFunction"]
