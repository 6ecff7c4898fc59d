"""What every layer of ``fusednn.keras.layers`` has beside its fusednn layer (``KerasLayer``:
Keras's attributes, array inputs, inference by default), and the helpers the layer modules
share."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .._backend import xp_of
from ..autograd import Tensor, no_grad
from ..nn.functional._args import pair
from ..nn.module import Module


class KerasLayer:
    """What every layer of this namespace has beside its fusednn layer: the ``input_shape`` /
    ``input_dim`` a first layer may carry for the model to build from, and Keras's layer
    attributes — ``trainable`` (False freezes the weights: no gradient, no update),
    ``weights`` / ``trainable_weights`` / ``non_trainable_weights`` (arrays in Keras's
    layouts, as ``get_weights`` gives them), ``count_params`` and ``compute_output_shape``."""

    # a Keras layer starts in inference mode: layer(x) infers unless training=True (or fit)
    keras_inference_by_default = True
    keras_array_inputs = True  # layer(numpy array) works, as Keras's
    keras_names = True  # default names in snake case, as Keras's (Module.default_name)

    @classmethod
    def from_config(cls, config):
        """A new layer from ``get_config()`` (Keras's protocol)."""
        return cls(**config)

    @property
    def kernel(self):
        """Keras's ``kernel``: the weight in Keras's layout (Dense (in, out), Conv2D (kh, kw,
        in, out)), a view of it without a graph (writes reach the weight)."""
        axes = getattr(self, "initializer_axes", None)
        if axes is None or getattr(self, "weight", None) is None:
            raise AttributeError(f"{type(self).__name__} has no kernel")
        return Tensor._from_array(self.weight.data.transpose(axes), None)

    # Keras 3's symbolic input and output: those of the layer's first functional call
    @property
    def input(self):
        return self._first_call("input")[0]

    @property
    def output(self):
        return self._first_call("output")[1]

    def _first_call(self, what):
        calls = self.__dict__.get("_keras_calls")
        if not calls:
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {what}.")
        return calls[0]

    # Keras's weight constraints (keras.constraints): after every update of fit
    kernel_constraint = bias_constraint = None

    def _take_keras_options(self, kernel_constraint, bias_constraint,
                          activity_regularizer=None):
        """Keras's weight constraints, and its activity regularizer (nn.layers.ActivityLoss)."""
        from ..nn import regularizers
        from .constraints import get

        self.kernel_constraint, self.bias_constraint = get(kernel_constraint), \
            get(bias_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def _keras_options_config(self, config: dict) -> dict:
        """``config`` with the constraints (in Keras's serialized form) and the activity
        regularizer the layer was given."""
        from .constraints import serialize

        for key in ("kernel_constraint", "bias_constraint"):
            if getattr(self, key) is not None:
                config[key] = serialize(getattr(self, key))
        if getattr(self, "activity_regularizer", None) is not None:
            config["activity_regularizer"] = self.activity_regularizer
        return config

    @property
    def constrains_weights(self) -> bool:
        """Whether the layer was given a constraint (its weights may not be made yet)."""
        return self.kernel_constraint is not None or self.bias_constraint is not None

    def _constrained_weights(self) -> list:
        """(parameter, constraint, the axes that show it in Keras's layout or None)."""
        out = []
        if self.kernel_constraint is not None and getattr(self, "weight", None) is not None:
            out.append((self.weight, self.kernel_constraint,
                        getattr(self, "initializer_axes", None)))
        if self.bias_constraint is not None and getattr(self, "bias", None) is not None:
            out.append((self.bias, self.bias_constraint, None))
        return out

    def constrained_values(self) -> list:
        """(parameter, its new value) for each constrained trainable weight: constraint(weight)
        seen in Keras's layout (as Keras's optimizer applies it after its update). Nothing is
        written here, so a constraint that fails leaves every weight as it was."""
        out = []
        for p, constraint, axes in self._constrained_weights():
            if not p.requires_grad:
                continue
            w = p.data if axes is None else p.data.transpose(axes)
            new = constraint(w)
            if tuple(new.shape) != tuple(w.shape):
                raise ValueError(f"{self.name}: a weight constraint returned shape "
                                 f"{tuple(new.shape)} for a weight of shape {tuple(w.shape)}")
            out.append((p, new if axes is None else new.transpose(tuple(np.argsort(axes)))))
        return out

    def _take_input_shape(self, input_shape, input_dim=None):
        if input_dim is not None:
            input_shape = (input_dim,)
        self.keras_input_shape = None if input_shape is None else tuple(input_shape)

    @property
    def trainable(self) -> bool:
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value):
        object.__setattr__(self, "_trainable", bool(value))
        for p, trained in self._weights_and_trainable():
            p.requires_grad = bool(value) and trained

    def _weights_and_trainable(self):
        """(weight, whether it trains when the layer does): every parameter trains."""
        return [(p, True) for p in self.parameters()]

    @property
    def weights(self) -> list:
        return self.get_weights() if hasattr(self, "get_weights") else []

    @property
    def trainable_weights(self) -> list:
        return self._split_weights()[0]

    @property
    def non_trainable_weights(self) -> list:
        return self._split_weights()[1]

    def _split_weights(self) -> tuple:
        """(trained, not trained) arrays of ``get_weights``: the parameters come first, as
        Keras orders them, then buffers such as moving statistics; a frozen layer trains none."""
        weights = self.weights
        trained = len(self.parameters()) if self.trainable else 0
        return weights[:trained], weights[trained:]

    @property
    def losses(self) -> list:
        """Keras's: the losses its last call added (``add_loss``), then the weight
        regularizers' penalties, this layer's and those of the layers it holds (Tensors)."""
        return [t for _, m in self.named_modules()
                for t in (*m._batch_losses(), *m._penalties())]

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"{self.name}: not built yet, so it has no weights to count")
        return int(sum(np.size(w) for w in self.weights))

    def compute_output_shape(self, input_shape) -> tuple:
        """The output's shape for ``input_shape`` (batch axis included, None allowed)."""
        return (input_shape[0],) + output_sample_shape(self, tuple(input_shape[1:]))


def output_sample_shape(layer, sample_shape) -> tuple:
    """The sample shape ``layer`` makes of a zero sample of ``sample_shape`` (a list of sample
    shapes: of a list of them, a merge layer's input), in eval mode, without a graph."""
    zero = lambda shape: Tensor(np.zeros((1,) + tuple(shape), np.float32))  # noqa: E731
    x = [zero(s) for s in sample_shape] if isinstance(sample_shape, list) else zero(sample_shape)
    mode = layer.training
    layer.eval()
    try:
        with no_grad():
            return tuple(layer(x).shape[1:])
    finally:
        layer.train(mode)




class LayerCollection(Module):
    """The layers a Keras layer or subclassed model keeps in a list, tuple or dict attribute,
    tracked as Keras tracks them: registered under the attribute's name, its sub-layers are
    the container's layers as it holds them now (nested containers included), so layers
    appended after the assignment are trained, penalized and listed too."""

    def __init__(self, container):
        object.__setattr__(self, "container", container)
        super().__init__("collection")

    @property
    def _modules(self):
        items = (self.container.items() if isinstance(self.container, dict)
                 else enumerate(self.container))
        out = OrderedDict()
        for key, value in items:
            if isinstance(value, Module):
                out[str(key)] = value
            elif isinstance(value, (list, tuple, dict)):
                out[str(key)] = LayerCollection(value)
        return out

    @_modules.setter
    def _modules(self, table):
        """Module.__init__'s empty table: the container itself is the table."""

    def forward(self, *args, **kwargs):
        raise TypeError("a list of layers is not callable; call its layers")


def track_container(owner, key, value) -> None:
    """After ``owner.key = value``: a list, tuple or dict that holds layers (at any depth), or
    an empty list or dict that may be filled later, is tracked (Keras's rule); private
    attributes and containers of other things are not."""
    if key.startswith("_") or not isinstance(value, (list, tuple, dict)):
        return
    if (not value and not isinstance(value, tuple)) or _holds_layers(value):
        owner._modules[key] = LayerCollection(value)


def _holds_layers(container) -> bool:
    values = container.values() if isinstance(container, dict) else container
    return any(isinstance(v, Module) or (isinstance(v, (list, tuple, dict)) and _holds_layers(v))
               for v in values)


def leaf_layers(modules) -> list:
    """``modules`` with every tracked container replaced by its layers, each layer once."""
    out, seen = [], set()
    stack = list(reversed(list(modules)))
    while stack:
        m = stack.pop()
        if isinstance(m, LayerCollection):
            stack.extend(reversed(list(m._modules.values())))
        elif id(m) not in seen:
            seen.add(id(m))
            out.append(m)
    return out


def refuse(kwargs, where):
    if kwargs:
        raise TypeError(f"{where}: unsupported argument(s) {sorted(kwargs)}")


# activation="leaky_relu" in Keras is keras.activations.leaky_relu, whose slope is 0.2 (torch's
# default, fusednn.nn's, is 0.01)
LEAKY_RELU_SLOPE = 0.2


def to_pair(v, what, where):
    """An int or a pair (a list too, as a config gives it) as a pair, checked."""
    return pair(tuple(v) if isinstance(v, list) else v, what, where)


def same_padding(sizes, window, strides, dilation=None):
    """Keras's (TensorFlow's) padding="same" for these input sizes: outputs ceil(size / stride)
    long, the padding each axis needs split with the odd one after: (before, after) per axis."""
    dilation = dilation or (1,) * len(sizes)
    pads = []
    for n, k, s, d in zip(sizes, window, strides, dilation):
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def pad_widths(pads):
    """F.pad's widths (last axis first) for (before, after) pairs of the trailing axes."""
    return [w for before, after in reversed(pads) for w in (before, after)]


def set_arrays(layer, arrays):
    """Keras-layout arrays into the layer's parameters, each checked before any is written."""
    params = [p for p in (getattr(layer, "weight", None), getattr(layer, "bias", None))
              if p is not None]
    if len(arrays) != len(params):
        raise ValueError(f"{layer.name}: expected {len(params)} weight arrays, got {len(arrays)}")
    arrays = [np.ascontiguousarray(a, np.float32) for a in arrays]
    for p, a in zip(params, arrays):
        if tuple(a.shape) != tuple(p.shape):
            raise ValueError(f"{layer.name}: weight of shape {a.shape} (in fusednn's layout) "
                             f"does not match {tuple(p.shape)}")
    for p, a in zip(params, arrays):
        p.data[...] = xp_of(p.data).asarray(a)
