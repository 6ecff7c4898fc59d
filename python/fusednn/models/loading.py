"""Reading a model file written by :mod:`fusednn.models.saving`: the architecture rebuilt
from its layer configs, weights and buffers loaded, and, for a compiled model, the optimizer
state and the schedule position restored."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from .. import optim as _optim
from .saving import FORMAT, LAYERS, _restore
from .sequential import Sequential


def load_model(path: str, device: str = "cpu"):
    """The model saved at ``path``, compiled and with its optimizer and schedule restored when
    it was saved compiled, on ``device``."""
    try:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read("model.json"))
            with np.load(io.BytesIO(z.read("arrays.npz"))) as f:
                arrays = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"{path}: not a fusednn model file ({e})") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown format {meta.get('format')!r}")
    layers = [LAYERS[l["class"]](**_restore(l["config"])) for l in meta["layers"]]
    model = Sequential(layers, input_shape=meta["input_shape"], name=meta["name"])
    model.load_state_dict({k[len("weights/"):]: v for k, v in arrays.items()
                           if k.startswith("weights/")})
    if device != "cpu":
        model.to(device)
    compiled = meta.get("compile")
    if compiled is None:
        return model
    schedule = meta.get("lr_schedule")
    make_schedule = None
    if schedule is not None:
        cls = _optim.lr_scheduler.SCHEDULERS[schedule["class"]]
        make_schedule = lambda opt: cls(opt, **schedule["config"])  # noqa: E731
    model.compile(optimizer=compiled["optimizer"].lower(), loss=compiled["loss"],
                  metrics=compiled["metrics"], grad_clip=compiled["grad_clip"],
                  lr_schedule=make_schedule, **compiled["optimizer_kwargs"])
    model._make_optimizer()
    saved = meta.get("optimizer_state")
    if saved is not None:
        state = {}
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, index, name = key.split("/", 2)
                state.setdefault(int(index), {})[name] = value
        for index, scalars in saved["scalars"].items():
            state.setdefault(int(index), {}).update(scalars)
        groups = []
        for g in saved["param_groups"]:
            g = dict(g)
            if "betas" in g:
                g["betas"] = tuple(g["betas"])
            groups.append(g)
        model.optimizer.load_state_dict({"state": state, "param_groups": groups})
        if device != "cpu":
            model.optimizer.load_state_dict(model.optimizer.state_dict())
    if schedule is not None:
        model.lr_schedule.load_state_dict(schedule["state"])
    return model
