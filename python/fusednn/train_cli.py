"""``fusednn train``: train a named model on a named dataset and write what a run leaves
behind into ``--out``: history.png, log.csv, model.fdnn and summary.json."""
from __future__ import annotations

import argparse
import json
import os
import time

DATASETS = ("digits", "mnist", "fashion_mnist")
# What --lr and --epochs default to per model: the recurrent ones read an image row by row and
# need a larger step and more epochs to pass 0.97 on digits (0.88 with the others' defaults).
MODEL_DEFAULTS = {"mlp": {"lr": 1e-3, "epochs": 20}, "cnn": {"lr": 1e-3, "epochs": 20},
                  "lstm": {"lr": 1e-2, "epochs": 40}, "gru": {"lr": 1e-2, "epochs": 40}}


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (``--epochs 0`` trains nothing and is refused)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="digits ships with scikit-learn; mnist/fashion_mnist need --data-path "
                        "or --download")
    p.add_argument("--data-path", default=None, help="folder of IDX files, or an npz")
    p.add_argument("--download", action="store_true",
                   help="fetch MNIST/Fashion-MNIST once into the cache (SHA-256 checked)")
    p.add_argument("--model", choices=("mlp", "cnn", "lstm", "gru"), default="mlp",
                   help="lstm and gru read each image as a sequence of its rows")
    p.add_argument("--optimizer", default="adam", help="sgd, adagrad, rmsprop, adam or adamw")
    p.add_argument("--lr", type=float, default=None,
                   help="(default: 0.001; 0.01 for lstm and gru)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="(default: 20; 40 for lstm and gru)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--validation-split", type=float, default=0.1)
    p.add_argument("--schedule", choices=("none", "cosine", "step"), default="cosine",
                   help="learning-rate schedule over the epochs")
    p.add_argument("--patience", type=int, default=0,
                   help="early stopping on val_loss after this many epochs without improvement "
                        "(0: off), restoring the best weights")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/train", help="folder for the run's files")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))


def load_dataset(name, path=None, download=False, images=False, seed=0):
    """((x_train, y_train), (x_test, y_test)); digits gets a fixed stratified 80/20 split."""
    from . import data

    if name == "digits":
        x, y = data.load_digits(as_images=images)
        x_tr, x_te, y_tr, y_te = data.train_test_split(x, y, test_size=0.2, seed=seed)
        return (x_tr, y_tr), (x_te, y_te)
    loader = data.load_mnist if name == "mnist" else data.load_fashion_mnist
    (x_tr, y_tr), (x_te, y_te) = loader(path, download=download)
    if not images:
        x_tr, x_te = x_tr.reshape(len(x_tr), -1), x_te.reshape(len(x_te), -1)
    return (x_tr, y_tr), (x_te, y_te)


def run(args) -> dict:
    import fusednn
    from . import _backend
    from .models import callbacks, zoo
    from .optim import lr_scheduler

    for name, value in MODEL_DEFAULTS[args.model].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    fusednn.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    (x_tr, y_tr), (x_te, y_te) = load_dataset(args.dataset, args.data_path, args.download,
                                              images=args.model == "cnn", seed=args.seed)
    classes = int(y_tr.max()) + 1
    build = zoo.cnn if args.model == "cnn" else zoo.mlp
    if args.model == "cnn" and args.dataset != "digits":
        build = zoo.mnist_cnn
    if args.model in ("lstm", "gru"):  # an image as a sequence of its rows
        build = zoo.MODELS[args.model]
        side = int(round(x_tr.shape[1] ** 0.5))
        x_tr, x_te = x_tr.reshape(len(x_tr), side, -1), x_te.reshape(len(x_te), side, -1)
    model = build(x_tr.shape[1:], classes)
    if args.device == "cuda":
        model.to("cuda")
    schedule = None
    if args.schedule == "cosine":
        schedule = lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, args.epochs))  # noqa: E731
    elif args.schedule == "step":
        schedule = lambda opt: lr_scheduler.StepLR(opt, step_size=max(1, args.epochs // 3), gamma=0.3)  # noqa: E731
    model.compile(args.optimizer, "cross_entropy", ["accuracy"], lr=args.lr, lr_schedule=schedule)
    if args.verbose:
        model.summary()
    cbs = [callbacks.CSVLogger(os.path.join(args.out, "log.csv"))]
    if args.patience:
        cbs.append(callbacks.EarlyStopping("val_loss", patience=args.patience,
                                           restore_best_weights=True))
    start = time.perf_counter()
    history = model.fit(x_tr, y_tr, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=args.validation_split, callbacks=cbs,
                        verbose=args.verbose)
    train_seconds = time.perf_counter() - start
    test = model.evaluate(x_te, y_te)
    history.plot(os.path.join(args.out, "history.png"))
    model.save(os.path.join(args.out, "model.fdnn"))
    summary = {
        "dataset": args.dataset, "model": args.model, "optimizer": args.optimizer,
        "lr": args.lr, "schedule": args.schedule, "epochs": args.epochs,
        "epochs_run": len(history.epoch), "batch_size": args.batch_size, "seed": args.seed,
        "device": args.device, "kernel_path": _backend.kernel_path(),
        "train_samples": int(len(x_tr)), "test_samples": int(len(x_te)),
        "test_accuracy": test["accuracy"], "test_loss": test["loss"],
        "final": {k: v[-1] for k, v in history.history.items()},
        "train_seconds": round(train_seconds, 3),
    }
    summary["wall_seconds"] = round(time.perf_counter() - start, 3)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"test accuracy {test['accuracy']:.4f} (loss {test['loss']:.4f}); "
          f"{summary['epochs_run']} epochs in {train_seconds:.1f} s on {args.device}; "
          f"files in {args.out}")
    return summary


def main(args) -> int:
    run(args)
    return 0
