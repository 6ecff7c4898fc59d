"""Keras's ``keras.preprocessing`` paths that tutorials import from (``sequence.pad_sequences``);
the functions live in :mod:`fusednn.keras.utils`."""
from . import sequence  # noqa: F401
