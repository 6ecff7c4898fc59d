"""A builder in its own module, as worker processes and the CLI import it."""
import fusednn
from fusednn import nn


def build_mlp(hp):
    model = fusednn.Sequential([nn.Dense(hp.Int("units", 16, 48, step=16), activation="relu"),
                                nn.Dense(10)], input_shape=(64,))
    model.compile(optimizer="adam", lr=hp.Float("lr", 1e-3, 1e-2, sampling="log"),
                  metrics=["accuracy"])
    return model
