"""``Sequential.summary()``: each layer's name and class, output shape and parameter count."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad


def summary_text(model) -> str:
    if not model.built:
        raise ValueError("summary() needs a built model: give input_shape= or call fit() first")
    rows, x = [], Tensor(np.zeros((1,) + model.input_shape, np.float32)).to(model.device)
    mode = model.training
    model.eval()
    try:
        with no_grad():
            for layer in model.layers:
                x = layer(x)
                count = sum(p.numel() for p in layer.parameters())
                rows.append((f"{layer.name} ({type(layer).__name__})",
                             str((None,) + x.shape[1:]), f"{count:,}"))
    finally:
        model.train(mode)
    header = ("Layer (type)", "Output shape", "Params")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))
    total = sum(p.numel() for p in model.parameters())
    rule = "-" * (sum(widths) + 4)
    return "\n".join([f'Model "{model.name}"', line(header), rule] + [line(r) for r in rows] +
                     [rule, f"Total params: {total:,}",
                      f"Input shape: {(None,) + model.input_shape}"])
