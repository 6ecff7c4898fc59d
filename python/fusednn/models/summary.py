"""``Sequential.summary()``: each layer's name and class, output shape and parameter count."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad


def summary_text(model) -> str:
    if not model.built:
        raise ValueError("summary() needs a built model: give input_shape= or call fit() first")
    rows, counts = [], []
    x = Tensor(np.zeros((1,) + model.sample_input_shape, np.float32)).to(model.device)
    mode = model.training
    model.eval()
    try:
        with no_grad():
            # a Keras model whose layers are not a chain (a functional graph, a subclassed
            # model) tells their shapes itself
            layers = getattr(model, "_tracked_layers", lambda: model.layers)()
            shapes = getattr(model, "layer_output_shapes", lambda x: None)(x)
            for k, layer in enumerate(layers):
                if shapes is None:
                    x = layer(x)
                count, trained = _counts(layer)
                counts.append((count, trained))
                rows.append((f"{layer.name} ({type(layer).__name__})",
                             str((None,) + x.shape[1:]) if shapes is None else shapes[k],
                             f"{count:,}"))
    finally:
        model.train(mode)
    header = ("Layer (type)", "Output shape", "Params")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))
    total, trained = sum(c for c, _ in counts), sum(t for _, t in counts)
    rule = "-" * (sum(widths) + 4)
    return "\n".join([f'Model "{model.name}"', line(header), rule] + [line(r) for r in rows] +
                     [rule, f"Total params: {total:,}", f"Trainable params: {trained:,}",
                      f"Non-trainable params: {total - trained:,}",
                      f"Input shape: {_input_shape(model)}"])


def _input_shape(model):
    """(None, ...) of the model's input; a Keras model with several inputs lists theirs."""
    shape = getattr(model, "input_shape", None)
    return shape if isinstance(shape, list) else (None,) + model.sample_input_shape


def _counts(layer) -> tuple:
    """(weights, trained weights) of a layer: a Keras layer counts every weight, moving
    statistics included, as Keras does; fusednn's count their parameters."""
    if hasattr(layer, "trainable_weights") and hasattr(layer, "count_params"):
        return layer.count_params(), int(sum(np.size(w) for w in layer.trainable_weights))
    params = layer.parameters()
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad))
