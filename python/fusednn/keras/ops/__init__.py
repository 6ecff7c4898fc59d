"""The part of ``keras.ops`` that custom layers and losses call, on fusednn Tensors
(differentiated by autograd): :mod:`.core` (arithmetic, element-wise math, reductions, shapes,
comparisons, constants, the common activations), :mod:`.arrays` (rearrangements, cumulative
sums, products, tensor products, padding) and :mod:`.nn` (normalization, cross-entropies,
more activations)."""
from .core import *  # noqa: F401,F403
from .core import abs, all, any, max, min, round, sum  # noqa: F401,A004 (Keras's names)
from .arrays import (average, cumsum, diag, diagonal, dot, full_like, linspace,  # noqa: F401
                     ndim, outer, pad, prod, repeat, roll, size, sort, take, take_along_axis,
                     tensordot, tile, top_k, trace, tril, triu)
from .nn import (average_pool, batch_normalization, binary_crossentropy,  # noqa: F401
                 categorical_crossentropy, conv, depthwise_conv, dot_product_attention,
                 hard_sigmoid, hard_silu,
                 hard_swish, log_sigmoid, max_pool, moments, normalize, relu6, softsign,
                 sparse_categorical_crossentropy)
from . import arrays, core, nn  # noqa: F401
