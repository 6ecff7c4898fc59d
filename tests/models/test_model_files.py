"""Reading model files is bounded and every corrupt file is one ModelFileError naming it."""
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import fusednn
from fusednn import nn


def _saved(tmp_path):
    fusednn.seed(0)
    model = fusednn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(3)], input_shape=(5,))
    model.compile("adam", "cross_entropy", ["accuracy"])
    x, y = np.random.default_rng(0).random((16, 5), np.float32), np.arange(16) % 3
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return model, model.save(str(tmp_path / "m.fdnn"))


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


@pytest.mark.parametrize("members", [
    {"model.json": b"[]", "arrays.npz": b""},
    {"model.json": b"null", "arrays.npz": b""},
    {"model.json": b"[" * 100_000 + b"]" * 100_000, "arrays.npz": b""},
    {"model.json": b"{not json", "arrays.npz": b""},
    {"model.json": json.dumps({"format": "fusednn.Sequential"}).encode(), "arrays.npz": b"junk"},
    {"other": b"x"},
])
def test_corrupt_files_raise_model_file_error(tmp_path, members):
    path = tmp_path / "bad.fdnn"
    _zip(path, members)
    with pytest.raises(fusednn.ModelFileError, match="bad.fdnn"):
        fusednn.load(str(path))


def test_truncated_and_non_zip_files_raise_model_file_error(tmp_path):
    _, path = _saved(tmp_path)
    raw = open(path, "rb").read()
    for k, data in enumerate([raw[: len(raw) // 2], raw[:100], b"", b"not a zip at all"]):
        bad = tmp_path / f"cut{k}.fdnn"
        bad.write_bytes(data)
        with pytest.raises(fusednn.ModelFileError):
            fusednn.load(str(bad))
    with pytest.raises(FileNotFoundError):
        fusednn.load(str(tmp_path / "missing.fdnn"))


def test_a_valid_file_with_wrong_weights_raises_model_file_error(tmp_path):
    _, path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("model.json"))
    meta["layers"][0]["config"]["units"] = 7  # weights no longer fit the architecture
    with zipfile.ZipFile(path) as z:
        arrays = z.read("arrays.npz")
    bad = tmp_path / "shape.fdnn"
    _zip(bad, {"model.json": json.dumps(meta).encode(), "arrays.npz": arrays})
    with pytest.raises(fusednn.ModelFileError):
        fusednn.load(str(bad))


def _bomb(path, declared_gb=3):
    """1-2 MB on disk, billions of bytes of zeros inside an npz member."""
    npz = io.BytesIO()
    with zipfile.ZipFile(npz, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as inner:
        with inner.open("weights/x.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (declared_gb << 28,)})
            zeros = bytes(1 << 24)
            for _ in range(declared_gb * 64):
                f.write(zeros)
    meta = {"format": "fusednn.Sequential", "version": 1, "name": "x", "input_shape": [1],
            "layers": []}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("model.json", json.dumps(meta))
        z.writestr("arrays.npz", npz.getvalue())


@pytest.mark.slow
def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = tmp_path / "bomb.fdnn"
    _bomb(path, declared_gb=1)
    assert os.path.getsize(path) < 8 << 20
    # The peak is read from /proc after resetting it: a forked child starts with its parent's
    # resident size as its own high-water mark (ru_maxrss would measure the test runner).
    code = ("import fusednn, sys\n"
            "open('/proc/self/clear_refs', 'w').write('5')\n"
            "try:\n    fusednn.load(sys.argv[1])\n"
            "except fusednn.ModelFileError as e:\n    print('refused', e)\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print('peak_kb', int(hwm.split()[1]))\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=300)
    assert "refused" in out.stdout, out.stdout + out.stderr
    peak_kb = int(out.stdout.split("peak_kb")[1])
    assert peak_kb < 600 * 1024, f"peak {peak_kb} KiB"


def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    model, path = _saved(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f"m.fdnn.{dead}.abcd.tmp"
    stale.write_bytes(b"half a model")
    mine = tmp_path / f"m.fdnn.{os.getpid()}.live.tmp"  # a live process's save in progress
    mine.write_bytes(b"in progress")
    model.save(path)
    assert not stale.exists()
    assert mine.exists()
    fusednn.load(path)


@pytest.mark.parametrize("make", [
    lambda L, o: L.MultiStepLR(o, [1, 2, 2], 0.5),
    lambda L, o: L.OneCycleLR(o, 0.1, total_steps=40, three_phase=True),
    lambda L, o: L.CyclicLR(o, 0.01, 0.1, 3, mode="triangular2"),
    lambda L, o: L.ReduceLROnPlateau(o, patience=0, min_lr=1e-4),
], ids=["multistep", "onecycle", "cyclic", "plateau"])
def test_a_saved_schedule_resumes_where_it_stopped(tmp_path, make):
    from fusednn.models.loading import load_model
    from fusednn.optim import lr_scheduler as L

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 5), np.float32), np.arange(64) % 2
    model = fusednn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(2)], input_shape=(5,))
    model.compile("sgd", "cross_entropy", lr=0.1, momentum=0.9,
                  lr_schedule=lambda o: make(L, o))
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    again = load_model(model.save(str(tmp_path / "m.fdnn")))
    for a, b in zip(model.optimizer.param_groups, again.optimizer.param_groups):
        assert (a["lr"], a["momentum"]) == (b["lr"], b["momentum"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    again.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert model.lr_schedule.get_last_lr() == again.lr_schedule.get_last_lr()
