"""Functional forms of the layers and losses, named and argued as in torch.nn.functional."""
from .activation import (celu, elu, exponential, gelu, glu, hardshrink, hardsigmoid, hardswish,
                         hardtanh, keras_relu, leaky_relu, log_softmax, logsigmoid, mish, relu,
                         relu6, selu, sigmoid, silu, softmax, softplus, softshrink, softsign,
                         sparse_plus, sparse_sigmoid, sparsemax, squareplus, tanh, tanhshrink,
                         threshold)
from .dropout import dropout, manual_seed
from .conv import conv1d, conv2d, conv2d_max_pool2d, conv_transpose1d, conv_transpose2d
from .embedding import embedding
from .linear import linear
from ..losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from ..pointwise_losses import (binary_cross_entropy, huber_loss, kl_div, l1_loss,
                                smooth_l1_loss)
from .normalization import batch_norm, layer_norm
from .padding import pad
from .pooling import amax, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .recurrent import gru, lstm, rnn_relu, rnn_tanh
from .resampling import adaptive_avg_pool1d, adaptive_avg_pool2d, interpolate
from .vectors import (cosine_similarity, group_norm, normalize, one_hot,
                      scaled_dot_product_attention)

__all__ = ["linear", "conv1d", "conv2d", "conv2d_max_pool2d", "conv_transpose1d",
           "conv_transpose2d", "embedding",
           "max_pool2d", "avg_pool2d", "batch_norm", "layer_norm", "amax", "lstm", "gru",
           "rnn_tanh", "rnn_relu", "dropout",
           "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "elu",
           "selu", "softplus", "softsign", "silu", "mish", "relu6", "hardsigmoid", "hardswish",
           "exponential", "celu", "glu", "hardshrink", "hardtanh", "keras_relu", "logsigmoid",
           "softshrink", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus",
           "tanhshrink", "threshold",
           "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits", "nll_loss",
           "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy", "kl_div",
           "manual_seed", "pad", "normalize", "cosine_similarity", "one_hot", "group_norm",
           "scaled_dot_product_attention", "interpolate", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "max_pool1d", "avg_pool1d"]
