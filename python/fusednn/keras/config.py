"""Global settings Keras code reads and sets: the image data format (channels_last by default,
as in Keras) and the fuzz factor of probability losses."""
from __future__ import annotations

from ..nn.losses import EPSILON

_FORMATS = ("channels_last", "channels_first")
_settings = {"image_data_format": "channels_last"}


def image_data_format() -> str:
    return _settings["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    if data_format not in _FORMATS:
        raise ValueError(f"data_format must be one of {_FORMATS}, got {data_format!r}")
    _settings["image_data_format"] = data_format


def standardize_data_format(data_format) -> str:
    """``data_format`` itself, or the global setting for None."""
    if data_format is None:
        return image_data_format()
    if data_format not in _FORMATS:
        raise ValueError(f"data_format must be one of {_FORMATS} or None, got {data_format!r}")
    return data_format


def epsilon() -> float:
    return EPSILON


def floatx() -> str:
    return "float32"
