"""What ``mnist.load_data()`` and ``fashion_mnist.load_data()`` share: Keras's return shape,
((x_train, y_train), (x_test, y_test)) as uint8 images (N, 28, 28) and uint8 labels, read from
fusednn's cache ($FUSEDNN_DATA or ~/.cache/fusednn: the four IDX files in <name>/, or
<name>.npz), from Keras's (~/.keras/datasets/<name>.npz), or from ``path`` (an npz or a
folder). Nothing is downloaded unless ``download=True``."""
from ...data.datasets import raw_arrays


def load_data(name: str, path=None, download: bool = False):
    a = raw_arrays(name, path, download)
    as_keras = lambda x: x.reshape(-1, 28, 28).astype("uint8")  # noqa: E731
    return ((as_keras(a["x_train"]), a["y_train"].astype("uint8")),
            (as_keras(a["x_test"]), a["y_test"].astype("uint8")))
