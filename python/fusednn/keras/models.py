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
from ..models.metrics import FunctionMetric, Metric
from ..models.saving import layer_entry, layer_from_entry
from ..models.sequential import Sequential as _Sequential
from ..models.sequential import unique_name
from . import losses as _losses
from . import optimizers as _optimizers
from .layer_base import KerasLayer, leaf_layers, track_container
from .layers import Input, KerasTensor, forget_calls, graph_nodes, run_graph


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

    def __init__(self, layers=None, name: str = None, trainable: bool = True):
        super().__init__(name=name or "sequential")
        self._pending_shape = None
        for layer in layers or []:
            self.add(layer)
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
        return [self._symbolic_io()[1]]

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
        return ["loss"] + [getattr(m, "name", m) for m in self.metrics]

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
        if loss_weights is not None or weighted_metrics is not None:
            raise NotImplementedError("compile: loss_weights and weighted_metrics are not "
                                      "supported (one output)")
        opt = _optimizers.get(optimizer) if isinstance(optimizer, (str, _optimizers.Optimizer)) \
            else optimizer
        super().compile(optimizer=opt, loss=_losses.compile_loss(loss),
                        metrics=_compile_metrics(metrics), lr_schedule=lr_schedule)

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


def _compile_metrics(metrics):
    """Metrics as Keras takes them: a function ``fn(y_true, y_pred)`` becomes the mean of its
    per-sample values (Keras's MeanMetricWrapper), on Tensors unless it is one of
    fusednn.keras's own (which compute on arrays)."""
    def wrap(m):
        if isinstance(m, (str, Metric)) or not callable(m):
            return m
        return FunctionMetric(m, on_tensors=not getattr(m, "__module__", "").startswith(
            "fusednn."))

    if isinstance(metrics, (list, tuple)):
        return [wrap(m) for m in metrics]
    return None if metrics is None else wrap(metrics)


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
        if not (isinstance(node, list) and len(node) == 3 and isinstance(node[0], int)
                and isinstance(node[1], list) and isinstance(node[2], bool)
                and all(isinstance(s, int) and 0 <= s < k for s in node[1])):
            raise ValueError(f"graph node {k} is not [layer, [earlier nodes], merged]: {node!r}")
        layer, sources, merged = node
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
    inputs = [Input(tuple(shape), name=input_name) for shape, input_name in specs]
    nodes = []
    for layer, sources, merged in nodes_config:
        if layer < 0:
            nodes.append(inputs[-1 - layer])
            continue
        taken = [nodes[s] for s in sources]
        nodes.append(layers[layer](taken) if merged else layers[layer](taken[0]))
    return Model(inputs if len(inputs) > 1 else inputs[0], nodes[-1], name=name)


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
    several inputs) runs its nodes in order and saves them (``graph_config``). Several
    outputs are not supported and say so."""

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
        if isinstance(outputs, (list, tuple, dict)):
            if len(outputs) != 1:
                raise NotImplementedError(f"Model: one output is supported, got "
                                          f"{len(outputs)} outputs")
            outputs = list(outputs.values() if isinstance(outputs, dict) else outputs)[0]
        if not inputs or any(not isinstance(i, Input) for i in inputs) or \
                not isinstance(outputs, KerasTensor):
            raise TypeError("Model(inputs, outputs): inputs must be keras.Input objects and "
                            "outputs the result of layers called on them")
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
                len(layers) == len(calls):
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
        if data is None or not self._several_inputs:
            return data
        data = tuple(data)
        return (self._pack(data[0], "fit: validation_data"),) + data[1:]

    # -- a subclassed model: its own call over the layers it keeps --------------------------
    @property
    def _subclassed(self) -> bool:
        return type(self).call is not Model.call

    @property
    def _graph(self):
        """A functional model's nodes when they are not a chain (see __init__), else None."""
        return self.__dict__.get("_graph")

    def call(self, inputs, training=None):
        """The layers in order, or a functional model's graph (a subclass defines its own)."""
        if self._graph is not None:
            return run_graph(self._graph, self._feed(inputs))
        return Sequential.forward(self, inputs)

    def forward(self, x):
        if self._graph is not None:
            return run_graph(self._graph, self._feed(x))
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
        packed when the model takes several inputs (see _pack)."""
        if not self._several_inputs:
            return args, kwargs
        args, kwargs = list(args), dict(kwargs)
        if args:
            args[0] = self._pack(args[0], where)
        elif "x" in kwargs:
            kwargs["x"] = self._pack(kwargs["x"], where)
        if "validation_data" in kwargs:
            kwargs["validation_data"] = self._pack_validation(kwargs["validation_data"])
        return args, kwargs

    def fit(self, *args, **kwargs):
        self._refuse_custom_steps("train_step", "compute_loss")
        args, kwargs = self._packed("fit", args, kwargs)
        return super().fit(*args, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        self._refuse_custom_steps("train_step", "compute_loss")
        args, kwargs = self._packed("train_on_batch", args, kwargs)
        return super().train_on_batch(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        self._refuse_custom_steps("test_step", "compute_loss")
        args, kwargs = self._packed("evaluate", args, kwargs)
        return super().evaluate(*args, **kwargs)

    def predict(self, *args, **kwargs):
        self._refuse_custom_steps("predict_step")
        args, kwargs = self._packed("predict", args, kwargs)
        return super().predict(*args, **kwargs)

    def test_on_batch(self, *args, **kwargs):
        args, kwargs = self._packed("test_on_batch", args, kwargs)  # its len is the batch's
        return super().test_on_batch(*args, **kwargs)

    def predict_on_batch(self, *args, **kwargs):
        args, kwargs = self._packed("predict_on_batch", args, kwargs)
        return super().predict_on_batch(*args, **kwargs)

    def __call__(self, x, training=None):
        if self._several_inputs and isinstance(x, (list, tuple, dict)):
            values = list(x.values()) if isinstance(x, dict) else list(x)
            if any(isinstance(v, Tensor) for v in values):  # kept as they are, with their graph
                return Module.__call__(self, x, training=training)
            x = Tensor(self._pack(x, self.name))
        return super().__call__(x, training=training)

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
        merge)]); None for a chain."""
        if self._graph is None:
            return None
        inputs = self.__dict__["_graph_inputs"]
        index = {id(layer): i for i, layer in enumerate(self.layers)}
        index.update({id(i): -1 - k for k, i in enumerate(inputs)})
        position = {id(node): k for k, node in enumerate(self._graph)}
        return {"inputs": [[list(i.keras_input_shape), i.name] for i in inputs],
                "nodes": [[index[id(node if node.layer is None else node.layer)],
                           [position[id(s)] for s in node.sources], node.merged]
                          for node in self._graph]}

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
