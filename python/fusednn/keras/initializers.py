"""Keras's initializers (``keras.initializers``): the classes, Keras's snake_case names,
``get``, ``serialize`` and ``deserialize``. Called with Keras's weight shapes; see
:mod:`fusednn.nn.initializers`."""
from ..nn.initializers import (CLASSES, Constant, GlorotNormal, GlorotUniform,  # noqa: F401
                               HeNormal, HeUniform, Identity, Initializer, LecunNormal,
                               LecunUniform, Ones, Orthogonal, RandomNormal, RandomUniform,
                               TruncatedNormal, VarianceScaling, Zeros, deserialize, get,
                               serialize)

# the lowercase spellings Keras exports beside the classes
zeros, ones, constant, identity, orthogonal = Zeros, Ones, Constant, Identity, Orthogonal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling = VarianceScaling
glorot_normal, glorot_uniform, he_normal, he_uniform = GlorotNormal, GlorotUniform, HeNormal, \
    HeUniform
lecun_normal, lecun_uniform = LecunNormal, LecunUniform
