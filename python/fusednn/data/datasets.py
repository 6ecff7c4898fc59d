"""Datasets: scikit-learn's bundled 8x8 digits (the embedded default, no download), and MNIST
/ Fashion-MNIST from local IDX or npz files, or downloaded once into a cache with a SHA-256
check when asked (``download=True``); nothing is ever downloaded at import or test time."""
from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import tempfile
import urllib.request

import numpy as np

from .idx import read_idx

IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}

# Where a download comes from, and the SHA-256 each file must have.
_SOURCES = {
    "mnist": {
        "mnist.npz": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                      "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    },
    "fashion_mnist": {
        IDX_FILES["x_train"] + ".gz": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
            "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc"),
        IDX_FILES["y_train"] + ".gz": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz",
            "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc"),
        IDX_FILES["x_test"] + ".gz": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
            "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229"),
        IDX_FILES["y_test"] + ".gz": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz",
            "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf"),
    },
}


def cache_dir() -> pathlib.Path:
    """$FUSEDNN_DATA, or ~/.cache/fusednn."""
    return pathlib.Path(os.environ.get("FUSEDNN_DATA") or pathlib.Path.home() / ".cache" / "fusednn")


def load_digits(as_images: bool = False):
    """scikit-learn's 8x8 handwritten digits (1,797 samples, 10 classes), scaled to [0, 1].

    Returns ``(x, y)``: x float32 (N, 64), or (N, 1, 8, 8) with ``as_images``; y int64."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ImportError("load_digits needs scikit-learn: pip install scikit-learn "
                          "(or pip install 'fusednn[train]')") from None
    bunch = sk_load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    if as_images:
        x = x.reshape(-1, 1, 8, 8)
    return x, bunch.target.astype(np.int64)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(name: str, folder: pathlib.Path):
    folder.mkdir(parents=True, exist_ok=True)
    for filename, (url, sha) in _SOURCES[name].items():
        target = folder / filename
        if target.exists() and _sha256(target) == sha:
            continue
        print(f"fusednn: downloading {url}")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=filename + ".")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, out)
            got = _sha256(tmp)
            if got != sha:
                raise IOError(f"{url}: SHA-256 {got} does not match the expected {sha}")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


def _from_folder(folder: pathlib.Path):
    npz = [p for p in (folder / "mnist.npz", folder / "fashion_mnist.npz") if p.exists()]
    if npz:
        return _from_npz(npz[0])
    out = {}
    for key, stem in IDX_FILES.items():
        found = [folder / (stem + ext) for ext in (".gz", "")
                 if (folder / (stem + ext)).exists()]
        if not found:
            raise FileNotFoundError(f"{folder}: no {stem}[.gz] (nor an mnist.npz)")
        out[key] = read_idx(found[0])
    return out


def _from_npz(path):
    with np.load(path) as f:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
        if missing:
            raise ValueError(f"{path}: npz lacks {sorted(missing)} (has {f.files})")
        return {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}


def raw_arrays(name, path=None, download: bool = False) -> dict:
    """x_train, y_train, x_test, y_test as stored (uint8 images (N, 28, 28), labels), checked.
    Without a path: the cache folder (IDX files), else ``<cache>/<name>.npz``, else Keras's own
    copy (~/.keras/datasets/<name>.npz)."""
    if path is None and not (cache_dir() / name).exists():
        for npz in (cache_dir() / f"{name}.npz",
                    pathlib.Path.home() / ".keras" / "datasets" / f"{name}.npz"):
            if npz.is_file():
                path = npz
                break
    arrays = _arrays(name, path, download)
    for part in ("train", "test"):
        x, y = arrays["x_" + part], arrays["y_" + part]
        if x.ndim not in (2, 3) or x.shape[-1] * (x.shape[-2] if x.ndim == 3 else 1) != 784:
            raise ValueError(f"{name}: x_{part} has shape {x.shape}; expected 28x28 images")
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(f"{name}: x_{part} holds {len(x)} images but y_{part} has shape "
                             f"{y.shape}")
        if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() > 9)):
            raise ValueError(f"{name}: y_{part} must hold integer labels in 0..9")
    return arrays


def _arrays(name, path, download):
    if path is not None:
        path = pathlib.Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{name}: {path} does not exist")
        arrays = _from_npz(path) if path.is_file() else _from_folder(path)
    else:
        folder = cache_dir() / name
        try:
            arrays = _from_folder(folder)
        except FileNotFoundError:
            if not download:
                raise FileNotFoundError(
                    f"{name}: no local copy in {folder}; pass path= (IDX files or an npz) or "
                    "download=True to fetch it once (SHA-256 checked)") from None
            _download(name, folder)
            arrays = _from_folder(folder)
    return arrays


def _load(name, path, download):
    arrays = raw_arrays(name, path, download)
    x_train, x_test = (arrays[k].astype(np.float32) / 255.0 for k in ("x_train", "x_test"))
    x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    y_train, y_test = (arrays[k].astype(np.int64) for k in ("y_train", "y_test"))
    return (x_train, y_train), (x_test, y_test)


def load_mnist(path=None, download: bool = False):
    """``((x_train, y_train), (x_test, y_test))``, x float32 (N, 1, 28, 28) in [0, 1], y int64.
    ``path``: a folder of the four IDX files (gz or not) or an npz with x_train, y_train,
    x_test, y_test (Keras's mnist.npz). Without a path, the cache folder; ``download=True``
    fetches into it once."""
    return _load("mnist", path, download)


def load_fashion_mnist(path=None, download: bool = False):
    """As :func:`load_mnist`, for Fashion-MNIST."""
    return _load("fashion_mnist", path, download)
