"""``keras.datasets``: MNIST and Fashion-MNIST from local files (see their ``load_data``)."""
from . import fashion_mnist, mnist  # noqa: F401
