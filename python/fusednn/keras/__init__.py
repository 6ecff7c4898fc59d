"""Keras's API over fusednn, so Keras code ports by changing its imports
(``from fusednn import keras``, ``import fusednn.keras as keras``,
``from fusednn.keras import layers, models``): ``Sequential``, ``layers``, ``activations``,
``optimizers`` (Keras's update rules), ``losses`` (probability losses take probabilities),
``metrics``, ``callbacks``, ``initializers``, ``regularizers``, ``ops`` (the common part),
``backend.clear_session``, ``utils.to_categorical``, ``datasets.mnist`` / ``fashion_mnist``
(local files), ``config.set_image_data_format`` (channels_last by default). Everything runs on
fusednn's own models, layers and fused kernels; where fusednn differs from Keras the module
docs say so.
"""
from . import activations, backend, callbacks, config, constraints, datasets  # noqa: F401
from . import initializers  # noqa: F401
from . import layers, losses, metrics, models, ops, optimizers, preprocessing  # noqa: F401
from . import regularizers, utils  # noqa: F401
from .layers import Input  # noqa: F401
from .models import Model, Sequential, load_model  # noqa: F401

__all__ = ["Sequential", "Model", "Input", "load_model", "activations", "backend", "callbacks",
           "config", "constraints", "ops",
           "datasets", "initializers", "preprocessing",
           "layers", "losses", "metrics", "models", "optimizers", "regularizers", "utils"]
