"""Keras's ``Sequential`` over fusednn's: Keras's argument order and defaults in ``fit``
(``validation_split`` holds out the last rows, unshuffled), ``evaluate`` returning the loss or
``[loss, *metrics]``, optimizers by name with Keras's defaults, ``get_weights`` /
``set_weights`` in Keras's layouts, and the input shape taken from the first layer or an
``Input``."""
from __future__ import annotations

import inspect
import json

import numpy as np

from ..autograd import Tensor
from ..nn import Module
from ..models import loading as _loading
from ..models.metrics import FunctionMetric, Metric, weighted_names
from ..models.saving import layer_entry, layer_from_entry, register_layer
from ..models.sequential import Sequential as _Sequential
from ..nn.losses import NamedLoss
from ..models.sequential import unique_name
from . import losses as _losses
from . import metrics as _keras_metrics
from . import optimizers as _optimizers
from .layer_base import KerasLayer, leaf_layers, track_container
from .layers import Input, KerasTensor, forget_calls, graph_nodes, run_graph
from .outputs import (OutputLayout, SeveralOutputsLoss, loss_metrics, output_losses,
                      output_metrics, unpacked_predictions)


class Sequential(_Sequential):
    # Keras's History holds the loss and metrics (and "learning_rate" where a rate callback
    # puts it), no "lr"
    logs_learning_rate = False
    # Keras's "accuracy" after BinaryCrossentropy(from_logits=True) thresholds the raw outputs
    # at 0.5, as Keras's binary_accuracy does whatever the outputs are
    accuracy_reads_outputs_as_probabilities = True
    # Keras 3's "accuracy": binary for one output column, sparse categorical for class
    # indices, categorical otherwise (a multi-label sigmoid model's too), whatever the loss
    accuracy_from_shapes = True
    # Keras's evaluate and validation loss include the regularizers' penalties, as training's
    evaluation_adds_penalties = True
    # model(x) predicts (inference) unless called with training=True, as Keras's
    keras_inference_by_default = True

    def __init__(self, layers=None, name: str = None, trainable: bool = True,
                 build_input_shape=None):
        super().__init__(name=name or "sequential")
        self._pending_shape = None
        for layer in layers or []:  # layers, or their saved entries (a model inside a graph)
            self.add(layer_from_entry(layer) if isinstance(layer, dict) else layer)
        if build_input_shape is not None and not self.built:
            self.build(tuple(build_input_shape))
        if not trainable:
            self.trainable = False

    # -- Keras's model attributes -----------------------------------------------------------
    def build(self, input_shape) -> None:
        super().build(input_shape)
        if not self._symbolic_by_layers():
            return
        old = self.__dict__.pop("_sequential_io", None)
        if old is not None:  # built again (a layer added or popped): the chain is made again
            forget_calls(old[2], old[0][0])
        self._symbolic_io()

    def _symbolic_by_layers(self) -> bool:
        """Whether the model's symbolic input and output come from running an Input through
        its layers (a Sequential), not from the graph it was made of or a call()."""
        return "_functional_io" not in self.__dict__ and \
            not getattr(self, "_subclassed", False)

    def _symbolic_io(self):
        """([the Inputs], the output): a functional model's own; a Sequential's, one Input of
        its input shape run through its layers (which then know their ``input`` / ``output``,
        as Keras's do)."""
        io = self.__dict__.get("_functional_io")
        if io is not None:
            return io
        if not self._symbolic_by_layers():
            raise AttributeError(f"{self.name}: a subclassed model has no symbolic input or "
                                 "output")
        if not self.built:
            raise AttributeError(f"{self.name}: not built yet, so it has no defined input or "
                                 "output (start it with keras.Input or give input_shape)")
        io = self.__dict__.get("_sequential_io")
        if io is None:
            x = y = Input(self.sample_input_shape)
            for layer in self.layers:
                y = layer(y)
            io = self.__dict__["_sequential_io"] = ([x], y, list(self.layers))
        return io[0], io[1]

    @property
    def inputs(self) -> list:
        return list(self._symbolic_io()[0])

    @property
    def outputs(self) -> list:
        out = self._symbolic_io()[1]
        return list(out) if isinstance(out, list) else [out]

    @property
    def input(self):
        inputs = self._symbolic_io()[0]
        return inputs[0] if len(inputs) == 1 else list(inputs)

    @property
    def output(self):
        return self._symbolic_io()[1]

    @property
    def input_shape(self):
        """Keras's: the batch axis first, as None — (None, 28, 28, 1) — or None unbuilt."""
        shape = self.sample_input_shape
        return None if shape is None else (None,) + shape

    @property
    def output_shape(self):
        """Keras's: (None, *one sample's output shape), or None unbuilt."""
        shape = self.sample_output_shape
        return None if shape is None else (None,) + shape

    @property
    def trainable(self) -> bool:
        return all(getattr(layer, "trainable", True) for layer in self._tracked_layers())

    @trainable.setter
    def trainable(self, value):
        for layer in self._tracked_layers():
            if hasattr(type(layer), "trainable"):
                layer.trainable = value

    @property
    def weights(self) -> list:
        return self.get_weights()

    @property
    def trainable_weights(self) -> list:
        return [w for layer in self._tracked_layers()
                for w in getattr(layer, "trainable_weights", [])]

    @property
    def non_trainable_weights(self) -> list:
        return [w for layer in self._tracked_layers()
                for w in getattr(layer, "non_trainable_weights", [])]

    # Keras's: every layer's added losses from the last call, then the weight penalties
    # (Tensors; a custom loop adds ``sum(model.losses)`` to its loss) — a layer's own rule
    losses = KerasLayer.losses

    def count_params(self) -> int:
        """Every weight, as Keras counts them (a BatchNormalization's moving statistics
        included; fusednn.Sequential counts the trained parameters only)."""
        if not self.built:
            raise ValueError(f"{self.name}: not built yet, so it has no weights to count")
        return int(sum(np.size(w) for w in self.get_weights()))

    @property
    def metrics_names(self) -> list:
        weighted = weighted_names(self.metrics, getattr(self, "weighted_metrics", []) or [])
        return ["loss"] + [getattr(m, "name", m) for m in self.metrics] + list(weighted.values())

    def get_layer(self, name: str = None, index: int = None):
        """The layer named ``name``, or at ``index``."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: give name or index")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index} is out of range for "
                                 f"{len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r} (layers: "
                         f"{[layer.name for layer in self.layers]})")

    def add(self, layer):
        if isinstance(layer, Input):
            if self.layers:
                raise ValueError("an Input must come first")
            self._pending_shape = layer.keras_input_shape
            return
        shape = getattr(layer, "keras_input_shape", None)
        if shape is not None and not self.layers:
            self._pending_shape = shape
        super().add(layer)
        if self._pending_shape is not None and not self.built:
            self.build((None,) + self._pending_shape)

    # -- the architecture as a config ------------------------------------------------------
    def get_config(self) -> dict:
        """Keras's: the name, each layer's class and config, and the input shape."""
        return {"name": self.name, "trainable": self.trainable,
                "layers": [layer_entry(layer) for layer in self.layers],
                "build_input_shape": self.input_shape}

    @classmethod
    def from_config(cls, config):
        """A new model (fresh weights) of a ``get_config`` architecture."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"not a Sequential config: {config!r}")
        make = Sequential if issubclass(cls, Model) else cls  # a Model's chain is a Sequential
        model = make([layer_from_entry(entry) for entry in config["layers"]],
                     name=config.get("name"))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            model.build(tuple(shape))
        if config.get("trainable") is False:
            model.trainable = False
        return model

    def to_json(self, **kwargs) -> str:
        return json.dumps({"class_name": "Sequential", "config": self.get_config()}, **kwargs)

    # -- compile / fit / evaluate with Keras's signatures ---------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True, lr_schedule=None):
        if loss is None:
            raise ValueError("compile: a loss is required")
        opt = _optimizers.get(optimizer) if isinstance(optimizer, (str, _optimizers.Optimizer)) \
            else optimizer
        objective = NamedLoss(_losses.compile_loss(loss), loss_weight=_one_weight(loss_weights))
        super().compile(optimizer=opt, loss=objective, metrics=_compile_metrics(metrics),
                        lr_schedule=lr_schedule,
                        weighted_metrics=_compile_metrics(weighted_metrics))

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        if x is None:
            raise ValueError("fit: x is required (arrays with y, or a batch stream)")
        if isinstance(validation_data, list):
            validation_data = tuple(validation_data)
        return super().fit(x, y, epochs=epochs, batch_size=batch_size or 32,
                           validation_split=validation_split, validation_data=validation_data,
                           shuffle=shuffle, class_weight=class_weight, sample_weight=sample_weight,
                           callbacks=callbacks, verbose=_verbose(verbose),
                           validation_shuffle=False, validation_stratify=False,
                           initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                           validation_freq=validation_freq,
                           validation_batch_size=validation_batch_size or batch_size or 32)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        if steps is not None:
            raise NotImplementedError("evaluate: steps is not supported")
        return super().evaluate(x, y, batch_size=batch_size or 32,
                                verbose=1 if _verbose(verbose) else 0, return_dict=return_dict,
                                sample_weight=sample_weight, callbacks=callbacks)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        return super().predict(x, batch_size=batch_size or 32, callbacks=callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimizer step on this batch, as Keras's: the metrics start afresh, and the
        loss and metrics are those of the step's (training-mode) forward pass."""
        if sample_weight is not None and class_weight is not None:
            raise ValueError("Arguments `sample_weight` and `class_weight` cannot be specified "
                             "at the same time.")
        n = len(x)
        history = _Sequential.fit(self, x, y, epochs=1, batch_size=max(n, 1), shuffle=False,
                                  class_weight=class_weight, sample_weight=sample_weight,
                                  verbose=0)
        logs = {k: v[-1] for k, v in history.history.items()}
        return logs if return_dict else _in_order(logs, self.metrics_names)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss and metrics of this batch in inference mode (Keras's)."""
        return self.evaluate(x, y, batch_size=max(len(x), 1), verbose=0,
                             sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(x), 1), verbose=0)

    # -- weights in Keras's layouts ----------------------------------------------------------
    def _tracked_layers(self) -> list:
        """The layers whose weights the model lists, in Keras's order."""
        return self.layers

    def get_weights(self) -> list:
        return [w for layer in self._tracked_layers() if hasattr(layer, "get_weights")
                for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        """Every layer's arrays in get_weights' order; their count and shapes checked before
        any layer is written."""
        weights = list(weights)
        layers = self._tracked_layers()
        current = [layer.get_weights() if hasattr(layer, "get_weights") else []
                   for layer in layers]
        counts = [len(arrays) for arrays in current]
        if sum(counts) != len(weights):
            raise ValueError(f"set_weights: the model has {sum(counts)} weight arrays, got "
                             f"{len(weights)}")
        for i, (have, given) in enumerate(zip((a for arrays in current for a in arrays),
                                              weights)):
            if tuple(np.shape(given)) != tuple(have.shape):
                raise ValueError(f"set_weights: array {i} has shape {tuple(np.shape(given))}, "
                                 f"the model's is {tuple(have.shape)}")
        k = 0
        for layer, n in zip(layers, counts):
            if n and not hasattr(layer, "set_weights"):
                raise TypeError(f"set_weights: layer {layer.name} ({type(layer).__name__}) has "
                                f"weights but cannot take them")
            if n:
                layer.set_weights(weights[k:k + n])
            k += n


# What Sequential keeps on the model itself: never the user's layers.
_SEQUENTIAL_STATE = frozenset({"layers", "metrics", "history", "sample_input_shape",
                               "sample_output_shape"})


def _one_weight(loss_weights) -> float:
    """A one-output model's ``loss_weights``: a number, or a list or dict of one (Keras)."""
    if loss_weights is None:
        return 1.0
    if isinstance(loss_weights, (list, tuple, dict)):
        values = list(loss_weights.values() if isinstance(loss_weights, dict) else
                      loss_weights)
        if len(values) != 1:
            raise ValueError(f"loss_weights: the model has one output, got {loss_weights!r}")
        loss_weights = values[0]
    return loss_weights


def _compile_metric(m):
    """A metric as Keras takes it: a function ``fn(y_true, y_pred)`` becomes the mean of its
    per-sample values (Keras's MeanMetricWrapper), on Tensors unless it is one of
    fusednn.keras's own (which compute on arrays)."""
    if isinstance(m, (str, Metric)) or not callable(m):
        return m
    return FunctionMetric(m, on_tensors=not getattr(m, "__module__", "").startswith(
        "fusednn."))


def _compile_metrics(metrics):
    if isinstance(metrics, (list, tuple)):
        return [_compile_metric(m) for m in metrics]
    return None if metrics is None else _compile_metric(metrics)


def _in_order(logs, names):
    """Keras's flat result: the loss alone, or [loss, *metrics] in compile's order."""
    values = [logs[k] for k in names if k in logs]
    return values[0] if len(values) == 1 else values


def _verbose(verbose):
    """Keras's "auto" is a progress bar (1)."""
    return 1 if verbose == "auto" else int(verbose)


def model_from_json(json_string: str):
    """A new model (fresh weights) from ``to_json``'s text."""
    data = json.loads(json_string)
    if not isinstance(data, dict) or data.get("class_name") not in ("Sequential", "Model",
                                                                     "Functional"):
        raise ValueError("model_from_json: not a Sequential or functional model's JSON")
    if data["class_name"] == "Functional":
        return Model.from_config(data.get("config"))
    return Sequential.from_config(data.get("config"))


class _PackedInputs(np.ndarray):
    """Several inputs packed by Model._pack (passed on as they are by the calls it makes)."""


class _PackedTargets(np.ndarray):
    """Several outputs' targets packed by Model._pack_targets (passed on as they are)."""


def _by_input_name(x, inputs):
    """A dict of values by Input name as the list in ``inputs``' order; anything else as is."""
    if not isinstance(x, dict):
        return x
    missing = [i.name for i in inputs if i.name not in x]
    if missing:
        raise ValueError(f"no value for the Input named {missing[0]!r} (given: {sorted(x)})")
    return [x[i.name] for i in inputs]


def graph_model(layers, input_shape, graph, name=None):
    """The functional model ``Model.graph_config`` describes, over ``layers``; every entry is
    checked (a file may be corrupt) before any layer is called. ``input_shape``: unused (the
    graph holds its Inputs' shapes)."""
    if not isinstance(graph, dict) or not isinstance(graph.get("inputs"), list) or \
            not graph["inputs"] or not isinstance(graph.get("nodes"), list):
        raise ValueError(f"a functional graph must hold its inputs and nodes, got {graph!r}")
    specs = graph["inputs"]
    for k, spec in enumerate(specs):
        if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], list)
                and all(isinstance(d, int) and d > 0 for d in spec[0])
                and (spec[1] is None or isinstance(spec[1], str))):
            raise ValueError(f"graph input {k} is not [shape, name]: {spec!r}")
    nodes_config, used, fed = graph["nodes"], set(), set()
    for k, node in enumerate(nodes_config):
        if not (isinstance(node, list) and len(node) in (3, 4) and isinstance(node[0], int)
                and isinstance(node[1], list) and isinstance(node[2], bool)
                and all(isinstance(s, int) and 0 <= s < k for s in node[1])
                and (len(node) == 3 or isinstance(node[3], dict) and all(
                    isinstance(v, (bool, int, float, str)) for v in node[3].values()))):
            raise ValueError(f"graph node {k} is not [layer, [earlier nodes], merged(, call "
                             f"arguments)]: {node!r}")
        layer, sources, merged = node[:3]
        if layer < 0:  # Input -1 - layer
            if -1 - layer >= len(specs) or sources or merged or -1 - layer in fed:
                raise ValueError(f"graph node {k}: input {-1 - layer} (the graph has "
                                 f"{len(specs)}, each a node of its own)")
            fed.add(-1 - layer)
            continue
        if layer >= len(layers):
            raise ValueError(f"graph node {k}: layer {layer} of {len(layers)}")
        if len(sources) < 1 or (not merged and len(sources) != 1):
            raise ValueError(f"graph node {k}: takes {len(sources)} nodes")
        used.add(layer)
    if used != set(range(len(layers))) or fed != set(range(len(specs))):
        raise ValueError("the graph does not use every saved layer and input")
    if not nodes_config or nodes_config[-1][0] < 0:
        raise ValueError("the graph ends at an Input")
    outputs, output_names = graph.get("outputs"), graph.get("output_names")
    if outputs is not None:
        if not (isinstance(outputs, list) and len(outputs) > 1 and len(set(outputs)) ==
                len(outputs) and all(isinstance(o, int) and 0 <= o < len(nodes_config)
                                     and nodes_config[o][0] >= 0 for o in outputs)):
            raise ValueError(f"graph outputs must be distinct layer nodes, got {outputs!r}")
        if output_names is not None and not (
                isinstance(output_names, list) and len(output_names) == len(outputs)
                and all(isinstance(n, str) for n in output_names)):
            raise ValueError(f"graph output names must be one string per output, got "
                             f"{output_names!r}")
    inputs = [Input(tuple(shape), name=input_name) for shape, input_name in specs]
    nodes = []
    for node in nodes_config:
        layer, sources, merged = node[:3]
        if layer < 0:
            nodes.append(inputs[-1 - layer])
            continue
        taken = [nodes[s] for s in sources]
        arguments = node[3] if len(node) == 4 else {}
        nodes.append(layers[layer](taken, **arguments) if merged else
                     layers[layer](taken[0], **arguments))
    if outputs is None:
        out = nodes[-1]
    elif output_names is not None:
        out = {n: nodes[o] for n, o in zip(output_names, outputs)}
    else:
        out = [nodes[o] for o in outputs]
    return Model(inputs if len(inputs) > 1 else inputs[0], out, name=name)


def clone_model(model):
    """A new model of the same architecture with freshly drawn weights (Keras's clone_model;
    copy the weights with ``set_weights(model.get_weights())``)."""
    return type(model).from_config(model.get_config())


def load_model(path: str, **kwargs):
    """A model saved with ``model.save`` (fusednn's format), as a Keras-shaped Sequential (a
    functional graph as the Model it was)."""
    model = _loading.load_model(path, make_graph=graph_model, **kwargs)
    if not isinstance(model, Model):
        model.__class__, model._pending_shape = Sequential, None
    return model


class Model(Sequential):
    """Keras's ``Model``: ``Model(inputs, outputs)`` over a functional chain (an ``Input``,
    then layers each called on the last one's output) becomes that chain's Sequential model;
    ``Model()`` with layers added is a Sequential. A subclass that defines ``call(inputs,
    training=None)`` over layers it keeps as attributes (or in lists, tuples and dicts, as
    Keras tracks them) is Keras's subclassed model: compile, fit, evaluate, predict,
    ``layers``, ``get_weights`` / ``set_weights`` (its layers in the order they were
    assigned, each once) and ``save_weights`` work; ``save`` refuses it (its code is not
    data).
    A functional graph (branches joined by merge layers, layers called more than once,
    several inputs, several outputs) runs its nodes in order and saves them
    (``graph_config``); several outputs train as Keras 3's do (see keras.outputs)."""

    def __init__(self, inputs=None, outputs=None, name: str = None, **kwargs):
        unknown = set(kwargs) - ({"trainable", "dtype"} if self._subclassed else set())
        if unknown:
            raise TypeError(f"Model: unexpected argument(s) {sorted(unknown)}")
        if kwargs.get("dtype") not in (None, "float32"):
            raise NotImplementedError(f"Model: dtype={kwargs['dtype']!r} (layers compute in "
                                      "float32)")
        if inputs is None and outputs is None:
            super().__init__(name=name or ("model" if not self._subclassed else
                                           type(self).default_name()),
                             trainable=kwargs.get("trainable", True))
            return
        if isinstance(inputs, dict):
            inputs = list(inputs.values())
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        named = isinstance(outputs, dict)
        if isinstance(outputs, (list, tuple, dict)):
            # a dict's outputs in Keras's flattened order (by key): what lists of losses,
            # weights, metrics or targets for them are matched against
            names = sorted(outputs) if named else None
            listed = [outputs[n] for n in names] if named else list(outputs)
            outputs = listed[0] if len(listed) == 1 else listed
        several = isinstance(outputs, list)
        if not inputs or any(not isinstance(i, Input) for i in inputs) or \
                any(not isinstance(o, KerasTensor) or o.layer is None
                    for o in (outputs if several else [outputs])):
            raise TypeError("Model(inputs, outputs): inputs must be keras.Input objects and "
                            "outputs the result of layers called on them")
        if several and len({id(o) for o in outputs}) != len(outputs):
            raise ValueError("Model: the same tensor is given as two outputs")
        if named and any(not isinstance(n, str) for n in names):
            raise TypeError(f"Model: output names must be strings, got {names}")
        self.__dict__["_functional_io"] = (inputs, outputs)  # model.inputs / outputs
        nodes = graph_nodes(outputs)
        reached = [node for node in nodes if node.layer is None]
        if any(all(r is not i for i in inputs) for r in reached):
            raise ValueError("Model: outputs do not come from these inputs")
        unused = [i for i in inputs if all(r is not i for r in reached)]
        if unused:
            raise ValueError(f"Model: the outputs do not depend on input(s) "
                             f"{[i.name or f'#{inputs.index(i)}' for i in unused]}")
        calls = [node for node in nodes if node.layer is not None]
        layers = list({id(node.layer): node.layer for node in calls}.values())  # each once
        if len(inputs) == 1 and not any(node.merged for node in calls) and \
                len(layers) == len(calls) and not several:
            super().__init__(inputs + layers, name=name or "model")  # a chain
            return
        # a graph: branches joined by merge layers, a layer called more than once (its
        # weights shared), several inputs; the model runs its nodes in order
        super().__init__(name=name or "model")
        self.__dict__["_graph"] = nodes
        self.__dict__["_graph_inputs"] = inputs
        self.layers = []
        for layer in layers:  # unique names, as Sequential.add makes them
            layer.name = unique_name(layer.name, {other.name for other in self.layers})
            self._modules[str(len(self.layers))] = layer
            self.layers.append(layer)
        if several:  # named by the dict's keys, or Keras's way: by their layers' names
            if names is None:
                names = []
                for o in outputs:
                    names.append(unique_name(o.layer.name, set(names)))
            self.__dict__["_layout"] = OutputLayout(names, [o.shape[1:] for o in outputs],
                                                    named)
        # several inputs travel through fit, evaluate and predict packed side by side in one
        # float32 array, each sample's inputs flattened (see _pack); forward unpacks them
        self.build((None,) + (tuple(inputs[0].keras_input_shape) if len(inputs) == 1 else
                              (sum(int(np.prod(i.keras_input_shape)) for i in inputs),)))

    # -- several inputs ---------------------------------------------------------------------
    @property
    def _several_inputs(self) -> bool:
        return len(self.__dict__.get("_graph_inputs", ())) > 1

    def _feed(self, x):
        """The graph's Input values for ``x``: one Tensor (one input), a list, tuple or dict
        (by Input name) of them, or the packed array fit, evaluate and predict pass."""
        inputs = self.__dict__["_graph_inputs"]
        if len(inputs) == 1:
            return x
        x = _by_input_name(x, inputs)
        if isinstance(x, (list, tuple)):
            if len(x) != len(inputs):
                raise ValueError(f"{self.name}: takes {len(inputs)} inputs, got {len(x)}")
            x = [t if isinstance(t, Tensor) else Tensor(np.asarray(t, np.float32)) for t in x]
            return {id(i): t for i, t in zip(inputs, x)}
        feed, start = {}, 0
        for i in inputs:
            size = int(np.prod(i.keras_input_shape))
            feed[id(i)] = x[:, start:start + size].reshape(
                (x.shape[0],) + tuple(i.keras_input_shape))
            start += size
        return feed

    def _pack(self, x, where):
        """Several inputs (a list, tuple or dict by Input name of arrays) as one float32 array
        of each sample's inputs flattened side by side; anything else as given."""
        if self._layout is not None and x is not None and not isinstance(
                x, (np.ndarray, list, tuple, dict, _PackedInputs)) and \
                not hasattr(x, "__array__"):
            raise NotImplementedError(f"{where}: a model with several outputs trains on "
                                      "arrays (x, and y per output), not on a batch stream")
        if not self._several_inputs or x is None or isinstance(x, _PackedInputs):
            return x
        inputs = self.__dict__["_graph_inputs"]
        x = _by_input_name(x, inputs)
        if not isinstance(x, (list, tuple)) or len(x) != len(inputs):
            raise ValueError(f"{where}: {self.name} takes {len(inputs)} inputs: pass a list of "
                             f"{len(inputs)} arrays (or a dict by Input name)")
        arrays = [np.asarray(a) for a in x]
        for k, (a, i) in enumerate(zip(arrays, inputs)):
            if a.shape[1:] != tuple(i.keras_input_shape):
                raise ValueError(f"{where}: input {k} ({i.name or 'unnamed'}) has samples of "
                                 f"shape {a.shape[1:]}, the Input {i.keras_input_shape}")
            if a.dtype.kind in "iu" and a.size and np.abs(a).max() >= 1 << 24:
                raise ValueError(f"{where}: input {k} holds integers of 2^24 or more, which "
                                 "float32 (the inputs' common type here) cannot hold exactly")
        if len({len(a) for a in arrays}) != 1:
            raise ValueError(f"{where}: the inputs have {[len(a) for a in arrays]} samples; "
                             "they must have the same number")
        return np.concatenate([a.reshape(len(a), -1).astype(np.float32, copy=False)
                               for a in arrays], axis=1).view(_PackedInputs)

    def _pack_validation(self, data):
        if data is None or not (self._several_inputs or self._layout is not None):
            return data
        data = tuple(data)
        where = "fit: validation_data"
        return (self._pack(data[0], where), self._pack_targets(data[1], where)) + data[2:]

    # -- a subclassed model: its own call over the layers it keeps --------------------------
    @property
    def _subclassed(self) -> bool:
        return type(self).call is not Model.call

    @property
    def _graph(self):
        """A functional model's nodes when they are not a chain (see __init__), else None."""
        return self.__dict__.get("_graph")

    @property
    def _layout(self):
        """The outputs' layout of a model with several outputs (see keras.outputs), else
        None."""
        return self.__dict__.get("_layout")

    def _run_graph(self, x):
        """The graph's output, or its several outputs as a list."""
        layout = self._layout
        if layout is None:
            return run_graph(self._graph, self._feed(x))
        return run_graph(self._graph, self._feed(x), self.__dict__["_functional_io"][1])

    def call(self, inputs, training=None):
        """The layers in order, or a functional model's graph (a subclass defines its own)."""
        if self._graph is not None:
            out = self._run_graph(inputs)
            return out if self._layout is None else self._layout.as_user(out)
        return Sequential.forward(self, inputs)

    def forward(self, x):
        """The output; several outputs packed side by side (see keras.outputs), as the
        training loops carry them."""
        if self._graph is not None:
            out = self._run_graph(x)
            return out if self._layout is None else self._layout.pack(out)
        if not self._subclassed:
            return super().forward(x)
        takes = type(self).__dict__.get("_call_takes_training")
        if takes is None:
            takes = "training" in inspect.signature(self.call).parameters
            setattr(type(self), "_call_takes_training", takes)
        return self.call(x, training=self.training) if takes else self.call(x)

    def forward_masked(self, x, logits: bool = False):
        if not (self._subclassed or self._graph):
            return super().forward_masked(x, logits)
        return self.forward(x), None

    def final_activation(self):
        return None if self._subclassed or self._graph else super().final_activation()

    def layer_output_shapes(self, x):
        """Each layer's output shape (``summary``), or None for a chain (which the summary
        runs ``x`` through itself): a graph's, its first call's symbolic shape; "?" for a
        subclassed model's (its call decides)."""
        if self._subclassed:
            return ["?"] * len(self.layers)
        if self._graph is None:
            return None
        shapes = {}
        for node in self._graph:
            if node.layer is not None:
                shapes.setdefault(id(node.layer), str(node.shape))
        return [shapes[id(layer)] for layer in self.layers]

    def __init_subclass__(cls, **kwargs):
        """A subclass's own ``build(input_shape)`` (Keras's: make the layers there) runs, then
        the model's: one zero sample through ``call`` builds the layers' weights and records
        the shapes fit and predict check."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("build")
        if own is None or getattr(own, "_then_builds_the_model", False):
            return

        def build(self, input_shape):
            own(self, input_shape)
            _Sequential.build(self, input_shape)

        build.__doc__, build.__name__ = own.__doc__, "build"
        build._then_builds_the_model = True
        cls.build = build

    def _refuse_custom_steps(self, *steps):
        """Keras's fit calls a subclass's ``train_step`` (evaluate ``test_step``, predict
        ``predict_step``, both fit and evaluate ``compute_loss``); fusednn runs its own fused
        step, so one the user wrote would be ignored: say so instead."""
        for step in steps:
            if getattr(type(self), step, None) is not None:
                raise NotImplementedError(
                    f"{type(self).__name__} defines {step}(), which fusednn does not run: its "
                    "fit, evaluate and predict use their own fused steps and would silently "
                    "ignore it. Keep the model's computation in call() (losses in compile or "
                    "add_loss) or write the loop yourself with fusednn's autograd and "
                    "optimizers")

    def _packed(self, where, args, kwargs):
        """``args`` / ``kwargs`` of fit, evaluate, predict... with x (and fit's validation x)
        packed when the model takes several inputs (see _pack), and y (and the validation y)
        when it gives several outputs (see keras.outputs)."""
        layout = self._layout
        if not self._several_inputs and layout is None:
            return args, kwargs
        args, kwargs = list(args), dict(kwargs)
        for k, key, pack in ((0, "x", self._pack), (1, "y", self._pack_targets)):
            if k == 1 and where.startswith("predict"):
                break
            if len(args) > k:
                args[k] = pack(args[k], where)
            elif key in kwargs:
                kwargs[key] = pack(kwargs[key], where)
        if "validation_data" in kwargs:
            kwargs["validation_data"] = self._pack_validation(kwargs["validation_data"])
        if layout is not None:
            if kwargs.get("class_weight") is not None:
                raise ValueError(f"{where}: class_weight is not supported for a model with "
                                 "several outputs (as in Keras); use sample_weight")
            if isinstance(kwargs.get("sample_weight"), (list, tuple, dict)):
                raise NotImplementedError(f"{where}: sample weights per output are not "
                                          "supported; one array of per-sample weights weighs "
                                          "every output's loss")
            if not where.startswith("predict") and len(args) < 2 and kwargs.get("y") is None:
                raise ValueError(f"{where}: y is required: the targets of each output "
                                 f"{layout.names}")
        return args, kwargs

    def _pack_targets(self, y, where):
        """Several outputs' targets as one array (see keras.outputs); anything else as given."""
        layout = self._layout
        if layout is None or y is None or isinstance(y, _PackedTargets):
            return y
        if self.objective is None:
            raise RuntimeError(f"{where}: call compile() first")
        return layout.pack_targets(y, where).view(_PackedTargets)

    def fit(self, *args, **kwargs):
        self._refuse_custom_steps("train_step", "compute_loss")
        args, kwargs = self._packed("fit", args, kwargs)
        return super().fit(*args, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        self._refuse_custom_steps("train_step", "compute_loss")
        args, kwargs = self._packed("train_on_batch", args, kwargs)
        return super().train_on_batch(*args, **kwargs)

    def test_on_batch(self, *args, **kwargs):
        args, kwargs = self._packed("test_on_batch", args, kwargs)  # its len is the batch's
        return super().test_on_batch(*args, **kwargs)

    def __call__(self, x, training=None):
        out = self.batch_output(x, training)
        layout = self._layout
        if layout is None or not isinstance(out, Tensor):
            return out
        return layout.as_user(layout.split(out))

    def batch_output(self, x, training=None):
        """The model on ``x``; several outputs packed side by side (see keras.outputs)."""
        if self._layout is not None and (isinstance(x, KerasTensor) or (
                isinstance(x, (list, tuple)) and x and isinstance(x[0], KerasTensor))):
            raise NotImplementedError(f"{self.name}: a model with several outputs cannot be "
                                      "called on Keras tensors (used as a layer)")
        if self._several_inputs and isinstance(x, (list, tuple, dict)):
            values = list(x.values()) if isinstance(x, dict) else list(x)
            if any(isinstance(v, Tensor) for v in values):  # kept as they are, with their graph
                return Module.__call__(self, x, training=training)
            x = Tensor(self._pack(x, self.name))
        return super().__call__(x, training=training)

    def predict(self, *args, **kwargs):
        self._refuse_custom_steps("predict_step")
        args, kwargs = self._packed("predict", args, kwargs)
        out = super().predict(*args, **kwargs)
        return out if self._layout is None else unpacked_predictions(self._layout, out)

    def predict_on_batch(self, *args, **kwargs):
        args, kwargs = self._packed("predict_on_batch", args, kwargs)
        return super().predict_on_batch(*args, **kwargs)  # through predict, which unpacks

    def evaluate(self, *args, **kwargs):
        self._refuse_custom_steps("test_step", "compute_loss")
        args, kwargs = self._packed("evaluate", args, kwargs)
        if self._layout is None or kwargs.get("return_dict"):
            return super().evaluate(*args, **kwargs)
        logs = super().evaluate(*args, **dict(kwargs, return_dict=True))
        return _in_order(logs, self.metrics_names)

    @property
    def metrics_names(self) -> list:
        """Keras 3's order of evaluate's list: the loss, each output's loss, then the other
        metrics by name."""
        if self._layout is None:
            return super().metrics_names
        names = [m.name for m in self.metrics]
        losses = [n for n in names if n in self.__dict__.get("_loss_metric_names", ())]
        return ["loss"] + losses + sorted(n for n in names if n not in losses)

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True, lr_schedule=None):
        layout = self._layout
        if layout is None:
            return super().compile(optimizer, loss, loss_weights, metrics, weighted_metrics,
                                   run_eagerly, steps_per_execution, jit_compile,
                                   auto_scale_loss, lr_schedule)
        if loss is None:
            raise ValueError("compile: a loss is required")
        if weighted_metrics is not None:
            raise NotImplementedError("compile: weighted_metrics of a model with several "
                                      "outputs are not supported")
        opt = _optimizers.get(optimizer) if isinstance(optimizer, (str, _optimizers.Optimizer)) \
            else optimizer
        self._compile_outputs(opt, loss, loss_weights, metrics, lr_schedule)

    def _compile_outputs(self, optimizer, loss, loss_weights, metrics, lr_schedule,
                         grad_clip=None, optimizer_kwargs=None):
        """compile of a model with several outputs (see keras.outputs), on fusednn's compile
        (``grad_clip`` and ``optimizer_kwargs`` as a saved model restores them)."""
        layout = self._layout
        losses, weights = output_losses(layout, loss, loss_weights, _losses.compile_loss)
        made_metrics = output_metrics(layout, metrics, _compile_metric)
        layout.set_losses(losses, [any(m.index == i for m in made_metrics)
                                   for i in range(len(layout))])
        objective = SeveralOutputsLoss(layout, losses, weights)
        logged_losses = loss_metrics(objective, layout)
        self.__dict__["_loss_metric_names"] = [m.name for m in logged_losses]
        # Keras 3's logs: the loss, the outputs' metrics, then each output's loss
        _Sequential.compile(self, optimizer=optimizer, loss=objective,
                            metrics=made_metrics + logged_losses, grad_clip=grad_clip,
                            lr_schedule=lr_schedule, **(optimizer_kwargs or {}))
        self.__dict__["_several_compile"] = {"loss": loss, "loss_weights": loss_weights,
                                             "metrics": metrics}

    def compile_config_of_outputs(self):
        """A several-output model's compile as a file keeps it (each output's loss, weight
        and metrics, by name or serialized object), or None for other models."""
        layout, cfg = self._layout, self.__dict__.get("_several_compile")
        if layout is None or cfg is None:
            return None

        def entry(value, family, what):
            if value is None or isinstance(value, str):
                return value
            try:
                return family.serialize(value)
            except TypeError:
                raise TypeError(f"cannot save the {what} {value!r}: only names and "
                                f"fusednn.keras's {what} objects can be saved") from None

        metrics = None
        if cfg["metrics"] is not None:
            metrics = [None if each is None else
                       [entry(m, _keras_metrics, "metric") for m in
                        (each if isinstance(each, (list, tuple)) else [each]) if m is not None]
                       for each in layout.by_output(cfg["metrics"], "metrics", spread=False)]
        weights = cfg["loss_weights"]
        return {"losses": [entry(v, _losses, "loss") for v in
                           layout.by_output(cfg["loss"], "loss", spread=True)],
                "loss_weights": None if weights is None else
                [None if w is None else float(w) for w in
                 layout.by_output(weights, "loss_weights", spread=False)],
                "metrics": metrics}

    def compile_saved_outputs(self, saved, optimizer, grad_clip, lr_schedule,
                              optimizer_kwargs):
        """compile again from ``compile_config_of_outputs`` (a loaded model)."""
        def entry(value, family):
            return family.deserialize(value) if isinstance(value, dict) else value

        if not isinstance(saved, dict) or not isinstance(saved.get("losses"), list):
            raise ValueError(f"not a saved compile of several outputs: {saved!r}")
        metrics = saved.get("metrics")
        if metrics is not None:
            metrics = [None if each is None else [entry(m, _keras_metrics) for m in each]
                       for each in metrics]
        self._compile_outputs(optimizer, [entry(v, _losses) for v in saved["losses"]],
                              saved.get("loss_weights"), metrics, lr_schedule, grad_clip,
                              optimizer_kwargs)

    @property
    def output_shape(self):
        """Keras's: (None, ...) — a list of them for a model with several outputs."""
        layout = self._layout
        if layout is not None:
            return [(None,) + shape for shape in layout.shapes]
        return super().output_shape

    @property
    def input_shape(self):
        """Keras's: (None, ...) — a list of them for a model with several inputs."""
        if self._several_inputs:
            return [(None,) + tuple(i.keras_input_shape)
                    for i in self.__dict__["_graph_inputs"]]
        return super().input_shape

    def __setattr__(self, key, value):
        super().__setattr__(key, value)
        if self._subclassed and key not in _SEQUENTIAL_STATE and "_modules" in self.__dict__:
            track_container(self, key, value)  # layers kept in a list train too (Keras's rule)

    @property
    def layers(self) -> list:
        """The layers: a subclassed model's in the order they were assigned (those kept in
        lists, tuples and dicts included, each once); else the chain."""
        if self._subclassed:
            return leaf_layers(self._modules.values())
        return self.__dict__.get("_chain", [])

    @layers.setter
    def layers(self, chain):
        self.__dict__["_chain"] = chain

    def add(self, layer):
        if self._subclassed or self._graph:
            raise TypeError(f"{type(self).__name__}: a subclassed or functional model's "
                            "layers are fixed by its call or graph; add() is for Sequential "
                            "models")
        super().add(layer)

    def pop(self):
        if self._subclassed or self._graph:
            raise TypeError(f"{type(self).__name__}: a subclassed or functional graph model "
                            "has no pop()")
        return super().pop()

    def _tracked_layers(self) -> list:
        return self.layers

    def save(self, path: str) -> str:
        if self._subclassed:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed model's structure "
                                      "is its call() code and cannot be saved; use "
                                      "save_weights / load_weights")
        return super().save(path)

    def graph_config(self):
        """A functional graph as a file keeps it: its Inputs ([sample shape, name]) and its
        nodes in run order ([the index of the node's layer in ``layers`` — -1 - k for Input
        k —, the positions of the nodes it takes, whether it takes them as a list (a
        merge), and the call's keyword arguments when it had some]); None for a chain."""
        if self._graph is None:
            return None
        inputs = self.__dict__["_graph_inputs"]
        index = {id(layer): i for i, layer in enumerate(self.layers)}
        index.update({id(i): -1 - k for k, i in enumerate(inputs)})
        position = {id(node): k for k, node in enumerate(self._graph)}
        config = {"inputs": [[list(i.keras_input_shape), i.name] for i in inputs],
                  "nodes": [[index[id(node if node.layer is None else node.layer)],
                             [position[id(s)] for s in node.sources], node.merged]
                            + ([dict(node.arguments)] if getattr(node, "arguments", None)
                               else [])
                            for node in self._graph]}
        layout = self._layout
        if layout is not None:  # several outputs: their nodes, and their names if a dict's
            config["outputs"] = [position[id(o)] for o in self.__dict__["_functional_io"][1]]
            config["output_names"] = layout.names if layout.as_dict else None
        return config

    def get_config(self) -> dict:
        if self._subclassed:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed model has no "
                                      "config; define get_config for your own arguments")
        config = super().get_config()
        if self._graph is not None:
            config["graph"] = self.graph_config()
        return config

    @classmethod
    def from_config(cls, config):
        if isinstance(config, dict) and config.get("graph") is not None:
            layers = [layer_from_entry(entry) for entry in config.get("layers", ())]
            model = graph_model(layers, None, config["graph"], config.get("name"))
            if config.get("trainable") is False:
                model.trainable = False
            return model
        return super().from_config(config)

    def to_json(self, **kwargs) -> str:
        if self._graph is None:
            return super().to_json(**kwargs)
        return json.dumps({"class_name": "Functional", "config": self.get_config()}, **kwargs)


# a Keras Sequential inside a functional graph (a base model) is saved as one of its layers
register_layer(Sequential, "keras.Sequential")
