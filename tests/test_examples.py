"""The examples run (few epochs; MNIST from small IDX files written here)."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from fusednn import data
from fusednn.data.datasets import IDX_FILES

ROOT = pathlib.Path(__file__).resolve().parents[1]
pytest.importorskip("sklearn")


def run(script, *args, cwd):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("script", ["digits_mlp.py", "digits_cnn.py"])
def test_digits_examples(script, tmp_path):
    out = run(script, "--epochs", "2", cwd=tmp_path)
    assert "test:" in out and "accuracy" in out


def test_mnist_example_on_local_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    sizes = {"x_train": (64, 28, 28), "y_train": (64,), "x_test": (16, 28, 28), "y_test": (16,)}
    for key, stem in IDX_FILES.items():
        high = 256 if key.startswith("x") else 10
        data.write_idx(folder / (stem + ".gz"), rng.integers(0, high, sizes[key], dtype=np.uint8))
    out = run("mnist_cnn.py", "--data-path", str(folder), "--epochs", "1", cwd=tmp_path)
    assert "test:" in out


def test_tuning_examples_run_briefly(tmp_path):
    pytest.importorskip("optuna")
    out = run("tune_digits_cnn.py", "--trials", "2", "--epochs", "1", "--out",
              str(tmp_path / "cnn"), cwd=tmp_path)
    assert "retrained on all" in out and "test accuracy" in out
    out = run("tune_regression_diabetes.py", "--trials", "2", cwd=tmp_path)
    assert "tuned network" in out and "RidgeCV" in out
    out = run("tune_pareto.py", "--trials", "4", "--epochs", "1", "--out", str(tmp_path / "p"),
              cwd=tmp_path)
    assert "| trial | val_accuracy | params" in out and (tmp_path / "p" / "pareto_front.png").exists()


def test_sequence_lstm_example_learns_the_order_task(tmp_path):
    out = run("sequence_lstm.py", "--epochs", "4", "--samples", "2000", cwd=tmp_path)
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.8  # majority class about 0.5


def test_sequence_tagging_example_tags_names_by_their_context(tmp_path):
    out = run("sequence_tagging.py", "--epochs", "4", "--samples", "2000", cwd=tmp_path)
    line = next(l for l in out.splitlines() if l.startswith("test accuracy"))
    overall, names = float(line.split()[2]), float(line.split("name tokens ")[1].split()[0])
    assert overall >= 0.97 and names >= 0.9, line
