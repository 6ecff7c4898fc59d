"""The tutorials' Keras (and PyTorch) programs, read from the seed texts beside the repository,
run with only their import lines changed to fusednn's, on data made here."""
import os
import pathlib
import re

import numpy as np
import pytest

SEEDS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "seeds"

# import line -> its fusednn spelling; nothing else in a program is changed
IMPORTS = [
    (r"^import tensorflow as tf$", "import fusednn as tf"),
    (r"^from tensorflow\.keras", "from fusednn.keras"),
    (r"^from keras\.", "from fusednn.keras."),
    (r"^import torch\.optim as optim$", "import fusednn.optim as optim"),
]


def programs(seed: str):
    files = sorted(SEEDS.glob(f"{seed}_*.txt"))
    if not files:
        pytest.skip(f"the tutorial texts are not beside the repository ({SEEDS})")
    blocks = re.findall(r"```python\n(.*?)```", files[0].read_text(), re.S)
    out = []
    for block in blocks:
        lines = []
        for line in block.splitlines():
            for pattern, replacement in IMPORTS:
                if re.match(pattern, line):
                    line = re.sub(pattern, replacement, line)
            lines.append(line)
        out.append("\n".join(lines))
    return out


def run(code: str, namespace: dict) -> dict:
    assert "tensorflow" not in code and "from keras" not in code
    exec(compile(code, "<tutorial>", "exec"), namespace)
    return namespace


def test_seed_000_random_binary_classifier_with_rmsprop():
    (code,) = programs("000")
    ns = run(code, {})
    model = ns["model"]
    assert [type(l).__name__ for l in model.layers] == ["Dense", "Dense"]
    assert model.count_params() == 20 * 64 + 64 + 64 + 1
    history = model.history.history
    assert len(history["loss"]) == 20 and np.isfinite(history["loss"]).all()
    # soft random targets: Keras's binary accuracy compares them with thresholded outputs
    assert history["accuracy"][-1] == 0.0


def mnist_shaped(folder: pathlib.Path, train: int = 60000, test: int = 10000):
    """MNIST-shaped data a CNN can learn: each class a bright bar at its own place."""
    rng = np.random.default_rng(0)

    def make(n):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for c in range(10):
            rows = y == c
            x[rows, 2 + 2 * c:4 + 2 * c, 4:24] = 255
        return x, y

    (x_train, y_train), (x_test, y_test) = make(train), make(test)
    np.savez(folder / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test,
             y_test=y_test)


def test_seed_002_mnist_cnn(tmp_path, monkeypatch, capsys):
    blocks = programs("002")
    assert len(blocks) == 5
    monkeypatch.setenv("FUSEDNN_DATA", str(tmp_path))
    mnist_shaped(tmp_path)
    ns = {}
    run(blocks[0], ns)  # data
    run(blocks[1], ns)  # the CNN
    model = ns["model"]
    model.summary()
    assert model.count_params() == 93322
    assert "93,322" in capsys.readouterr().out
    if os.environ.get("FUSEDNN_FULL_TUTORIALS") != "1":
        # Ten epochs over 54,000 images take minutes on two cores: the test trains on the
        # first 6,000 (the tutorial's code, its arrays cut before it runs).
        for k in ("train_images", "train_labels"):
            ns[k] = ns[k][:6000]
        for k in ("test_images", "test_labels"):
            ns[k] = ns[k][:2000]
        ns["epochs_override"] = 2
        blocks[3] = blocks[3].replace("epochs=epochs", "epochs=epochs_override")
    run(blocks[2], ns)  # hyperparameters and the optimizer
    run(blocks[3], ns)  # compile and fit with validation_split=0.1
    history = ns["history"]
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    run(blocks[4], ns)  # test_loss, test_acc = model.evaluate(...)
    assert isinstance(ns["test_loss"], float) and ns["test_acc"] > 0.95
    assert f"Test accuracy: {ns['test_acc']}" in capsys.readouterr().out


def digits_split():
    from fusednn.data import load_digits

    x, y = load_digits()
    x = x.reshape(len(x), -1).astype(np.float32)
    return x, y


def test_seed_003_keras_model_and_torch_loop():
    import torch

    keras_code, torch_code = programs("003")
    x, y = digits_split()
    x_train = np.zeros((len(x), 784), np.float32)
    x_train[:, :64] = x
    from fusednn.keras.utils import to_categorical

    ns = run(keras_code, {"x_train": x_train, "y_train": to_categorical(y, 10)})
    assert ns["model"].history.history["accuracy"][-1] > 0.9

    inputs = torch.from_numpy(x_train)
    labels = torch.from_numpy(y.astype(np.int64))
    loader = [(inputs[i:i + 64], labels[i:i + 64]) for i in range(0, len(inputs), 64)]
    ns = run(torch_code, {"trainloader": loader})
    assert isinstance(ns["optimizer"], __import__("fusednn").optim.Adam)
    with torch.no_grad():
        accuracy = (ns["model"](inputs).argmax(1) == labels).float().mean().item()
    assert accuracy > 0.8


def test_seed_004_l2_model_sparse_labels_and_lr_decay():
    blocks = programs("004")
    x, y = digits_split()
    ns = run(blocks[1], {"X_train": x, "y_train": y})
    model = ns["model"]
    history = model.history.history
    assert len(history["val_loss"]) == 10 and history["val_accuracy"][-1] > 0.85

    class Trainer:
        """The decay loop's ``model.train(X, y)`` is pseudo-code for an epoch of training."""

        def train(self, X, Y):
            model.fit(X, Y, epochs=1, verbose=0)

        def evaluate(self, X, Y):
            return model.evaluate(X, Y, verbose=0)

    decay = blocks[0].replace("range(100)", "range(3)")  # three epochs, not a hundred
    ns = run(decay, {"model": Trainer(), "X_train": x, "y_train": y, "X_test": x, "y_test": y})
    assert ns["learning_rate"] == pytest.approx(1e-4)
    assert isinstance(ns["loss"], list) and len(ns["loss"]) == 2
