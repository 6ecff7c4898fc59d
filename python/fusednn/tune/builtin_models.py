"""The built-in models a search can tune ("mlp", "cnn"): builders like any user's, drawing a
declarative ``Space`` (see space.py) through ``hp``, and the compile arguments a parameter set
describes."""
from __future__ import annotations

import math

BUILTIN = ("mlp", "cnn")
DEFAULT_BATCH_SIZE = 64


class BuiltinModel:
    """``builder(hp)`` for a built-in model over ``space``: picklable, so workers get it whole."""

    def __init__(self, kind: str, space, input_shape, classes: int):
        self.kind, self.space = kind, space
        self.input_shape, self.classes = tuple(input_shape), int(classes)
        self.__name__ = kind

    def __call__(self, hp):
        params = self.space.draw(hp)
        epochs = int(params.get("epochs", hp.fit_args.get("epochs", 1)))
        batch = int(params.get("batch_size", hp.fit_args.get("batch_size", DEFAULT_BATCH_SIZE)))
        model = build_model(self.kind, self.input_shape, self.classes, params)
        steps = math.ceil((hp.train_samples or batch) / batch)
        model.compile(**compile_arguments(params, epochs, steps))
        return model

def build_model(kind: str, input_shape, classes: int, params: dict):
    from .. import nn
    from ..models import Sequential

    act = params.get("activation", "relu")
    dropout = float(params.get("dropout", 0.0))
    l1, l2 = float(params.get("l1", 0.0)), float(params.get("l2", 0.0))
    reg = nn.L1L2(l1, l2) if (l1 or l2) else None
    hidden = int(params.get("hidden", 128))
    layers = []
    if kind == "cnn":
        if len(input_shape) != 3:
            raise ValueError(f"a cnn needs image inputs (C, H, W), got samples of shape {input_shape}")
        f = int(params.get("filters", 16))
        layers += [nn.Conv2D(f, 3, padding="same", activation=act, kernel_regularizer=reg),
                   nn.Conv2D(f, 3, padding="same", activation=act, kernel_regularizer=reg),
                   nn.MaxPool2D(2),
                   nn.Conv2D(2 * f, 3, padding="same", activation=act, kernel_regularizer=reg),
                   nn.MaxPool2D(2), nn.Flatten()]
        depth = 1
    else:
        if len(input_shape) > 1:
            layers.append(nn.Flatten())
        depth = int(params.get("depth", 2))
    for _ in range(depth):
        layers.append(nn.Dense(hidden, activation=act, kernel_regularizer=reg,
                               kernel_initializer="he_uniform"))
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Dense(classes))
    return Sequential(layers, input_shape=input_shape, name=kind)


def compile_arguments(params: dict, epochs: int, steps_per_epoch: int) -> dict:
    """``model.compile`` keyword arguments for a parameter set."""
    from ..optim import lr_scheduler as L

    name = params.get("optimizer", "adam")
    lr = float(params.get("lr", 1e-3))
    kw = {"lr": lr}
    if name in ("sgd", "rmsprop") and "momentum" in params:
        kw["momentum"] = float(params["momentum"])
    if name == "sgd" and params.get("nesterov") and kw.get("momentum", 0) > 0:
        kw["nesterov"] = True
    if name in ("adam", "adamw") and ("beta1" in params or "beta2" in params):
        kw["betas"] = (float(params.get("beta1", 0.9)), float(params.get("beta2", 0.999)))
    if "weight_decay" in params:
        kw["weight_decay"] = float(params["weight_decay"])
    schedule = params.get("schedule", "none")
    make = None
    if schedule == "cosine":
        make = lambda opt: L.CosineAnnealingLR(opt, T_max=max(1, epochs))  # noqa: E731
    elif schedule == "step":
        make = lambda opt: L.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.3)  # noqa: E731
    elif schedule == "onecycle":
        make = lambda opt: L.OneCycleLR(opt, max_lr=lr,  # noqa: E731
                                        total_steps=epochs * steps_per_epoch,
                                        cycle_momentum=False)
    elif schedule not in (None, "none"):
        raise ValueError(f"unknown schedule {schedule!r} (none, cosine, step, onecycle)")
    return dict(optimizer=name, loss="cross_entropy", metrics=["accuracy"],
                grad_clip=params.get("grad_clip"), lr_schedule=make, **kw)
