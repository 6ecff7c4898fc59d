"""Reading a model file written by :mod:`fusednn.models.saving`: the architecture rebuilt
from its layer configs, weights and buffers loaded, and, for a compiled model, the optimizer
state and the schedule position restored."""
from __future__ import annotations

import io
import json
import zipfile
import zlib

import numpy as np

from .. import optim as _optim
from .metrics import from_saved
from .saving import FORMAT, OPTIMIZER_FACTORIES, layer_from_entry
from .sequential import Sequential


class ModelFileError(ValueError):
    """A model file that cannot be read: not a fusednn model, corrupt, cut short, or larger
    than the reader accepts. Every failure to read a model file raises this."""


MAX_BYTES = 2 << 30  # the largest uncompressed model load_model accepts unless told otherwise
_MAX_JSON = 64 << 20


def _read_member(z, name, limit, path):
    """A zip member's bytes, read in blocks and stopped as soon as they pass ``limit`` or the
    size the zip directory declares (a member that lies about its size is cut off there)."""
    info = z.getinfo(name)
    if info.file_size > limit:
        raise ModelFileError(f"{path}: {name} would unpack to {info.file_size} bytes, more than "
                             f"the {limit} allowed (max_bytes)")
    out = bytearray()
    with z.open(info) as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            out += block
            if len(out) > info.file_size:
                raise ModelFileError(f"{path}: {name} unpacks past its declared size")
    return bytes(out)


def _read_arrays(raw, limit, path):
    """The arrays of the npz ``raw``, the members' declared sizes checked before any is read."""
    with zipfile.ZipFile(io.BytesIO(raw)) as inner:
        total = sum(i.file_size for i in inner.infolist())
        if total > limit:
            raise ModelFileError(f"{path}: its arrays would unpack to {total} bytes, more than "
                                 f"the {limit} its architecture's weights and optimizer state "
                                 "can take (or than max_bytes)")
    with np.load(io.BytesIO(raw), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _reading(path, action):
    """``action()``, with every failure to read the file ``path`` raised as ModelFileError."""
    try:
        return action()
    except ModelFileError:
        raise
    except (OSError, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ModelFileError(f"{path}: cannot be read ({type(e).__name__}: {e})") from e
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            zipfile.BadZipFile, zlib.error, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path}: not a readable fusednn model file "
                             f"({type(e).__name__}: {e})") from e


def load_model(path: str, device: str = "cpu", max_bytes: int = MAX_BYTES, make_graph=None):
    """The model saved at ``path``, compiled and with its optimizer and schedule restored when
    it was saved compiled, on ``device``. Any file that cannot be read raises
    :class:`ModelFileError` (a ``ValueError``) naming the file; sizes are checked against
    ``max_bytes`` before anything is unpacked. ``make_graph(layers, input_shape, graph,
    name)``: the model of a file that holds a functional graph (fusednn.keras passes it)."""
    return _reading(path, lambda: _load(path, device, max_bytes, make_graph))


def restore_training_state(model, path: str, max_bytes: int = MAX_BYTES) -> None:
    """Into ``model`` — compiled, of the architecture saved at ``path`` — the file's weights,
    optimizer state and schedule position (how BackupAndRestore resumes an interrupted fit)."""
    def restore():
        meta, arrays = _read(path, max_bytes, lambda meta: model)
        model.load_state_dict({k[len("weights/"):]: v for k, v in arrays.items()
                               if k.startswith("weights/")})
        if meta.get("compile") is not None:
            _restore_optimizer(model, meta, arrays, model.device)

    _reading(path, restore)


def _read(path, max_bytes, make_model):
    """(the file's metadata, its arrays): ``make_model(meta)`` gives the model whose weights
    bound the arrays' size."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if not {"model.json", "arrays.npz"} <= names:
            raise ModelFileError(f"{path}: not a fusednn model file (it holds "
                                 f"{sorted(names)[:5]})")
        meta = json.loads(_read_member(z, "model.json", min(_MAX_JSON, max_bytes), path))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
            raise ModelFileError(f"{path}: unknown format {got!r}")
        model = make_model(meta)
        # The arrays cannot be larger than the weights this architecture has, and the state of
        # an optimizer over them (at most three float32 tensors per weight): a member that
        # declares more is refused before it is unpacked.
        weights = sum(int(np.prod(v.shape)) for v in model.state_dict().values())
        bound = min(max_bytes, 4 * 4 * weights + 4096 * (len(meta["layers"]) + 8) * 4)
        return meta, _read_arrays(_read_member(z, "arrays.npz", max_bytes, path), bound, path)


def _load(path, device, max_bytes, make_graph):
    made = []

    def make_model(meta):
        layers = [layer_from_entry(entry) for entry in meta["layers"]]
        if meta.get("graph") is None:
            model = Sequential(layers, input_shape=meta["input_shape"], name=meta["name"])
        elif make_graph is None:
            raise ModelFileError(f"{path}: holds a functional graph model; load it with "
                                 "fusednn.keras.models.load_model")
        else:
            model = make_graph(layers, meta["input_shape"], meta["graph"], meta["name"])
        made.append(model)
        return model

    meta, arrays = _read(path, max_bytes, make_model)
    model = made[0]
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
    from ..nn.losses import NamedLoss

    options = compiled.get("loss_options") or {}
    if not isinstance(options, dict):
        raise ModelFileError(f"{path}: the loss options must be a mapping, got {options!r}")
    outputs = compiled.get("outputs")  # a fusednn.keras model's compile per output
    if outputs is not None and not hasattr(model, "compile_saved_outputs"):
        raise ModelFileError(f"{path}: a model with several outputs; load it with "
                             "fusednn.keras.models.load_model")
    try:
        loss = None if outputs is not None else NamedLoss(
            compiled["loss"], from_logits=compiled.get("from_logits"),
            loss_weight=compiled.get("loss_weight", 1.0), **options)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: the saved loss cannot be rebuilt: {e}") from None
    optimizer = compiled["optimizer"].lower()
    keras_opt = compiled.get("keras_optimizer")
    if keras_opt is not None:
        factory = OPTIMIZER_FACTORIES.get(keras_opt["class"])
        if factory is None:
            raise ModelFileError(f"{path}: compiled with optimizer {keras_opt['class']!r}, "
                                 "which this installation cannot build")
        optimizer = factory(**keras_opt["config"])
    # fusednn's compile (a functional graph's model is a fusednn.keras Model, whose own
    # compile takes Keras's arguments)
    if outputs is not None:
        model.compile_saved_outputs(outputs, optimizer, compiled["grad_clip"], make_schedule,
                                    compiled["optimizer_kwargs"])
    else:
        Sequential.compile(model, optimizer=optimizer, loss=loss,
                           metrics=[from_saved(m) for m in compiled["metrics"]],
                           weighted_metrics=[from_saved(m) for m in
                                             compiled.get("weighted_metrics") or []],
                           grad_clip=compiled["grad_clip"],
                           lr_schedule=make_schedule, **compiled["optimizer_kwargs"])
    _restore_optimizer(model, meta, arrays, device)
    return model


def _restore_optimizer(model, meta, arrays, device):
    """The saved optimizer state and schedule position into the compiled ``model``."""
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
    schedule = meta.get("lr_schedule")
    if schedule is not None and model.lr_schedule is not None:
        model.lr_schedule.load_state_dict(schedule["state"])
