"""Keras-style models: :class:`Sequential`, callbacks, :class:`History`, save/load."""
from . import callbacks
from .history import History
from .loading import ModelFileError, load_model
from .sequential import Sequential

__all__ = ["Sequential", "History", "callbacks", "load_model", "ModelFileError"]
