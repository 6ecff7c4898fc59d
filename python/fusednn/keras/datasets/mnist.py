"""``mnist.load_data()`` as Keras returns it, from local files (see ``_arrays``)."""
from ._arrays import load_data as _load


def load_data(path=None, download: bool = False):
    return _load("mnist", path, download)
