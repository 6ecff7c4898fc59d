"""Classify token sequences with Embedding + LSTM, on data this script generates.

The task: sequences of 5 to 30 tokens from a 50-word vocabulary (0 is padding), post-padded
to 30 steps; the label says whether token 7 occurs and comes before any token 9 (two thirds of
the sequences hold both, in a random order). Order matters, so a bag-of-words model cannot
solve it; the LSTM reads the sequence and the padding is masked (Embedding(mask_zero=True)),
so the padded steps change nothing. It reaches 0.99-1.00 test accuracy in 15 epochs (about
15 s on two cores); the majority class is about 0.5.

    python examples/sequence_lstm.py --epochs 15
"""
import argparse

import numpy as np

from fusednn import keras


def make_data(n, steps=30, vocab=50, seed=0):
    """(tokens (n, steps), labels (n,)): label 1 when token 7 occurs and comes before any 9."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, steps), np.int64)
    y = np.zeros(n, np.int64)
    for i in range(n):
        length = rng.integers(5, steps + 1)
        seq = rng.integers(10, vocab, length)
        if rng.random() < 2 / 3:  # both markers, in a random order
            a, b = rng.choice(length, 2, replace=False)
            seq[a], seq[b] = 7, 9
        elif rng.random() < 0.5:  # only a 7
            seq[rng.integers(length)] = 7
        tokens = list(seq)
        y[i] = int(7 in tokens and (9 not in tokens or tokens.index(7) < tokens.index(9)))
        x[i, :length] = seq
    return x, y


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--samples", type=int, default=6000)
    args = p.parse_args()

    x, y = make_data(args.samples + 2000)
    x_train, y_train, x_test, y_test = x[:args.samples], y[:args.samples], x[args.samples:], \
        y[args.samples:]
    model = keras.Sequential([
        keras.layers.Input((x.shape[1],)),
        keras.layers.Embedding(50, 16, mask_zero=True),
        keras.layers.LSTM(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_split=0.1,
              verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f} on {len(y_test)} generated sequences "
          f"(majority class {max(y_test.mean(), 1 - y_test.mean()):.3f})")


if __name__ == "__main__":
    main()
