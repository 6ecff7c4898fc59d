"""Tag every token of generated sentences (a named-entity task) with Embedding + Bidirectional
LSTM + a softmax per step.

The task: sentences of 4 to 25 tokens from a 60-word vocabulary (0 is padding), post-padded to
25 steps. Words 1-2 are titles ("Mr", "Dr"), 3-22 names, 23-24 company suffixes ("Inc",
"Ltd"), the rest other words. A title is TITLE; a name after a title or after a PERSON name is
PERSON; otherwise a run of names followed by a suffix is ORG, the suffix too; every other word,
names included, is O. So a name's tag depends on what comes before it (a title) and after it
(a suffix): the model must read both ways, which the Bidirectional layer does. The padding is
masked (Embedding(mask_zero=True)), so loss and accuracy count real tokens only. The accuracy
printed is over all real tokens of the test sentences and over the name tokens alone (the hard
ones; always answering O scores about 0.33 there). It reaches 1.00 on both in 8 epochs
(seed 0; about 3 s on two cores).

    python examples/sequence_tagging.py --epochs 8
"""
import argparse

import numpy as np

from fusednn import keras

TAGS = ("O", "TITLE", "PERSON", "ORG")
O, TITLE, PERSON, ORG = range(4)
TITLES, NAMES, SUFFIXES, VOCAB = range(1, 3), range(3, 23), range(23, 25), 60


def tag(words):
    """The tags of one sentence, by the rules in the docstring."""
    n = len(words)
    org_run = [False] * (n + 1)  # a name whose run of names ends in a suffix
    for t in range(n - 1, -1, -1):
        if words[t] in NAMES:
            after = words[t + 1] if t + 1 < n else 0
            org_run[t] = after in SUFFIXES or (after in NAMES and org_run[t + 1])
    tags = []
    for t, w in enumerate(words):
        previous = tags[-1] if tags else O
        if w in TITLES:
            tags.append(TITLE)
        elif w in NAMES and previous in (TITLE, PERSON):
            tags.append(PERSON)
        elif w in NAMES and org_run[t]:
            tags.append(ORG)
        elif w in SUFFIXES and previous == ORG:
            tags.append(ORG)
        else:
            tags.append(O)
    return tags


def make_data(n, steps=25, seed=0):
    """(tokens (n, steps), tags (n, steps)); tags at padded steps are 0 and masked."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, steps), np.int64)
    y = np.zeros((n, steps), np.int64)
    for i in range(n):
        length = int(rng.integers(4, steps + 1))
        words = [int(w) for w in rng.integers(SUFFIXES.stop, VOCAB, length)]
        for _ in range(rng.integers(1, 4)):  # a few names: a person, a company or bare
            span = [int(rng.integers(NAMES.start, NAMES.stop))
                    for _ in range(rng.integers(1, 3))]
            kind = rng.random()
            if kind < 0.4:
                span = [int(rng.integers(TITLES.start, TITLES.stop))] + span
            elif kind < 0.7:
                span = span + [int(rng.integers(SUFFIXES.start, SUFFIXES.stop))]
            at = int(rng.integers(0, length))
            words[at:at + len(span)] = span
        words = words[:length]
        x[i, :length], y[i, :length] = words, tag(words)
    return x, y


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--samples", type=int, default=4000)
    args = p.parse_args()

    keras.utils.set_random_seed(0)
    x, y = make_data(args.samples + 1000)
    x_train, y_train, x_test, y_test = x[:args.samples], y[:args.samples], \
        x[args.samples:], y[args.samples:]
    model = keras.Sequential([
        keras.layers.Input((x.shape[1],)),
        keras.layers.Embedding(VOCAB, 16, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(32, return_sequences=True)),
        keras.layers.Dense(len(TAGS), activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(5e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_split=0.1,
              verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predicted = model.predict(x_test).argmax(-1)
    names = (x_test >= NAMES.start) & (x_test < NAMES.stop)
    name_accuracy = (predicted == y_test)[names].mean()
    always_o = (y_test[names] == 0).mean()
    print(f"test accuracy {accuracy:.4f} over the real tokens of {len(x_test)} sentences; "
          f"on name tokens {name_accuracy:.4f} (always O: {always_o:.3f})")
    words = x_test[0][x_test[0] > 0]
    print("first test sentence (word: predicted tag):",
          " ".join(f"{w}:{TAGS[t]}" for w, t in zip(words, predicted[0][:len(words)])))


if __name__ == "__main__":
    main()
