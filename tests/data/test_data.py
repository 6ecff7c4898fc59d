"""Data: IDX parsing on files the tests write, MNIST from local IDX/npz, no implicit
downloads, splits, preprocessing and the loader."""

import numpy as np
import pytest

import fusednn
from fusednn import data
from fusednn.data import load_mnist, read_idx, write_idx
from fusednn.data.datasets import IDX_FILES

rng = np.random.default_rng(0)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("array", [rng.integers(0, 256, (5, 4, 3), dtype=np.uint8),
                                   rng.standard_normal((7, 2)).astype(np.float32),
                                   np.arange(6, dtype=np.int32)])
def test_idx_round_trip(tmp_path, suffix, array):
    path = tmp_path / ("a.idx" + suffix)
    data.write_idx(path, array)
    if suffix:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(data.read_idx(path), array)


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad")
    data.write_idx(tmp_path / "short", np.zeros((4, 4), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="holds 13 bytes"):
        data.read_idx(tmp_path / "short")


def fake_mnist(folder, gz=True, n_train=20, n_test=10):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}
    for key, stem in IDX_FILES.items():
        data.write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_from_idx_folder(tmp_path, gz):
    raw = fake_mnist(tmp_path / "m", gz)
    (x_tr, y_tr), (x_te, y_te) = data.load_mnist(tmp_path / "m")
    assert x_tr.shape == (20, 1, 28, 28) and x_tr.dtype == np.float32 and y_tr.dtype == np.int64
    np.testing.assert_allclose(x_te[:, 0], raw["x_test"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_tr, raw["y_train"])


def test_load_fashion_mnist_from_npz(tmp_path):
    raw = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
           "y_train": np.arange(6, dtype=np.uint8), "x_test": np.zeros((2, 28, 28), np.uint8),
           "y_test": np.array([1, 2], np.uint8)}
    np.savez(tmp_path / "f.npz", **raw)
    (x_tr, y_tr), (_, y_te) = data.load_fashion_mnist(tmp_path / "f.npz")
    assert x_tr.shape == (6, 1, 28, 28) and list(y_te) == [1, 2]
    np.savez(tmp_path / "bad.npz", x_train=raw["x_train"])
    with pytest.raises(ValueError, match="npz lacks"):
        data.load_mnist(tmp_path / "bad.npz")


def test_no_download_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEDNN_DATA", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.load_mnist()
    fake_mnist(tmp_path / "mnist")  # a copy in the cache is used without any download
    (x_tr, _), _ = data.load_mnist()
    assert len(x_tr) == 20


def test_download_checks_sha256(tmp_path, monkeypatch):
    import io

    monkeypatch.setenv("FUSEDNN_DATA", str(tmp_path))
    monkeypatch.setattr("urllib.request.urlopen",
                        lambda url, timeout=None: io.BytesIO(b"not the real file"))
    with pytest.raises(IOError, match="SHA-256"):
        data.load_mnist(download=True)
    assert not any(p.name.endswith(".npz") for p in (tmp_path / "mnist").iterdir())


def test_load_digits():
    pytest.importorskip("sklearn")
    x, y = data.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert data.load_digits(as_images=True)[0].shape == (1797, 1, 8, 8)


def test_stratified_split_keeps_class_proportions():
    y = np.repeat(np.arange(3), [50, 30, 20])
    x = np.arange(100, dtype=np.float32)[:, None]
    x_tr, x_te, y_tr, y_te = data.train_test_split(x, y, test_size=0.2, seed=1)
    assert list(np.bincount(y_te)) == [10, 6, 4] and len(x_tr) == 80
    assert set(x_tr[:, 0]).isdisjoint(x_te[:, 0])
    again = data.train_test_split(x, y, test_size=0.2, seed=1)
    np.testing.assert_array_equal(again[1], x_te)
    keep, held = data.split_indices(10, 0.3, shuffle=False)
    assert list(held) == [7, 8, 9]


def test_preprocessing_helpers():
    x = rng.standard_normal((50, 3)) * [1, 10, 100] + [0, 5, -3]
    a, b = data.standardize(x, x[:5])
    np.testing.assert_allclose(a.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(a.std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(b, a[:5], rtol=1e-5)
    np.testing.assert_array_equal(data.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        data.one_hot(np.array([3]), 3)


def test_loader_batches_and_seeded_shuffles():
    x, y = np.arange(10), np.arange(10) * 2
    batches = list(data.DataLoader(x, y, batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert len(data.DataLoader(x, batch_size=4, drop_last=True)) == 2
    fusednn.seed(3)
    first = np.concatenate([b[0] for b in data.DataLoader(x, y, batch_size=3, shuffle=True)])
    fusednn.seed(3)
    second = np.concatenate([b[0] for b in data.DataLoader(x, y, batch_size=3, shuffle=True)])
    np.testing.assert_array_equal(first, second)
    assert sorted(first) == list(range(10)) and list(first) != list(range(10))
    for xb, yb in data.DataLoader(x, y, batch_size=3, shuffle=True):
        np.testing.assert_array_equal(yb, xb * 2)
    with pytest.raises(ValueError, match="array 1 has 9 rows"):
        data.DataLoader(x, y[:9])


def test_idx_header_sizes_are_checked_before_the_data_is_read(tmp_path):
    import gzip

    bomb = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(bomb, "wb") as f:  # declares 2**32 bytes of uint8, holds 64 MiB of zeros
        f.write(bytes([0, 0, 0x08, 1]) + (2 ** 32 - 1).to_bytes(4, "big"))
        f.write(bytes(64 << 20))
    with pytest.raises(ValueError, match="max_bytes"):
        read_idx(bomb, max_bytes=1 << 20)
    with pytest.raises(ValueError, match="holds"):
        read_idx(bomb)  # fewer bytes than declared
    overflow = tmp_path / "overflow-idx3-ubyte"
    # 2**32-1 cubed elements of 8 bytes: past int64, which must not wrap to a small number
    overflow.write_bytes(bytes([0, 0, 0x0E, 3]) + (2 ** 32 - 1).to_bytes(4, "big") * 3 + bytes(8))
    with pytest.raises(ValueError, match="max_bytes"):
        read_idx(overflow)
    extra = tmp_path / "extra-idx1-ubyte"
    extra.write_bytes(bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes(5))
    with pytest.raises(ValueError, match="more"):
        read_idx(extra)


def test_mnist_files_with_mismatched_counts_or_bad_labels_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    for name, y_train in [("count", np.arange(9) % 10), ("labels", np.arange(10) + 3)]:
        folder = tmp_path / name
        folder.mkdir()
        write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 255, (10, 28, 28), np.uint8))
        write_idx(folder / "train-labels-idx1-ubyte", y_train.astype(np.uint8))
        write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 255, (4, 28, 28), np.uint8))
        write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(4, dtype=np.uint8))
        with pytest.raises(ValueError, match="y_train"):
            load_mnist(folder)
