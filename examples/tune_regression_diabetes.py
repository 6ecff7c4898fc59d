"""Tune a regression network on scikit-learn's bundled diabetes data (442 patients, 10
standardized features, disease progression after one year) and compare it with a ridge
regression (scikit-learn's RidgeCV) fitted on the same training split.

Each trial is scored by 5-fold cross-validation (plain KFold: the target is continuous) on
the mean squared error of the standardized target; the best configuration is retrained on all
the training data; both models are scored once on the same held-out 20%, in the target's units.

    python examples/tune_regression_diabetes.py --trials 40
"""
import argparse

import numpy as np

import fusednn
from fusednn import nn, tune


def build_model(hp):
    l2 = hp.Float("l2", 1e-5, 1e-1, sampling="log")
    reg = nn.L1L2(0.0, l2)
    layers = []
    for i in range(hp.Int("depth", 0, 2)):
        layers += [nn.Dense(hp.Int(f"units_{i}", 4, 64, sampling="log"),
                            activation=hp.Choice(f"activation_{i}", ["relu", "tanh"]),
                            kernel_regularizer=reg),
                   nn.Dropout(hp.Float(f"dropout_{i}", 0.0, 0.3))]
    layers.append(nn.Dense(1, kernel_regularizer=reg))
    model = fusednn.Sequential(layers, input_shape=(10,), name="diabetes_mlp")
    model.compile(optimizer="adam", lr=hp.Float("lr", 1e-3, 3e-2, sampling="log"), loss="mse",
                  metrics=["mse", "mae"])
    hp.Choice("batch_size", [16, 32, 64])
    hp.Int("epochs", 20, 150, step=10)
    return model


def main():
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import train_test_split

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2,
                                                        random_state=args.seed)
    x_mean, x_std = x_train.mean(0), x_train.std(0)
    y_mean, y_std = y_train.mean(), y_train.std()
    xs_train, xs_test = (x_train - x_mean) / x_std, (x_test - x_mean) / x_std
    ys_train = ((y_train - y_mean) / y_std).astype(np.float32)

    tuner = tune.Tuner(build_model, objective="val_mse", method="tpe", max_trials=args.trials,
                       pruner="median", seed=args.seed, verbose=1)
    result = tuner.search(xs_train.astype(np.float32), ys_train, cv=5)
    print(result.table())
    model, _ = result.retrain_best()
    pred = model.predict(xs_test.astype(np.float32)).ravel() * y_std + y_mean
    mse_net = float(np.mean((pred - y_test) ** 2))

    ridge = RidgeCV(alphas=np.logspace(-3, 3, 61)).fit(xs_train, y_train)
    mse_ridge = float(np.mean((ridge.predict(xs_test) - y_test) ** 2))
    print(f"best 5-fold CV MSE (standardized target) {result.best_value:.4f} with "
          f"{result.best_params}")
    print(f"test MSE on {len(y_test)} patients: tuned network {mse_net:.1f}, RidgeCV "
          f"(alpha={ridge.alpha_:.3g}) {mse_ridge:.1f}; ratio {mse_net / mse_ridge:.3f}")


if __name__ == "__main__":
    main()
