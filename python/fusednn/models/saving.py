"""One-file model format: a zip holding ``model.json`` (architecture, compile settings,
optimizer hyperparameters and step counts, schedule position) and ``arrays.npz`` (weights,
buffers and optimizer state). Written to a temporary file in the target's folder, then
renamed over it, so a crash mid-save never leaves a half-written model."""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

import numpy as np

from .. import nn
from .. import optim as _optim
from .._backend import to_host
from .metrics import EPOCH_METRIC_CLASSES

FORMAT = "fusednn.Sequential"
VERSION = 1
LAYERS = {cls.__name__: cls for cls in (
    nn.Dense, nn.Conv1D, nn.Conv2D, nn.Conv2DTranspose, nn.MaxPool2D, nn.AvgPool2D,
    nn.GlobalAveragePooling1D, nn.GlobalAveragePooling2D, nn.GlobalMaxPooling1D,
    nn.GlobalMaxPooling2D, nn.BatchNorm1D, nn.BatchNorm2D, nn.LayerNormalization, nn.Embedding,
    nn.Masking, nn.SimpleRNN, nn.LSTM, nn.GRU,
    nn.Bidirectional, nn.Dropout, nn.GaussianNoise, nn.GaussianDropout, nn.SpatialDropout1D,
    nn.Flatten,
    nn.Activation, nn.ReLU, nn.LeakyReLU, nn.Softmax)}


OPTIMIZER_FACTORIES = {}


def register_optimizer(name: str, factory):
    """Let a model compiled with an optimizer object (fusednn.keras's) be saved and loaded:
    ``factory(**config)`` rebuilds the object from its saved config."""
    OPTIMIZER_FACTORIES[name] = factory
    return factory


def register_layer(cls, name: str = None):
    """Let models holding ``cls`` be saved and loaded: ``cls(**layer.get_config())`` must
    rebuild the layer (fusednn.keras registers its layers under "keras.<name>")."""
    LAYERS[name or cls.__name__] = cls
    cls._saved_name = name or cls.__name__
    return cls


def _jsonable(value, what):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, what) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, what) for k, v in value.items()}
    if isinstance(value, nn.regularizers.L1L2):
        return {"__regularizer__": value.get_config()}
    if isinstance(value, nn.initializers.Initializer) and \
            type(value) in nn.initializers.CLASSES.values():
        return {"__initializer__": _jsonable(nn.initializers.serialize(value), what)}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"cannot save {what}: {value!r} is not a name or a number (custom "
                    "callables cannot be saved; use the built-in names)")


def layer_entry(layer):
    name = type(layer).__dict__.get("_saved_name", type(layer).__name__)
    if LAYERS.get(name) is not type(layer):
        raise TypeError(f"cannot save a model holding a {type(layer).__name__}: only the "
                        f"built-in layers ({', '.join(LAYERS)}) can be saved")
    entry = {"class": name, "config": _jsonable(layer.get_config(), f"layer {layer.name}")}
    if getattr(layer, "trainable", True) is False:  # a frozen layer stays frozen
        entry["trainable"] = False
    return entry


def layer_from_entry(entry):
    """The layer a ``_layer_config`` entry describes, made afresh (new weights)."""
    if not isinstance(entry, dict) or entry.get("class") not in LAYERS \
            or not isinstance(entry.get("config"), dict):
        raise ValueError(f"not a saved layer: {entry!r}")
    layer = LAYERS[entry["class"]](**_restore(entry["config"]))
    if entry.get("trainable", True) is False:
        layer.trainable = False
    return layer


def _restore(value):
    if isinstance(value, dict):
        if "__regularizer__" in value:
            return nn.L1L2(**value["__regularizer__"])
        if "__initializer__" in value:
            return nn.initializers.deserialize(value["__initializer__"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def _remove_stale_temporaries(folder, base):
    """Remove the temporary files earlier saves of ``base`` left when killed: each is named
    ``<base>.<pid>.<random>.tmp``, and one whose process is gone belongs to nobody."""
    for name in os.listdir(folder):
        if not (name.startswith(base + ".") and name.endswith(".tmp")):
            continue
        pid = name[len(base) + 1:].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:
            os.remove(os.path.join(folder, name))
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _metric_entry(metric):
    """A metric as the file keeps it: its name, or an epoch metric object's class and
    arguments (so Precision(thresholds=0.7) or TopK(k=2) come back as given)."""
    if isinstance(metric, str):
        return metric
    cls = type(metric).__name__
    if EPOCH_METRIC_CLASSES.get(cls) is not type(metric):
        raise TypeError(f"cannot save metric {metric!r}: only fusednn's metrics can be saved")
    return {"class": cls, "config": _jsonable(metric.get_config(), f"metric {cls}")}


def save_model(model, path: str) -> str:
    if not model.built:
        raise ValueError("save() needs a built model: give input_shape= or train it first")
    arrays, meta = {}, {"format": FORMAT, "version": VERSION, "name": model.name,
                        "input_shape": list(model.sample_input_shape),
                        "layers": [layer_entry(l) for l in model.layers]}
    graph = getattr(model, "graph_config", lambda: None)()
    if graph is not None:  # a functional graph (fusednn.keras): its nodes, see graph_config
        meta["graph"] = graph
    for key, value in model.state_dict().items():
        arrays["weights/" + key] = to_host(value)
    cfg = model._compile_config
    if cfg is not None:
        if model.optimizer is None and not isinstance(cfg["optimizer"], str):
            # compiled with an optimizer object or class but not trained yet: bind it now, so
            # the file names it (its state is still empty)
            model._make_optimizer()
        opt = model.optimizer
        # a fusednn.keras model with several outputs keeps its compile per output
        outputs = getattr(model, "compile_config_of_outputs", lambda: None)()
        meta["compile"] = {
            "loss": _jsonable(model.objective.name if model.objective.fn is None else None, "loss"),
            "from_logits": not model.objective.probabilities,
            "loss_weight": model.objective.loss_weight,
            "loss_options": _jsonable(dict(model.objective.options), "loss options"),
            "metrics": [] if outputs is not None else [_metric_entry(m) for m in model.metrics],
            "weighted_metrics": [_metric_entry(m) for m in model.weighted_metrics],
            "grad_clip": cfg["grad_clip"],
            "optimizer": type(opt).__name__ if opt is not None else _jsonable(
                cfg["optimizer"] if isinstance(cfg["optimizer"], str) else None, "optimizer"),
            "optimizer_kwargs": _jsonable(cfg["optimizer_kwargs"], "optimizer arguments"),
        }
        keras_opt = getattr(opt, "keras_config", None)  # built by a fusednn.keras optimizer
        if keras_opt is not None:
            name, config = keras_opt()
            meta["compile"]["keras_optimizer"] = {
                "class": name, "config": _jsonable(config, "optimizer")}
        if outputs is not None:
            meta["compile"]["outputs"] = _jsonable(outputs, "compile settings")
        elif model.objective.fn is not None:
            raise TypeError("cannot save a model compiled with a custom loss callable")
        if opt is not None:
            state = opt.state_dict()
            groups = [{k: v for k, v in g.items()} for g in state["param_groups"]]
            scalars = {}
            for index, entry in state["state"].items():
                for name, value in entry.items():
                    if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
                        arrays[f"optimizer/{index}/{name}"] = to_host(value)
                    else:
                        scalars.setdefault(str(index), {})[name] = float(to_host(np.asarray(value)))
            meta["optimizer_state"] = {"param_groups": _jsonable(groups, "optimizer groups"),
                                       "scalars": scalars}
        schedule = model.lr_schedule
        if schedule is not None:
            meta["lr_schedule"] = {"class": type(schedule).__name__,
                                   "config": _jsonable(schedule.get_config(), "schedule"),
                                   "state": _jsonable(schedule.state_dict(), "schedule state")}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)

    def write(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("model.json", json.dumps(meta, indent=1))
            z.writestr("arrays.npz", buffer.getvalue())

    return write_atomically(path, write)


def write_atomically(path: str, write) -> str:
    """``write(file)`` into a temporary file beside ``path``, synced, then renamed over it: a
    crash leaves any previous file intact."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(folder, os.path.basename(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{os.path.basename(path)}.{os.getpid()}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def save_weights(model, path: str) -> str:
    """The model's weights and buffers alone, as an npz (written atomically)."""
    if not model.built:
        raise ValueError("save_weights() needs a built model")
    arrays = {key: to_host(value) for key, value in model.state_dict().items()}
    return write_atomically(path, lambda f: np.savez(f, **arrays))


MAX_WEIGHT_BYTES = 1 << 34


def load_weights(model, path: str) -> None:
    """Weights saved by ``save_weights`` (or ``save``, whose file holds them too) into a model
    of the same architecture; everything is checked before anything changes."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if "arrays.npz" in z.namelist():  # a whole-model file
                size = z.getinfo("arrays.npz").file_size
                if size > MAX_WEIGHT_BYTES:
                    raise ValueError(f"{path}: its weights would unpack to {size} bytes, more "
                                     f"than the {MAX_WEIGHT_BYTES} a weights file may hold")
                with z.open("arrays.npz") as f:  # reads at most the declared size
                    data = np.load(io.BytesIO(f.read()), allow_pickle=False)
                    arrays = {k[len("weights/"):]: data[k] for k in data.files
                              if k.startswith("weights/")}
            else:
                data = np.load(path, allow_pickle=False)
                arrays = {k: data[k] for k in data.files}
    else:
        raise ValueError(f"{path}: not a weights file (expected an npz or a model file)")
    model.load_state_dict(arrays)
