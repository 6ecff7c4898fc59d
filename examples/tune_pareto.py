"""Two objectives at once: validation accuracy against parameter count for an MLP on the
bundled digits, searched with NSGA-II. Prints the Pareto front (the configurations no other
beats on both) and draws it.

    python examples/tune_pareto.py --trials 40
"""
import argparse

import fusednn
from fusednn import nn, tune
from fusednn.data import load_digits, train_test_split


def build_model(hp):
    layers = []
    for i in range(hp.Int("depth", 1, 3)):
        layers += [nn.Dense(hp.Int(f"units_{i}", 4, 256, sampling="log"), activation="relu"),
                   nn.Dropout(hp.Float(f"dropout_{i}", 0.0, 0.4))]
    model = fusednn.Sequential(layers + [nn.Dense(10)], input_shape=(64,), name="mlp")
    model.compile(optimizer="adam", lr=hp.Float("lr", 1e-3, 3e-2, sampling="log"),
                  metrics=["accuracy"])
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/tune_pareto")
    args = p.parse_args()

    x, y = load_digits()
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.2, seed=args.seed)
    tuner = tune.Tuner(build_model, objectives=["val_accuracy", "params"],
                       max_trials=args.trials, seed=args.seed, out=args.out, verbose=1)
    result = tuner.search(x_train, y_train, epochs=args.epochs, validation_split=0.25)
    print(result.pareto_table())
    print("plot:", result.plot_pareto_front(f"{args.out}/pareto_front.png"))


if __name__ == "__main__":
    main()
