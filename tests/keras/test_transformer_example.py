"""Keras's "text classification with a Transformer" example, ported by its imports: custom
layers holding MultiHeadAttention, a Sequential feed-forward net, LayerNormalization and
Embeddings train end to end; the parameter counts are Keras's (all trainable)."""
import numpy as np

import fusednn.keras as keras
from fusednn.keras import layers, ops


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"),
                                     layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.dropout1(self.att(inputs, inputs))
        out1 = self.layernorm1(inputs + attn_output)
        return self.layernorm2(out1 + self.dropout2(self.ffn(out1)))


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = self.pos_emb(ops.arange(start=0, stop=ops.shape(x)[-1], step=1))
        return self.token_emb(x) + positions


def test_the_transformer_classifier_trains_with_kerass_parameter_counts():
    keras.utils.set_random_seed(0)
    vocab_size, maxlen, embed_dim = 50, 12, 16
    inputs = layers.Input(shape=(maxlen,))
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    x = TransformerBlock(embed_dim, num_heads=2, ff_dim=16)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(20, activation="relu")(layers.Dropout(0.1)(x))
    outputs = layers.Dense(2, activation="softmax")(layers.Dropout(0.1)(x))
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    # embeddings 50*16 + 12*16; attention 3*(16*2*16 + 2*16) + 2*16*16 + 16, the feed-forward
    # net 2*(16*16 + 16), two layer norms 2*32; then 16*20 + 20 and 20*2 + 2
    assert [layer.count_params() for layer in model.layers[:2]] == [992, 2768]
    assert model.count_params() == 4142
    assert sum(np.size(w) for w in model.trainable_weights) == 4142
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, vocab_size, (256, maxlen))
    labels = ((tokens < 10).sum(axis=1) >= 3).astype(np.int64)  # three or more small tokens
    history = model.fit(tokens, labels, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85
