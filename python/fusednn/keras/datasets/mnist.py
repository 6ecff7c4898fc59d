"""``mnist.load_data()`` as Keras returns it: ((x_train, y_train), (x_test, y_test)), uint8
images (N, 28, 28) and uint8 labels. Read from fusednn's cache ($FUSEDNN_DATA or
~/.cache/fusednn/mnist: the four IDX files), Keras's (~/.keras/datasets/mnist.npz), or
``path`` (an npz or a folder); nothing is downloaded unless ``download=True``."""
from ...data.datasets import raw_arrays

NAME = "mnist"


def load_data(path=None, download: bool = False):
    a = raw_arrays(NAME, path, download)
    as_keras = lambda x: x.reshape(-1, 28, 28).astype("uint8")  # noqa: E731
    return ((as_keras(a["x_train"]), a["y_train"].astype("uint8")),
            (as_keras(a["x_test"]), a["y_test"].astype("uint8")))
