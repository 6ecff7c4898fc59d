"""Tune your own CNN on the bundled digits: learning rate (log scale), batch size, L2 penalty,
dropout, optimizer, conv filters and dense width, each trial scored by 3-fold stratified
cross-validation, TPE sampling, median pruning; then the best configuration is retrained on all
the training data and scored once on the held-out test set.

    python examples/tune_digits_cnn.py --trials 30

The same builder runs in parallel from the command line (workers import this file):

    fusednn tune --model examples/tune_digits_cnn.py:build_model --images --cv 3 \\
        --trials 30 --epochs 30 --n-jobs 2
"""
import argparse

import fusednn
from fusednn import nn, tune
from fusednn.data import load_digits, train_test_split


def build_model(hp):
    filters = hp.Choice("filters", [16, 32, 48])
    width = hp.Int("dense_units", 64, 256, step=64)
    l2 = hp.Float("l2", 1e-6, 1e-3, sampling="log")
    reg = nn.L1L2(0.0, l2)
    model = fusednn.Sequential([
        nn.Conv2D(filters, 3, padding="same", activation="relu", kernel_regularizer=reg),
        nn.Conv2D(filters, 3, padding="same", activation="relu", kernel_regularizer=reg),
        nn.MaxPool2D(2),
        nn.Conv2D(2 * filters, 3, padding="same", activation="relu", kernel_regularizer=reg),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(width, activation="relu", kernel_regularizer=reg),
        nn.Dropout(hp.Float("dropout", 0.0, 0.5)),
        nn.Dense(10),
    ], input_shape=(1, 8, 8), name="digits_cnn")
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    lr = hp.Float("lr", 1e-4, 3e-2, sampling="log")
    extra = {"momentum": 0.9, "nesterov": True} if optimizer == "sgd" else {}
    model.compile(optimizer=optimizer, lr=lr, loss="cross_entropy", metrics=["accuracy"],
                  **extra)
    hp.Choice("batch_size", [32, 64, 128])  # a fit argument: the search passes it to fit
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/tune_digits_cnn")
    args = p.parse_args()

    x, y = load_digits(as_images=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=args.seed)
    tuner = tune.Tuner(build_model, objective="val_accuracy", method="tpe",
                       max_trials=args.trials, pruner="median", seed=args.seed,
                       n_jobs=args.n_jobs, out=args.out)
    result = tuner.search(x_train, y_train, epochs=args.epochs, cv=3)
    print(result.table())
    model, test = result.retrain_best(x_test, y_test)
    print(f"best 3-fold CV accuracy {result.best_value:.4f} with {result.best_params}")
    print(f"retrained on all {len(x_train)} training images: test accuracy "
          f"{test['accuracy']:.4f} on {len(x_test)}")
    print("plots:", result.plots(f"{args.out}/plots"))


if __name__ == "__main__":
    main()
